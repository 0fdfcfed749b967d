// Behaviour every form page shares; each part also works without scripts.
(function () {
  "use strict";

  // The error summary: bring it into view, and let each of its links put the focus on its field.
  var summary = document.querySelector("[data-form-errors]");
  if (summary) {
    summary.focus();
    summary.addEventListener("click", function (event) {
      var link = event.target.closest("a[href^='#']");
      if (!link) return;
      var field = document.getElementById(link.getAttribute("href").slice(1));
      if (!field) return;
      event.preventDefault();
      field.scrollIntoView({ block: "center" });
      field.focus();
    });
  }
})();

// Irreversible acts ask first (portal/confirm.py): a submit button (or its form) with data-confirm opens
// a dialog saying what will happen; "confirm" re-sends the form with confirmed=1, which the view
// accepts without asking again. Without scripts the view asks on a page of its own.
(function () {
  "use strict";
  var template = document.getElementById("confirm-dialog-template");
  if (!template || typeof HTMLDialogElement === "undefined") return;

  function confirmedInput(form) {
    var input = form.querySelector("input[name='confirmed']");
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = "confirmed";
      form.appendChild(input);
    }
    return input;
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter;
    var source = submitter && submitter.dataset.confirm ? submitter : form;
    if (!source.dataset || !source.dataset.confirm) return;
    var input = confirmedInput(form);
    if (input.value === "1") return;
    event.preventDefault();

    var dialog = template.content.firstElementChild.cloneNode(true);
    dialog.querySelector("[data-consequence]").textContent = source.dataset.confirm;
    var ok = dialog.querySelector("[data-ok]");
    ok.textContent = source.dataset.confirmButton || (submitter && submitter.textContent) || "OK";
    document.body.appendChild(dialog);
    dialog.addEventListener("close", function () { dialog.remove(); });
    dialog.querySelector("[data-cancel]").addEventListener("click", function () {
      dialog.close();
      if (submitter) submitter.focus();
    });
    ok.addEventListener("click", function () {
      input.value = "1";
      dialog.close();
      if (submitter && form.requestSubmit) form.requestSubmit(submitter);
      else form.submit();
    });
    dialog.showModal();
    dialog.querySelector("[data-cancel]").focus();  // the safe choice has the focus
  });
})();
