// Site behaviour on top of HTMX: forms with errors (422) swap in, failures are announced.
htmx.config.responseHandling = [
  { code: "204", swap: false },
  { code: "[23]..", swap: true },
  { code: "422", swap: true },
  { code: "[45]..", swap: false, error: true },
];

document.body.addEventListener("htmx:responseError", function (event) {
  var flashes = document.getElementById("flashes");
  if (!flashes) return;
  var alert = document.createElement("div");
  alert.className = "alert alert-error";
  alert.textContent = event.detail.xhr.status === 403
    ? "You are not allowed to do that."
    : "That did not work (error " + event.detail.xhr.status + "). Reload the page and try again.";
  flashes.replaceChildren(alert);
});

// firsthour: timezone fields marked data-suggest-browser-timezone (a form's first showing,
// e.g. sign-up) select the browser's own zone while they still hold their default value.
htmx.onLoad(function (root) {
  var zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (error) {
    return;
  }
  if (!zone) return;
  root.querySelectorAll("select[data-suggest-browser-timezone]").forEach(function (select) {
    if (select.value !== select.dataset.suggestBrowserTimezone) return;
    var offered = Array.prototype.some.call(select.options, function (option) {
      return option.value === zone;
    });
    if (offered) select.value = zone;
  });
});
