// songcheck console: the only client code. Draws the overview map (Leaflet) and a site's charts (uPlot)
// from JSON the server put in the page; everything else is plain HTML forms.
(function () {
  'use strict';
  var COLORS = { PASS: '#16a34a', FAIL: '#dc2626', INSUFFICIENT: '#d97706', NONE: '#6b7280' };
  function data(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent || 'null') : null;
  }

  function drawMap() {
    var el = document.getElementById('map');
    var points = data('map-data');
    if (!el || !points || typeof L === 'undefined') return;
    var map = L.map(el, { preferCanvas: true, attributionControl: true });
    if (el.dataset.tiles) L.tileLayer(el.dataset.tiles, { maxZoom: 18, attribution: el.dataset.attribution || '' }).addTo(map);
    var bounds = [];
    points.forEach(function (p) {
      var code = p[0], name = p[1], lat = p[2], lon = p[3], verdict = p[4], silent = p[5];
      var m = L.circleMarker([lat, lon], { radius: 7, color: silent ? '#111827' : '#fff', weight: silent ? 3 : 1, fillColor: COLORS[verdict] || COLORS.NONE, fillOpacity: 0.9 });
      var a = document.createElement('a');
      a.href = el.dataset.base + '/sites/' + encodeURIComponent(code) + '?period=' + encodeURIComponent(el.dataset.period || '');
      a.textContent = code + ' — ' + name;
      m.bindTooltip(code + ' · ' + verdict);
      m.bindPopup(a);
      m.addTo(map);
      bounds.push([lat, lon]);
    });
    if (bounds.length) map.fitBounds(bounds, { padding: [20, 20], maxZoom: 12 });
    else map.setView([22.3, 104.0], 8);
    el.dataset.ready = String(points.length);
  }

  function drawCharts() {
    var series = data('chart-data');
    if (!series || typeof uPlot === 'undefined') return;
    document.querySelectorAll('.chart[data-series]').forEach(function (el) {
      var key = el.dataset.series;
      var points = series[key] || [];
      if (!points.length) return;
      var xs = points.map(function (p) { return p[0] / 1000; });
      var ys = points.map(function (p) { return p[1]; });
      var width = Math.max(240, el.clientWidth || 300);
      var dots = key === 'download' || key === 'upload';
      new uPlot({
        width: width, height: 180, legend: { show: false },
        series: [{}, { stroke: '#1d4ed8', width: dots ? 0 : 1.5, points: { show: dots, size: 5, fill: '#1d4ed8' } }],
        axes: [{}, { size: 50 }],
      }, [xs, ys], el);
      el.dataset.ready = String(points.length);
    });
  }

  drawMap();
  drawCharts();
})();
