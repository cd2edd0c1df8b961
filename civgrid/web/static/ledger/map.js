// The ledger map: a kind's places in the visible box. Dense layers come back from the server
// already clustered (grid-bucket aggregation in SQL); labels are set as text, never as HTML.
(function () {
  "use strict";
  const el = document.getElementById("ledger-map");
  if (!el || typeof L === "undefined") return;
  const kind = el.dataset.kind;
  const status = document.getElementById("layer-status");
  const map = L.map(el, { zoomSnap: 0.25, attributionControl: false }).setView([23.1, 113.8], 13);
  const layer = L.layerGroup().addTo(map);
  const context = window.civgridBasemap(map);  // roads, rivers, village and grid names

  function clusterIcon(count) {
    const div = document.createElement("div");
    div.className = "ledger-cluster";
    div.textContent = String(count);
    return L.divIcon({ html: div, className: "", iconSize: [32, 32] });
  }

  function show(data) {
    layer.clearLayers();
    if (data.clustered) {
      data.clusters.forEach((c) => L.marker([c.lat, c.lon], { icon: clusterIcon(c.count) }).addTo(layer));
      status.textContent = status.dataset.clusters.replace("%(n)s", data.total);
    } else {
      data.points.forEach((p) => {
        const m = L.circleMarker([p.lat, p.lon], { radius: 5 }).addTo(layer);
        m.bindTooltip(document.createTextNode(p.code));
        m.on("click", () => { window.location.href = "/ledger/" + kind + "/" + p.id; });
      });
      status.textContent = status.dataset.points.replace("%(n)s", data.total);
    }
  }

  function load() {
    const b = map.getBounds();
    const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(6)).join(",");
    fetch("/api/v1/ledger/" + kind + "/layer?bbox=" + bbox, { credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
      .then(show)
      .catch(() => { status.textContent = "—"; });
  }

  fetch("/api/v1/grids", { credentials: "same-origin" })
    .then((r) => r.json())
    .then((fc) => {
      const grids = L.geoJSON(fc, { style: { color: "#555", weight: 1, fillOpacity: 0.03 } }).addTo(map);
      context.grids(grids);
      if (grids.getLayers().length) map.fitBounds(grids.getBounds());
    })
    .finally(() => { map.on("moveend", load); load(); });
})();
