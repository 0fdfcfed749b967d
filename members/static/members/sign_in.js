// Member sign-in: a form that sends a text is sent once (a double tap makes no second request), and
// the resend button counts down the seconds the server asks to wait, then comes back to life. The
// server keeps its own count (members.sign_in.otp_resend_wait); this only says it.
(function () {
  "use strict";
  document.querySelectorAll('form[data-role="send-once"]').forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.getAttribute("data-sent")) { event.preventDefault(); return; }
      form.setAttribute("data-sent", "1");
    });
  });

  var button = document.querySelector('[data-role="resend"]');
  if (!button) { return; }
  var left = parseInt(button.getAttribute("data-wait"), 10) || 0;
  var ready = button.getAttribute("data-ready-label");
  var waiting = button.getAttribute("data-wait-label");

  function tick() {
    if (left <= 0) {
      button.disabled = false;
      button.textContent = ready;
      return;
    }
    button.disabled = true;
    button.textContent = waiting.replace("{n}", String(left));
    left -= 1;
    window.setTimeout(tick, 1000);
  }
  tick();
})();
