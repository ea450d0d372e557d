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

// Behaviour that would otherwise be inline script, which the Content-Security-Policy refuses
// (no onsubmit=, onclick=, hx-on or style="..." in the pages): declared with data attributes,
// handled here once for the whole document, including content that htmx swaps in.

// <form data-confirm="Delete this?">: asks before a plain (non-htmx) form is sent; htmx forms
// use hx-confirm. Capture phase, so that a refusal stops the submit before anything sees it.
document.addEventListener("submit", function (event) {
  var form = event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
    event.stopPropagation();
  }
}, true);

// <button data-dismiss>: closes the message (.alert) it sits in.
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-dismiss]");
  var alert = button && button.closest(".alert");
  if (alert) alert.remove();
});

// <select data-clears="other-id">: a change empties the other field first (capture phase:
// before htmx sends the form the change also triggers).
document.addEventListener("change", function (event) {
  var id = event.target.dataset && event.target.dataset.clears;
  var other = id && document.getElementById(id);
  if (other) other.value = "";
}, true);

// <div data-org-colour="#0b6e4f">: an organization's brand colour, as the --org-colour that
// app.css uses (set through the DOM, which the policy allows; a style attribute it refuses).
htmx.onLoad(function (root) {
  var branded = root.matches("[data-org-colour]") ? [root] : [];
  root.querySelectorAll("[data-org-colour]").forEach(function (element) { branded.push(element); });
  branded.forEach(function (element) {
    element.style.setProperty("--org-colour", element.dataset.orgColour);
  });
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
