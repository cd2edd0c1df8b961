// Command-center map: grids on a plain background (no tiles) and open cases coloured by light.
(function () {
  "use strict";
  var colours = { green: "#2e7d32", yellow: "#f9a825", red: "#c62828", none: "#5b6b7c" };
  // Names come from users: Leaflet takes a string as HTML, so they go in as a text node.
  function text(s) { return document.createTextNode(String(s)); }
  var map = L.map("case-map", { attributionControl: false });
  var context = window.civgridBasemap(map);  // roads, rivers, village and grid names
  function get(url) { return fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); }); }
  Promise.all([get("/api/v1/grids"), get("/desk/map/cases.geojson")]).then(function (data) {
    var grids = L.geoJSON(data[0], {
      style: { color: "#0d3b66", weight: 1, fillColor: "#cfd8e3", fillOpacity: 0.35 },
      onEachFeature: function (f, layer) { layer.bindTooltip(text(f.properties.name)); }
    }).addTo(map);
    context.grids(grids);
    var cases = L.geoJSON(data[1], {
      pointToLayer: function (f, latlng) {
        return L.circleMarker(latlng, { radius: 8, weight: 2, color: "#fff",
          fillColor: colours[f.properties.light] || colours.none, fillOpacity: 0.95 });
      },
      onEachFeature: function (f, layer) {
        var a = document.createElement("a");
        a.href = f.properties.url;
        a.textContent = f.properties.number + " " + f.properties.category;
        layer.bindPopup(a);
      }
    }).addTo(map);
    var bounds = grids.getBounds();
    if (cases.getLayers().length) { bounds = bounds.isValid() ? bounds.extend(cases.getBounds()) : cases.getBounds(); }
    if (bounds.isValid()) { map.fitBounds(bounds, { padding: [10, 10] }); } else { map.setView([23.0, 113.8], 12); }
    document.getElementById("case-map").dataset.loaded = String(cases.getLayers().length);
  });
})();
