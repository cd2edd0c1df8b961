// Patrol replay: the track drawn on the grids, a marker moving at ×1–×20, a time slider, the
// stops and the day's reports. User text goes into the DOM as text only.
(function () {
  "use strict";
  var box = document.getElementById("replay");
  if (!box) { return; }
  var map = L.map("replay-map", { attributionControl: false });
  var context = window.civgridBasemap(map);  // roads, rivers, village and grid names
  var slider = document.getElementById("replay-slider");
  var speedSel = document.getElementById("replay-speed");
  var timeOut = document.getElementById("replay-time");
  var pts = [], marker = null, trail = null, playing = false, t = 0, t0 = 0, t1 = 0, last = null;

  function get(url) { return fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); }); }
  function label(text) { var s = document.createElement("span"); s.textContent = text; return s; }
  function hhmm(sec) {
    var d = new Date(sec * 1000);
    return d.toLocaleTimeString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false });
  }
  function position(at) {
    var i = 0;
    while (i < pts.length - 1 && pts[i + 1][2] <= at) { i++; }
    if (i >= pts.length - 1) { return [pts[pts.length - 1][1], pts[pts.length - 1][0], i]; }
    var a = pts[i], b = pts[i + 1], f = (at - a[2]) / Math.max(b[2] - a[2], 1e-6);
    return [a[1] + (b[1] - a[1]) * f, a[0] + (b[0] - a[0]) * f, i];
  }
  function draw() {
    if (!pts.length) { return; }
    var p = position(t);
    marker.setLatLng([p[0], p[1]]);
    trail.setLatLngs(pts.slice(0, p[2] + 1).map(function (q) { return [q[1], q[0]]; }).concat([[p[0], p[1]]]));
    slider.value = String(Math.round((t - t0) / Math.max(t1 - t0, 1) * 1000));
    timeOut.textContent = hhmm(t);
    box.dataset.t = String(t);
  }
  function frame(now) {
    if (!playing) { last = null; return; }
    if (last !== null) { t = Math.min(t1, t + (now - last) / 1000 * Number(speedSel.value)); }
    last = now;
    draw();
    if (t >= t1) { playing = false; box.dataset.playing = "0"; return; }
    requestAnimationFrame(frame);
  }
  document.getElementById("replay-play").addEventListener("click", function () {
    if (t >= t1) { t = t0; }
    if (!playing) { playing = true; box.dataset.playing = "1"; requestAnimationFrame(frame); }
  });
  document.getElementById("replay-pause").addEventListener("click", function () { playing = false; box.dataset.playing = "0"; });
  slider.addEventListener("input", function () { t = t0 + (t1 - t0) * Number(slider.value) / 1000; draw(); });

  Promise.all([get(box.dataset.src), get(box.dataset.grids)]).then(function (data) {
    var r = data[0];
    pts = r.points;
    var grids = L.geoJSON(data[1], {
      style: function (f) {
        var own = r.grids.indexOf(f.properties.code) >= 0;
        return { color: own ? "#0d3b66" : "#8a99aa", weight: own ? 2 : 1, fillColor: "#cfd8e3", fillOpacity: own ? 0.35 : 0.1 };
      }
    });
    var line = L.polyline(pts.map(function (q) { return [q[1], q[0]]; }), { color: "#90a4ae", weight: 3 });
    // The view first, then the layers: Leaflet draws paths against the view it has.
    var bounds = pts.length ? line.getBounds() : grids.getBounds();
    if (bounds.isValid()) { map.fitBounds(bounds.pad(0.2)); } else { map.setView([23.0, 113.8], 13); }
    grids.addTo(map);
    context.grids(grids);
    if (r.purged) { var n = document.getElementById("replay-note"); n.hidden = false; n.textContent = box.dataset.msgPurged; }
    r.stops.forEach(function (s) {
      L.circleMarker([s.lat, s.lon], { radius: 9, color: "#f9a825", weight: 3, fillOpacity: 0.5 })
        .bindTooltip(label(box.dataset.msgStop + " " + hhmm(s.from) + "–" + hhmm(s.to))).addTo(map);
    });
    r.reports.forEach(function (c) {
      L.circleMarker([c.lat, c.lon], { radius: 7, color: "#fff", weight: 2, fillColor: "#2e7d32", fillOpacity: 0.95 })
        .bindTooltip(label(box.dataset.msgReport + " " + c.number + " " + c.category + " " + hhmm(c.t))).addTo(map);
    });
    if (pts.length) {
      line.addTo(map);
      t0 = pts[0][2]; t1 = pts[pts.length - 1][2]; t = t0;
      trail = L.polyline([[pts[0][1], pts[0][0]]], { color: "#c62828", weight: 4 }).addTo(map);
      marker = L.circleMarker([pts[0][1], pts[0][0]], { radius: 8, color: "#fff", weight: 2, fillColor: "#c62828", fillOpacity: 1 }).addTo(map);
      draw();
    }
    box.dataset.loaded = String(pts.length);
    box.dataset.stops = String(r.stops.length);
    box.dataset.reports = String(r.reports.length);
  });
})();
