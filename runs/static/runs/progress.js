// Live progress of the runs list: every few seconds, ask the server (the URL
// it rendered into #run-progress) about the rows still queued or running and
// update their status, progress and counters in place.
(function () {
  "use strict";
  const anchor = document.getElementById("run-progress");
  if (!anchor) return;
  const url = anchor.dataset.progressUrl;
  const interval = Number(anchor.dataset.intervalMs) || 3000;
  const COUNTERS = ["rows_total", "inserted", "updated", "skipped", "quarantined"];

  function pending() {
    return Array.from(document.querySelectorAll(".run-badge[data-run-id][data-finished='0']"));
  }

  function update(run) {
    const badge = document.querySelector(".run-badge[data-run-id='" + run.id + "']");
    if (!badge) return;
    badge.className = "run-badge run-badge--" + run.status;
    badge.textContent = run.status_label;
    badge.dataset.finished = run.finished ? "1" : "0";
    const row = badge.closest("tr");
    if (!row) return;
    COUNTERS.forEach(function (name) {
      const cell = row.querySelector(".field-" + name);
      if (cell) cell.textContent = run[name].toLocaleString();
    });
    const progress = row.querySelector(".field-progress");
    if (!progress) return;
    const rows = progress.querySelector(".run-rows");
    if (run.status === "running" && rows) {
      rows.textContent = run.rows_processed.toLocaleString() + " rows";
    } else {
      progress.textContent = run.finished ? "" : run.status === "running"
        ? run.rows_processed.toLocaleString() + " rows" : "waiting";
    }
  }

  function poll() {
    const ids = pending().map(function (badge) { return badge.dataset.runId; });
    if (!ids.length) return;
    fetch(url + "?ids=" + ids.join(","), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { runs: [] }; })
      .then(function (data) { data.runs.forEach(update); })
      .catch(function () { /* the next tick tries again */ })
      .finally(function () { window.setTimeout(poll, interval); });
  }

  window.setTimeout(poll, interval);
})();
