// The inspection form. Every change is kept as a draft in localStorage; "submit" moves the
// draft to an outbox, which is sent when the phone is online (now, or on the next "online"
// event or page load). Each draft carries a client key, so a draft sent twice is stored once.
// Messages reach the page only as text.
(function () {
  "use strict";
  const form = document.getElementById("inspection-form");
  if (!form) return;
  const status = document.getElementById("inspection-status");
  const OUTBOX = "civgrid.inspections.outbox";
  const d = form.dataset;
  const draftKey = ["civgrid.inspections.draft", d.template, d.kind, d.target].join(".");
  const csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");

  const read = (key, fallback) => {
    try { return JSON.parse(localStorage.getItem(key)) || fallback; } catch (e) { return fallback; }
  };
  const write = (key, value) => localStorage.setItem(key, JSON.stringify(value));
  const say = (text) => { status.hidden = false; status.textContent = text; };
  const newKey = () => (window.crypto && crypto.randomUUID ? crypto.randomUUID()
    : String(Date.now()) + "-" + Math.random().toString(16).slice(2));

  function items() {
    return Array.from(form.querySelectorAll("[data-item]")).map((el) => el.dataset.item);
  }

  function snapshot() {
    const draft = read(draftKey, {});
    draft.client_key = draft.client_key || newKey();
    draft.results = items().map((id) => {
      const checked = form.querySelector('input[name="item-' + id + '"]:checked');
      return { item_id: Number(id), result: checked ? checked.value : "",
               note: form.elements["note-" + id].value };
    });
    draft.note = form.elements.note.value;
    draft.inspected_at = draft.inspected_at || null;
    return draft;
  }

  function restore() {
    const draft = read(draftKey, null);
    if (!draft || !draft.results || !draft.results.some((r) => r.result || r.note)) return;
    draft.results.forEach((r) => {
      const radio = form.querySelector('input[name="item-' + r.item_id + '"][value="' + r.result + '"]');
      if (radio) radio.checked = true;
      const note = form.elements["note-" + r.item_id];
      if (note) note.value = r.note || "";
    });
    form.elements.note.value = draft.note || "";
    say(status.dataset.restored);
  }

  function payload(draft) {
    return {
      client_key: draft.client_key,
      template_id: Number(d.template),
      kind: d.kind,
      target_id: Number(d.target),
      plan_id: d.plan ? Number(d.plan) : null,
      inspected_at: draft.inspected_at,
      lon: draft.lon ?? null,
      lat: draft.lat ?? null,
      note: draft.note,
      results: draft.results,
    };
  }

  let sending = false;
  async function flush() {
    const box = read(OUTBOX, []);
    if (!box.length || sending) return;
    if (!navigator.onLine) { say(status.dataset.offline); return; }
    sending = true;
    try {
      for (const item of box.slice()) {
        let response;
        try {
          response = await fetch("/api/v1/inspections/records", {
            method: "POST",
            credentials: "same-origin",
            headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, Accept: "application/json" },
            body: JSON.stringify(item),
          });
        } catch (e) {
          say(status.dataset.offline);
          return; // still offline: the outbox keeps it
        }
        const body = await response.json().catch(() => ({}));
        write(OUTBOX, read(OUTBOX, []).filter((x) => x.client_key !== item.client_key));
        if (response.ok) {
          const cases = (body.cases || []).join(", ");
          say(status.dataset.sent + (cases ? " " + status.dataset.cases + " " + cases : ""));
        } else {
          say(status.dataset.refused + " " + (body.detail || response.status));
        }
      }
    } finally {
      sending = false;
    }
  }

  form.addEventListener("input", () => write(draftKey, snapshot()));
  form.addEventListener("change", () => write(draftKey, snapshot()));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const draft = snapshot();
    draft.inspected_at = new Date().toISOString();
    const box = read(OUTBOX, []).filter((x) => x.client_key !== draft.client_key);
    box.push(payload(draft));
    write(OUTBOX, box);
    localStorage.removeItem(draftKey);
    form.querySelector('button[type="submit"]').disabled = true;
    flush();
  });
  if (navigator.geolocation) {
    navigator.geolocation.getCurrentPosition((pos) => {
      const draft = snapshot();
      draft.lon = pos.coords.longitude;
      draft.lat = pos.coords.latitude;
      write(draftKey, draft);
    }, () => {}, { timeout: 5000 });
  }
  window.addEventListener("online", flush);
  restore();
  flush();
})();
