// Draws a lead's score history with uPlot from the JSON the page embeds (no inline script,
// so the Content-Security-Policy allows only the app's own files). Each change is a marker
// on the score line; the legend under the chart names what caused the change under the
// cursor (an event's type, an override, a new model); the table under it lists the latest.
(function () {
  "use strict";
  function draw() {
    var holder = document.getElementById("history-chart");
    var source = document.getElementById("history-data");
    if (!holder || !source || typeof uPlot === "undefined") return;
    var data = JSON.parse(source.textContent);
    if (!data.t.length) return;
    var causes = data.cause || [];
    var width = Math.max(280, holder.clientWidth || 600);
    var opts = {
      width: width,
      height: 240,
      series: [
        {},
        { label: "Score", stroke: "#b3261e", width: 2, points: { show: true, size: 7, fill: "#b3261e" } },
        { label: "Fit", stroke: "#1f5fa8", width: 1 },
        { label: "Engagement", stroke: "#2e7d32", width: 1 },
        {
          label: "Cause",
          show: true,
          stroke: "transparent",
          points: { show: false },
          value: function (u, v, si, idx) { return idx == null ? "–" : (causes[idx] || "–"); }
        }
      ],
      axes: [{}, {}]
    };
    var none = data.t.map(function () { return null; });
    var chart = new uPlot(opts, [data.t, data.score, data.fit, data.engagement, none], holder);
    holder.setAttribute("data-points", String(data.t.length));
    window.addEventListener("resize", function () {
      chart.setSize({ width: Math.max(280, holder.clientWidth), height: 240 });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
