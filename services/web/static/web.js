/* Small progressive enhancement; every page works without it. */
(function () {
  "use strict";
  function ready(fn) { if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); } }
  ready(function () {
    // Ask before an irreversible action (closing, transferring).
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
      });
    });
    // The statutory type is asked only for statutory complaints.
    var kind = document.getElementById("kind");
    var statutory = document.getElementById("statutory-field");
    if (kind && statutory) {
      var sync = function () { statutory.hidden = kind.value !== "statutory"; };
      kind.addEventListener("change", sync);
      sync();
    }
    // Staff intake: the arrival time is asked (and required) for mail and fax.
    var channel = document.getElementById("channel");
    var arrived = document.getElementById("received_at");
    if (channel && arrived) {
      var syncArrival = function () {
        var late = channel.value === "mail" || channel.value === "fax";
        arrived.required = late;
        document.getElementById("received-at-field").hidden = !late;
        var reason = document.getElementById("received-at-reason-field");
        if (reason) { reason.hidden = !late; }
      };
      channel.addEventListener("change", syncArrival);
      syncArrival();
    }
    // The identity rule, checked before sending (intake checks it again).
    var filing = document.getElementById("file-form");
    if (filing) {
      filing.addEventListener("submit", function (event) {
        var has = function (id) { var el = document.getElementById(id); return el && el.value.trim() !== ""; };
        var error = document.getElementById("contact-error");
        var missing = !has("address") && !has("phone") && !has("email");
        var nameMissing = !has("name");
        ["address", "phone", "email"].forEach(function (id) {
          document.getElementById(id).setAttribute("aria-invalid", missing ? "true" : "false");
        });
        document.getElementById("name").setAttribute("aria-invalid", nameMissing ? "true" : "false");
        error.hidden = !missing;
        if (missing || nameMissing) {
          event.preventDefault();
          (nameMissing ? document.getElementById("name") : document.getElementById("address")).focus();
        }
      });
    }
    // Disable a submit button once pressed (the Idempotency-Key makes a second press harmless anyway).
    document.querySelectorAll("form[method=post]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (event.defaultPrevented) { return; }
        var button = form.querySelector("button[type=submit]");
        if (button) { window.setTimeout(function () { button.disabled = true; }, 0); }
      });
    });
  });
})();
