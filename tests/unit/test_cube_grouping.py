"""``cube_rebuild.group_sums`` against a plain dictionary ``GROUP BY``, on both of its paths
(counting into the packed key space, and sorting when that space is too large)."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from data.aggregates import cube_rebuild
from data.aggregates.cube_rebuild import group_sums, ranked_codes


def _oracle(keys: list[list[int]], values: list[list[int]]) -> list[tuple[int, ...]]:
    groups: dict[tuple[int, ...], list[int]] = defaultdict(lambda: [0] * (1 + len(values)))
    for row in range(len(keys[0])):
        acc = groups[tuple(k[row] for k in keys)]
        acc[0] += 1
        for i, v in enumerate(values):
            acc[1 + i] += v[row]
    return [(*key, *acc) for key, acc in sorted(groups.items())]


def _rows(keys: list[np.ndarray], sums: list[np.ndarray]) -> list[tuple[int, ...]]:
    return [tuple(int(x) for x in row) for row in zip(*keys, *sums, strict=True)]


@pytest.mark.parametrize("limit", [1 << 23, 1])  # 1: every key space is "too large": sorted
def test_group_sums_equal_a_plain_group_by(monkeypatch, limit):
    monkeypatch.setattr(cube_rebuild, "DENSE_LIMIT", limit)
    rng = np.random.default_rng(7)
    n = 2_000
    keys = [rng.integers(3, 9, n), rng.integers(-1, 40, n), rng.integers(200, 203, n)]
    values = [rng.integers(0, 2, n), rng.integers(0, 50, n)]
    got_keys, got_sums = group_sums([ranked_codes(k) for k in keys], values)
    assert _rows(got_keys, got_sums) == _oracle(
        [k.tolist() for k in keys], [v.tolist() for v in values]
    )


def test_a_known_answer():
    keys = [np.array([2, 1, 2, 2]), np.array([-1, 5, -1, 7])]
    got_keys, got_sums = group_sums([ranked_codes(k) for k in keys], [np.array([1, 0, 1, 1])])
    assert _rows(got_keys, got_sums) == [(1, 5, 1, 0), (2, -1, 2, 2), (2, 7, 1, 1)]


def test_values_far_apart_are_ranked_not_spanned():
    # a range of 2^40: neither a lookup table nor a packed key space could hold it
    keys = [np.array([0, 1 << 40, 0, -5]), np.array([65_536, 0, 65_536, 3])]
    got_keys, got_sums = group_sums([ranked_codes(k) for k in keys], [])
    assert _rows(got_keys, got_sums) == [(-5, 3, 1), (0, 65_536, 2), (1 << 40, 0, 1)]
