/* Live validation for the violation editor: as the steward types, the
 * payload is POSTed to the target's validate endpoint (the pipeline's own
 * rules; its URL comes from the server in data-validate-url) and the
 * backend's messages are shown beside each field. No framework. */
(function () {
  "use strict";
  var form = document.getElementById("dq-payload-form");
  if (!form) { return; }
  var url = form.getAttribute("data-validate-url");
  var live = document.getElementById("dq-live");
  var rawToggle = form.querySelector("input[name=use_raw_json]");
  var raw = form.querySelector("textarea[name=raw_json]");
  var timer = null;
  var sequence = 0;

  function csrfToken() {
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function fieldInputs() {
    return Array.prototype.slice.call(form.querySelectorAll("input[data-field]"));
  }

  function payload() {
    if (rawToggle && rawToggle.checked) {
      try { return JSON.parse(raw.value); } catch (e) { return null; }
    }
    var data = {};
    fieldInputs().forEach(function (input) { data[input.getAttribute("data-field")] = input.value; });
    return data;
  }

  function show(errors) {
    var lists = form.querySelectorAll("ul.dq-messages[data-field]");
    Array.prototype.forEach.call(lists, function (list) {
      var name = list.getAttribute("data-field");
      var messages = errors[name] || [];
      list.textContent = "";
      messages.forEach(function (message) {
        var item = document.createElement("li");
        item.textContent = message;
        list.appendChild(item);
      });
      var input = form.querySelector("input[data-field='" + name + "']");
      if (input) {
        if (messages.length) { input.setAttribute("aria-invalid", "true"); }
        else { input.removeAttribute("aria-invalid"); }
        list.parentNode.classList.toggle("errors", messages.length > 0);
      }
    });
    var other = Object.keys(errors).filter(function (name) {
      return !form.querySelector("ul.dq-messages[data-field='" + name + "']");
    });
    var count = Object.keys(errors).length;
    live.textContent = count ? count + " field(s) with errors" +
      (other.length ? " (" + other.map(function (n) { return n + ": " + errors[n].join(" "); }).join("; ") + ")" : "") + "."
      : "No errors: ready to save and requeue.";
  }

  function validate() {
    var data = payload();
    if (data === null || typeof data !== "object" || Array.isArray(data)) {
      live.textContent = "The raw JSON is not a JSON object yet.";
      return;
    }
    var mine = ++sequence;
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), "Accept": "application/json" },
      body: JSON.stringify(data)
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (result) {
      if (mine !== sequence) { return; }  // a newer request is under way
      if (result.ok) { show(result.body.errors || {}); }
      else { live.textContent = result.body.detail || "Validation is not available."; }
    }).catch(function () {
      if (mine === sequence) { live.textContent = "Validation is not available (network)."; }
    });
  }

  function schedule() {
    window.clearTimeout(timer);
    timer = window.setTimeout(validate, 300);
  }

  form.addEventListener("input", schedule);
  if (rawToggle) { rawToggle.addEventListener("change", schedule); }

  // Keyboard focus lands in the first field with an error.
  var first = form.querySelector("input[aria-invalid=true]");
  if (first) { first.focus(); }
})();
