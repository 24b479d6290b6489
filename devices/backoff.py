"""When to try again after the server failed: capped exponential backoff with full jitter.

After the n-th consecutive failure the next attempt waits a uniformly random time in
``[0, min(cap, base x 2^(n-1))]`` ("full jitter"): thousands of meters that lost the
gateway at the same moment spread their retries over the whole window instead of coming
back in synchronised waves. A server's ``Retry-After`` raises the wait to at least what it
asked for (still capped). A success resets the count.
"""

from __future__ import annotations

import random

_SHARED = random.Random()


class Backoff:
    """The retry schedule of one meter."""

    def __init__(
        self, base_s: float = 1.0, cap_s: float = 300.0, rng: random.Random | None = None
    ) -> None:
        if base_s <= 0 or cap_s < base_s:
            raise ValueError("backoff needs 0 < base <= cap")
        self.base_s = base_s
        self.cap_s = cap_s
        self.failures = 0
        # One generator for every meter unless a test gives its own: a Random holds
        # 2.5 KiB of state, which 10,000 meters need not each carry.
        self._rng = rng or _SHARED

    def ceiling(self) -> float:
        """The longest wait after the failures so far."""
        if self.failures == 0:
            return 0.0
        # 2^60 is far past any cap; avoids building huge integers after long outages.
        return min(self.cap_s, self.base_s * 2.0 ** min(self.failures - 1, 60))

    def failed(self, retry_after_s: float | None = None) -> float:
        """Count a failure; returns how long to wait before the next attempt."""
        self.failures += 1
        delay = self._rng.uniform(0.0, self.ceiling())
        if retry_after_s is not None and retry_after_s > delay:
            delay = min(retry_after_s, self.cap_s)
        return delay

    def succeeded(self) -> None:
        """Reset after a success."""
        self.failures = 0
