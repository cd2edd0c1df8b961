// The grid map: plain background (or the configured tiles), grids coloured by village and
// labelled with codes, a card on click, overlay toggles, and grids with check problems in red.
(function () {
  "use strict";
  const el = document.getElementById("grid-map");
  if (!el) return;
  const prefix = el.dataset.prefix || "";
  const q = prefix ? "?prefix=" + encodeURIComponent(prefix) : "";
  const map = L.map(el, { preferCanvas: false, zoomSnap: 0.25 });
  if (el.dataset.tileUrl) {
    L.tileLayer(el.dataset.tileUrl, { attribution: el.dataset.tileAttribution || "" }).addTo(map);
  }
  // Roads, rivers and village names (the grids carry their codes as labels already).
  const area = prefix.length >= 12 ? prefix.slice(0, 12) : prefix.length >= 9 ? prefix.slice(0, 9) : "";
  window.civgridBasemap(map, { area: area, lines: !el.dataset.tileUrl });
  const palette = ["#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948",
    "#9c755f", "#e15759", "#86bcb6", "#8cd17d", "#499894", "#d37295", "#a0cbe8", "#ffbe7d", "#bab0ac"];
  const colourOf = {};
  function colour(village) {
    if (!(village in colourOf)) colourOf[village] = palette[Object.keys(colourOf).length % palette.length];
    return colourOf[village];
  }
  const getJSON = (url) => fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then((r) => { if (!r.ok) throw new Error(url + ": " + r.status); return r.json(); });

  let problems = {};
  const farAway = () => el.classList.toggle("grid-map-far", map.getZoom() < 16);
  map.on("zoomend", farAway);
  const layersControl = L.control.layers(null, {}, { collapsed: false }).addTo(map);

  function style(feature) {
    const bad = problems[feature.properties.code];
    return {
      color: bad ? "#d62728" : "#334",
      weight: bad ? 3 : 1,
      dashArray: bad ? "6 4" : null,
      fillColor: colour(feature.properties.village_code),
      fillOpacity: feature.properties.kind === "exclusive" ? 0.65 : 0.4,
    };
  }

  function showCard(id) {
    getJSON("/api/v1/grids/" + id).then((f) => {
      const tpl = document.getElementById("grid-card-template");
      const box = document.getElementById("grid-card");
      const node = tpl.content.cloneNode(true);
      const p = Object.assign({}, f.properties, f.properties.card);
      node.querySelectorAll("[data-field]").forEach((n) => {
        const k = n.dataset.field;
        if (k === "problems") n.textContent = (problems[p.code] || []).join(", ");
        else n.textContent = p[k] === null || p[k] === undefined ? "—" : p[k];
      });
      // links the card offers (same-site paths only), e.g. the grid's ledger and book
      node.querySelectorAll("[data-href]").forEach((a) => {
        const href = p[a.dataset.href];
        if (typeof href === "string" && href.startsWith("/") && !href.startsWith("//")) a.href = href;
        else a.remove();
      });
      const slot = node.querySelector("[data-slot=open-cases]");
      if (slot && p.open_cases !== null && p.open_cases !== undefined) {
        slot.textContent = typeof p.open_cases === "object" ? JSON.stringify(p.open_cases) : p.open_cases;
      }
      box.replaceChildren(tpl, node);
      box.dataset.gridId = id;
      document.dispatchEvent(new CustomEvent("civgrid:grid-card", { detail: { grid: p } }));
    });
  }

  // Requests go one after another: on SQLite every request holds the database lock, and a
  // burst of parallel requests from one page only queues up behind it.
  let gridLayer = null;
  const ready = getJSON("/api/v1/grids" + q).then((fc) => {
    gridLayer = L.geoJSON(fc, {
      style: style,
      onEachFeature: (f, l) => {
        // the full code when zoomed in; only the sequence digits when zoomed out
        const c = f.properties.code;
        // built as nodes: Leaflet takes a string as HTML, and codes come from imports
        const label = document.createElement("span");
        const village = document.createElement("span");
        village.className = "grid-code-village";
        village.textContent = c.slice(0, 12);
        label.append(village, c.slice(12));
        l.bindTooltip(label, { permanent: true, direction: "center", className: "grid-code-label" });
        l.on("click", () => showCard(f.properties.id));
      },
    }).addTo(map);
    layersControl.addOverlay(gridLayer, el.dataset.labelGrids);
    if (fc.features.length) map.fitBounds(gridLayer.getBounds());
    else map.setView([23.09, 113.78], 13);
    farAway();
  }).then(() => getJSON("/api/v1/grids/villages" + q)).then((fc) => {
    const layer = L.geoJSON(fc, { style: { color: "#111", weight: 2.5, fill: false }, interactive: false }).addTo(map);
    layersControl.addOverlay(layer, el.dataset.labelVillages);
  });

  const overlays = (layers) => layers.reduce((chain, info) => chain
    .then(() => getJSON("/api/v1/grids/overlays/" + encodeURIComponent(info.code)))
    .then((fc) => {
      const layer = L.geoJSON(fc, {
        style: { color: "#6a3d9a", weight: 2, dashArray: "2 6", fillOpacity: 0.05 },
        onEachFeature: (f, l) => l.bindPopup(document.createTextNode(f.properties.name + " (" + f.properties.code + ")")),
      });
      layersControl.addOverlay(layer, info.name);
    }), Promise.resolve());

  ready.then(() => getJSON("/api/v1/grids/checks" + q)).then((reports) => {
    const layer = gridLayer;
    const list = document.getElementById("grid-problems");
    list.replaceChildren();
    Object.entries(reports).forEach(([village, r]) => {
      r.grids.forEach((g) => { if (g.problems.length) problems[g.code] = g.problems; });
      const notes = [];
      if (r.gap_area_m2 > 1) notes.push("gap " + r.gap_area_m2 + " m²");
      if (r.overlap_area_m2 > 1) notes.push("overlap " + r.overlap_area_m2 + " m²");
      if (r.split_sites.length) notes.push("split: " + r.split_sites.join(", "));
      if (notes.length) {
        const li = document.createElement("li");
        li.textContent = village + ": " + notes.join("; ");
        list.appendChild(li);
      }
    });
    Object.entries(problems).forEach(([code, p]) => {
      const li = document.createElement("li");
      li.textContent = code + ": " + p.join(", ");
      li.className = "error";
      list.appendChild(li);
    });
    if (!list.children.length) {
      const li = document.createElement("li");
      li.textContent = "✓ " + list.dataset.none;
      list.appendChild(li);
    }
    layer.setStyle(style);
  }).then(() => getJSON("/api/v1/grids/overlays")).then(overlays);
})();
