// Grid directory: the grid map (Leaflet loaded only when the map is shown) and "which grid am I
// in?". Scope boundary: the position from the browser is sent once, in a POST body, to look up
// the grid; it is never stored or logged, here or on the server.
(function () {
  "use strict";
  var el = document.getElementById("directory-map");
  var showButton = document.getElementById("directory-map-show");
  var locateButton = document.getElementById("locate-me");
  var status = document.getElementById("locate-status");
  var map = null, ready = null;
  function say(text, link) {
    if (!status) { return; }
    status.textContent = text;
    if (link) {
      var a = document.createElement("a");
      a.href = link.url; a.textContent = " " + link.name + " (" + link.code + ")";
      status.appendChild(a);
    }
  }
  function lookup(lon, lat) {
    return fetch("/directory/locate", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ lon: lon, lat: lat })
    }).then(function (r) {
      if (r.status === 404) { say(status.dataset.outside); return null; }
      if (!r.ok) { throw new Error(String(r.status)); }
      return r.json();
    });
  }
  function showMap() {
    if (!el) { return Promise.resolve(); }
    el.hidden = false;
    if (showButton) { showButton.hidden = true; }
    if (ready) { return ready; }
    var context;
    ready = window.civgridLeaflet().then(function () {
      map = L.map(el, { attributionControl: !!el.dataset.tileUrl, zoomSnap: 0.25 });
      if (el.dataset.tileUrl) {
        L.tileLayer(el.dataset.tileUrl, { attribution: el.dataset.tileAttribution || "" }).addTo(map);
      }
      // roads, rivers and names; a grid's card shows its own village with the way around it
      context = window.civgridBasemap(map, { area: el.dataset.area || "", lines: !el.dataset.tileUrl });
      return fetch(el.dataset.grids, { headers: { Accept: "application/json" } }).then(function (r) { return r.json(); });
    }).then(function (fc) {
      var own = el.dataset.highlight || "";
      var layer = L.geoJSON(fc, {
        style: function (f) {
          var mine = f.properties.code === own;
          return { color: mine ? "#c62828" : "#0d3b66", weight: mine ? 3 : 1,
            fillColor: f.properties.kind === "exclusive" ? "#ffcc80" : "#cfd8e3",
            fillOpacity: mine ? 0.5 : 0.35 };
        },
        onEachFeature: function (f, l) {
          l.bindTooltip(document.createTextNode(f.properties.name));  // text, never HTML
          if (!el.dataset.locate) {
            var a = document.createElement("a");
            a.href = f.properties.url; a.textContent = f.properties.name;
            l.bindPopup(a);
          }
        }
      }).addTo(map);
      context.grids(layer);
      var focus = null;
      layer.eachLayer(function (l) { if (l.feature.properties.code === own) { focus = l; } });
      var bounds = focus ? focus.getBounds() : layer.getBounds();
      if (bounds.isValid()) { map.fitBounds(bounds, { padding: [12, 12] }); } else { map.setView([23.09, 113.78], 13); }
      if (el.dataset.locate) {
        // A tap on the map looks up the grid there (instead of the phone's position).
        map.on("click", function (e) {
          lookup(e.latlng.lng, e.latlng.lat).then(function (found) {
            if (found) { say(status.dataset.found, found); }
          }).catch(function () { say(status.dataset.failed); });
        });
      }
      el.dataset.loaded = String(layer.getLayers().length);
    }).catch(function (err) { el.dataset.error = String(err); });
    return ready;
  }
  if (showButton) { showButton.addEventListener("click", showMap); }
  if (el && (el.dataset.autoload || window.matchMedia("(min-width: 900px)").matches)) { showMap(); }
  if (locateButton) {
    locateButton.addEventListener("click", function () {
      if (!navigator.geolocation) { say(status.dataset.failed); showMap(); return; }
      say(status.dataset.busy);
      navigator.geolocation.getCurrentPosition(function (p) {
        lookup(p.coords.longitude, p.coords.latitude).then(function (found) {
          if (found) { say(status.dataset.found, found); window.location.assign(found.url); }
        }).catch(function () { say(status.dataset.failed); });
      }, function () { say(status.dataset.failed); showMap(); }, { enableHighAccuracy: false, timeout: 15000, maximumAge: 60000 });
    });
  }
})();
