// Field report: position from the browser, or a pin on a map whose Leaflet loads only on demand
// (the first load of the field app stays small).
(function () {
  "use strict";
  var lon = document.getElementById("lon"), lat = document.getElementById("lat");
  var status = document.getElementById("position-status");
  var marker = null, map = null, context = null;
  function set(lo, la, how) {
    lon.value = lo.toFixed(6);
    lat.value = la.toFixed(6);
    status.textContent = (status.dataset[how] || "") + " " + lon.value + ", " + lat.value;
    document.body.dispatchEvent(new CustomEvent("position-set"));  // e.g. the portal's nearby list
    if (map && window.L) {
      if (marker) { marker.setLatLng([la, lo]); } else { marker = L.marker([la, lo]).addTo(map); }
    }
  }
  document.getElementById("locate-me").addEventListener("click", function () {
    if (!navigator.geolocation) { status.textContent = status.dataset.failed; return; }
    status.textContent = status.dataset.busy;
    navigator.geolocation.getCurrentPosition(function (p) {
      set(p.coords.longitude, p.coords.latitude, "located");
    }, function (err) { status.textContent = status.dataset.failed + " " + err.message; }, { enableHighAccuracy: true, timeout: 15000 });
  });
  document.getElementById("pin-map").addEventListener("click", function () {
    var box = document.getElementById("pin-picker");
    box.hidden = false;
    if (map) { return; }
    window.civgridLeaflet().then(function () {
      map = L.map(box, { attributionControl: false });
      context = window.civgridBasemap(map);  // roads, rivers and names to find the place by
      var url = box.dataset.grids || "/api/v1/grids";  // the portal reads the public outlines
      return fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); });
    }).then(function (grids) {
      var layer = L.geoJSON(grids, { style: { color: "#0d3b66", weight: 1, fillColor: "#cfd8e3", fillOpacity: 0.35 } }).addTo(map);
      context.grids(layer);
      if (layer.getBounds().isValid()) { map.fitBounds(layer.getBounds()); } else { map.setView([23.0, 113.8], 13); }
      if (lon.value && lat.value) { set(parseFloat(lon.value), parseFloat(lat.value), "pinned"); }
      map.on("click", function (e) { set(e.latlng.lng, e.latlng.lat, "pinned"); });
      box.dataset.ready = "1";
    });
  });
})();
