// Command-center map: grids on a plain background (no tiles) and open cases coloured by light.
// The server sends the open cases in the view as points, or, where there are many, as groups
// with their number of cases: every open case is on the map, counted.
(function () {
  "use strict";
  var colours = { green: "#2e7d32", yellow: "#f9a825", red: "#c62828", none: "#5b6b7c" };
  // Names come from users: Leaflet takes a string as HTML, so they go in as a text node.
  function text(s) { return document.createTextNode(String(s)); }
  var box = document.getElementById("case-map");
  var status = document.getElementById("case-map-status");
  var map = L.map("case-map", { attributionControl: false });
  var context = window.civgridBasemap(map);  // roads, rivers, village and grid names
  var cases = L.layerGroup().addTo(map);
  function get(url) { return fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); }); }

  function point(f, latlng) {
    var marker = L.circleMarker(latlng, { radius: 8, weight: 2, color: "#fff",
      fillColor: colours[f.properties.light] || colours.none, fillOpacity: 0.95 });
    var a = document.createElement("a");
    a.href = f.properties.url;
    a.textContent = f.properties.number + " " + f.properties.category;
    marker.bindPopup(a);
    return marker;
  }

  function group(f, latlng) {
    var n = Number(f.properties.count) || 0;
    var size = Math.min(56, 22 + 6 * Math.log10(n + 1) * 2);
    var label = document.createElement("span");
    label.textContent = String(n);
    var icon = L.divIcon({ className: "case-group light-" + (f.properties.light || "none"),
      html: label, iconSize: [size, size] });  // an element, never a string of HTML
    var marker = L.marker(latlng, { icon: icon, keyboard: true, title: String(n) });
    marker.on("click", function () { map.setView(latlng, Math.min(map.getZoom() + 2, 19)); });
    return marker;
  }

  function load() {
    var b = map.getBounds();
    var bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) {
      return Math.max(-180, Math.min(180, v)).toFixed(6);
    });
    bbox[1] = Math.max(-90, bbox[1]); bbox[3] = Math.min(90, bbox[3]);
    return get("/desk/map/cases.geojson?bbox=" + bbox.join(",")).then(function (data) {
      cases.clearLayers();
      var shown = 0;
      L.geoJSON(data, {
        pointToLayer: function (f, latlng) {
          shown += Number(f.properties.count) || 0;
          return f.properties.url ? point(f, latlng) : group(f, latlng);
        }
      }).eachLayer(function (layer) { cases.addLayer(layer); });
      if (status) {
        var grouped = data.features.some(function (f) { return !f.properties.url; });
        status.textContent = (grouped ? status.dataset.grouped : status.dataset.points).replace("{n}", String(data.total));
      }
      box.dataset.loaded = String(shown);
    });
  }

  get("/api/v1/grids").then(function (gridData) {
    var grids = L.geoJSON(gridData, {
      style: { color: "#0d3b66", weight: 1, fillColor: "#cfd8e3", fillOpacity: 0.35 },
      onEachFeature: function (f, layer) { layer.bindTooltip(text(f.properties.name)); }
    }).addTo(map);
    context.grids(grids);
    var bounds = grids.getBounds();
    if (bounds.isValid()) { map.fitBounds(bounds, { padding: [10, 10] }); } else { map.setView([23.0, 113.8], 12); }
    load();
    map.on("moveend", load);
  });
})();
