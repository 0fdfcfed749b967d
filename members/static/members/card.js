// "My card": fetch a fresh card token and QR code every 60 seconds; a token lives only 90 seconds,
// so a screenshot stops working soon after it was taken.
(function () {
  "use strict";
  var figure = document.getElementById("card-qr");
  if (!figure) { return; }
  var url = figure.getAttribute("data-token-url");
  var image = figure.querySelector('[data-role="qr"]');
  var tokenText = document.querySelector('[data-role="token"]');

  function refresh() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 401 || response.status === 404 || response.status === 409) {
          window.location.reload();
          return null;
        }
        return response.ok ? response.json() : null;
      })
      .then(function (data) {
        if (!data || !data.qr_svg) { return; }
        var doc = new DOMParser().parseFromString(data.qr_svg, "image/svg+xml");
        var svg = doc.documentElement;
        if (svg && svg.nodeName.toLowerCase() === "svg") {
          image.replaceChildren(document.importNode(svg, true));
        }
        if (tokenText) { tokenText.textContent = data.token; }
      })
      .catch(function () { /* offline for a moment: the next tick tries again */ });
  }
  window.setInterval(refresh, 60000);
})();
