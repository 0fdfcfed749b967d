// The member app: register the service worker (templates/cities/sw.js), which keeps the app's look
// and the card page for use without a connection. Browsers without service workers, or pages not
// served over HTTPS (or from localhost), simply go without.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !("serviceWorker" in navigator) || !window.isSecureContext) { return; }
  var url = script.getAttribute("data-service-worker");
  window.addEventListener("load", function () {
    navigator.serviceWorker.register(url, { scope: "/" }).catch(function () { /* the site works without it */ });
  });
})();
