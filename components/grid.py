"""The project's AG Grid: one factory with the house defaults, and server-side paging helpers.

Defaults: every column sortable, filterable and resizable; pagination; a quick-search box and a
column chooser next to the grid (AG Grid's own column tool panel is an Enterprise feature).

Two row models:

* ``server_side=False`` (small tables): the rows are sent once in ``rowData`` and AG Grid sorts,
  filters and searches in the browser.
* ``server_side=True`` (large tables): AG Grid's *infinite* row model. The browser asks for one
  page at a time through ``getRowsRequest`` (start/end row, sort model, filter model) and a page
  callback answers in ``getRowsResponse`` with :func:`serve_rows`, so the browser never receives
  more rows than it shows. Sorting, column filters and the quick search then run on the server,
  over a DataFrame that the page gets from ``data/``.

Everything the browser sends is untrusted: :func:`parse_grid_request` validates the request and
the sort/filter helpers ignore unknown columns and operators (text is matched literally, never as
a regular expression or SQL).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import numpy as np
import pandas as pd
from dash import Input, Output, State, clientside_callback, dcc, html

DEFAULT_PAGE_SIZE = 25
MAX_BLOCK = 500  # largest block of rows a browser may ask for at once
DEFAULT_COL_DEF: dict[str, Any] = {
    "sortable": True,
    "filter": True,
    "resizable": True,
    "minWidth": 90,
}
TEXT_FILTER = "agTextColumnFilter"
NUMBER_FILTER = "agNumberColumnFilter"
SERVER_FILTER_PARAMS = {
    "buttons": ["reset"],
    "maxNumConditions": 1,
    # Blank/notBlank and the text operators below are implemented by ``apply_filter_model``.
}


# --- layout -----------------------------------------------------------------------------------


def data_grid(
    id_: str,
    column_defs: Sequence[Mapping[str, Any]],
    *,
    row_data: list[dict[str, Any]] | None = None,
    server_side: bool = False,
    page_size: int = DEFAULT_PAGE_SIZE,
    height: str = "640px",
    row_id_field: str | None = None,
    grid_options: Mapping[str, Any] | None = None,
    initial_sort: Sequence[tuple[str, bool]] = (),
    initial_filter: Mapping[str, Any] | None = None,
    initial_page: int = 1,
    column_size: str | None = "autoSize",
) -> dag.AgGrid:
    """An AgGrid with the project's defaults (see the module docstring for the row models).

    ``column_size`` ``"autoSize"`` fits each column to its content, which suits small tables;
    AG Grid then measures every cell whenever rows arrive, so wide tables give their columns a
    ``width`` and pass ``None``.

    ``initial_sort`` ((column, descending) pairs), ``initial_filter`` (a filter model, validated
    by ``components.grid_filter``) and ``initial_page`` (1-based) are the state the grid opens
    in, e.g. restored from the address (AG Grid's ``initialState``).
    """
    options: dict[str, Any] = {
        "pagination": True,
        "paginationPageSize": page_size,
        "paginationPageSizeSelector": False,
        "animateRows": False,
        "enableCellTextSelection": True,
        "ensureDomOrder": True,
        "tooltipShowDelay": 300,
        # localeText, not overlayNoRowsTemplate: dash-ag-grid refuses HTML template strings.
        "localeText": {"noRowsToShow": "No rows match these filters."},
    }
    kwargs: dict[str, Any] = {}
    state: dict[str, Any] = {}
    if initial_sort:
        state["sort"] = {
            "sortModel": [{"colId": c, "sort": "desc" if d else "asc"} for c, d in initial_sort]
        }
    if initial_filter:
        state["filter"] = {"filterModel": dict(initial_filter)}
    if initial_page > 1:
        state["pagination"] = {"page": initial_page - 1, "pageSize": page_size}
    if state:
        # AG Grid may take an initial state as the whole column state: keep the definitions'
        # pinned and hidden columns
        leaves = leaf_columns(column_defs)
        state["columnPinning"] = {
            side + "ColIds": [c["field"] for c in leaves if c.get("pinned") == side]
            for side in ("left", "right")
        }
        state["columnVisibility"] = {"hiddenColIds": [c["field"] for c in leaves if c.get("hide")]}
        options["initialState"] = state
    if server_side:
        options.update(
            {
                "cacheBlockSize": page_size,
                "maxBlocksInCache": 4,
                # rows the grid assumes before the first answer: enough to open on a later page
                "infiniteInitialRowCount": page_size * max(1, initial_page),
                "maxConcurrentDatasourceRequests": 1,
            }
        )
        kwargs["rowModelType"] = "infinite"
    else:
        kwargs["rowData"] = row_data or []
    if column_size:
        kwargs["columnSize"] = column_size
    if row_id_field:
        kwargs["getRowId"] = f"params.data.{row_id_field}"
    options.update(grid_options or {})
    return dag.AgGrid(
        id=id_,
        columnDefs=[dict(c) for c in column_defs],
        defaultColDef=DEFAULT_COL_DEF,
        dashGridOptions=options,
        style={"height": height, "width": "100%"},
        **kwargs,
    )


def quick_search(id_: str, placeholder: str = "Search…", value: str = "") -> dbc.Input:
    """The quick-search box (applies on Enter or when it loses focus)."""
    return dbc.Input(
        id=id_,
        type="search",
        placeholder=placeholder,
        value=value,
        debounce=True,
        maxLength=100,
        autoComplete="off",
        className="grid-quick-search",
    )


def leaf_columns(column_defs: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Column definitions without their groups (``children`` flattened), in display order."""
    leaves: list[Mapping[str, Any]] = []
    for col in column_defs:
        if "children" in col:
            leaves.extend(leaf_columns(col["children"]))
        else:
            leaves.append(col)
    return leaves


def column_label(col: Mapping[str, Any]) -> str:
    return str(col.get("headerTooltip") or col.get("headerName") or col.get("field"))


def column_chooser(
    id_: str,
    column_defs: Sequence[Mapping[str, Any]],
    *,
    locked: Collection[str] = (),
) -> html.Div:
    """A "Columns" button opening a checklist of the grid's columns (``id_`` is the checklist).

    The choice is kept in the browser (a local store; :func:`follow_column_chooser` applies it),
    so it survives reloads and re-renders of the page; ``locked`` columns are always shown and
    not offered.
    """
    options = [
        {"label": column_label(col), "value": col["field"]}
        for col in leaf_columns(column_defs)
        if col["field"] not in locked and not col.get("lockVisible")
    ]
    visible = [o["value"] for o in options if not _initially_hidden(column_defs, o["value"])]
    return html.Div(
        [
            dbc.Button("Columns", id=f"{id_}-button", color="secondary", outline=True, size="sm"),
            dbc.Popover(
                dbc.PopoverBody(
                    dbc.Checklist(
                        id=id_,
                        options=options,
                        value=visible,
                        className="small",
                        style={"maxHeight": "60vh", "overflowY": "auto"},
                    )
                ),
                id=f"{id_}-popover",
                target=f"{id_}-button",
                trigger="legacy",
                placement="bottom-end",
            ),
            # the choice, kept in the browser (see follow_column_chooser)
            dcc.Store(id=f"{id_}-choice", storage_type="local"),
        ],
        className="d-inline-block",
    )


# Clientside: a choice of columns is the browser's display and carries no data, so it needs no
# server round trip (one on every load delayed the grid's first rows). The choice is kept in a
# local store rather than by Dash's ``persistence``, which restored the checklist after a reload
# without re-running the callback. The columns are shown and hidden through AG Grid's API, which
# waits for the grid to be ready: a ``columnDefs`` update that reached the grid before that was
# lost, and the grid showed columns the checklist said were hidden. With no choice kept, the
# first load leaves the grid alone.
_COLUMN_CHOOSER_JS = r"""
function (value, stored, gridId, options) {
    const dc = window.dash_clientside;
    const unchanged = [dc.no_update, dc.no_update];
    // a tick by the user, or else the page's first call / the store restoring a kept choice
    const ticked = dc.callback_context.triggered.some(function (t) {
        return t.prop_id.endsWith(".value");
    });
    const source = ticked ? value : stored;
    if (!Array.isArray(source) || !Array.isArray(options)) {
        return unchanged;
    }
    const offered = options.map(function (o) { return o.value; });
    const chosen = offered.filter(function (f) { return source.includes(f); });
    const hidden = offered.filter(function (f) { return !source.includes(f); });
    window.dash_ag_grid.getApiAsync(gridId).then(function (api) {
        api.setColumnsVisible(hidden, false);
        api.setColumnsVisible(chosen, true);
    });
    if (ticked) {
        return [dc.no_update, chosen];
    }
    const same = Array.isArray(value) && value.length === chosen.length &&
        chosen.every(function (f) { return value.includes(f); });
    return [same ? dc.no_update : chosen, dc.no_update];
}
"""


def follow_column_chooser(id_: str, grid_id: str) -> None:
    """Show in grid ``grid_id`` the columns ticked in :func:`column_chooser` ``id_`` (locked
    columns always show), and keep the choice in the browser so that a reload shows the same
    columns. Call once, at import of the page that holds both."""
    clientside_callback(
        _COLUMN_CHOOSER_JS,
        Output(id_, "value"),
        Output(f"{id_}-choice", "data"),
        Input(id_, "value"),
        Input(f"{id_}-choice", "data"),
        State(grid_id, "id"),
        State(id_, "options"),
    )


def _initially_hidden(column_defs: Sequence[Mapping[str, Any]], field_name: str) -> bool:
    return any(c.get("hide") for c in leaf_columns(column_defs) if c.get("field") == field_name)


def with_visible_columns(
    column_defs: Sequence[Mapping[str, Any]],
    visible: Collection[str] | None,
    *,
    locked: Collection[str] = (),
) -> list[dict[str, Any]]:
    """A copy of ``column_defs`` where columns not in ``visible`` are hidden (``None`` keeps the
    defaults; ``locked`` columns always show)."""

    def walk(cols: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for col in cols:
            col = dict(col)
            if "children" in col:
                col["children"] = walk(col["children"])
            elif visible is not None and col.get("field") not in locked:
                col["hide"] = col.get("field") not in visible
            out.append(col)
        return out

    return walk(column_defs)


def visible_fields(
    column_defs: Sequence[Mapping[str, Any]],
    visible: Collection[str] | None,
    *,
    locked: Collection[str] = (),
) -> list[str]:
    """The fields a user sees, in grid order (what an export "as shown" should contain)."""
    return [
        c["field"]
        for c in leaf_columns(with_visible_columns(column_defs, visible, locked=locked))
        if not c.get("hide")
    ]


# --- server-side rows -------------------------------------------------------------------------


@dataclass(frozen=True)
class GridRequest:
    """A validated ``getRowsRequest``."""

    start: int = 0
    end: int = DEFAULT_PAGE_SIZE
    sort_model: tuple[tuple[str, bool], ...] = ()  # (column, descending)
    filter_model: Mapping[str, Any] = field(default_factory=dict)

    def page(self, page_size: int = DEFAULT_PAGE_SIZE) -> int:
        """The 1-based page this block belongs to (paged grids ask one page per block)."""
        return self.start // page_size + 1

    def sorted_or(self, default: Sequence[tuple[str, bool]]) -> GridRequest:
        """This request, sorted by ``default`` when the grid asks for no order."""
        if self.sort_model:
            return self
        return GridRequest(self.start, self.end, tuple(default), self.filter_model)

    def filtered_columns(self, allowed: Collection[str]) -> list[str]:
        """The columns (among ``allowed``) that have a column filter."""
        return [c for c in self.filter_model if c in allowed]


def parse_grid_request(raw: object, *, max_block: int = MAX_BLOCK) -> GridRequest:
    """Validate what the browser sent; anything malformed falls back to the first page."""
    if not isinstance(raw, Mapping):
        return GridRequest()
    start, end = raw.get("startRow"), raw.get("endRow")
    if not isinstance(start, int) or not isinstance(end, int) or start < 0 or end <= start:
        start, end = 0, DEFAULT_PAGE_SIZE
    end = min(end, start + max_block)
    sorts: list[tuple[str, bool]] = []
    for item in raw.get("sortModel") or []:
        if isinstance(item, Mapping) and isinstance(item.get("colId"), str):
            sorts.append((item["colId"], item.get("sort") == "desc"))
    model = raw.get("filterModel")
    return GridRequest(start, end, tuple(sorts), model if isinstance(model, Mapping) else {})


def apply_quick_search(df: pd.DataFrame, text: str, columns: Sequence[str]) -> pd.DataFrame:
    """Rows where every word of ``text`` occurs (case-insensitively, literally) in ``columns``."""
    words = [w for w in text.lower().split() if w]
    if not words or df.empty:
        return df
    haystack = pd.Series("", index=df.index, dtype=object)
    for column in columns:
        if column in df.columns:
            haystack = haystack + " " + df[column].astype(str).str.lower()
    mask = pd.Series(True, index=df.index)
    for word in words:
        mask &= haystack.str.contains(word, regex=False)
    return df[mask]


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _condition_mask(series: pd.Series, cond: Mapping[str, Any]) -> pd.Series | None:
    kind = cond.get("type")
    if kind == "blank":
        return series.isna() | (series.astype(str) == "")
    if kind == "notBlank":
        return series.notna() & (series.astype(str) != "")
    if cond.get("filterType") == "number" or pd.api.types.is_numeric_dtype(series):
        values = pd.to_numeric(series, errors="coerce")
        a = _number(cond.get("filter"))
        b = _number(cond.get("filterTo"))
        if a is None:
            return None
        ops = {
            "equals": lambda: values == a,
            "notEqual": lambda: values != a,
            "lessThan": lambda: values < a,
            "lessThanOrEqual": lambda: values <= a,
            "greaterThan": lambda: values > a,
            "greaterThanOrEqual": lambda: values >= a,
            "inRange": lambda: (values >= a) & (values <= b) if b is not None else None,
        }
        op = ops.get(str(kind))
        return op() if op else None
    needle = cond.get("filter")
    if not isinstance(needle, str | int | float):
        return None
    needle = str(needle).lower()
    text = series.fillna("").astype(str).str.lower()
    text_ops = {
        "contains": lambda: text.str.contains(needle, regex=False),
        "notContains": lambda: ~text.str.contains(needle, regex=False),
        "equals": lambda: text == needle,
        "notEqual": lambda: text != needle,
        "startsWith": lambda: text.str.startswith(needle),
        "endsWith": lambda: text.str.endswith(needle),
    }
    op = text_ops.get(str(kind))
    return op() if op else None


def apply_filter_model(
    df: pd.DataFrame, model: Mapping[str, Any], allowed: Collection[str]
) -> pd.DataFrame:
    """Apply AG Grid's text and number column filters (simple or combined with AND/OR)."""
    mask = pd.Series(True, index=df.index)
    for column, spec in model.items():
        if column not in allowed or column not in df.columns or not isinstance(spec, Mapping):
            continue
        conditions = spec.get("conditions")
        if isinstance(conditions, list):
            masks = [
                m
                for c in conditions
                if isinstance(c, Mapping) and (m := _condition_mask(df[column], c)) is not None
            ]
            if not masks:
                continue
            combined = masks[0]
            for m in masks[1:]:
                combined = (combined | m) if spec.get("operator") == "OR" else (combined & m)
            mask &= combined.fillna(False).astype(bool)
        else:
            m = _condition_mask(df[column], spec)
            if m is not None:
                mask &= m.fillna(False).astype(bool)
    return df[mask]


def apply_sort_model(
    df: pd.DataFrame,
    sort_model: Sequence[tuple[str, bool]],
    allowed: Collection[str],
    *,
    tiebreak: str | None = None,
) -> pd.DataFrame:
    """Sort by the requested columns (missing values last), then by ``tiebreak`` so that pages
    are stable between requests."""
    keys = [(c, d) for c, d in sort_model if c in allowed and c in df.columns]
    if tiebreak and tiebreak in df.columns and tiebreak not in {c for c, _ in keys}:
        keys.append((tiebreak, False))
    if not keys or df.empty:
        return df
    return df.sort_values(
        by=[c for c, _ in keys],
        ascending=[not d for _, d in keys],
        na_position="last",
        kind="mergesort",
        key=_sort_key,
    )


def _sort_key(series: pd.Series) -> pd.Series:
    """Case-insensitive order for text columns; numbers sort as numbers."""
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return series
    return series.map(lambda v: v.lower() if isinstance(v, str) else v)


def to_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-safe records: NaN/NaT/NA/inf become ``None``, numpy scalars become Python ones.

    Column by column with ``tolist`` (which already yields Python scalars): a page of 25 rows
    × 60 columns costs a fraction of a millisecond, where ``astype(object).where(...)``
    and ``to_dict`` cost several.
    """
    columns = list(df.columns)
    cleaned = [[_json_safe(v) for v in df[c].tolist()] for c in columns]
    return [dict(zip(columns, row, strict=True)) for row in zip(*cleaned, strict=True)]


def _json_safe(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, np.generic):
        return _json_safe(value.item())
    return value


def select_rows(
    df: pd.DataFrame,
    request: GridRequest,
    *,
    search: str = "",
    search_columns: Sequence[str] = (),
    allowed: Collection[str] | None = None,
    tiebreak: str | None = None,
) -> pd.DataFrame:
    """Every row the grid would show for ``request`` (search, column filters, sort), unpaged.

    Exports use this, so a file contains exactly the grid's rows in the grid's order.
    """
    allowed = set(df.columns) if allowed is None else set(allowed)
    rows = apply_quick_search(df, search, search_columns)
    rows = apply_filter_model(rows, request.filter_model, allowed)
    return apply_sort_model(rows, request.sort_model, allowed, tiebreak=tiebreak)


def serve_rows(
    df: pd.DataFrame,
    request: GridRequest,
    *,
    columns: Sequence[str],
    search: str = "",
    search_columns: Sequence[str] = (),
    allowed: Collection[str] | None = None,
    tiebreak: str | None = None,
) -> dict[str, Any]:
    """A ``getRowsResponse``: only the requested block, only ``columns``, plus the row count."""
    rows = select_rows(
        df,
        request,
        search=search,
        search_columns=search_columns,
        allowed=allowed,
        tiebreak=tiebreak,
    )
    block = rows.iloc[request.start : request.end]
    present = [c for c in columns if c in block.columns]
    return {"rowData": to_records(block[present]), "rowCount": len(rows)}
