// Draws the backtest chart with uPlot: conversion rate by score band, one bar series per
// model version side by side, from the data-chart attribute of #backtest-chart (no inline
// script: the Content-Security-Policy runs only the app's own files). The result arrives by
// htmx polling, so the chart is drawn when it is swapped in, as well as on page load. Every
// number is also in the tables under the chart.
(function () {
  "use strict";
  var HEIGHT = 240;
  var COLOURS = [["rgba(31,95,168,0.55)", "#1f5fa8"], ["rgba(179,38,30,0.5)", "#b3261e"]];

  function draw() {
    var holder = document.getElementById("backtest-chart");
    if (!holder || holder.dataset.drawn || typeof uPlot === "undefined") return;
    var d = JSON.parse(holder.dataset.chart || "null");
    if (!d || !d.labels.length) return;
    holder.dataset.drawn = "1";
    var labels = d.labels;
    var n = d.series.length;
    var width = Math.max(280, holder.clientWidth || 600);
    var series = [{ label: "", value: function (u, i) { return i == null ? "" : labels[i]; } }];
    d.series.forEach(function (s, k) {
      var colour = COLOURS[k % COLOURS.length];
      series.push({
        label: s.label + " %",
        fill: colour[0],
        stroke: colour[1],
        points: { show: false },
        // two versions: the first's bar left of the band's centre, the second's right of it
        paths: uPlot.paths.bars({ size: [0.4, 40], align: n === 2 ? (k === 0 ? -1 : 1) : 0 })
      });
    });
    var x = labels.map(function (_, i) { return i; });
    var chart = new uPlot({
      width: width,
      height: HEIGHT,
      scales: { x: { time: false, range: [-0.5, labels.length - 0.5] }, y: { range: [0, 100] } },
      legend: { show: true },
      series: series,
      axes: [
        { splits: function () { return x; }, values: function (u, splits) { return splits.map(function (i) { return labels[i] !== undefined ? labels[i] : ""; }); } },
        { label: "%" }
      ]
    }, [x].concat(d.series.map(function (s) { return s.rates; })), holder);
    window.addEventListener("resize", function () {
      chart.setSize({ width: Math.max(280, holder.clientWidth), height: HEIGHT });
    });
  }

  document.addEventListener("htmx:afterSettle", draw);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
