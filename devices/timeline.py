"""The fleet's clock: replay a past window faster than real time, then follow real time.

Simulated time starts ``replay_s`` seconds in the past and runs ``speed`` times faster
than real time until it has caught up with the real clock; from then on it *is* the real
clock. It is never ahead of the real clock, so a reading stamped with it is never in the
future: ``--replay-hours 24 --speed 300`` shows a whole day's PV curve in under five
minutes and then carries on live.

With ``replay_s = 0`` simulated time is the real clock from the start.

    sim(r) = min(r, sim0 + (r - real0) x speed)      sim0 = real0 - replay_s

The real clock is injected (``time.time`` by default) so tests can drive it.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class Timeline:
    """Simulated time for the whole fleet (seconds since the epoch, as floats)."""

    def __init__(
        self,
        replay_s: float = 0.0,
        speed: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if replay_s < 0:
            raise ValueError("the replay window cannot be negative")
        if speed < 1.0:
            raise ValueError("speed must be at least 1 (real time)")
        if replay_s > 0 and speed == 1.0:
            raise ValueError("a replay needs a speed above 1 to ever catch up with real time")
        self.clock = clock
        self.speed = speed
        self.replay_s = replay_s
        self.real0 = clock()
        self.sim0 = self.real0 - replay_s
        # The real instant at which simulated time reaches real time.
        self.caught_up_at = self.real0 + (replay_s / (speed - 1.0) if replay_s > 0 else 0.0)

    @property
    def start(self) -> float:
        """Simulated time at the start: where the replay begins."""
        return self.sim0

    def now(self) -> float:
        """Simulated time now; never later than the real clock."""
        real = self.clock()
        if real >= self.caught_up_at:
            return real
        return min(real, self.sim0 + (real - self.real0) * self.speed)

    def live(self) -> bool:
        """True once simulated time has caught up with real time."""
        return self.clock() >= self.caught_up_at

    def real_at(self, sim_t: float) -> float:
        """The real instant at which simulated time reaches ``sim_t``."""
        if sim_t >= self.caught_up_at:
            return sim_t
        return self.real0 + (sim_t - self.sim0) / self.speed

    def seconds_until(self, sim_t: float) -> float:
        """Real seconds to wait until simulated time reaches ``sim_t`` (0 if it has)."""
        return max(0.0, self.real_at(sim_t) - self.clock())
