/* The lazily loaded parts of the components nearly every page draws (dcc.Dropdown, dcc.Graph,
   dash-ag-grid's grid) are fetched as soon as the document's scripts have run, instead of when
   React first renders one of them: that was after the page's layout had arrived, so the grid
   asked for its rows (and the charts drew) only after one more round of fetching and
   evaluating. A chunk run early registers itself with its bundle's webpack runtime; the
   component's own import() then finds it installed. Loaded with the same addresses the
   components use, so the browser's cache serves either request. */
(function () {
  "use strict";
  var base = document.currentScript.src.replace(/assets\/[^/]*$/, "_dash-component-suites/");
  var chunks = ["dash/dcc/async-dropdown.js", "dash/dcc/async-graph.js",
                "dash_ag_grid/async-community.js"];
  var load = function () {
    chunks.forEach(function (chunk) {
      var script = document.createElement("script");
      script.src = base + chunk;
      document.head.appendChild(script);
    });
  };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", load);
  } else {
    load();
  }
})();
