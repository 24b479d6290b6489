"""Capped exponential backoff with full jitter."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.backoff import Backoff


def test_ceiling_doubles_up_to_the_cap() -> None:
    backoff = Backoff(1.0, 60.0, random.Random(1))
    ceilings = []
    for _ in range(10):
        backoff.failed()
        ceilings.append(backoff.ceiling())
    assert ceilings == [1, 2, 4, 8, 16, 32, 60, 60, 60, 60]
    backoff.succeeded()
    assert backoff.failures == 0 and backoff.ceiling() == 0


@given(base=st.floats(0.01, 10), cap=st.floats(10, 1000), failures=st.integers(1, 500))
def test_delays_stay_within_the_window(base: float, cap: float, failures: int) -> None:
    backoff = Backoff(base, cap, random.Random(failures))
    for n in range(1, failures + 1):
        delay = backoff.failed()
        assert 0.0 <= delay <= min(cap, base * 2 ** (n - 1)) + 1e-9


def test_jitter_spreads_a_fleet() -> None:
    """A thousand meters failing together do not retry together."""
    delays = []
    for seed in range(1000):
        backoff = Backoff(1.0, 300.0, random.Random(seed))
        for _ in range(5):
            delay = backoff.failed()
        delays.append(delay)
    assert 0 <= min(delays) < 1.0 and 15.0 < max(delays) <= 16.0
    in_first_second = sum(d < 1.0 for d in delays)
    assert in_first_second < 120  # about 1/16 of them, not all at once


def test_retry_after_is_honoured_within_the_cap() -> None:
    backoff = Backoff(1.0, 30.0, random.Random(3))
    assert backoff.failed(retry_after_s=20.0) == 20.0
    assert backoff.failed(retry_after_s=3600.0) == 30.0


@pytest.mark.parametrize(("base", "cap"), [(0.0, 1.0), (5.0, 1.0)])
def test_refused(base: float, cap: float) -> None:
    with pytest.raises(ValueError):
        Backoff(base, cap)
