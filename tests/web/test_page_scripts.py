"""What every page loads before Dash starts (docs/partner-performance.md, "In the browser"):
no Babel polyfill bundle but the regenerator runtime right after React, and no plotly.js among
the blocking scripts (``assets/02-deferred-scripts.js`` loads the console's plotly.js build after
them, and the lazy chunks of the common components early). The vendored files must be
served, or every chart and every component would fail to load."""

from __future__ import annotations

import re


def _scripts(client) -> list[str]:
    page = client.get("/partners")
    assert page.status_code == 200
    return re.findall(r'<script[^>]*src="([^"]+)"', page.get_data(as_text=True))


def test_the_polyfill_bundle_is_replaced_by_the_regenerator_runtime(client_for):
    client = client_for("manager")
    scripts = _scripts(client)
    assert not [s for s in scripts if "polyfill" in s]
    names = [s.split("/")[-1].split(".")[0] for s in scripts]
    runtime = names.index("regenerator-runtime-0")
    assert names.index("react-dom@18") < runtime < names.index("dash_bootstrap_components")
    served = client.get(scripts[runtime])
    assert served.status_code == 200 and b"regeneratorRuntime = runtime" in served.data


def test_plotly_is_not_a_blocking_script_and_its_bundle_is_served(client_for):
    client = client_for("manager")
    scripts = _scripts(client)
    assert not [s for s in scripts if "plotly" in s.split("/")[-1]]
    loader = next(s for s in scripts if "/assets/02-deferred-scripts.js" in s)
    resize = next(s for s in scripts if "/assets/05-graph-resize.js" in s)
    assert scripts.index(loader) < scripts.index(resize)  # the guard waits on the loader's promise
    bundle = client.get("/assets/vendor/plotly-console-4.1.1.min.js")
    assert bundle.status_code == 200 and len(bundle.data) > 1_000_000
    assert b"vendor/plotly-console-4.1.1.min.js" in client.get(loader).data


def test_the_lazy_chunks_fetched_early_are_the_ones_the_components_serve(client_for):
    """``assets/02-deferred-scripts.js`` names the chunks by path: after an upgrade of dcc or
    dash-ag-grid that renamed one, the loader would fetch a 404 and the page would silently
    fall back to loading the chunk late."""
    client = client_for("manager")
    loader = next(s for s in _scripts(client) if "/assets/02-deferred-scripts.js" in s)
    source = client.get(loader).get_data(as_text=True)
    chunks = re.findall(r'"((?:dash|dash_ag_grid)/[\w/-]+\.js)"', source)
    assert sorted(chunks) == [
        "dash/dcc/async-dropdown.js",
        "dash/dcc/async-graph.js",
        "dash_ag_grid/async-community.js",
    ]
    for chunk in chunks:
        served = client.get(f"/_dash-component-suites/{chunk}")
        assert served.status_code == 200 and len(served.data) > 5_000, chunk
