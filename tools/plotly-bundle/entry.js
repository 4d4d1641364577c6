// The trace types the console draws (scatter comes with plotly.js's core). A figure with any
// other type would draw nothing: tests/unit/test_figure_traces.py keeps the figures to this list.
"use strict";

var Plotly = require("plotly.js/lib/core");

Plotly.register([
    require("plotly.js/lib/bar"),
    require("plotly.js/lib/box"),
    require("plotly.js/lib/heatmap"),
]);

module.exports = Plotly;
