"""How long to wait before trying again: capped exponential backoff with jitter.

Attempt ``n`` (1-based) waits between half and all of ``min(cap, base * 2**(n-1))``
("equal jitter"): the delay grows, never exceeds the cap, never drops to nothing, and
workers that failed together do not retry in step.
"""

from __future__ import annotations

import random


def ceiling(attempt: int, base: float, cap: float) -> float:
    """The longest wait after ``attempt`` failures (1-based)."""
    if attempt < 1:
        raise ValueError(f"attempts count from 1, got {attempt}")
    # 2.0**n overflows past n = 1023; the cap is reached long before that anyway.
    return min(cap, base * 2.0 ** min(attempt - 1, 512))


def delay(attempt: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds to wait after ``attempt`` failures: in [ceiling/2, ceiling]."""
    top = ceiling(attempt, base, cap)
    draw = (rng or random).random()
    return top / 2 + draw * top / 2
