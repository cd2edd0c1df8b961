// Street context for every map (with or without tiles): roads as light lines, rivers and water
// in blue, village names when zoomed out, grid names (and road names) when zoomed in, from the
// territory data at /api/v1/grids/basemap. One helper for all the map scripts:
//   var context = civgridBasemap(map, { area: "441900101" });
//   context.grids(gridGeoJSONLayer);   // once the page's grids are drawn: their names as labels
// With { lines: false } (a page with the deployment's tiles) only the names are added.
// Every label is built as a DOM node with textContent: names come from imports, never HTML.
window.civgridBasemap = (function () {
  "use strict";
  var ROAD_CASING = { color: "#7d8a97", weight: 6, opacity: 1, lineCap: "round", lineJoin: "round" };
  var ROAD = { color: "#ffffff", weight: 3.5, opacity: 1, lineCap: "round", lineJoin: "round" };
  var RIVER = { color: "#4a90d9", weight: 4, opacity: 0.9, fillColor: "#a9cdf0", fillOpacity: 0.85 };
  var LABEL_WIDTH_PX = 110;  // a grid name fits when its grid is about this wide on screen

  function pane(map, name, z) {
    if (!map.getPane(name)) {
      var p = map.createPane(name);
      p.style.zIndex = String(z);
      p.style.pointerEvents = "none";  // context only: clicks go to the grids and the cases
    }
    return name;
  }
  function label(latlng, text, kind, paneName) {
    var span = document.createElement("span");
    span.className = "map-label map-label-" + kind;
    span.textContent = text;
    var icon = L.divIcon({ html: span, className: "map-label-anchor", iconSize: null });
    return L.marker(latlng, { icon: icon, interactive: false, keyboard: false, pane: paneName });
  }
  function lineStyle(kind, casing) {
    if (kind === "river") { return RIVER; }
    return casing ? ROAD_CASING : ROAD;
  }
  // Roads widen as the map zooms in, as on a printed street map: ~2 px far out, ~7 px close up.
  function roadWeight(zoom, casing) {
    var w = Math.max(1.5, Math.min(7, (zoom - 12) * 1.4 + 2));
    return casing ? w + 2.5 : w;
  }
  // The zoom from which grid names fit inside their grids: the median grid width on screen.
  function gridZoom(map, layers) {
    var widths = layers.map(function (l) {
      var b = l.getBounds();
      return b.getEast() - b.getWest();
    }).filter(function (w) { return w > 0; }).sort(function (a, b) { return a - b; });
    if (!widths.length) { return 16; }
    var degrees = widths[Math.floor(widths.length / 2)];
    return Math.ceil(Math.log(LABEL_WIDTH_PX * 360 / (256 * degrees)) / Math.LN2 * 4) / 4;
  }
  // Names that would overlap an earlier one are hidden (rivers, villages, grids, then roads),
  // so a phone's small map stays readable; those off the screen are skipped.
  function declutter(map, groups) {
    var view = map.getContainer().getBoundingClientRect(), kept = [];
    groups.forEach(function (group) {
      if (!map.hasLayer(group)) { return; }
      group.eachLayer(function (m) {
        var span = m.getElement() && m.getElement().firstChild;
        if (!span) { return; }
        span.style.visibility = "";
        var b = span.getBoundingClientRect();
        if (b.right < view.left || b.left > view.right || b.bottom < view.top || b.top > view.bottom) { return; }
        var clash = kept.some(function (k) {
          return b.left < k.right && b.right > k.left && b.top < k.bottom && b.bottom > k.top;
        });
        if (clash) { span.style.visibility = "hidden"; } else { kept.push(b); }
      });
    });
  }
  function centre(layer) {
    try { return layer.getCenter(); } catch (e) { return layer.getBounds().getCenter(); }
  }

  return function (map, options) {
    var opts = options || {};
    var el = map.getContainer();
    var lines = pane(map, "civgrid-context", 390);  // under the grids' outlines (400)
    var names = pane(map, "civgrid-labels", 450);   // over the grids, under the case dots (600)
    var drawn = L.layerGroup().addTo(map);
    var casings = L.layerGroup().addTo(map), roads = L.layerGroup().addTo(map);
    var riverLabels = L.layerGroup().addTo(map);
    var villageLabels = L.layerGroup(), roadLabels = L.layerGroup(), gridLabels = L.layerGroup();
    var threshold = 15.5, loadedZoom = null, loading = null;

    function show(group, on) {
      if (on && !map.hasLayer(group)) { group.addTo(map); }
      if (!on && map.hasLayer(group)) { map.removeLayer(group); }
    }
    function update() {
      var z = map.getZoom();
      show(villageLabels, z < threshold);
      show(gridLabels, z >= threshold);
      show(roadLabels, z >= threshold + 1);
      casings.eachLayer(function (l) { l.setStyle({ weight: roadWeight(z, true) }); });
      roads.eachLayer(function (l) { l.setStyle({ weight: roadWeight(z, false) }); });
      el.dataset.labelZoom = String(threshold);
      declutter(map, [riverLabels, villageLabels, gridLabels, roadLabels]);
    }
    function draw(fc) {
      drawn.clearLayers(); casings.clearLayers(); roads.clearLayers(); riverLabels.clearLayers(); villageLabels.clearLayers(); roadLabels.clearLayers();
      var counts = { road: 0, river: 0, village: 0 }, roadLines = [];
      fc.features.forEach(function (f) {
        var p = f.properties;
        counts[p.kind] = (counts[p.kind] || 0) + 1;
        if (p.kind === "village") {
          var c = f.geometry.coordinates;
          villageLabels.addLayer(label([c[1], c[0]], p.name, "village", names));
          return;
        }
        if (opts.lines === false) { return; }  // the deployment's tiles already show them
        if (p.kind === "road") {
          casings.addLayer(L.geoJSON(f, { pane: lines, interactive: false, style: lineStyle(p.kind, true) }));
          roadLines.push(f);  // after every casing, so that crossings join up
        } else {
          drawn.addLayer(L.geoJSON(f, { pane: lines, interactive: false, style: lineStyle(p.kind, false) }));
        }
        if (p.name && p.label) {  // rivers are landmarks at any zoom; road names close up
          (p.kind === "river" ? riverLabels : roadLabels).addLayer(label([p.label[1], p.label[0]], p.name, p.kind, names));
        }
      });
      roadLines.forEach(function (f) {
        roads.addLayer(L.geoJSON(f, { pane: lines, interactive: false, style: lineStyle("road", false) }));
      });
      el.dataset.contextRoads = String(counts.road);
      el.dataset.contextRivers = String(counts.river);
      el.dataset.contextVillages = String(counts.village);
      update();
    }
    function load() {
      var z = Math.max(0, Math.min(22, Math.floor(map.getZoom())));
      if (loading || (loadedZoom !== null && (loadedZoom >= 17 || z <= loadedZoom + 1))) { return; }
      var q = ["zoom=" + z];
      if (opts.area) { q.push("area=" + encodeURIComponent(opts.area)); }
      loading = fetch("/api/v1/grids/basemap?" + q.join("&"), { headers: { Accept: "application/json" } })
        .then(function (r) {
          if (!r.ok) { throw new Error("basemap: " + r.status); }
          return r.json();
        })
        .then(function (fc) { loadedZoom = z; draw(fc); el.dataset.context = "1"; })
        .catch(function (err) { el.dataset.contextError = String(err); })
        .then(function () { loading = null; });
    }
    // The lines come at the detail the view needs: fetched once the map has a view, again
    // (finer) only after zooming in well past it.
    map.whenReady(load);
    map.on("zoomend", function () { update(); load(); });
    map.on("moveend", function () { declutter(map, [riverLabels, villageLabels, gridLabels, roadLabels]); });
    return {
      // Name each grid of ``layer`` (an L.GeoJSON of grids) at its centre, when zoomed in.
      grids: function (layer, nameOf) {
        var name = nameOf || function (f) { return f.properties.name; };
        gridLabels.clearLayers();
        var parts = layer.getLayers();
        parts.forEach(function (l) {
          var text = l.feature && name(l.feature);
          if (text) { gridLabels.addLayer(label(centre(l), text, "grid", names)); }
        });
        if (parts.length) { threshold = gridZoom(map, parts); }
        update();
      }
    };
  };
})();
