// The merchant's offer form: only the amount fields of the chosen kind, the 折 spelled out as what the
// member pays, and a live preview of the member's offer card rendered by the server (the one copy of
// the headline and rules). Without scripts every field shows and the preview follows each save.
(function () {
  "use strict";
  var form = document.querySelector("[data-offer-form]");
  if (!form) return;
  var kindFields = JSON.parse(document.getElementById("offer-kind-fields").textContent);
  var kind = form.elements.namedItem("kind");
  var zhe = form.elements.namedItem("discount_zhe");
  var result = form.querySelector("[data-zhe-result]");
  var preview = document.querySelector("[data-offer-preview]");

  function wrapper(name) {
    var element = document.getElementById("id_" + name);
    while (element && element.parentElement !== form) element = element.parentElement;
    return element;
  }

  function showKindFields() {
    Object.keys(kindFields).forEach(function (each) {
      kindFields[each].forEach(function (name) {
        var box = wrapper(name);
        if (box) box.hidden = each !== kind.value;
      });
    });
    result.hidden = kind.value !== "percent_off";
    if (kind.value === "percent_off") wrapper("discount_zhe").after(result);
  }

  function spellZhe() {
    var raw = (zhe.value || "").trim().replace(/[０-９．]/g, function (c) {
      return c === "．" ? "." : String.fromCharCode(c.charCodeAt(0) - 0xfee0);
    });
    var value = parseFloat(raw);
    if (!raw) { result.textContent = ""; return; }
    if (isNaN(value) || value <= 0 || value === 10 || value >= 100) {
      result.textContent = result.dataset.invalid;
      return;
    }
    var paid = value < 10 ? value * 10 : value;
    result.textContent = result.dataset.template.replace("{percent}", String(Math.round(paid * 10) / 10) + "%");
  }

  var pending = null;
  var sent = 0;
  function refreshPreview() {
    clearTimeout(pending);
    pending = setTimeout(function () {
      var number = ++sent;
      fetch(form.dataset.previewUrl, { method: "POST", body: new FormData(form), credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) { if (html !== null && number === sent) preview.innerHTML = html; })
        .catch(function () { /* the preview is a help, never in the way */ });
    }, 300);
  }

  kind.addEventListener("change", showKindFields);
  zhe.addEventListener("input", spellZhe);
  form.addEventListener("input", refreshPreview);
  form.addEventListener("change", refreshPreview);
  showKindFields();
  spellZhe();
  refreshPreview();
})();
