// A small map of one case (desk and portal case pages): its point over the grids of its village,
// the case's own grid outlined. Leaflet is loaded only for it (lazymap.js); without a tile URL
// the grids alone give the context.
(function () {
  "use strict";
  document.querySelectorAll(".case-map").forEach(function (el) {
    var lon = parseFloat(el.dataset.lon), lat = parseFloat(el.dataset.lat);
    if (isNaN(lon) || isNaN(lat)) { return; }
    window.civgridLeaflet().then(function (L) {
      var map = L.map(el, { attributionControl: !!el.dataset.tileUrl, scrollWheelZoom: false });
      map.setView([lat, lon], 16);
      if (el.dataset.tileUrl) {
        L.tileLayer(el.dataset.tileUrl, { attribution: el.dataset.tileAttribution || "" }).addTo(map);
      }
      var context = window.civgridBasemap(map, { area: el.dataset.area || "", lines: !el.dataset.tileUrl });
      L.circleMarker([lat, lon], { radius: 8, color: "#c62828", weight: 3, fillOpacity: 0.7 }).addTo(map);
      if (!el.dataset.grids) { return; }
      fetch(el.dataset.grids, { headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (fc) {
          if (!fc) { return; }
          var own = el.dataset.highlight || "";
          var grids = L.geoJSON(fc, {
            interactive: false,
            style: function (f) {
              var mine = f.properties.code === own;
              return { color: mine ? "#0d3b66" : "#90a4ae", weight: mine ? 3 : 1, fillOpacity: mine ? 0.12 : 0.04 };
            }
          }).addTo(map).bringToBack();
          context.grids(grids);
          el.dataset.ready = "1";
        });
    });
  });
})();
