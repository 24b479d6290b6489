"""The bridge's figures in one place: what the worker did, and what the outbox holds.

:data:`STATS` is the process's :class:`BridgeStats`; every worker in the process adds to
it (unless given its own). Counters only grow, so a Prometheus collector can expose them
as they are:

=====================================================  ===============================
metric                                                 here
=====================================================  ===============================
api_gateway_blockchain_submissions_total{outcome}      ``submissions[outcome]``
api_gateway_blockchain_submission_duration_seconds     ``submission_seconds`` (histogram)
api_gateway_blockchain_errors_total{kind}              ``errors[kind]``
confirmed readings, minted Wh                          ``readings[status]``, ``minted_wh``
outbox depth, dead letters                             :func:`outbox_counts` (database)
=====================================================  ===============================

Outcomes: ``landed``, ``failed`` (landed with an error), ``dropped`` (never landed),
``unknown`` (not known yet; resolved later). Error kinds: ``unavailable`` (chain
unreachable), ``refused``, ``failed``, ``expired``, ``timeout``, ``registration``,
``clearing``, ``event``, ``lease``, ``batching``.
"""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from oracle.outbox import OutboxEntry, OutboxState

# Prometheus' default buckets, which suit both a submission's seconds and a reading's lag.
DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass
class Histogram:
    """Cumulative-bucket histogram, as Prometheus exposes one."""

    buckets: tuple[float, ...] = DEFAULT_BUCKETS
    counts: list[int] = field(default_factory=list)  # per bucket, not cumulative; +Inf last
    sum: float = 0.0
    count: int = 0

    def __post_init__(self) -> None:
        self.counts = [0] * (len(self.buckets) + 1)

    def observe(self, value: float) -> None:
        """Add one observation."""
        self.counts[bisect.bisect_left(self.buckets, value)] += 1
        self.sum += value
        self.count += 1

    def cumulative(self) -> list[tuple[float, int]]:
        """(upper bound, observations <= it) per bucket, +Inf last."""
        out, running = [], 0
        for bound, n in zip((*self.buckets, float("inf")), self.counts, strict=True):
            running += n
            out.append((bound, running))
        return out


@dataclass
class BridgeStats:
    """Counters of the submission worker and the clearing crank."""

    submissions: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    readings: Counter[str] = field(default_factory=Counter)  # confirmed/duplicate/rejected/dead
    submission_seconds: Histogram = field(default_factory=Histogram)
    lag_seconds: Histogram = field(default_factory=Histogram)
    readings_sent: int = 0  # readings carried by landed transactions
    minted_wh: int = 0
    epochs_cleared: int = 0
    last_error: str | None = None

    def error(self, kind: str, message: str) -> None:
        """Count an error of ``kind`` and remember its message."""
        self.errors[kind] += 1
        self.last_error = f"{kind}: {message}"

    @property
    def readings_per_transaction(self) -> float:
        """Mean readings per landed submit_readings transaction."""
        landed = self.submissions["landed"]
        return self.readings_sent / landed if landed else 0.0

    def snapshot(self) -> dict[str, Any]:
        """Everything as plain JSON values."""
        return {
            "submissions": dict(self.submissions),
            "errors": dict(self.errors),
            "readings": dict(self.readings),
            "readings_per_transaction": round(self.readings_per_transaction, 2),
            "submission_seconds": {
                "count": self.submission_seconds.count,
                "sum": self.submission_seconds.sum,
            },
            "lag_seconds": {"count": self.lag_seconds.count, "sum": self.lag_seconds.sum},
            "minted_wh": self.minted_wh,
            "epochs_cleared": self.epochs_cleared,
            "last_error": self.last_error,
        }


STATS = BridgeStats()
"""This process's figures (workers add to it unless given their own)."""


def outbox_counts(engine: Engine) -> dict[str, int]:
    """Rows per outbox state, every state present (0 when none)."""
    with Session(engine) as session:
        rows = session.execute(
            select(col(OutboxEntry.state), func.count()).group_by(col(OutboxEntry.state))
        ).all()
    counts = {s.value: 0 for s in OutboxState}
    counts.update({state: int(n) for state, n in rows})
    return counts
