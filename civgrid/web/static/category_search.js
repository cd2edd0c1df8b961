// What was typed into the category search before htmx started (a slow phone, a loaded machine)
// is searched as soon as it has, instead of being lost with its input events. (Not an htmx
// trigger filter: those need eval, which the Content-Security-Policy refuses.)
document.addEventListener("htmx:load", function (event) {
  "use strict";
  var root = event.target;
  var input = root.id === "category-q" ? root : root.querySelector && root.querySelector("#category-q");
  var chosen = document.querySelector("#category-results [name=category_id]:not([type=hidden])");
  if (input && input.value && !chosen) {
    input.dispatchEvent(new Event("search"));
  }
});
