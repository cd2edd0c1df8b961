// Taking a phone report: the position from a ledger address found by search, or a click on the
// map (grid outlines, no tiles needed). Enter in a search box searches instead of submitting.
(function () {
  "use strict";
  var lon = document.getElementById("lon"), lat = document.getElementById("lat");
  var address = document.getElementById("address");
  var status = document.getElementById("position-status");
  var box = document.getElementById("intake-map");
  var map = null, marker = null;

  function show(lo, la, pan) {
    if (!map || !window.L) { return; }
    if (marker) { marker.setLatLng([la, lo]); } else { marker = L.marker([la, lo]).addTo(map); }
    if (pan) { map.setView([la, lo], Math.max(map.getZoom(), 16)); }
  }
  function set(lo, la, how, pan) {
    lon.value = lo.toFixed(6);
    lat.value = la.toFixed(6);
    status.textContent = (status.dataset[how] || "") + " " + lon.value + ", " + lat.value;
    show(lo, la, pan);
  }

  document.getElementById("address-results").addEventListener("click", function (e) {
    var b = e.target.closest(".address-choice");
    if (!b) { return; }
    address.value = b.dataset.text;
    set(parseFloat(b.dataset.lon), parseFloat(b.dataset.lat), "chosen", true);
    status.textContent += " · " + b.dataset.text;
  });
  ["category-q", "address-q"].forEach(function (id) {
    document.getElementById(id).addEventListener("keydown", function (e) {
      if (e.key === "Enter") { e.preventDefault(); }
    });
  });

  window.civgridLeaflet().then(function () {
    map = L.map(box, { attributionControl: false });
    return fetch(box.dataset.grids || "/api/v1/grids", { credentials: "same-origin" })
      .then(function (r) { return r.json(); });
  }).then(function (grids) {
    var layer = L.geoJSON(grids, { style: { color: "#0d3b66", weight: 1, fillColor: "#cfd8e3", fillOpacity: 0.35 } }).addTo(map);
    if (layer.getBounds().isValid()) { map.fitBounds(layer.getBounds()); } else { map.setView([23.0, 113.8], 13); }
    var lo = parseFloat(lon.value), la = parseFloat(lat.value);
    if (isFinite(lo) && isFinite(la)) { show(lo, la, false); }
    map.on("click", function (e) { set(e.latlng.lng, e.latlng.lat, "pinned", false); });
    box.dataset.ready = "1";
  });
})();
