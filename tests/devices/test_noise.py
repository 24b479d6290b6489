from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from devices.noise import Ar1Path

CELL_S, TAU_S, CELLS = 300, 1200.0, 288
BLOCK_MS = CELL_S * CELLS * 1000


def test_same_key_same_values_in_any_order() -> None:
    times = [k * 97_123_457 for k in range(400)]
    forward = Ar1Path("k", CELL_S, TAU_S, CELLS)
    backward = Ar1Path("k", CELL_S, TAU_S, CELLS)
    a = [forward.at(t) for t in times]
    b = [backward.at(t) for t in reversed(times)][::-1]
    assert a == b  # a pure function of time: the cache and its evictions change nothing


def test_other_key_other_values() -> None:
    a, b = Ar1Path("a", CELL_S, TAU_S, CELLS), Ar1Path("b", CELL_S, TAU_S, CELLS)
    assert [a.at(t * 300_000) for t in range(50)] != [b.at(t * 300_000) for t in range(50)]


@given(block=st.integers(min_value=0, max_value=100_000))
@settings(max_examples=30, deadline=None)
def test_continuous_across_block_boundaries(block: int) -> None:
    path = Ar1Path("edge", CELL_S, TAU_S, CELLS)
    edge = block * BLOCK_MS
    before, at, after = path.at(edge - 1), path.at(edge), path.at(edge + 1)
    # A millisecond moves the value by at most a cell's slope / 300,000.
    assert abs(at - before) < 1e-3 and abs(after - at) < 1e-3


def test_unit_variance_and_persistence() -> None:
    path = Ar1Path("stats", CELL_S, TAU_S, CELLS)
    xs = [path.at(k * CELL_S * 1000) for k in range(40 * CELLS)]
    n = len(xs)
    mean = sum(xs) / n
    var = sum((x - mean) ** 2 for x in xs) / n
    lag1 = sum((xs[i] - mean) * (xs[i + 1] - mean) for i in range(n - 1)) / (n - 1) / var
    assert abs(mean) < 0.15
    assert 0.85 < var < 1.15
    assert abs(lag1 - math.exp(-CELL_S / TAU_S)) < 0.05


def test_linear_between_grid_points() -> None:
    path = Ar1Path("lin", CELL_S, TAU_S, CELLS)
    a, b = path.at(600_000), path.at(900_000)
    assert math.isclose(path.at(750_000), (a + b) / 2, rel_tol=1e-12, abs_tol=1e-12)
