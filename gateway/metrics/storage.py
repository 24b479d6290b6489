"""What the database holds, as Prometheus gauges: outbox depth, dead letters, confirmed
readings, minted Wh.

Read at scrape time from the read engine, at most once per ``ttl`` seconds (a scrape in
between gets the figures of the last read), so many scrapers or a short scrape interval
cost the database no more. Two small queries: the outbox's rows per state (over the
``(state, next_attempt_at)`` index, an index-only count) and the cleared epochs' totals
(one row per 15-minute epoch). Unlike the bridge's counters (gateway.metrics.bridge),
these hold whichever process runs the worker.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from gateway.models import EndDeviceRow
from oracle.outbox import OutboxState
from oracle.records import EpochClearing
from oracle.status import outbox_counts

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StorageFigures:
    """One read of the database's figures."""

    outbox: dict[str, int]
    minted_wh: int
    epochs: int
    devices: int

    @property
    def depth(self) -> int:
        """Pairs waiting for the chain or in flight."""
        return self.outbox[OutboxState.PENDING.value] + self.outbox[OutboxState.IN_FLIGHT.value]


def read_figures(engine: Engine) -> StorageFigures:
    """The figures, read now."""
    counts = outbox_counts(engine)
    with Session(engine) as session:
        minted, epochs = session.execute(
            select(func.coalesce(func.sum(col(EpochClearing.minted_wh)), 0), func.count())
        ).one()
        devices = session.execute(select(func.count()).select_from(EndDeviceRow)).scalar_one()
    return StorageFigures(counts, int(minted), int(epochs), int(devices))


class StorageCollector(Collector):
    """Exports :class:`StorageFigures` of one database, cached for ``ttl`` seconds."""

    def __init__(
        self,
        engine: Engine,
        *,
        ttl: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._figures: StorageFigures | None = None
        self._read_at = float("-inf")
        self.reads = 0
        """How many times the database was read (for tests of the cache)."""

    def figures(self) -> StorageFigures | None:
        """The cached figures, read again if older than ``ttl``; None if unreadable."""
        with self._lock:
            now = self._clock()
            if self._figures is None or now - self._read_at >= self._ttl:
                try:
                    self._figures = read_figures(self._engine)
                except Exception:  # a scrape must still answer while the database is away
                    log.warning("metrics: could not read the database", exc_info=True)
                    self._figures = None
                self._read_at = now
                self.reads += 1
            return self._figures

    def collect(self) -> Iterator[Metric]:
        """The gauges (only ``gridmirror_database_up`` 0 if the database is away)."""
        figures = self.figures()
        yield GaugeMetricFamily(
            "gridmirror_database_up",
            "1 if the last read of the database's figures succeeded.",
            value=0 if figures is None else 1,
        )
        if figures is None:
            return
        rows = GaugeMetricFamily(
            "gridmirror_outbox_rows", "Outbox register pairs, by state.", labels=["state"]
        )
        for state, count in sorted(figures.outbox.items()):
            rows.add_metric([state], count)
        yield rows
        yield GaugeMetricFamily(
            "gridmirror_outbox_depth",
            "Register pairs not yet on chain (pending or in flight).",
            value=figures.depth,
        )
        yield GaugeMetricFamily(
            "gridmirror_dead_letters",
            "Register pairs that failed too often (an operator may re-drive them).",
            value=figures.outbox[OutboxState.DEAD.value],
        )
        yield GaugeMetricFamily(
            "gridmirror_confirmed_readings",
            "Register pairs confirmed on chain.",
            value=figures.outbox[OutboxState.CONFIRMED.value],
        )
        yield GaugeMetricFamily(
            "gridmirror_settled_minted_wh",
            "Wh minted as energy tokens over every cleared epoch (1 token = 1 kWh).",
            value=figures.minted_wh,
        )
        yield GaugeMetricFamily(
            "gridmirror_settled_epochs", "Epochs cleared on chain.", value=figures.epochs
        )
        yield GaugeMetricFamily(
            "gridmirror_registered_devices", "Registered 2030.5 devices.", value=figures.devices
        )
