/* Coverage dashboard: draws the trend line and the unit bars as SVG from the JSON blob the page
   embeds (json_script), and follows a snapshot run until it finishes. No libraries: the page works
   offline and under a Content-Security-Policy without inline scripts. */
(function () {
  "use strict";

  var SVG_NS = "http://www.w3.org/2000/svg";

  function el(name, attrs, text) {
    var node = document.createElementNS(SVG_NS, name);
    Object.keys(attrs || {}).forEach(function (key) {
      node.setAttribute(key, attrs[key]);
    });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function readData() {
    var script = document.getElementById("dashboard-data");
    if (!script) return null;
    try {
      return JSON.parse(script.textContent);
    } catch (error) {
      return null;
    }
  }

  function niceMax(value) {
    // The top of the axis: the next multiple of 10 percent, at least 10, at most 100.
    var top = Math.ceil((value || 0) / 10) * 10;
    return Math.min(100, Math.max(10, top));
  }

  function widthOf(container) {
    return Math.max(280, Math.floor(container.clientWidth || 600));
  }

  function drawTrend(container, data) {
    container.textContent = "";
    var points = data.trend || [];
    if (points.length < 2) {
      var note = document.createElement("p");
      note.className = "muted";
      note.textContent = data.labels.no_trend;
      container.appendChild(note);
      if (points.length === 0) return;
    }
    var width = widthOf(container);
    var height = 220;
    var left = 44, right = 14, top = 12, bottom = 30;
    var plotW = width - left - right, plotH = height - top - bottom;
    var max = niceMax(Math.max.apply(null, points.map(function (p) { return p.coverage; })));
    var times = points.map(function (p) { return Date.parse(p.day); });
    var t0 = times[0], t1 = times[times.length - 1];
    var span = Math.max(1, t1 - t0);
    function x(i) { return points.length === 1 ? left + plotW / 2 : left + ((times[i] - t0) / span) * plotW; }
    function y(v) { return top + plotH - (v / max) * plotH; }

    var svg = el("svg", { viewBox: "0 0 " + width + " " + height, width: width, height: height });
    svg.appendChild(el("title", {}, data.labels.trend_title));
    for (var step = 0; step <= 5; step++) {
      var value = (max / 5) * step;
      svg.appendChild(el("line", { x1: left, x2: width - right, y1: y(value), y2: y(value), "class": "grid-line" }));
      svg.appendChild(el("text", { x: left - 6, y: y(value) + 4, "text-anchor": "end", "class": "tick" },
        value.toFixed(0) + "%"));
    }
    svg.appendChild(el("line", { x1: left, x2: width - right, y1: top + plotH, y2: top + plotH, "class": "axis" }));
    var labelIndexes = points.length === 1 ? [0] : [0, points.length - 1];
    labelIndexes.forEach(function (i, n) {
      svg.appendChild(el("text", {
        x: x(i), y: height - 8, "text-anchor": points.length === 1 ? "middle" : (n === 0 ? "start" : "end"),
        "class": "tick"
      }, points[i].day));
    });
    var d = points.map(function (p, i) { return (i === 0 ? "M" : "L") + x(i).toFixed(1) + " " + y(p.coverage).toFixed(1); });
    if (points.length > 1) svg.appendChild(el("path", { d: d.join(" "), "class": "line" }));
    points.forEach(function (p, i) {
      var dot = el("circle", { cx: x(i), cy: y(p.coverage), r: points.length > 60 ? 1.5 : 3, "class": "dot" });
      dot.appendChild(el("title", {}, p.day + " " + data.labels.coverage + " " + p.coverage.toFixed(2) + "% (" +
        p.cardholders + " / " + p.members + ")"));
      svg.appendChild(dot);
    });
    container.appendChild(svg);
  }

  function drawUnits(container, data) {
    container.textContent = "";
    var units = data.units || [];
    if (!units.length) return;
    var width = widthOf(container);
    var rowH = 24, top = 6, labelW = Math.min(150, Math.floor(width * 0.36)), valueW = 58;
    var height = top * 2 + rowH * units.length;
    var plotW = width - labelW - valueW - 8;
    var max = niceMax(Math.max.apply(null, units.map(function (u) { return u.coverage; })));
    var svg = el("svg", { viewBox: "0 0 " + width + " " + height, width: width, height: height });
    svg.appendChild(el("title", {}, data.labels.units_title));
    var maxChars = Math.max(4, Math.floor(labelW / 13));
    units.forEach(function (unit, i) {
      var y = top + i * rowH;
      var link = el("a", { href: unit.url });
      var name = unit.name.length > maxChars ? unit.name.slice(0, maxChars - 1) + "…" : unit.name;
      link.appendChild(el("text", { x: labelW - 6, y: y + 16, "text-anchor": "end" }, name));
      var barW = Math.max(1, (unit.coverage / max) * plotW);
      var bar = el("rect", { x: labelW, y: y + 4, width: barW.toFixed(1), height: rowH - 8, rx: 3,
        "class": "bar " + (unit.highlight || "") });
      bar.appendChild(el("title", {}, unit.rank + ". " + unit.name + " " + data.labels.coverage + " " +
        unit.coverage.toFixed(2) + "% (" + unit.cardholders + " / " + unit.members + ")"));
      link.appendChild(bar);
      link.appendChild(el("text", { x: labelW + barW + 4, y: y + 16, "class": "tick" }, unit.coverage.toFixed(2) + "%"));
      svg.appendChild(link);
    });
    container.appendChild(svg);
  }

  function followRun(box) {
    var url = box.getAttribute("data-status-url");
    if (!url) return;
    var label = document.getElementById("run-progress-label");
    var bar = document.getElementById("run-progress-bar");
    function poll() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (run) {
          if (!run) { setTimeout(poll, 5000); return; }
          bar.style.width = run.progress + "%";
          label.textContent = run.status_label + (run.message ? " — " + run.message : "");
          if (!run.finished) { setTimeout(poll, 2000); return; }
          if (run.status === "done") { window.location.reload(); return; }
          // Failed: the previous figures are still shown; let the user try again.
          var button = document.getElementById("refresh-button");
          if (button) button.disabled = false;
        })
        .catch(function () { setTimeout(poll, 5000); });
    }
    poll();
  }

  function start() {
    var data = readData();
    var trend = document.getElementById("trend-chart");
    var units = document.getElementById("units-chart");
    function drawAll() {
      if (!data) return;
      if (trend) drawTrend(trend, data);
      if (units) drawUnits(units, data);
    }
    drawAll();
    var lastWidth = window.innerWidth;
    window.addEventListener("resize", function () {
      if (Math.abs(window.innerWidth - lastWidth) < 40) return;
      lastWidth = window.innerWidth;
      drawAll();
    });
    var box = document.getElementById("run-progress");
    if (box) followRun(box);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
