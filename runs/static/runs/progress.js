// Live progress of runs, on the runs list and on a run's page: every few
// seconds, ask the server (the URL it rendered into #run-progress) about the
// runs still queued or running and update in place their status badge, their
// progress (rows of the total, rate, time left) and, once finished, their
// outcome bar. A finished run on its own page reloads it once, so the
// violations, failure and actions of its final state appear.
(function () {
  "use strict";
  const anchor = document.getElementById("run-progress");
  if (!anchor) return;
  const url = anchor.dataset.progressUrl;
  const interval = Number(anchor.dataset.intervalMs) || 3000;
  const reloadWhenFinished = anchor.dataset.reloadWhenFinished === "1";
  const OUTCOMES = ["inserted", "updated", "unchanged", "skipped", "quarantined"];

  function pending() {
    return Array.from(document.querySelectorAll(".run-badge[data-run-id][data-finished='0']"));
  }

  function number(value) {
    return Number(value).toLocaleString("en");
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function outcomeBar(run) {
    const total = OUTCOMES.reduce(function (sum, name) { return sum + run[name]; }, 0);
    if (!total) return el("span", "run-outcome run-outcome--empty", "no rows");
    const words = OUTCOMES.filter(function (name) { return run[name]; })
      .map(function (name) { return number(run[name]) + " " + name; }).join(", ");
    const box = el("span", "run-outcome");
    box.title = words;
    const bar = el("span", "run-outcome__bar");
    bar.setAttribute("aria-hidden", "true");
    OUTCOMES.forEach(function (name) {
      if (!run[name]) return;
      const part = el("span", "run-outcome__part run-outcome__part--" + name);
      part.style.width = (100 * run[name] / total).toFixed(2) + "%";
      bar.appendChild(part);
    });
    box.appendChild(bar);
    box.appendChild(el("span", "run-outcome__rows", number(total) + " rows"));
    box.appendChild(el("span", "visually-hidden", " (" + words + ")"));
    return box;
  }

  function progressText(run) {
    if (run.status === "queued") return "waiting";
    let text = number(run.rows_processed);
    if (run.total) text += " of " + (run.total_estimated ? "about " : "") + number(run.total);
    return text + " rows";
  }

  function progressBar(run) {
    const bar = el("progress");
    bar.setAttribute("aria-label", "run " + run.id + " progress");
    if (run.percent !== null) {
      bar.max = 100;
      bar.value = run.percent;
    }
    return bar;
  }

  // A list cell: a bar and "n of about m rows" while running, the outcome bar once done.
  function updateCell(cell, run) {
    cell.replaceChildren();
    if (run.finished) {
      cell.appendChild(outcomeBar(run));
    } else if (run.status === "queued") {
      cell.textContent = "waiting";
    } else {
      cell.appendChild(progressBar(run));
      cell.appendChild(document.createTextNode(" "));
      cell.appendChild(el("span", "run-rows", progressText(run)));
    }
  }

  // The run page's panel: the bar, the rows, the rate and the time left.
  function updatePanel(panel, run) {
    const bar = panel.querySelector("progress");
    if (bar) {
      if (run.percent !== null) {
        bar.max = 100;
        bar.value = run.percent;
      } else {
        bar.removeAttribute("value");
      }
    }
    const fields = {
      rows: progressText(run),
      percent: run.percent !== null ? run.percent + " %" : "",
      rate: run.rate_per_s ? number(Math.round(run.rate_per_s)) + " rows/s" : "",
      left: run.time_left || "",
    };
    Object.keys(fields).forEach(function (name) {
      const node = panel.querySelector("[data-progress='" + name + "']");
      if (node) node.textContent = fields[name];
    });
  }

  function update(run) {
    document.querySelectorAll(".run-badge[data-run-id='" + run.id + "']").forEach(function (badge) {
      badge.className = "run-badge run-badge--" + run.status;
      badge.textContent = run.status_label;
      badge.dataset.finished = run.finished ? "1" : "0";
      const row = badge.closest("tr");
      const quarantined = row && row.querySelector(".field-quarantined");
      if (quarantined) quarantined.textContent = number(run.quarantined);
    });
    document.querySelectorAll(".run-progress[data-run-id='" + run.id + "']").forEach(function (cell) {
      updateCell(cell, run);
    });
    document.querySelectorAll(".run-live[data-run-id='" + run.id + "']").forEach(function (panel) {
      updatePanel(panel, run);
    });
    return run.finished;
  }

  function poll() {
    const ids = pending().map(function (badge) { return badge.dataset.runId; });
    if (!ids.length) return;
    fetch(url + "?ids=" + Array.from(new Set(ids)).join(","), {
      credentials: "same-origin", headers: { Accept: "application/json" },
    })
      .then(function (response) { return response.ok ? response.json() : { runs: [] }; })
      .then(function (data) {
        const finished = data.runs.map(update).some(Boolean);
        if (finished && reloadWhenFinished) window.location.reload();
      })
      .catch(function () { /* the next tick tries again */ })
      .finally(function () { window.setTimeout(poll, interval); });
  }

  window.setTimeout(poll, interval);
})();
