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
