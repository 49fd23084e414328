// Summary cards: the list renders at once; the cards (aggregates over every
// run the filters match) arrive from the URL the server put on #run-summary.
(function () {
  "use strict";
  const box = document.getElementById("run-summary");
  if (!box) return;
  fetch(box.dataset.summaryUrl, { credentials: "same-origin" })
    .then(function (response) {
      if (!response.ok) throw new Error(response.status);
      return response.text();
    })
    .then(function (html) { box.innerHTML = html; })
    .catch(function () { box.textContent = "The summary could not be loaded; reload the page to try again."; });
})();
