"""Where the embedded chain's time comes from: the wall clock, or a hand-driven one.

LiteSVM's Clock sysvar never moves by itself; the embedded chain reads a time source
before every transaction and moves the slot and the unix timestamp to match. Tests hand
it a :class:`ManualTime` and move time themselves, so that epochs end and readings age
exactly when a test says so.
"""

from __future__ import annotations

import time
from collections.abc import Callable

TimeSource = Callable[[], float]
"""Seconds since the Unix epoch, like :func:`time.time`."""


def system_time() -> float:
    """The machine's wall clock."""
    return time.time()


class ManualTime:
    """A time source that only moves when told to."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self.now = float(start)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward (never backwards: the chain's clock is monotonic anyway)."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        self.now += seconds
