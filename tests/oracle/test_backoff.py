"""The retry schedule: grows, is capped, never zero, jittered."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oracle.backoff import ceiling, delay

bases = st.floats(0.001, 10.0)
caps = st.floats(0.01, 3600.0)


@given(st.integers(1, 5000), bases, caps, st.integers(0, 2**32))
def test_delay_is_between_half_and_all_of_a_capped_doubling(
    attempt: int, base: float, cap: float, seed: int
) -> None:
    top = ceiling(attempt, base, cap)
    assert top == min(cap, base * 2 ** min(attempt - 1, 512))
    d = delay(attempt, base, cap, random.Random(seed))
    assert top / 2 <= d <= top <= cap
    assert d > 0


@given(st.integers(1, 200), bases, caps)
def test_the_ceiling_never_shrinks(attempt: int, base: float, cap: float) -> None:
    assert ceiling(attempt, base, cap) <= ceiling(attempt + 1, base, cap)


def test_jitter_spreads_workers_that_failed_together() -> None:
    rng = random.Random(1)
    draws = {round(delay(6, 0.5, 60, rng), 6) for _ in range(50)}
    assert len(draws) == 50
    assert min(draws) >= 8.0 and max(draws) <= 16.0


def test_attempts_count_from_one() -> None:
    with pytest.raises(ValueError):
        ceiling(0, 1, 1)
