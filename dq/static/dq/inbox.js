/* The inbox past its capped count: when "Select all" is clicked, ask the
 * server for the exact number the filter matches (dq_violation_count) and
 * say it, so a steward knows how many rows an action will take. */
(function () {
  "use strict";
  var note = document.getElementById("dq-select-all-note");
  if (!note) { return; }
  var link = document.querySelector(".actions .question a");
  if (!link) { return; }
  link.addEventListener("click", function () {
    fetch(note.getAttribute("data-count-url"), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) {
        if (body && typeof body.count === "number") {
          note.textContent = "All " + body.count.toLocaleString("en-US") + " violations matching the filter are selected";
          note.setAttribute("data-count", String(body.count));
        }
      })
      .catch(function () { /* the capped wording stays */ });
  });
})();
