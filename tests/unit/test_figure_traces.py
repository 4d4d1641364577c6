"""Every chart of the console uses only trace types that the plotly.js bundle it serves can draw.

The app serves a plotly.js build with four trace types (``tools/plotly-bundle/entry.js``,
``assets/vendor/plotly-console-*.min.js``); a figure with another type would draw an empty
frame in the browser and nothing in Python would notice. Two checks, each against a list
written here: the bundle registers exactly these types (read from the built file), and the
figure modules build traces of no other type (read from their source: every dict literal with
a ``type`` and trace data beside it).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TRACES = {"scatter", "bar", "box", "heatmap"}
TRACE_KEYS = {"x", "y", "z", "marker", "hovertemplate", "customdata"}


def _bundles() -> list[Path]:
    return sorted((ROOT / "assets" / "vendor").glob("plotly-*.min.js"))


def test_one_plotly_bundle_is_served_and_it_registers_exactly_these_traces():
    (bundle,) = _bundles()
    assert bundle.name.startswith("plotly-console-")
    registered = set(re.findall(r'moduleType:"trace",name:"(\w+)"', bundle.read_text()))
    assert registered == TRACES
    entry = (ROOT / "tools" / "plotly-bundle" / "entry.js").read_text()
    assert set(re.findall(r'plotly\.js/lib/(\w+)"', entry)) == {"core"} | (TRACES - {"scatter"})


def _trace_types(path: Path) -> set[str]:
    types = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Dict):
            continue
        keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
        for key, value in zip(node.keys, node.values, strict=True):
            if isinstance(key, ast.Constant) and key.value == "type" and keys & TRACE_KEYS:
                assert isinstance(value, ast.Constant), f"{path.name}: a computed trace type"
                types.add(value.value)
    return types


def test_the_figure_modules_draw_only_those_traces():
    modules = sorted((ROOT / "components").glob("*_figures.py"))
    assert len(modules) >= 4
    used = {path.name: _trace_types(path) for path in modules}
    assert all(used.values()), used  # each module found its traces
    assert set().union(*used.values()) == TRACES  # no other type, and each one is used
