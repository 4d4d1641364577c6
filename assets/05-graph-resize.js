/* dcc.Graph asks Plotly to resize every graph right after its first draw, and again whenever
   its box's resize observer fires (it fires once when it starts observing). Plotly then runs a
   whole relayout even when the box has kept its size: its defaults are recomputed and the
   figure drawn again (200–400 ms per scatter of a few thousand points at 1M leads, twice per
   page load). Skip the resize when the graph's box already has the size it was drawn at;
   a real change of size (a window resized, a collapsed panel opened) still relays it out.
   Plotly is loaded after the page's scripts (02-deferred-scripts.js): the wrapper is installed as soon as
   it has run, before dcc.Graph (which waits on the same promise, later) draws any graph. */
Promise.resolve(window.Plotly).then(function (Plotly) {
  "use strict";
  var plots = Plotly && Plotly.Plots;
  if (!plots || plots.resize.sizeGuarded) {
    return;
  }
  var resize = plots.resize;
  var guarded = function (gd) {
    var full = gd && gd._fullLayout;
    if (full && gd.layout && !gd._redrawTimer) {
      var style = window.getComputedStyle(gd);
      var width = parseFloat(style.width);
      var height = parseFloat(style.height);
      if (Math.abs(width - full.width) < 1 && Math.abs(height - full.height) < 1) {
        return Promise.resolve(gd);
      }
    }
    return resize.apply(this, arguments);
  };
  guarded.sizeGuarded = true;
  plots.resize = guarded;
});
