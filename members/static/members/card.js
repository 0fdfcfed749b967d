// "My card": fetch a fresh card token, QR code, short code and barcode while the page is open (every 60 seconds for the
// 90-second tokens); a token lives only 90 seconds, so a screenshot stops working soon after it
// was taken.
//
// Without a connection (docs/cities.md): the last code received is kept with its expiry in the app's
// cache (the service worker serves this page from there only while that code is valid), shown with
// the time it is valid until, and removed when it expires; the page then says that a connection is
// needed. Signing out deletes it at once.
(function () {
  "use strict";
  var CODE_CACHE = "member-card";  // shared with the service worker (templates/cities/sw.js)
  var RETRY_MS = 10000;
  var hasCaches = "caches" in window;

  function forgetCard() {
    var worker = navigator.serviceWorker && navigator.serviceWorker.controller;
    if (worker) { worker.postMessage({ type: "forget-card" }); }
    return hasCaches ? caches.delete(CODE_CACHE).catch(function () { return false; }) : Promise.resolve(false);
  }

  var signOut = document.querySelector('form[data-role="sign-out"]');
  if (signOut) {
    signOut.addEventListener("submit", function (event) {
      if (signOut.getAttribute("data-cleared")) { return; }
      event.preventDefault();
      forgetCard().then(function () {
        signOut.setAttribute("data-cleared", "1");
        signOut.submit();
      });
    });
  }

  var figure = document.getElementById("card-qr");
  if (!figure) {
    forgetCard();  // no usable card: nothing of this page is kept for offline use
    return;
  }
  var url = figure.getAttribute("data-token-url");
  var codeKey = figure.getAttribute("data-offline-code");
  var cardLabel = figure.getAttribute("data-card") || "";
  var image = figure.querySelector('[data-role="qr"]');
  var tokenText = document.querySelector('[data-role="token"]');
  var tokenBox = document.querySelector('[data-role="token-box"]');
  var offlineNote = document.querySelector('[data-role="offline-note"]');
  var validUntil = document.querySelector('[data-role="valid-until"]');
  var needsConnection = document.querySelector('[data-role="needs-connection"]');
  var shortCodeBox = document.querySelector('[data-role="short-code-box"]');
  var shortCode = document.querySelector('[data-role="short-code"]');
  var barcode = document.querySelector('[data-role="barcode"]');
  var current = null;  // {token, qr_svg, expiresAt}: the newest code known to be valid
  var expiryTimer = null;
  var refreshTimer = null;

  function setHidden(element, hidden) { if (element) { element.hidden = hidden; } }

  function draw(target, markup) {
    // Parsed as HTML: the inline SVG carries no xmlns, and parsed as XML it would become an element
    // outside the SVG namespace, which browsers do not draw. A parsed document runs no scripts.
    if (!target || !markup) { return; }
    var svg = new DOMParser().parseFromString(markup, "text/html").querySelector("body > svg");
    if (svg) {
      target.replaceChildren(document.importNode(svg, true));
    }
  }

  function show(code) {
    draw(image, code.qr_svg);
    draw(barcode, code.barcode_svg);
    if (tokenText) { tokenText.textContent = code.token; }
    if (shortCode && code.short_code_display) { shortCode.textContent = code.short_code_display; }
    setHidden(image, false);
    setHidden(tokenBox, false);
    setHidden(shortCodeBox, false);
    setHidden(needsConnection, true);
  }

  function expire() {
    current = null;
    image.replaceChildren();
    if (tokenText) { tokenText.textContent = ""; }
    if (shortCode) { shortCode.textContent = ""; }
    if (barcode) { barcode.replaceChildren(); }
    setHidden(image, true);
    setHidden(tokenBox, true);
    setHidden(shortCodeBox, true);
    setHidden(offlineNote, true);
    setHidden(needsConnection, false);
    forgetCard();
  }

  function use(code) {
    current = code;
    show(code);
    window.clearTimeout(expiryTimer);
    expiryTimer = window.setTimeout(expire, Math.max(0, code.expiresAt - Date.now()));
  }

  function remember(code) {
    if (!hasCaches || !codeKey) { return; }
    caches.open(CODE_CACHE).then(function (cache) {
      return cache.put(codeKey, new Response(JSON.stringify(code), { headers: { "Content-Type": "application/json" } }));
    }).catch(function () { /* private browsing without storage: online use only */ });
  }

  function recall() {
    if (!hasCaches || !codeKey) { return Promise.resolve(null); }
    return caches.open(CODE_CACHE)
      .then(function (cache) { return cache.match(codeKey); })
      .then(function (stored) { return stored ? stored.json() : null; })
      .then(function (code) {
        // Another card's code (left by someone who did not sign out) is never shown on this page.
        var valid = code && code.card === cardLabel && typeof code.expiresAt === "number" &&
          code.expiresAt > Date.now();
        return valid ? code : null;
      })
      .catch(function () { return null; });
  }

  function schedule(delay) {
    window.clearTimeout(refreshTimer);
    refreshTimer = window.setTimeout(refresh, delay);
  }

  function refresh() {
    var started = Date.now();  // the token's window starts no later than this
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (response) {
        if (response.status === 401 || response.status === 404 || response.status === 409) {
          forgetCard().then(function () { window.location.reload(); });
          return null;
        }
        return response.ok ? response.json() : null;
      })
      .then(function (data) {
        if (!data || !data.qr_svg) { schedule(RETRY_MS); return; }
        var lifetime = Number(data.expires_in) || 90;
        var code = {
          card: cardLabel, token: data.token, qr_svg: data.qr_svg,
          short_code_display: data.short_code_display, barcode_svg: data.barcode_svg,
          expiresAt: started + lifetime * 1000
        };
        use(code);
        setHidden(offlineNote, true);
        remember(code);
        schedule(Math.max(5, Math.min(60, Math.floor(lifetime * 2 / 3))) * 1000);
      })
      .catch(function () {
        // No connection: keep showing the last code while it is valid, and say until when.
        if (current) {
          if (validUntil) {
            validUntil.textContent = new Date(current.expiresAt).toLocaleTimeString(
              document.documentElement.lang || undefined, { hour12: false });
          }
          setHidden(offlineNote, false);
        } else {
          expire();
        }
        schedule(RETRY_MS);
      });
  }

  window.addEventListener("online", refresh);
  recall().then(function (code) {
    if (code) { use(code); }
    refresh();
  });
  if (navigator.serviceWorker && !navigator.serviceWorker.controller) {
    // The app's worker was installed during this visit: ask it to keep this page for offline use.
    navigator.serviceWorker.ready.then(function (registration) {
      if (registration.active) { registration.active.postMessage({ type: "card-page-seen" }); }
    });
  }
})();
