// Planning village page: while an upload is sent and divided, show a progress bar and the
// elapsed seconds (the form still submits normally; without JS the page simply waits).
(function () {
  "use strict";
  var form = document.getElementById("propose-form");
  if (!form) { return; }
  form.addEventListener("submit", function () {
    var box = document.getElementById("propose-progress");
    var status = document.getElementById("propose-status");
    if (!box || !status) { return; }
    box.hidden = false;
    var started = Date.now();
    status.textContent = status.dataset.uploading;
    window.setInterval(function () {
      var s = Math.round((Date.now() - started) / 1000);
      status.textContent = status.dataset.dividing.replace("%(s)s", String(s));
    }, 1000);
  });
})();
