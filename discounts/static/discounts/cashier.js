// Cashier screen: keep the scan field focused for a barcode/QR scanner (which types and presses
// Enter) whenever the cashier is not typing elsewhere; show the member's payable amount as the amount
// is typed (computed by the server, cashier:preview); and scan with the tablet camera where the
// browser has a BarcodeDetector.
(function () {
  "use strict";
  var input = document.getElementById("till-card");
  var button = document.getElementById("till-camera");
  var video = document.getElementById("till-video");

  function typingElsewhere() {
    var active = document.activeElement;
    return active && active !== document.body && active !== input &&
      /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName);
  }

  function focusScan() {
    if (input && !typingElsewhere()) { input.focus({ preventScroll: true }); }
  }

  if (input) {
    focusScan();
    // Focus that leaves a field for nothing (a tap on the page, a closed dialog) comes back here.
    document.addEventListener("focusout", function () { window.setTimeout(focusScan, 0); });
    document.addEventListener("click", function () { window.setTimeout(focusScan, 0); });
  }

  // With a member found, the offers and their confirm buttons come into view.
  var member = document.getElementById("member-heading");
  if (member) { member.scrollIntoView({ block: "start" }); }

  document.querySelectorAll("form.till-redeem").forEach(function (form) {
    var line = form.querySelector('[data-role="payable"]');
    if (!line) { return; }
    var amountField = form.querySelector('[name="amount"]');
    var unitsField = form.querySelector('[name="units"]');
    var shown = line.querySelector('[data-role="payable-amount"]');
    var detail = line.querySelector('[data-role="payable-detail"]');
    var timer = null;
    var asked = 0;

    function update() {
      var amount = amountField.value.trim();
      if (!amount) { line.hidden = true; return; }
      var query = new URLSearchParams({
        offer: form.querySelector('[name="offer"]').value, amount: amount, units: unitsField ? unitsField.value : "1"
      });
      var mine = ++asked;
      fetch(line.getAttribute("data-preview-url") + "?" + query.toString(), {
        credentials: "same-origin", headers: { Accept: "application/json" }
      }).then(function (response) { return response.json(); }).then(function (data) {
        if (mine !== asked) { return; }  // an answer to an older keystroke
        if (data.error) {
          shown.textContent = "";
          detail.textContent = data.error;
        } else {
          shown.textContent = "¥" + data.payable;
          var parts = [];
          if (Number(data.discount)) { parts.push(detail.getAttribute("data-discount-label") + " ¥" + data.discount); }
          if (Number(data.union_subsidy)) { parts.push(detail.getAttribute("data-subsidy-label") + " ¥" + data.union_subsidy); }
          detail.textContent = parts.join(" · ");
        }
        line.hidden = false;
      }).catch(function () { line.hidden = true; });
    }

    function later() { window.clearTimeout(timer); timer = window.setTimeout(update, 200); }
    amountField.addEventListener("input", later);
    if (unitsField) { unitsField.addEventListener("input", later); }
  });

  // A confirm button is disabled once pressed, so a double tap cannot send the form twice.
  document.querySelectorAll("form.till-redeem").forEach(function (form) {
    form.addEventListener("submit", function () {
      var submit = form.querySelector("button[type=submit]");
      if (submit) { window.setTimeout(function () { submit.disabled = true; }, 0); }
    });
  });

  if (!input || !button || !video) { return; }
  if (!("BarcodeDetector" in window) || !navigator.mediaDevices) { return; }
  button.hidden = false;
  var stream = null;

  function stop() {
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
    video.hidden = true;
  }

  button.addEventListener("click", function () {
    if (stream) { stop(); return; }
    var detector = new window.BarcodeDetector({ formats: ["qr_code", "code_128"] });
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (s) {
      stream = s;
      video.srcObject = s;
      video.hidden = false;
      return video.play();
    }).then(function tick() {
      if (!stream) { return; }
      detector.detect(video).then(function (codes) {
        if (codes.length) {
          input.value = codes[0].rawValue;
          stop();
          input.form.submit();
        } else {
          window.requestAnimationFrame(tick);
        }
      }, function () { window.requestAnimationFrame(tick); });
    }).catch(function () { stop(); });
  });
}());
