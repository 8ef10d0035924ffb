// Draws the analytics charts with uPlot from the JSON the page embeds (no inline script:
// the Content-Security-Policy runs only the app's own files). Every number is also in the
// table under its chart, so the page says everything without JavaScript.
(function () {
  "use strict";
  var HEIGHT = 220;

  function indices(labels) {
    return labels.map(function (_, i) { return i; });
  }

  function categoryAxis(labels) {
    return {
      values: function (u, splits) {
        return splits.map(function (i) { return labels[i] !== undefined && i === Math.round(i) ? labels[i] : ""; });
      },
      splits: function () { return indices(labels); }
    };
  }

  function bars() {
    return uPlot.paths.bars({ size: [0.7, 64], align: 0 });
  }

  function plot(id, labels, series, data, yLabel) {
    var holder = document.getElementById(id);
    if (!holder || !labels.length) return;
    var width = Math.max(280, holder.clientWidth || 600);
    var opts = {
      width: width,
      height: HEIGHT,
      scales: { x: { time: false, range: [-0.5, labels.length - 0.5] } },
      legend: { show: true },
      series: [{ label: "", value: function (u, i) { return i == null ? "" : labels[i]; } }].concat(series),
      axes: [categoryAxis(labels), { label: yLabel }]
    };
    var chart = new uPlot(opts, [indices(labels)].concat(data), holder);
    window.addEventListener("resize", function () {
      chart.setSize({ width: Math.max(280, holder.clientWidth), height: HEIGHT });
    });
  }

  function draw() {
    var source = document.getElementById("analytics-data");
    if (!source || typeof uPlot === "undefined") return;
    var d = JSON.parse(source.textContent);
    var marker = { show: true, size: 7 };
    var none = function () { return null; };
    plot("conversion-chart", d.conversion.labels, [
      { label: "Rate %", fill: "rgba(31,95,168,0.45)", stroke: "#1f5fa8", paths: bars(), points: { show: false } },
      { label: "95 % low", stroke: "#5a5a66", paths: none, points: marker },
      { label: "95 % high", stroke: "#5a5a66", paths: none, points: marker }
    ], [d.conversion.rate, d.conversion.low, d.conversion.high], "%");
    plot("distribution-chart", d.distribution.labels, [
      { label: "Leads", fill: "rgba(179,38,30,0.4)", stroke: "#b3261e", paths: bars(), points: { show: false } }
    ], [d.distribution.leads], "leads");
    plot("funnel-chart", d.funnel.labels, [
      { label: "Leads", fill: "rgba(46,125,50,0.4)", stroke: "#2e7d32", paths: bars(), points: { show: false } }
    ], [d.funnel.leads], "leads");
    plot("timing-chart", d.timing.labels, [
      { label: "Median days", fill: "rgba(242,169,0,0.45)", stroke: "#8a6100", paths: bars(), points: { show: false } }
    ], [d.timing.median], "days");
    if (d.sources) {
      plot("sources-chart", d.sources.labels, [
        { label: "Leads", fill: "rgba(31,95,168,0.45)", stroke: "#1f5fa8", paths: bars(), points: { show: false } },
        { label: "Converted", stroke: "#2e7d32", paths: none, points: marker }
      ], [d.sources.leads, d.sources.converted], "leads");
    }
    if (d.calibration) {
      plot("calibration-chart", d.calibration.labels, [
        { label: "Predicted %", stroke: "#5a5a66", width: 2, points: marker },
        { label: "Observed %", stroke: "#b3261e", width: 2, points: marker }
      ], [d.calibration.predicted, d.calibration.observed], "%");
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
