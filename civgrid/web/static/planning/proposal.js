// The proposal map: proposed grids (solid, coloured by band) over the current grids (dashed).
(function () {
  "use strict";
  var el = document.getElementById("proposal-map");
  if (!el) return;
  var map = L.map(el);
  window.civgridBasemap(map, { area: el.dataset.village });  // roads, rivers, the village's name
  function fetchJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : { type: "FeatureCollection", features: [] }; });
  }
  function fill(name, value) {
    var input = document.querySelector('input[name="' + name + '"]');
    if (input) input.value = value;
  }
  Promise.all([
    fetchJSON("/api/v1/planning/proposals/" + el.dataset.proposal),
    fetchJSON("/api/v1/grids?prefix=" + el.dataset.village),
    fetchJSON("/api/v1/planning/proposals/" + el.dataset.proposal + "/units"),
  ]).then(function (res) {
    var proposal = res[0], current = res[1], units = res[2];
    var lo = proposal.band[0], hi = proposal.band[1];
    L.geoJSON(current, { style: { color: "#555", weight: 2, dashArray: "6 4", fill: false } }).addTo(map);
    var layer = L.geoJSON(proposal, {
      style: function (f) {
        var p = f.properties, ok = p.kind === "exclusive" || (p.households >= lo && p.households <= hi);
        return { color: ok ? "#1f6fb2" : "#c0392b", weight: 1.5, fillOpacity: 0.15 };
      },
      onEachFeature: function (f, l) {
        var p = f.properties;
        l.bindTooltip(document.createTextNode(p.code + " · " + p.households + " · PP " + p.polsby_popper.toFixed(2)));
        l.on("click", function () { fill("to_code", p.code); });  // nudge target
      },
    }).addTo(map);
    // Units as small dots: a click picks the unit to move; then click the neighbouring grid.
    L.geoJSON(units, {
      pointToLayer: function (f, latlng) {
        return L.circleMarker(latlng, { radius: 3, weight: 1, color: "#333", fillOpacity: 0.6 });
      },
      onEachFeature: function (f, l) {
        var p = f.properties;
        l.bindTooltip(document.createTextNode(p.id + " · " + p.households + " → " + p.grid));
        l.on("click", function (e) { fill("unit_id", p.id); L.DomEvent.stopPropagation(e); });
      },
    }).addTo(map);
    if (layer.getLayers().length) map.fitBounds(layer.getBounds());
  });
})();
