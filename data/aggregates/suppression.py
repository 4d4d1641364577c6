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
#: A hidden cell is free when this much of its unit vector lies outside the row space (a
#: hypercube's corner has ≥ 1/2^d of it; rounding leaves ~1e-15).
_FREE = 1e-9
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
        # the thin SVD: the full one (an m × m U) took 2–280 ms at a few hundred equations
        # under load, against < 1 ms; only the row space (vt's first rank rows) is needed
        _, sing, vt = np.linalg.svd(matrix, full_matrices=False)
        rank = int((sing > _TOL * max(1.0, sing[0] if len(sing) else 1.0)).sum())
        # eᵢ's squared distance from the row space = its part in the null space
        free = 1.0 - (vt[:rank] ** 2).sum(axis=0) > _FREE
        pinned.update(c for c, f in zip(cols, free, strict=True) if not f)
    return pinned


def _candidates(
    primaries: np.ndarray, size: np.ndarray, choices: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """For each primary cell (rows of ``primaries``, indexes into the dense ``size``, the
    margin last on every axis), its candidate hypercubes: in each dimension one of the
    ``choices`` smallest non-empty other values of its line (all of them if None), in order of
    size then position, then the margin (unless the cell is on it), every combination of those
    in that order. Returns the corners as flat indexes (primaries × candidates × 2^d) and
    whether each candidate is valid (every partner exists and no corner is empty); neither
    depends on what is hidden, so the whole table's are computed at once."""
    count, d = primaries.shape
    strides = np.cumprod((1, *size.shape[:0:-1]))[::-1]  # C order
    values, usable = [], []
    for j in range(d):
        total = size.shape[j] - 1
        inner = np.moveaxis(size, j, -1)[..., :total]
        # each line's values by size (ties in position order), the empty ones last
        big = np.iinfo(np.int64).max
        ranked = np.argsort(np.where(inner > 0, inner, big), axis=-1, kind="stable")
        others = tuple(primaries[:, i] for i in range(d) if i != j)
        width = total if choices is None else min(total, choices + 1)
        line = np.broadcast_to(ranked[others], (count, total))[:, :width]  # primaries × width
        own = primaries[:, j : j + 1]
        ok = (inner[(*(o[:, None] for o in others), line)] > 0) & (line != own)
        if choices is not None:  # the first `choices` usable ones, moved to the front
            front = np.argsort(~ok, axis=1, kind="stable")[:, :choices]
            line, ok = np.take_along_axis(line, front, 1), np.take_along_axis(ok, front, 1)
        values.append(np.concatenate([line, np.full((count, 1), total)], axis=1) * strides[j])
        usable.append(np.concatenate([ok, own != total], axis=1))
    grids = np.meshgrid(*(np.arange(v.shape[1]) for v in values), indexing="ij")
    picks = [g.ravel() for g in grids]  # candidate → option position per dimension
    exists = np.logical_and.reduce([u[:, pick] for u, pick in zip(usable, picks, strict=True)])
    bits = np.array(list(product((0, 1), repeat=d)), dtype=bool)  # 2^d × d
    flat = np.zeros((count, len(picks[0]), len(bits)), dtype=np.int64)
    for j, (v, pick) in enumerate(zip(values, picks, strict=True)):
        own_offset = primaries[:, j, None, None] * strides[j]
        flat += np.where(bits[:, j], v[:, pick][:, :, None], own_offset)
    valid = exists & (size.ravel()[flat] > 0).all(axis=-1)
    return flat, valid


def _coordinates(
    cells: Sequence[Cell], position: Sequence[Mapping[str, int]]
) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """The cells' positions on the dense axes, one array per dimension (for indexing), of the
    cells whose every value is on its axis, and which cells those are. Column by column: a
    tuple per cell took ~40 ms at 11 000 cells."""
    if not cells:
        return tuple(np.zeros(0, dtype=np.int64) for _ in position), np.zeros(0, dtype=bool)
    by_dimension = zip(position, zip(*cells, strict=True), strict=True)
    columns = np.array([[axis.get(v, -1) for v in col] for axis, col in by_dimension], np.int64)
    known = (columns >= 0).all(axis=0)
    return tuple(columns[:, known]), known


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
    ``A·x = 0``, so no corner is pinned, whatever else is hidden. Primaries are protected
    smallest first; among each one's candidate cubes with no empty corner (the cube of the
    cell's own margins always is one), the one hiding the fewest homeowners not hidden already
    is chosen, trying the ``choices`` smallest values per dimension and the margin, else all.

    The table is held as dense numpy arrays (the margin last on every axis), and every
    primary's candidates are found at once (:func:`_candidates`); only the choice, which
    depends on what earlier ones hid, is a loop. The same search over tuples and dicts took
    0.2–1 s of Python at 6 000–11 000 cells."""
    axes = [(*v, TOTAL) for v in values]
    position = [{v: i for i, v in enumerate(axis)} for axis in axes]
    shape = tuple(len(axis) for axis in axes)
    size = np.zeros(shape, dtype=np.int64)
    primary = np.zeros(shape, dtype=bool)
    at, known = _coordinates(list(homeowners), position)
    size[at] = np.fromiter(homeowners.values(), dtype=np.int64, count=len(homeowners))[known]
    primary[_coordinates(list(also_primary), position)[0]] = True
    primary = (primary | (size < k)) & (size > 0)
    flat_primaries = np.flatnonzero(primary.ravel())
    flat_primaries = flat_primaries[np.argsort(size.ravel()[flat_primaries], kind="stable")]
    primaries = np.stack(np.unravel_index(flat_primaries, shape), axis=-1)
    corners, valid = _candidates(primaries, size, choices)
    visible = np.where(primary, 0, size).ravel()  # homeowners in cells still released
    released = ~primary.ravel()
    complementary = np.zeros(size.size, dtype=bool)
    never = np.iinfo(np.int64).max
    for i, p in enumerate(primaries):
        cube, fine = corners[i], valid[i]
        if not fine.any():  # none among the smallest values: try them all
            every, fits = _candidates(p[None], size, None)
            cube, fine = every[0], fits[0]
        cost = np.where(fine, visible[cube].sum(axis=1), never)
        chosen = cube[int(np.argmin(cost))]
        complementary[chosen] |= released[chosen]
        released[chosen] = False
        visible[chosen] = 0
    names = np.where(
        primary.ravel(), PRIMARY, np.where(complementary, COMPLEMENTARY, RELEASED)
    ).tolist()
    return dict(zip(product(*axes), names, strict=True))
