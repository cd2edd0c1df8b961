// Field patrol: positions from the browser go to IndexedDB first, then up in batches, each with
// an idempotency key. A batch leaves the phone's queue only when the server has answered it, so
// a reload or a dead network loses nothing, and a batch sent twice is stored once.
(function () {
  "use strict";
  var box = document.getElementById("patrol");
  if (!box) { return; }
  var EVERY = Number(box.dataset.every || 10) * 1000;  // one position per EVERY ms
  var BATCH = Number(box.dataset.batch || 60);
  var FLUSH = Math.max(EVERY * 3, 3000);
  var KEY = "civgrid.patrol";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var statusEl = document.getElementById("patrol-status");
  var errorEl = document.getElementById("patrol-error");
  var startBtn = document.getElementById("patrol-start");
  var endBtn = document.getElementById("patrol-end");
  var state = JSON.parse(localStorage.getItem(KEY) || "null");
  var watchId = null, timer = null, lastT = 0, flushing = false, sent = 0;

  function save() { if (state) { localStorage.setItem(KEY, JSON.stringify(state)); } else { localStorage.removeItem(KEY); } }
  function say(msg) { statusEl.textContent = msg; }
  function toggle(el, on) { el.hidden = !on; el.style.display = on ? "" : "none"; }
  function fail(msg) { errorEl.hidden = !msg; errorEl.textContent = msg || ""; }

  // --- IndexedDB ---------------------------------------------------------------------------
  var dbp = new Promise(function (resolve, reject) {
    var req = indexedDB.open("civgrid-patrol", 1);
    req.onupgradeneeded = function () {
      req.result.createObjectStore("points", { autoIncrement: true });
      req.result.createObjectStore("outbox", { keyPath: "key" });
    };
    req.onsuccess = function () { resolve(req.result); };
    req.onerror = function () { reject(req.error); };
  });
  function tx(stores, mode, work) {
    return dbp.then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(stores, mode), out = {};
        work(t, out);
        t.oncomplete = function () { resolve(out.value); };
        t.onerror = function () { reject(t.error); };
      });
    });
  }
  function keep(point) { return tx(["points"], "readwrite", function (t) { t.objectStore("points").add(point); }); }
  function counts() {
    return tx(["points", "outbox"], "readonly", function (t, out) {
      out.value = [0, 0];
      t.objectStore("points").count().onsuccess = function (e) { out.value[0] = e.target.result; };
      t.objectStore("outbox").getAll().onsuccess = function (e) {
        out.value[1] = e.target.result.reduce(function (n, b) { return n + b.points.length; }, 0);
      };
    });
  }
  function show() {
    counts().then(function (c) {
      document.getElementById("patrol-queued").textContent = String(c[0] + c[1]);
      document.getElementById("patrol-sent").textContent = String(sent);
      box.dataset.queued = String(c[0] + c[1]);
    });
  }
  // Move queued points into keyed batches, in one transaction: a point is in exactly one place.
  function pack() {
    return tx(["points", "outbox"], "readwrite", function (t) {
      var pts = t.objectStore("points"), outbox = t.objectStore("outbox");
      var cur = [], keys = [];
      pts.openCursor().onsuccess = function (e) {
        var c = e.target.result;
        if (c) { cur.push(c.value); keys.push(c.key); c.continue(); return; }
        for (var i = 0; i < cur.length; i += BATCH) {
          var chunk = cur.slice(i, i + BATCH);
          var key = chunk[0].patrol + "-" + chunk[0].t + "-" + chunk.length + "-" + Math.random().toString(36).slice(2, 10);
          outbox.put({ key: key, patrol: chunk[0].patrol, points: chunk, seq: Date.now() + i });
        }
        keys.forEach(function (k) { pts.delete(k); });
      };
    });
  }
  function outboxItems() { return tx(["outbox"], "readonly", function (t, out) { t.objectStore("outbox").getAll().onsuccess = function (e) { out.value = e.target.result; }; }); }
  function drop(key) { return tx(["outbox"], "readwrite", function (t) { t.objectStore("outbox").delete(key); }); }

  // --- HTTP --------------------------------------------------------------------------------
  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body || {})
    });
  }
  function send(items) {
    items.sort(function (a, b) { return a.seq - b.seq; });
    return items.reduce(function (chain, b) {
      return chain.then(function () {
        var body = { key: b.key, points: b.points.map(function (p) { return { t: p.t, lon: p.lon, lat: p.lat, acc: p.acc }; }) };
        return post("/api/v1/patrols/" + b.patrol + "/points", body).then(function (r) {
          // Not answered for good (server trouble, logged out): keep the batch, try again later.
          if (r.status >= 500 || r.status === 429 || r.status === 401 || r.status === 403) { throw new Error("server " + r.status); }
          return r.json().then(function (j) {
            if (r.ok && !j.duplicate) { sent += j.stored; }
            if (!r.ok) { fail(String(j.detail || r.status)); }
            return drop(b.key);  // answered (stored, duplicate or refused as malformed): done
          });
        });
      });
    }, Promise.resolve());
  }
  function flush() {
    if (flushing) { return Promise.resolve(); }
    flushing = true;
    return pack().then(outboxItems).then(send).then(function () {
      box.dataset.online = "1";
      if (state && state.ending) { return finish(); }
    }).catch(function () {
      box.dataset.online = "0";
      say(box.dataset.msgOffline);
    }).then(function () { flushing = false; show(); });
  }
  function finish() {
    return outboxItems().then(function (left) {
      if (left.length) { return; }
      return post("/api/v1/patrols/" + state.id + "/end", { ended_at: state.endedAt }).then(function (r) {
        if (r.status >= 500) { throw new Error("server " + r.status); }
        state = null; save();
        clearInterval(timer); timer = null;
        say(box.dataset.msgEnded);
        toggle(startBtn, true); toggle(endBtn, false);
        box.dataset.state = "ended";
      });
    });
  }

  // --- positions ---------------------------------------------------------------------------
  function onPosition(p) {
    if (!state || state.ending || p.timestamp <= lastT) { return; }
    lastT = p.timestamp;
    keep({ patrol: state.id, t: p.timestamp, lon: p.coords.longitude, lat: p.coords.latitude, acc: p.coords.accuracy }).then(show);
  }
  function ask() { navigator.geolocation.getCurrentPosition(onPosition, function () {}, { enableHighAccuracy: true, maximumAge: 0, timeout: EVERY }); }
  function track() {
    if (!navigator.geolocation) { fail(box.dataset.msgNogeo); return; }
    watchId = navigator.geolocation.watchPosition(onPosition, function () {}, { enableHighAccuracy: true, maximumAge: 0 });
    setInterval(function () { if (state && !state.ending) { ask(); } }, EVERY);
    if (!timer) { timer = setInterval(flush, FLUSH); }
    say(box.dataset.msgOn);
    toggle(startBtn, false); toggle(endBtn, true);
    box.dataset.state = "open";
  }

  startBtn.addEventListener("click", function () {
    fail("");
    post("/api/v1/patrols").then(function (r) {
      return r.json().then(function (j) {
        if (!r.ok) { fail(String(j.detail || r.status)); return; }
        state = { id: j.id }; save(); track();
      });
    }).catch(function () { fail(box.dataset.msgOffline); });
  });
  endBtn.addEventListener("click", function () {
    if (!state) { return; }
    state.ending = true; state.endedAt = new Date().toISOString(); save();
    if (watchId !== null) { navigator.geolocation.clearWatch(watchId); watchId = null; }
    toggle(endBtn, false);
    flush();
  });
  window.addEventListener("online", flush);

  if (!state && box.dataset.open) { state = { id: Number(box.dataset.open) }; save(); }
  if (state && state.ending) { toggle(startBtn, false); toggle(endBtn, false); timer = setInterval(flush, FLUSH); flush(); }
  else if (state) { track(); flush(); }
  else { say(box.dataset.msgIdle); box.dataset.state = "idle"; toggle(endBtn, false); }
  show();
})();
