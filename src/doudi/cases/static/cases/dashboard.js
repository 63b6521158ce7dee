// Cycle-time charts (ECharts, served locally). Data from the json_script "cycle-data".
(function () {
  "use strict";
  var el = document.getElementById("cycle-data");
  if (!el || !window.echarts) { return; }
  var d = JSON.parse(el.textContent);
  var bars = echarts.init(document.getElementById("chart-items"));
  bars.setOption({
    title: { text: "各事项办理用时（工作日）", left: "center", textStyle: { fontSize: 15 } },
    tooltip: { trigger: "axis" },
    legend: { bottom: 0, data: ["中位数", "90%分位", "法定时限"] },
    grid: { left: 50, right: 20, top: 40, bottom: 80 },
    xAxis: { type: "category", data: d.items, axisLabel: { rotate: 30 } },
    yAxis: { type: "value", name: "工作日" },
    series: [
      { name: "中位数", type: "bar", data: d.median, itemStyle: { color: "#1f5fbf" } },
      { name: "90%分位", type: "bar", data: d.p90, itemStyle: { color: "#a15c07" } },
      { name: "法定时限", type: "scatter", symbol: "rect", symbolSize: [26, 4], data: d.limit, itemStyle: { color: "#b42318" } }
    ]
  });
  var line = echarts.init(document.getElementById("chart-months"));
  line.setOption({
    title: { text: "按月办理用时中位数（工作日）", left: "center", textStyle: { fontSize: 15 } },
    tooltip: { trigger: "axis" },
    legend: { bottom: 0, type: "scroll" },
    grid: { left: 50, right: 20, top: 40, bottom: 60 },
    xAxis: { type: "category", data: d.months },
    yAxis: { type: "value", name: "工作日" },
    series: d.series.map(function (s) { return { name: s.name, type: "line", connectNulls: true, data: s.data }; })
  });
  window.addEventListener("resize", function () { bars.resize(); line.resize(); });
  document.body.setAttribute("data-charts-ready", "1");
})();
