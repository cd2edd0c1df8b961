// "Use my location" on the add-a-place form: fills longitude and latitude from the phone.
(function () {
  "use strict";
  const button = document.getElementById("locate-me");
  if (!button || !navigator.geolocation) return;
  button.addEventListener("click", () => {
    navigator.geolocation.getCurrentPosition((pos) => {
      document.getElementById("f-lon").value = pos.coords.longitude.toFixed(6);
      document.getElementById("f-lat").value = pos.coords.latitude.toFixed(6);
    });
  });
})();
