// The member app's service worker (docs/cities.md, "The member app").
//
// - The shell (styles, scripts, icons, the offline page) is kept in a versioned cache and served
//   from it, refreshed in the background.
// - The card page is fetched from the network first. Its last copy is kept, but served without a
//   connection only while the last QR code the page received is still valid: the page's script
//   writes that code with its expiry next to it (CARD_CODE). Once the code has expired, the copy and
//   the code are deleted and the offline page says that a connection is needed.
// - No other page is ever stored: without a connection they get the offline page.
// - Signing out deletes the card cache (Clear-Site-Data from the server, and the page's script).
"use strict";

var VERSION = "{{ version }}";
var SHELL_CACHE = "shell-" + VERSION;
var CARD_CACHE = "member-card";
var SHELL = {{ shell|safe }};
var STATIC_PREFIX = {{ static_prefix|safe }};
var CARD_PAGE = {{ card_page|safe }};
var CARD_CODE = {{ card_code|safe }};
var OFFLINE_PAGE = {{ offline_page|safe }};
var NO_FALLBACK = {{ no_fallback|safe }};

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(SHELL_CACHE)
      .then(function (cache) { return cache.addAll(SHELL); })
      .then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys()
      .then(function (names) {
        return Promise.all(names.filter(function (name) {
          return name.indexOf("shell-") === 0 && name !== SHELL_CACHE;
        }).map(function (name) { return caches.delete(name); }));
      })
      .then(forgetExpiredCard)
      .then(function () { return self.clients.claim(); })
  );
});

// The card page and its last code, if that code is still valid; otherwise both are deleted.
function validCardPage() {
  return caches.open(CARD_CACHE).then(function (cache) {
    return cache.match(CARD_CODE).then(function (stored) {
      if (!stored) { return null; }
      return stored.json().then(function (code) {
        if (!code || typeof code.expiresAt !== "number" || code.expiresAt <= Date.now()) { return null; }
        return cache.match(CARD_PAGE);
      }, function () { return null; });
    });
  }).then(function (page) {
    if (page) { return page; }
    return caches.delete(CARD_CACHE).then(function () { return null; });
  });
}

function forgetExpiredCard() {
  return validCardPage().then(function () { return undefined; });
}

function offlinePage() {
  return caches.match(OFFLINE_PAGE).then(function (page) {
    return page || new Response("", { status: 503, statusText: "Offline" });
  });
}

function isCardPage(response) {
  return response.ok && response.type === "basic" && !response.redirected &&
    new URL(response.url).pathname === CARD_PAGE;
}

function cardPage(request) {
  return fetch(request).then(function (response) {
    if (isCardPage(response)) {
      var copy = response.clone();
      caches.open(CARD_CACHE).then(function (cache) { return cache.put(CARD_PAGE, copy); });
    } else {
      // Signed out, no consent yet, or an error: nothing of the card page may stay behind.
      caches.delete(CARD_CACHE);
    }
    return response;
  }, function () {
    return validCardPage().then(function (page) { return page || offlinePage(); });
  });
}

function storeCardPage() {
  // The first visit happened before this worker controlled the page: fetch the page once for the
  // offline copy (the session cookie goes with it, as with the page itself).
  return fetch(CARD_PAGE, { credentials: "same-origin", redirect: "manual" }).then(function (response) {
    if (isCardPage(response)) {
      return caches.open(CARD_CACHE).then(function (cache) { return cache.put(CARD_PAGE, response); });
    }
    return undefined;
  }, function () { return undefined; });
}

function fromShell(request) {
  return caches.open(SHELL_CACHE).then(function (cache) {
    return cache.match(request).then(function (cached) {
      var network = fetch(request).then(function (response) {
        if (response.ok && response.type === "basic") { cache.put(request, response.clone()); }
        return response;
      });
      if (cached) {
        network.catch(function () { return undefined; });
        return cached;
      }
      return network;
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (request.mode === "navigate") {
    if (url.pathname === CARD_PAGE) {
      event.respondWith(cardPage(request));
      return;
    }
    event.waitUntil(forgetExpiredCard());
    if (NO_FALLBACK.some(function (prefix) { return url.pathname.indexOf(prefix) === 0; })) { return; }
    event.respondWith(fetch(request).catch(offlinePage));
    return;
  }
  if (url.pathname.indexOf(STATIC_PREFIX) === 0) {
    event.respondWith(fromShell(request));
  }
});

self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type === "card-page-seen") {
    event.waitUntil(caches.open(CARD_CACHE).then(function (cache) {
      return cache.match(CARD_PAGE).then(function (page) { return page ? undefined : storeCardPage(); });
    }));
  } else if (data.type === "forget-card") {
    event.waitUntil(caches.delete(CARD_CACHE));
  }
});
