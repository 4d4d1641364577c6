/* Scripts fetched once the document's own scripts have run, so that they are evaluated while
   Dash asks the server for the layout and the page instead of before Dash starts.

   * The lazily loaded parts of the components nearly every page draws (dcc.Dropdown, dcc.Graph,
     dash-ag-grid's grid). Loaded when React first renders one of them, they came after the
     page's layout had arrived, so the grid asked for its rows (and the charts drew) only after
     one more round of fetching and evaluating. A chunk run early registers itself with its
     bundle's webpack runtime; the component's own import() then finds it installed. Same
     addresses as the components use, so the browser's cache serves either request.
   * plotly.js, built with only the trace types the console draws (assets/vendor/, 1.2 MB:
     ~0.2 s of the main thread to evaluate; tools/plotly-bundle/ builds it).
     Until it has run, window.Plotly is a promise of it: dcc.Graph waits on it before drawing
     (Promise.resolve(window.Plotly || …)), and so does 05-graph-resize.js. The bundle replaces
     window.Plotly with itself when it runs. */
(function () {
  "use strict";
  var assets = document.currentScript.src.replace(/[^/]*$/, "");
  var suites = assets.replace(/assets\/$/, "_dash-component-suites/");
  var chunks = ["dash/dcc/async-dropdown.js", "dash/dcc/async-graph.js",
                "dash_ag_grid/async-community.js"];
  var afterScripts = function (load) {
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", load);
    } else {
      load();
    }
  };
  var addScript = function (src, onload, onerror) {
    var script = document.createElement("script");
    script.src = src;
    script.onload = onload || null;
    script.onerror = onerror || null;
    document.head.appendChild(script);
  };
  afterScripts(function () {
    chunks.forEach(function (chunk) {
      addScript(suites + chunk);
    });
  });
  if (!window.Plotly) {
    window.Plotly = new Promise(function (resolve, reject) {
      afterScripts(function () {
        addScript(assets + "vendor/plotly-console-4.1.1.min.js", function () {
          resolve(window.Plotly);
        }, reject);
      });
    });
  }
})();
