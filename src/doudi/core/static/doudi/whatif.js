// What-if charts (ECharts, served locally). Data comes from the json_script "whatif-data".
(function () {
  "use strict";
  var el = document.getElementById("whatif-data");
  if (!el || !window.echarts) { return; }
  var d = JSON.parse(el.textContent);
  var cats = echarts.init(document.getElementById("chart-cats"));
  cats.setOption({
    title: { text: "各类别新增 / 减少", left: "center", textStyle: { fontSize: 15 } },
    tooltip: { trigger: "axis" },
    legend: { bottom: 0, data: ["新增", "减少"] },
    grid: { left: 90, right: 20, top: 40, bottom: 40 },
    xAxis: { type: "value" },
    yAxis: { type: "category", data: d.categories },
    series: [
      { name: "新增", type: "bar", stack: "t", data: d.gained, itemStyle: { color: "#1a7f4b" } },
      { name: "减少", type: "bar", stack: "t", data: d.lost, itemStyle: { color: "#b42318" } }
    ]
  });
  var county = echarts.init(document.getElementById("chart-county"));
  county.setOption({
    title: { text: "各区市月度支出变化（元）", left: "center", textStyle: { fontSize: 15 } },
    tooltip: { trigger: "axis" },
    grid: { left: 70, right: 20, top: 40, bottom: 90 },
    xAxis: { type: "category", data: d.counties, axisLabel: { rotate: 40 } },
    yAxis: { type: "value" },
    series: [{ name: "月变化", type: "bar", data: d.delta, itemStyle: { color: "#1f5fbf" } }]
  });
  window.addEventListener("resize", function () { cats.resize(); county.resize(); });
  document.body.setAttribute("data-charts-ready", "1");
})();
