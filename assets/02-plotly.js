/* Plotly's cartesian bundle (assets/vendor/, 1.5 MB: ~0.3 s of the main thread to evaluate) is
   fetched once the document's other scripts have run, so that it is evaluated while Dash asks
   the server for the layout and the page instead of before Dash starts. Until then
   window.Plotly is a promise of it: dcc.Graph waits on it before drawing
   (Promise.resolve(window.Plotly || …)), and so does 05-graph-resize.js. The bundle replaces
   window.Plotly with itself when it runs. */
(function () {
  "use strict";
  if (window.Plotly) {
    return;
  }
  var src = document.currentScript.src.replace(/[^/]*$/, "vendor/plotly-cartesian-4.1.1.min.js");
  window.Plotly = new Promise(function (resolve, reject) {
    var load = function () {
      var script = document.createElement("script");
      script.src = src;
      script.onload = function () {
        resolve(window.Plotly);
      };
      script.onerror = reject;
      document.head.appendChild(script);
    };
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", load);
    } else {
      load();
    }
  });
})();
