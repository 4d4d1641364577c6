"""Cell suppression: hide every cell under k, then enough further cells that no hidden value
can be worked out from what is released.

The released table carries its margins, so its cells obey one linear equation per margin cell
and summed dimension: ``total = Σ cells it sums``. Someone who sees the released values knows
every term but the suppressed ones (the unknowns ``x``), so the table gives them a linear system
``A·x = b``. A suppressed cell ``i`` is *pinned* (its value follows from the system) exactly
when the unit vector ``eᵢ`` lies in the row space of ``A``, i.e. when every solution of
``A·x = 0`` has ``xᵢ = 0``: the null space of ``A`` has a zero in coordinate ``i``.

Hiding uses the hypercube method (as τ-ARGUS's GHMITER does): each cell under k is hidden
together with the other corners of a small hypercube of cells (:func:`suppress`), which by
construction leaves every hidden cell free (its vector of alternating signs is a solution of
``A·x = 0``), whatever else is hidden. :func:`pinned_cells` solves the system itself (an SVD
per connected block of unknowns) so a table can be audited independently of how it was made.

Empty cells (nobody in them) are released as 0 and never used as hypercube corners: an empty cell
tells nothing about a person, and may be known to be empty anyway (a Cape Town lead in Gauteng),
so hiding it would protect nothing. This is the usual convention of statistical offices
(τ-ARGUS, sdcTable: zeros are not sensitive by default).

Pure functions (numpy only), no database and no Dash.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import product

import numpy as np

from data.aggregates.dimensions import TOTAL

Cell = tuple[str, ...]
RELEASED = "released"
PRIMARY = "primary"
COMPLEMENTARY = "complementary"
_TOL = 1e-8
#: Values tried per dimension as a hypercube partner (the smallest non-empty ones).
MAX_PARTNERS = 3


@dataclass(frozen=True)
class Layout:
    """Every cell of a table with margins, and the equations its margins satisfy."""

    cells: tuple[Cell, ...]
    index: Mapping[Cell, int]
    equations: tuple[tuple[int, tuple[int, ...]], ...]  # (total, parts)

    def equation_matrix(self) -> np.ndarray:
        """Dense ``equations × cells`` matrix with +1 for the total and -1 for each part
        (tests and small tables; the solver works on blocks)."""
        out = np.zeros((len(self.equations), len(self.cells)))
        for row, (total, parts) in enumerate(self.equations):
            out[row, total] = 1
            out[row, list(parts)] = -1
        return out


def layout(values: Sequence[Sequence[str]]) -> Layout:
    """The cells of a table over dimensions with these values, margins (``Total``) included,
    and one equation per (margin cell, summed dimension)."""
    axes = [(*v, TOTAL) for v in values]
    cells = tuple(product(*axes))
    index = {c: i for i, c in enumerate(cells)}
    equations = []
    for j, axis in enumerate(values):
        for cell in cells:
            if cell[j] != TOTAL:
                continue
            parts = tuple(index[(*cell[:j], v, *cell[j + 1 :])] for v in axis)
            equations.append((index[cell], parts))
    return Layout(cells, index, tuple(equations))


def _blocks(lay: Layout, unknown: set[int]) -> list[tuple[list[int], list[list[int]]]]:
    """Unknowns split into independent blocks (linked by shared equations), each with the
    equations touching it, as lists of (cell, coefficient sign) positions."""
    parent = {u: u for u in unknown}

    def find(u: int) -> int:
        while parent[u] != u:
            parent[u] = parent[parent[u]]
            u = parent[u]
        return u

    touching: list[list[int]] = []
    for total, parts in lay.equations:
        members = [c for c in (total, *parts) if c in unknown]
        if not members:
            continue
        touching.append([total, *parts])
        root = find(members[0])
        for other in members[1:]:
            parent[find(other)] = root
    groups: dict[int, list[int]] = {}
    for u in sorted(unknown):
        groups.setdefault(find(u), []).append(u)
    eqs_by_root: dict[int, list[list[int]]] = {}
    for eq in touching:
        first = next(c for c in eq if c in unknown)
        eqs_by_root.setdefault(find(first), []).append(eq)
    return [(cols, eqs_by_root.get(root, [])) for root, cols in groups.items()]


def pinned_cells(lay: Layout, suppressed: Iterable[int]) -> set[int]:
    """The suppressed cells whose value follows from the released cells and the equations."""
    unknown = set(suppressed)
    pinned: set[int] = set()
    for cols, eqs in _blocks(lay, unknown):
        if not eqs:
            continue
        position = {c: i for i, c in enumerate(cols)}
        matrix = np.zeros((len(eqs), len(cols)))
        for row, eq in enumerate(eqs):
            total, *parts = eq
            if total in position:
                matrix[row, position[total]] += 1
            for p in parts:
                if p in position:
                    matrix[row, position[p]] -= 1
        _, sing, vt = np.linalg.svd(matrix)
        rank = int((sing > _TOL * max(1.0, sing[0] if len(sing) else 1.0)).sum())
        null = vt[rank:].T  # columns span the null space
        if null.shape[1] == 0:
            pinned.update(cols)
            continue
        free = np.abs(null).max(axis=1) > 1e-7
        pinned.update(c for c, f in zip(cols, free, strict=True) if not f)
    return pinned


def _cube(p: Cell, partners: Sequence[str]) -> list[Cell]:
    """The 2^d corners of the hypercube spanned by ``p`` and one partner value per dimension."""
    return [tuple(c) for c in product(*((a, b) for a, b in zip(p, partners, strict=True)))]


def _cheapest_cube(
    p: Cell,
    axes: Sequence[Sequence[str]],
    size: Mapping[Cell, int],
    status: Mapping[Cell, str],
    choices: int | None,
) -> list[Cell] | None:
    """The corners of the cheapest valid hypercube around ``p`` (no empty corner), trying the
    ``choices`` smallest non-empty values of each line and the margin (all values if None).
    With all values one always exists: a non-empty cell has a non-empty inner cell under it, and
    the cube spanned by the margins and that cell's values has no empty corner."""
    options = []
    for j, axis in enumerate(axes):
        line = sorted(
            (v for v in axis if v not in (p[j], TOTAL) and size[(*p[:j], v, *p[j + 1 :])] > 0),
            key=lambda v, j=j: size[(*p[:j], v, *p[j + 1 :])],
        )
        if choices is not None:
            line = line[:choices]
        options.append([*line, TOTAL] if p[j] != TOTAL else line)
    best: tuple[int, list[Cell]] | None = None
    for partners in product(*options):
        corners = _cube(p, partners)
        if any(size[c] == 0 for c in corners):
            continue
        cost = sum(size[c] for c in corners if status[c] == RELEASED)
        if best is None or cost < best[0]:
            best = (cost, corners)
    return None if best is None else best[1]


def suppress(
    values: Sequence[Sequence[str]],
    homeowners: Mapping[Cell, int],
    k: int,
    *,
    also_primary: Iterable[Cell] = (),
    choices: int = MAX_PARTNERS,
) -> dict[Cell, str]:
    """Each cell's status: ``released``, ``primary`` (covers 1..k-1 homeowners, or its share
    or average has a denominator under k) or ``complementary`` (hidden to protect others).

    Every primary cell gets a hypercube of hidden cells: pick, in each dimension, one other
    value (or the margin) and hide all 2^d corners. The vector with ±1 on the corners (the sign
    flips between two values of a dimension and stays between a value and its margin) solves
    ``A·x = 0``, so no corner is pinned, whatever else is hidden. Among the cubes whose corners
    are all non-empty (the cube of the cell's own margins always is), the one hiding the fewest
    homeowners not hidden already is chosen, trying the ``choices`` smallest values per
    dimension and the margin."""
    lay = layout(values)
    axes = [(*v, TOTAL) for v in values]
    size = {c: homeowners.get(c, 0) for c in lay.cells}
    status = {c: RELEASED for c in lay.cells}
    for c, n in size.items():
        if 0 < n < k:
            status[c] = PRIMARY
    for c in also_primary:
        if size.get(c, 0) > 0:
            status[c] = PRIMARY
    primaries = sorted((c for c, s in status.items() if s == PRIMARY), key=lambda c: size[c])
    for p in primaries:
        best = _cheapest_cube(p, axes, size, status, choices) or _cheapest_cube(
            p, axes, size, status, None
        )
        if best is None:
            raise AssertionError(f"no hypercube protects {p}")  # impossible: see _cheapest_cube
        for c in best:
            if status[c] == RELEASED:
                status[c] = COMPLEMENTARY
    return status
