// Live progress of an issuance batch (or a roster import) on its admin page: polls the status endpoint every two seconds
// and reloads the page once the batch reaches a new resting state, so the right buttons appear.
(function () {
  "use strict";
  var panel = document.getElementById("batch-progress");
  if (!panel) { return; }
  var url = panel.getAttribute("data-status-url");
  var initial = panel.getAttribute("data-status");
  var resting = { validated: true, completed: true, failed: true, rejected: true, cancelled: true };
  if (resting[initial]) { return; }
  var bar = panel.querySelector(".batch-bar");
  var fill = bar.querySelector("span");

  function show(data) {
    Object.keys(data).forEach(function (key) {
      var node = panel.querySelector('[data-field="' + key + '"]');
      if (node) { node.textContent = data[key]; }
    });
    fill.style.width = data.percent + "%";
    bar.setAttribute("aria-valuenow", data.percent);
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { window.setTimeout(poll, 5000); return; }
        show(data);
        if (data.status !== initial && resting[data.status]) {
          window.location.reload();
          return;
        }
        window.setTimeout(poll, 2000);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
})();
