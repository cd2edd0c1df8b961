// Leaflet (served from the package), loaded once and only when a page first shows a map, so that
// the first load of phone pages stays small: civgridLeaflet().then(function (L) { ... }).
window.civgridLeaflet = (function () {
  "use strict";
  var loading = null;
  function load(tag, attrs) {
    return new Promise(function (resolve, reject) {
      var node = document.createElement(tag);
      Object.keys(attrs).forEach(function (k) { node[k] = attrs[k]; });
      node.onload = resolve; node.onerror = reject;
      document.head.appendChild(node);
    });
  }
  return function () {
    if (!loading) {
      loading = Promise.all([
        load("link", { rel: "stylesheet", href: "/static/leaflet/leaflet.css" }),
        load("script", { src: "/static/leaflet/leaflet.js" })
      ]).then(function () {
        window.L.Icon.Default.imagePath = "/static/leaflet/images/";
        return window.L;
      });
    }
    return loading;
  };
})();
