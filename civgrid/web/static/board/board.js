// Public board map: Leaflet is loaded only when the map is shown (at once on wide screens, on a
// tap on phones), so the first load stays small. Grid outlines on a plain background unless the
// deployment configured tiles; cases as dots coloured by status, each linking to its public page.
(function () {
  "use strict";
  var form = document.getElementById("board-filter-form");
  if (form) {
    // Empty filters stay out of the address, so that it can be read and shared.
    form.addEventListener("submit", function () {
      Array.prototype.forEach.call(form.elements, function (f) { if (f.name && !f.value) { f.disabled = true; } });
    });
  }
  var el = document.getElementById("board-map");
  var button = document.getElementById("board-map-show");
  if (!el || !el.dataset.cases) { if (button) { button.hidden = true; } return; }
  var started = false;
  function getJSON(url) {
    return fetch(url, { headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) { throw new Error(url + ": " + r.status); }
      return r.json();
    });
  }
  // Names come from users: Leaflet takes a string as HTML, so they go in as a text node.
  function text(s) { return document.createTextNode(String(s)); }
  function link(props) {
    var a = document.createElement("a");
    a.href = props.url;
    a.textContent = props.number + " " + props.category;
    return a;
  }
  function show() {
    el.hidden = false;
    if (button) { button.hidden = true; }
    if (started) { return; }
    started = true;
    var map, context;
    window.civgridLeaflet().then(function () {
      map = L.map(el, { attributionControl: !!el.dataset.tileUrl, zoomSnap: 0.25 });
      if (el.dataset.tileUrl) {
        L.tileLayer(el.dataset.tileUrl, { attribution: el.dataset.tileAttribution || "" }).addTo(map);
      }
      context = window.civgridBasemap(map, { lines: !el.dataset.tileUrl });  // roads, rivers, names
      // One request after the other: on SQLite each request holds the database lock.
      return getJSON(el.dataset.grids);
    }).then(function (grids) {
      var outlines = L.geoJSON(grids, {
        style: { color: "#0d3b66", weight: 1, fillColor: "#cfd8e3", fillOpacity: 0.3 },
        onEachFeature: function (f, layer) { layer.bindTooltip(text(f.properties.name)); }
      }).addTo(map);
      context.grids(outlines);
      return getJSON(el.dataset.cases).then(function (cases) { return [outlines, cases]; });
    }).then(function (data) {
      var outlines = data[0];
      var dots = L.geoJSON(data[1], {
        pointToLayer: function (f, latlng) {
          return L.circleMarker(latlng, { radius: 8, weight: 2, color: "#fff",
            fillColor: f.properties.colour, fillOpacity: 0.95 });
        },
        onEachFeature: function (f, layer) { layer.bindPopup(link(f.properties)); }
      }).addTo(map);
      var bounds = dots.getLayers().length ? dots.getBounds() : outlines.getBounds();
      if (bounds.isValid()) { map.fitBounds(bounds, { padding: [16, 16], maxZoom: 16 }); } else { map.setView([23.09, 113.78], 13); }
      el.dataset.loaded = String(dots.getLayers().length);
    }).catch(function (err) { el.dataset.error = String(err); });
  }
  if (button) { button.addEventListener("click", show); }
  if (window.matchMedia("(min-width: 900px)").matches) {
    var filters = document.querySelector("details.board-filters");
    if (filters) { filters.open = true; }  // room enough to show them on wide screens
    show();
  }
})();
