// esbuild with the options plotly.js's own build uses for its dist bundles (esbuild-config.js:
// an IIFE that sets the global Plotly, `global` as `window`, no AMD), minified. The CSS and
// GLSL plugins of that build are for trace types this bundle leaves out: the one stylesheet
// plotly.js imports (maplibre-gl's, for map subplots) is loaded as nothing.
"use strict";

const path = require("path");
const esbuild = require("esbuild");
const version = require("plotly.js/package.json").version;
const out = path.join(__dirname, "..", "..", "assets", "vendor", `plotly-console-${version}.min.js`);

esbuild
    .build({
        entryPoints: [path.join(__dirname, "entry.js")],
        outfile: out,
        format: "iife",
        globalName: "Plotly",
        bundle: true,
        minify: true,
        target: "es2016",
        legalComments: "none",
        define: { global: "window", "define.amd": "false", "process.env.NODE_DEBUG": "false" },
        alias: { stream: "stream-browserify" },
        loader: { ".css": "empty" },
        banner: {
            js:
                `/**\n* plotly.js (console build: scatter, bar, box, heatmap - minified) v${version}\n` +
                "* Copyright 2012-2026, Plotly, Inc.\n* All rights reserved.\n" +
                "* Licensed under the MIT license\n* Built by tools/plotly-bundle (npm run build)\n*/",
        },
    })
    .then(() => console.log(`wrote ${path.relative(process.cwd(), out)}`))
    .catch((error) => {
        console.error(error.message);
        process.exit(1);
    });
