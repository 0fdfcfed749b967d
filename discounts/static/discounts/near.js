// "离我最近": ask the browser for the position and reload the list sorted by distance.
(function () {
  "use strict";
  var button = document.getElementById("near-me");
  var status = document.getElementById("near-status");
  if (!button) {
    return;
  }
  button.addEventListener("click", function () {
    if (!("geolocation" in navigator)) {
      status.textContent = button.dataset.unsupported;
      return;
    }
    button.disabled = true;
    navigator.geolocation.getCurrentPosition(
      function (position) {
        var params = new URLSearchParams(window.location.search);
        params.set("near", position.coords.latitude.toFixed(6) + "," + position.coords.longitude.toFixed(6));
        params.delete("page");
        window.location.search = params.toString();
      },
      function () {
        button.disabled = false;
        status.textContent = button.dataset.error;
      },
      { enableHighAccuracy: false, timeout: 10000, maximumAge: 300000 }
    );
  });
})();
