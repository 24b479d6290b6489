"""The submission worker end to end: outbox to confirmed on the embedded chain.

With what a gateway runs by default: its SQLite database (WAL, synchronous FULL), or a
PostgreSQL (``--database-url``), and the embedded chain persisted on disk. Meters are registered
first (timed on its own). Then, side by side in one run:

- ``backlog``: N readings already in the outbox (as after a chain outage); the worker
  drains them: readings/s from outbox to confirmed, readings per transaction;
- ``steady``: a producer process (like a gateway beside a ``chain worker``) accepts
  readings at RATE/s, each stamped and accepted now (10,000 meters posting every 15 s is
  667/s), committing every TICK seconds, for SECONDS, while the worker runs;
  the lag of a reading is ``confirmed_at - accepted_at``: p50, p95, p99 and max over
  every reading accepted in the window. Target (ARCHITECTURE.md): p95 under 2 s.

Clearing is off: this measures submission (clearing costs a transaction per 24 meters
per 15 minutes).
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlmodel import Session, col, select

from gateway.db import open_database
from oracle.bridge import Bridge, open_bridge
from oracle.chain import open_chain
from oracle.deployment import init_oracle
from oracle.outbox import OutboxEntry, enqueue
from oracle.settings import ChainSettings
from oracle.status import BridgeStats

RATED_POWER_W = 100_000  # the default rating: 416 Wh in 15 s


@dataclass(frozen=True)
class Drain:
    """The backlog run."""

    readings: int
    seconds: float
    transactions: int

    @property
    def rate(self) -> float:
        """Readings per second, outbox to confirmed."""
        return self.readings / self.seconds

    @property
    def per_transaction(self) -> float:
        """Readings per submit_readings transaction."""
        return self.readings / self.transactions


@dataclass(frozen=True)
class Steady:
    """The steady run."""

    rate: float  # asked for
    seconds: float
    lags: list[float]
    transactions: int

    @property
    def readings(self) -> int:
        """Readings accepted (and confirmed) in the window."""
        return len(self.lags)

    def percentile(self, p: float) -> float:
        """The p-th percentile of the lag (seconds)."""
        ordered = sorted(self.lags)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


@dataclass(frozen=True)
class Figures:
    """Both runs, and the registration before them."""

    meters: int
    register_seconds: float
    drain: Drain
    steady: Steady


class Meters:
    """Registers that grow plausibly, one reading at a time."""

    def __init__(self, count: int, seed: int = 2030) -> None:
        self.rng = random.Random(seed)
        self.lfdis = [f"{0xB000_0000 + i:08X}".ljust(40, "5") for i in range(count)]
        self.registers = {lfdi: [self.rng.randint(0, 10**6)] * 2 for lfdi in self.lfdis}
        self.last: dict[str, int] = {}

    def reading(self, lfdi: str, timestamp: int) -> tuple[int, int] | None:
        """The meter's registers at ``timestamp`` (None if it already read at that second)."""
        previous = self.last.get(lfdi)
        if previous is not None and timestamp <= previous:
            return None
        span = 15 if previous is None else timestamp - previous
        most = RATED_POWER_W * span // 3600
        regs = self.registers[lfdi]
        imported = self.rng.randint(0, most // 2)
        regs = [regs[0] + imported, regs[1] + self.rng.randint(0, most // 2)]
        self.registers[lfdi] = regs
        self.last[lfdi] = timestamp
        return regs[0], regs[1]


def _backlog(engine: Engine, meters: Meters, readings: int) -> int:
    steps = max(1, readings // len(meters.lfdis))
    start = int(time.time()) - 15 * steps - 30
    n = 0
    with Session(engine) as session, session.begin():
        for step in range(steps):
            for lfdi in meters.lfdis:
                regs = meters.reading(lfdi, start + 15 * step)
                assert regs is not None
                enqueue(
                    session, lfdi=lfdi, timestamp=start + 15 * step, import_wh=regs[0],
                    export_wh=regs[1], now=time.time(),
                )  # fmt: skip
                n += 1
    return n


def _produce(
    url: str, meters: Meters, rate: float, seconds: float, tick: float
) -> None:  # pragma: no cover - runs in the producer process
    """Accept readings at ``rate``/s, round robin over the meters, committing every
    ``tick`` seconds (the gateway's group commit), in a process of its own like a gateway."""
    database = open_database(url, synchronous="full")
    engine = database.write
    begin = time.time()
    produced = 0
    turn = 0
    while True:
        now = time.time()
        if now - begin >= seconds:
            break
        due = int((now - begin) * rate) - produced
        if due > 0:
            with Session(engine) as session, session.begin():
                for _ in range(due):
                    lfdi = meters.lfdis[turn % len(meters.lfdis)]
                    turn += 1
                    regs = meters.reading(lfdi, int(now))
                    if regs is None:
                        continue
                    enqueue(
                        session, lfdi=lfdi, timestamp=int(now), import_wh=regs[0],
                        export_wh=regs[1], now=time.time(),
                    )  # fmt: skip
            produced += due
        time.sleep(tick)
    database.dispose()


def _lags(engine: Engine, since: float, until: float) -> list[float]:
    with Session(engine) as session:
        rows = session.exec(
            select(OutboxEntry.accepted_at, OutboxEntry.confirmed_at).where(
                col(OutboxEntry.accepted_at) >= since,
                col(OutboxEntry.accepted_at) < until,
            )
        ).all()
    return [c - a for a, c in rows if c is not None]


@contextlib.contextmanager
def scratch_database(url: str | None, scratch: Path) -> Iterator[str]:
    """A SQLite file in ``scratch``, or a fresh schema (dropped afterwards) in PostgreSQL."""
    if url is None:
        yield f"sqlite:///{scratch / 'gridmirror.db'}"
        return
    schema = f"gm_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        sep = "&" if "?" in url else "?"
        yield f"{url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


async def _run(
    meters: int, backlog: int, rate: float, seconds: float, tick: float, scratch: Path, url: str
) -> Figures:
    settings = ChainSettings(state_dir=scratch / "chain", keys_dir=scratch / "keys", clearing=False)
    database = open_database(url, synchronous="full")
    database.ensure_schema()
    chain = open_chain(settings)
    try:
        await init_oracle(chain, settings)
        stats = BridgeStats()
        bridge: Bridge = await open_bridge(
            database.write, settings, chain=chain, stats=stats, read_engine=database.read
        )
        fleet = Meters(meters)
        t0 = time.perf_counter()
        failed = await bridge.registry.ensure(fleet.lfdis)
        if failed:
            raise RuntimeError(f"{len(failed)} meters could not be registered")
        register_seconds = time.perf_counter() - t0

        # backlog: drain what is already there
        queued = await asyncio.to_thread(_backlog, database.write, fleet, backlog)
        landed = stats.submissions["landed"]
        t0 = time.perf_counter()
        await bridge.run(drain=True)
        drain = Drain(queued, time.perf_counter() - t0, stats.submissions["landed"] - landed)

        # steady: accept and submit side by side
        stop_worker = asyncio.Event()
        landed = stats.submissions["landed"]
        since = time.time()
        worker = asyncio.create_task(bridge.run(stop_worker))
        producer = multiprocessing.get_context("spawn").Process(
            target=_produce, args=(url, fleet, rate, seconds, tick), daemon=True
        )
        producer.start()
        await asyncio.to_thread(producer.join)
        until = time.time()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with Session(database.read) as session:
                waiting = session.exec(
                    select(OutboxEntry.id).where(
                        col(OutboxEntry.state).in_(["pending", "in_flight"])
                    )
                ).first()
            if waiting is None:
                break
            await asyncio.sleep(0.05)
        stop_worker.set()
        await worker
        lags = await asyncio.to_thread(_lags, database.write, since, until)
        steady = Steady(rate, until - since, lags, stats.submissions["landed"] - landed)
        return Figures(meters, register_seconds, drain, steady)
    finally:
        await chain.close()
        database.dispose()


def run(
    meters: int,
    backlog: int,
    rate: float,
    seconds: float,
    *,
    tick: float = 0.02,
    scratch: Path | None = None,
    database_url: str | None = None,
) -> Figures:
    """Both runs in a scratch directory (removed afterwards), on SQLite there or on a
    scratch schema of the PostgreSQL at ``database_url``."""
    with (
        tempfile.TemporaryDirectory(dir=scratch, prefix="gm-bench-worker-") as tmp,
        scratch_database(database_url, Path(tmp)) as url,
    ):
        return asyncio.run(_run(meters, backlog, rate, seconds, tick, Path(tmp), url))


def report(f: Figures, echo: Callable[[str], None]) -> None:
    """Print the figures."""
    d, s = f.drain, f.steady
    echo(f"registration: {f.meters:,} meters in {f.register_seconds:.1f} s")
    echo(
        f"backlog: {d.readings:,} readings drained in {d.seconds:.2f} s = "
        f"{d.rate:,.0f} readings/s; {d.transactions} transactions, "
        f"{d.per_transaction:.1f} readings per transaction"
    )
    if not s.lags:
        echo("steady: no reading was confirmed in the window")
        return
    echo(
        f"steady: {s.readings:,} readings accepted at {s.rate:,.0f}/s for {s.seconds:.1f} s, "
        f"{s.transactions} transactions ({s.readings / max(1, s.transactions):.1f} readings each)"
    )
    echo(
        f"  lag accepted->confirmed: p50 {s.percentile(50):.3f} s  p95 {s.percentile(95):.3f} s  "
        f"p99 {s.percentile(99):.3f} s  max {max(s.lags):.3f} s  mean "
        f"{statistics.fmean(s.lags):.3f} s  (target p95 < 2 s: "
        f"{'met' if s.percentile(95) < 2 else 'NOT met'})"
    )
