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
