// The inspection form. Every change is kept as a draft in IndexedDB, photos as Blobs with it;
// "submit" moves the draft to the outbox store, which is sent when the phone is online (now,
// on the next "online" event, or on the next page load) as one multipart request. Each draft
// carries a client key, so a draft sent twice is stored once, photos included.
// Messages reach the page only as text.
(function () {
  "use strict";
  const form = document.getElementById("inspection-form");
  if (!form) return;
  const status = document.getElementById("inspection-status");
  const d = form.dataset;
  const draftKey = ["draft", d.template, d.kind, d.target].join(".");
  const csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  const say = (text) => { status.hidden = false; status.textContent = text; };
  const newKey = () => (window.crypto && crypto.randomUUID ? crypto.randomUUID()
    : String(Date.now()) + "-" + Math.random().toString(16).slice(2));

  // --- IndexedDB: "drafts" by draft key, "outbox" by client key --------------------------
  let opened = null;
  function open() {
    if (opened) return opened;
    opened = new Promise((resolve, reject) => {
      const req = indexedDB.open("civgrid-inspections", 1);
      req.onupgradeneeded = () => {
        req.result.createObjectStore("drafts");
        req.result.createObjectStore("outbox", { keyPath: "record.client_key" });
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    return opened;
  }
  async function run(store, mode, work) {
    const db = await open();
    return new Promise((resolve, reject) => {
      const tx = db.transaction(store, mode);
      const req = work(tx.objectStore(store));
      tx.oncomplete = () => resolve(req ? req.result : undefined);
      tx.onerror = () => reject(tx.error);
    });
  }
  const getDraft = () => run("drafts", "readonly", (s) => s.get(draftKey));
  const putDraft = (draft) => run("drafts", "readwrite", (s) => s.put(draft, draftKey));
  const outbox = () => run("outbox", "readonly", (s) => s.getAll());
  window.civgridInspectionOutbox = outbox; // for the browser test

  function items() {
    return Array.from(form.querySelectorAll("[data-item]")).map((el) => el.dataset.item);
  }

  let current = null; // the draft being edited: results, note, position, photos (Blobs)
  function snapshot() {
    const draft = current || { client_key: newKey(), photos: [] };
    draft.results = items().map((id) => {
      const checked = form.querySelector('input[name="item-' + id + '"]:checked');
      return { item_id: Number(id), result: checked ? checked.value : "",
               note: form.elements["note-" + id].value };
    });
    draft.note = form.elements.note.value;
    current = draft;
    return draft;
  }
  const save = () => putDraft(snapshot()).catch(() => {});

  function showPhotos() {
    items().forEach((id) => {
      const list = form.querySelector('[data-photos="' + id + '"]');
      if (!list) return;
      const mine = (current ? current.photos : []).filter((p) => p.item_id === Number(id));
      list.textContent = mine.map((p) => p.name).join(", ");
    });
  }

  async function restore() {
    const draft = await getDraft().catch(() => null);
    if (!draft) return;
    current = draft;
    (draft.results || []).forEach((r) => {
      const radio = form.querySelector('input[name="item-' + r.item_id + '"][value="' + r.result + '"]');
      if (radio) radio.checked = true;
      const note = form.elements["note-" + r.item_id];
      if (note) note.value = r.note || "";
    });
    form.elements.note.value = draft.note || "";
    showPhotos();
    if ((draft.results || []).some((r) => r.result || r.note) || (draft.photos || []).length) {
      say(status.dataset.restored);
    }
  }

  function record(draft) {
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
    if (sending) return;
    const box = await outbox().catch(() => []);
    if (!box.length) return;
    if (!navigator.onLine) { say(status.dataset.offline); return; }
    sending = true;
    try {
      for (const entry of box) {
        const body = new FormData();
        body.append("record", JSON.stringify(entry.record));
        entry.photos.forEach((p) => body.append("photo-" + p.item_id, p.blob, p.name));
        let response;
        try {
          response = await fetch("/api/v1/inspections/records/with-photos", {
            method: "POST",
            credentials: "same-origin",
            headers: { "X-CSRF-Token": csrf, Accept: "application/json" },
            body: body,
          });
        } catch (e) {
          say(status.dataset.offline);
          return; // still offline: the outbox keeps it
        }
        const answer = await response.json().catch(() => ({}));
        if (response.status >= 500) { say(status.dataset.refused + " " + response.status); return; }
        await run("outbox", "readwrite", (s) => s.delete(entry.record.client_key));
        if (response.ok) {
          const cases = (answer.cases || []).join(", ");
          say(status.dataset.sent + (cases ? " " + status.dataset.cases + " " + cases : ""));
        } else {
          const why = answer.message || (typeof answer.detail === "string" ? answer.detail : response.status);
          say(status.dataset.refused + " " + why);
        }
      }
    } finally {
      sending = false;
    }
  }

  form.addEventListener("input", (event) => { if (event.target.type !== "file") save(); });
  form.addEventListener("change", async (event) => {
    const input = event.target;
    if (input.type !== "file") { save(); return; }
    const draft = snapshot();
    const itemId = Number(input.dataset.photoFor);
    for (const file of Array.from(input.files || [])) {
      // a Blob copy: the File of an <input> may not outlive the page on every browser
      const blob = new Blob([await file.arrayBuffer()], { type: file.type });
      draft.photos.push({ item_id: itemId, name: file.name, blob: blob });
    }
    input.value = "";
    showPhotos();
    save();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const draft = snapshot();
    draft.inspected_at = new Date().toISOString();
    const entry = { record: record(draft), photos: draft.photos.map((p) => ({ ...p })) };
    await run("outbox", "readwrite", (s) => s.put(entry));
    await run("drafts", "readwrite", (s) => s.delete(draftKey));
    current = null;
    form.querySelector('button[type="submit"]').disabled = true;
    flush();
  });
  function locate() {
    if (!navigator.geolocation) return;
    navigator.geolocation.getCurrentPosition((pos) => {
      const draft = snapshot();
      draft.lon = pos.coords.longitude;
      draft.lat = pos.coords.latitude;
      save();
    }, () => {}, { timeout: 5000 });
  }
  window.addEventListener("online", flush);
  restore().then(() => { locate(); flush(); });
})();
