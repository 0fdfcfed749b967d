// Cashier screen: keep the scan field focused for a barcode/QR scanner (which types and presses
// Enter), and scan with the tablet camera where the browser has a BarcodeDetector.
(function () {
  "use strict";
  var input = document.getElementById("till-card");
  var button = document.getElementById("till-camera");
  var video = document.getElementById("till-video");

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
