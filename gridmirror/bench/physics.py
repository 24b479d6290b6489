"""How fast the meter physics runs: meter-steps per second on one core.

The fleet target is 10,000 meters posting every 15 s on a 2-core machine that also runs
the gateway: 667 meter-steps a second. Four runs, side by side in one process:

- live, staggered: each meter at its own phase within the 15 s postRate, as a real fleet
  posts, so no two meters ask the site's sky for the same instant;
- live, in step: every meter steps to the same instants (the site's conditions are shared);
- replay in 15-minute steps: meters catching up on past days, posting every 15 minutes;
- replay in one step: the same days in a single step per meter (288 pieces a day).

Live runs start at local noon, where a step costs the most (the sun is up), after one
warm-up step per meter (which draws the day's noise blocks, a cost paid once a day).
CPU time is the process's own (one thread, so one core); wall time includes whatever
else the shared machine runs.
"""

from __future__ import annotations

import time
import tracemalloc
from dataclasses import dataclass
from datetime import UTC, datetime

from devices.campus import Campus, synthetic_fleet
from devices.meter import MeterModel
from devices.site import Site
from devices.timebase import DAY_MS, MS_PER_S, to_ms

POST_RATE_S = 15
TARGET_METERS = 10_000
TARGET_STEPS_PER_S = TARGET_METERS / POST_RATE_S


@dataclass(frozen=True)
class Run:
    """One measured run."""

    name: str
    meter_steps: int
    cpu_s: float
    wall_s: float
    simulated_meter_days: float

    @property
    def steps_per_cpu_s(self) -> float:
        """Meter-steps per second of CPU time (one core)."""
        return self.meter_steps / self.cpu_s if self.cpu_s > 0 else float("inf")

    @property
    def steps_per_wall_s(self) -> float:
        """Meter-steps per second of wall time."""
        return self.meter_steps / self.wall_s if self.wall_s > 0 else float("inf")

    @property
    def meter_days_per_cpu_s(self) -> float:
        """Simulated meter-days per second of CPU time."""
        return self.simulated_meter_days / self.cpu_s if self.cpu_s > 0 else float("inf")


def _local_noon(campus: Campus) -> int:
    """Milliseconds of 2026-03-10 12:00 local time at the campus."""
    midnight_utc = to_ms(datetime(2026, 3, 10, tzinfo=UTC))
    return midnight_utc + DAY_MS // 2 - round(campus.site.utc_offset_hours * 3_600_000)


def _measure(name: str, work: list[tuple[MeterModel, list[int]]], days: float) -> Run:
    steps = sum(len(times) for _, times in work)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for meter, times in work:
        advance = meter.step_to_ms
        for t in times:
            advance(t)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return Run(name, steps, cpu, wall, days)


def _live(campus: Campus, seed: int, rounds: int, staggered: bool) -> Run:
    site = Site(campus.site, seed)
    start = _local_noon(campus)
    period = POST_RATE_S * MS_PER_S
    count = len(campus.meters)
    phases = [(i * period) // count if staggered else 0 for i in range(count)]
    meters = [
        MeterModel(spec, site, (start + p) / MS_PER_S)
        for spec, p in zip(campus.meters, phases, strict=True)
    ]
    for meter, p in zip(meters, phases, strict=True):  # warm-up: draw today's noise
        meter.step_to((start + p + period) / MS_PER_S)
    # Round by round, every meter once, as a fleet's scheduler would run them.
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for k in range(2, rounds + 2):
        for meter, p in zip(meters, phases, strict=True):
            meter.step_to_ms(start + p + k * period)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    steps = rounds * count
    name = "live, staggered 15 s" if staggered else "live, in step 15 s"
    return Run(name, steps, cpu, wall, steps * POST_RATE_S / 86_400)


def _replay(campus: Campus, seed: int, meters: int, days: int, every_s: int | None) -> Run:
    site = Site(campus.site, seed)
    end = _local_noon(campus)
    start = end - days * DAY_MS
    specs = campus.meters[:meters]
    models = [MeterModel(spec, site, start / MS_PER_S) for spec in specs]
    if every_s is None:
        work = [(m, [end]) for m in models]
        name = f"replay {days} d, one step"
    else:
        every = every_s * MS_PER_S
        times = list(range(start + every, end + 1, every))
        work = [(m, times) for m in models]
        name = f"replay {days} d, {every_s // 60}-minute steps"
    return _measure(name, work, days * len(models))


def memory_per_meter(count: int, seed: int, campus: Campus) -> float:
    """Bytes per meter of a running fleet: its spec, its model and its noise blocks."""
    tracemalloc.start()
    try:
        fleet = synthetic_fleet(count, seed, campus.site)
        site = Site(fleet.site, seed)
        start = _local_noon(campus)
        models = [MeterModel(spec, site, start / MS_PER_S) for spec in fleet.meters]
        for model in models:
            model.step_to_ms(start + POST_RATE_S * MS_PER_S)
        used, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return used / count


def run(meters: int, rounds: int, replay_meters: int, replay_days: int, seed: int,
        campus: Campus) -> list[Run]:  # fmt: skip
    """All four runs on a synthetic fleet of ``meters`` on the campus site."""
    fleet = synthetic_fleet(meters, seed, campus.site)
    return [
        _live(fleet, seed, rounds, staggered=True),
        _live(fleet, seed, rounds, staggered=False),
        _replay(fleet, seed, replay_meters, replay_days, every_s=900),
        _replay(fleet, seed, replay_meters, replay_days, every_s=None),
    ]


def report(runs: list[Run], bytes_per_meter: float) -> list[str]:
    """The figures as printable lines."""
    lines = [
        f"{'run':32} {'meter-steps':>11} {'steps/s cpu':>12} {'steps/s wall':>12} "
        f"{'µs/step':>8} {'meter-days/s':>12}"
    ]
    for r in runs:
        lines.append(
            f"{r.name:32} {r.meter_steps:>11,} {r.steps_per_cpu_s:>12,.0f} "
            f"{r.steps_per_wall_s:>12,.0f} {1e6 / r.steps_per_cpu_s:>8.1f} "
            f"{r.meter_days_per_cpu_s:>12,.1f}"
        )
    live = runs[0]
    share = TARGET_STEPS_PER_S / live.steps_per_cpu_s
    lines.append(
        f"fleet load {TARGET_METERS:,} meters at {POST_RATE_S} s = {TARGET_STEPS_PER_S:,.0f} "
        f"meter-steps/s: {share:.1%} of one core (staggered live rate, "
        f"{live.steps_per_cpu_s / TARGET_STEPS_PER_S:,.0f}x headroom)"
    )
    lines.append(
        f"memory {bytes_per_meter / 1024:,.1f} KiB per running meter (spec, model, noise "
        f"blocks): {bytes_per_meter * TARGET_METERS / 2**20:,.0f} MiB for {TARGET_METERS:,}"
    )
    return lines
