"""Unsent samples of one meter: bounded, in order, and never silently short of energy.

While the gateway is unreachable a meter keeps reading at its postRate and keeps the
samples here, oldest first, to post them in order when the gateway is back. Memory is
bounded twice:

- at most ``full_capacity`` samples keep their telemetry (power, voltage, frequency,
  power factor). Past that, the oldest samples lose their telemetry and keep only their
  two register readings, which are what the settlement needs;
- at most ``register_capacity`` register-only samples are kept. Past that, the oldest
  register pairs are dropped. The registers are cumulative, so no energy is lost: the
  next pair the gateway receives carries all the energy of the dropped ones (it only
  loses resolution over the gap).

Nothing is shed silently: :class:`ShedReport` says what went, and the meter logs it (the
first shed of an outage at once, the total when the backlog has drained).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from devices.mirror import Sample


@dataclass
class ShedReport:
    """What a buffer shed since it was last empty."""

    telemetry: int = 0
    """Samples whose telemetry (four readings each) was dropped; registers kept."""
    registers: int = 0
    """Register pairs dropped; their energy is carried by later pairs."""
    first_time: int | None = None
    """Reading time of the oldest sample affected."""
    last_time: int | None = None
    """Reading time of the newest sample affected."""

    def __bool__(self) -> bool:
        return bool(self.telemetry or self.registers)

    def note(self, time: int) -> None:
        """Widen the time range affected to include ``time``."""
        if self.first_time is None or time < self.first_time:
            self.first_time = time
        if self.last_time is None or time > self.last_time:
            self.last_time = time


class SampleBuffer:
    """The unsent samples of one meter, oldest first."""

    def __init__(self, full_capacity: int, register_capacity: int) -> None:
        if full_capacity < 1 or register_capacity < 0:
            raise ValueError("a buffer keeps at least one full sample")
        self.full_capacity = full_capacity
        self.register_capacity = register_capacity
        # All of _registers is older than all of _full.
        self._registers: deque[Sample] = deque()
        self._full: deque[Sample] = deque()
        self.shed = ShedReport()
        """What was shed since the buffer was last empty."""
        self.total_shed_telemetry = 0
        self.total_shed_registers = 0

    def __len__(self) -> int:
        return len(self._registers) + len(self._full)

    def append(self, sample: Sample) -> bool:
        """Add the newest sample; True if this made the buffer shed something."""
        if self and sample.time <= self.newest_time():
            raise ValueError(f"sample at {sample.time} is not newer than the buffer's newest")
        self._full.append(sample)
        shed = False
        while len(self._full) > self.full_capacity:
            oldest = self._full.popleft()
            if oldest.telemetry is not None:
                self.shed.telemetry += 1
                self.total_shed_telemetry += 1
                self.shed.note(oldest.time)
                shed = True
            self._registers.append(oldest.registers_only())
        while len(self._registers) > self.register_capacity:
            dropped = self._registers.popleft()
            self.shed.registers += 1
            self.total_shed_registers += 1
            self.shed.note(dropped.time)
            shed = True
        return shed

    def newest_time(self) -> int:
        """Reading time of the newest sample (the buffer must not be empty)."""
        return (self._full or self._registers)[-1].time

    def peek(self, count: int) -> list[Sample]:
        """The oldest ``count`` samples (fewer if there are fewer), oldest first."""
        out: list[Sample] = []
        for part in (self._registers, self._full):
            for sample in part:
                if len(out) >= count:
                    return out
                out.append(sample)
        return out

    def drop(self, count: int) -> None:
        """Remove the oldest ``count`` samples (they were delivered, or refused)."""
        for _ in range(count):
            if self._registers:
                self._registers.popleft()
            elif self._full:
                self._full.popleft()
            else:
                break

    def take_shed_report(self) -> ShedReport:
        """The shed report so far, and a fresh one for the next outage."""
        report, self.shed = self.shed, ShedReport()
        return report

    def samples(self) -> list[Sample]:
        """Every buffered sample, oldest first (for saving the meter's state)."""
        return [*self._registers, *self._full]
