// Field report and the portal's report form: position from the browser, or a pin on a map whose
// Leaflet loads only on demand (the first load stays small). As soon as a position is set, the
// server says whether it lies in the service area (POST body, never logged), next to the map.
(function () {
  "use strict";
  var lon = document.getElementById("lon"), lat = document.getElementById("lat");
  var status = document.getElementById("position-status");
  var area = document.getElementById("position-area");
  var marker = null, map = null, context = null, asked = 0;
  function hasPosition() { return lon.value.trim() !== "" && lat.value.trim() !== ""; }
  // The portal's nearby list asks only with a category and a position (never empty coordinates):
  // "nearby-ready" is its htmx trigger. (Not an htmx trigger filter: those need eval, which the
  // Content-Security-Policy refuses, and htmx then lets every event through.)
  function askNearby() {
    if (hasPosition() && document.querySelector("#category-results [name=category_id]:checked")) {
      document.body.dispatchEvent(new CustomEvent("nearby-ready"));
    }
  }
  document.addEventListener("change", function (event) {
    var t = event.target;
    if (t && t.name === "category_id" && t.closest && t.closest("#category-results")) { askNearby(); }
  });
  function say(text, outside) {
    if (!area) { return; }
    area.textContent = text;
    area.className = outside ? "error" : "muted";
    area.dataset.state = outside ? "outside" : (text ? "inside" : "");
  }
  function checkArea() {
    if (!area || !hasPosition()) { return; }
    var lo = parseFloat(lon.value), la = parseFloat(lat.value), mine = ++asked;
    if (isNaN(lo) || isNaN(la)) { say(area.dataset.outside, true); return; }
    fetch("/directory/locate", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ lon: lo, lat: la })
    }).then(function (r) {
      if (mine !== asked) { return; }  // an older answer after a newer pin
      if (r.status === 404 || r.status === 422) { say(area.dataset.outside, true); return; }
      if (!r.ok) { say("", false); return; }
      return r.json().then(function (g) { if (mine === asked) { say(area.dataset.inside + " " + g.name, false); } });
    }).catch(function () { say("", false); });
  }
  function show(how) {
    status.textContent = (status.dataset[how] || "") + " " + lon.value + ", " + lat.value;
  }
  function set(lo, la, how) {
    lon.value = lo.toFixed(6);
    lat.value = la.toFixed(6);
    show(how);
    checkArea();
    askNearby();
    if (map && window.L) {
      if (marker) { marker.setLatLng([la, lo]); } else { marker = L.marker([la, lo]).addTo(map); }
    }
  }
  function openMap() {
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
      if (hasPosition()) {
        var lo = parseFloat(lon.value), la = parseFloat(lat.value);
        if (!isNaN(lo) && !isNaN(la)) { marker = L.marker([la, lo]).addTo(map); }
      }
      map.on("click", function (e) { set(e.latlng.lng, e.latlng.lat, "pinned"); });
      box.dataset.ready = "1";
    });
  }
  document.getElementById("locate-me").addEventListener("click", function () {
    if (!navigator.geolocation) { status.textContent = status.dataset.failed; return; }
    status.textContent = status.dataset.busy;
    navigator.geolocation.getCurrentPosition(function (p) {
      set(p.coords.longitude, p.coords.latitude, "located");
    }, function (err) { status.textContent = status.dataset.failed + " " + err.message; }, { enableHighAccuracy: true, timeout: 15000 });
  });
  document.getElementById("pin-map").addEventListener("click", openMap);
  // The field app's coordinates can be typed in.
  [lon, lat].forEach(function (input) { input.addEventListener("change", checkArea); });
  // A form sent back with an error keeps its position: show it, on the map too, and check it.
  if (hasPosition()) {
    show("kept");
    checkArea();
    if (lon.type === "hidden") { openMap(); }
  }
})();
