// kpo report.html: draws every chart, sorts the board, opens collapsed groups on demand. No network.
(function () {
  "use strict";
  var figures = JSON.parse(document.getElementById("kpo-charts").textContent);
  var config = {displaylogo: false, responsive: true, modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d"]};
  var base = {margin: {l: 55, r: 15, t: 16, b: 30}, hovermode: "closest", paper_bgcolor: "#fff", plot_bgcolor: "#fff",
    font: {family: "system-ui, 'Segoe UI', Arial, sans-serif", size: 11},
    xaxis: {type: "date", tickformat: "%b %Y", showgrid: false, linecolor: "#bfbfbf", ticks: "outside"},
    yaxis: {gridcolor: "#ececec", zeroline: false, linecolor: "#bfbfbf"},
    legend: {orientation: "h", x: 0, y: -0.14, font: {size: 10}}};
  function layoutFor(own) {
    return Object.assign({}, base, own, {xaxis: Object.assign({}, base.xaxis, own.xaxis),
                                         yaxis: Object.assign({}, base.yaxis, own.yaxis)});
  }
  var divs = Array.prototype.slice.call(document.querySelectorAll(".spc-chart"));
  var next = 0, drawn = 0;
  // Batches keep the page responsive while ~300 charts draw.
  function drawSome() {
    var batch = [];
    for (var stop = Math.min(next + 8, divs.length); next < stop; next++) {
      var figure = figures[divs[next].id];
      batch.push(Plotly.newPlot(divs[next], figure.data, layoutFor(figure.layout), config).then(function () { drawn++; }));
    }
    Promise.all(batch).then(function () {
      if (next < divs.length) { setTimeout(drawSome, 0); } else { document.documentElement.dataset.chartsRendered = String(drawn); }
    }, function (error) { console.error("kpo report: a chart failed to draw", error); });
  }
  drawSome();
  // A chart drawn inside a closed <details> has no width yet: size it when the group opens.
  document.querySelectorAll("details").forEach(function (group) {
    group.addEventListener("toggle", function () {
      if (group.open) { group.querySelectorAll(".js-plotly-plot").forEach(function (div) { Plotly.Plots.resize(div); }); }
    });
  });
  function reveal() {
    var target = location.hash && document.getElementById(location.hash.slice(1));
    var group = target && target.closest("details");
    if (group && !group.open) { group.open = true; target.scrollIntoView(); }
  }
  window.addEventListener("hashchange", reveal);
  reveal();
  function setGroups(open) { document.querySelectorAll("details.series-group").forEach(function (g) { g.open = open; }); }
  document.getElementById("expand-all").addEventListener("click", function () { setGroups(true); });
  document.getElementById("collapse-all").addEventListener("click", function () { setGroups(false); });
  document.querySelectorAll("table.sortable th").forEach(function (th, column) {
    th.addEventListener("click", function () {
      var ascending = th.dataset.order !== "asc", body = th.closest("table").tBodies[0];
      th.parentNode.querySelectorAll("th").forEach(function (other) { delete other.dataset.order; });
      th.dataset.order = ascending ? "asc" : "desc";
      function key(row) { var cell = row.cells[column]; return cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent.trim(); }
      var rows = Array.prototype.slice.call(body.rows).sort(function (a, b) {
        var x = key(a), y = key(b);
        if (x === "" || y === "") { return (x === "") - (y === ""); }  // blanks last either way
        var order = (x !== "" && !isNaN(Number(x)) && !isNaN(Number(y))) ? Number(x) - Number(y) : x.localeCompare(y);
        return ascending ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
})();
