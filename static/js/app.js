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

// Dialogs filled by HTMX ("Add a venue" on the event form): a <dialog> opens as a modal when
// a response is swapped into it, and a re-shown form puts the focus on its first problem. A
// response that has done its work sends "dialog-done" (HX-Trigger-After-Swap): the dialog
// closes, and the control named by its data-updates reports a change, so that whatever
// listens to it (the event form's live check) sees the new value.
document.body.addEventListener("htmx:afterSwap", function (event) {
  var dialog = event.detail.target;
  if (!(dialog instanceof HTMLDialogElement)) return;
  if (!dialog.open) dialog.showModal();
  var problem = dialog.querySelector("[aria-invalid=true]");
  if (problem) problem.focus();
});
document.body.addEventListener("dialog-done", function (event) {
  var dialog = event.target.closest("dialog");
  if (!dialog) return;
  dialog.close();
  var control = dialog.dataset.updates && document.getElementById(dialog.dataset.updates);
  if (control) {
    control.dispatchEvent(new Event("change", { bubbles: true }));
    control.focus();
  }
});
