// "Copy share link" buttons (My certificates, an event's overview): shown only where the
// clipboard works; the link stays visible in its read-only field (both inside the button's
// `.copy-scope` or `.certificate-card`), to copy by hand, everywhere else.
(function () {
  if (!navigator.clipboard || !window.isSecureContext) return;
  document.querySelectorAll("button.copy-link[hidden]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var card = button.closest(".copy-scope, .certificate-card");
      var status = card && card.querySelector(".copy-status");
      navigator.clipboard.writeText(button.dataset.copy).then(function () {
        if (status) status.textContent = button.dataset.copied;
      }, function () {
        var field = card && card.querySelector(".share-link input");
        if (field) { field.focus(); field.select(); }
      });
    });
  });
})();
