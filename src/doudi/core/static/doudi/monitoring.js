// 监测预警 pages: the proactive-service chart, the visit form's optional GPS and its draft kept
// on the phone (a visit is not lost if the connection drops while saving).
(function () {
  "use strict";
  var data = document.getElementById("proactive-data");
  var el = document.getElementById("proactive-chart");
  if (data && el && window.echarts) {
    var d = JSON.parse(data.textContent);
    var chart = window.echarts.init(el);
    chart.setOption({
      tooltip: { trigger: "axis" },
      legend: { data: ["主动服务", "获批", "帮扶人数"] },
      xAxis: { type: "category", data: d.months },
      yAxis: { type: "value" },
      series: [
        { name: "主动服务", type: "bar", data: d.opened },
        { name: "获批", type: "bar", data: d.approved },
        { name: "帮扶人数", type: "line", data: d.persons }
      ]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  var geo = document.querySelector("[data-geo]");
  if (geo && navigator.geolocation) {
    geo.addEventListener("click", function () {
      navigator.geolocation.getCurrentPosition(function (pos) {
        var f = geo.form;
        f.latitude.value = pos.coords.latitude.toFixed(6);
        f.longitude.value = pos.coords.longitude.toFixed(6);
        geo.textContent = "已记录位置 " + f.latitude.value + ", " + f.longitude.value;
      });
    });
  } else if (geo) {
    geo.hidden = true;
  }
  var form = document.querySelector("form[data-offline-key]");
  if (form && window.localStorage) {
    var key = form.getAttribute("data-offline-key");
    var saved = localStorage.getItem(key);
    if (saved) {
      try {
        var v = JSON.parse(saved);
        ["visitors", "findings", "visit_date", "client_token"].forEach(function (n) {
          if (v[n] && form[n]) { form[n].value = v[n]; }
        });
      } catch (e) { localStorage.removeItem(key); }
    }
    form.addEventListener("input", function () {
      localStorage.setItem(key, JSON.stringify({
        visitors: form.visitors.value, findings: form.findings.value,
        visit_date: form.visit_date.value, client_token: form.client_token.value
      }));
    });
    if (document.querySelector(".msg-success")) { localStorage.removeItem(key); }
  }
})();
