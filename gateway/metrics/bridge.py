"""The oracle bridge's figures as Prometheus metrics, pulled at scrape time.

oracle.status keeps plain counters (oracle may not import the gateway, and needs no
Prometheus); this collector reads a :class:`~oracle.status.BridgeStats` when scraped.
The figures are this process's: a bridge running in another process (``gridmirror
chain worker``) exports nothing here, while the database figures (gateway.metrics.storage)
hold for every process.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from oracle.status import STATS, BridgeStats, Histogram

OUTCOMES = ("landed", "failed", "dropped", "unknown")
READING_STATES = ("confirmed", "duplicate", "rejected", "dead")
# oracle.status names these; each is exported from 0 so that a query finds the series
# before the first error of its kind (and rate() sees that first error).
ERROR_KINDS = (
    "unavailable", "refused", "failed", "expired", "timeout", "registration", "clearing",
    "event", "lease", "batching",
)  # fmt: skip


class BridgeCollector(Collector):
    """Exports a BridgeStats (the process's oracle.status.STATS by default)."""

    def __init__(self, stats: BridgeStats = STATS) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Metric]:
        """The metrics, read from the stats now."""
        stats = self._stats
        submissions = CounterMetricFamily(
            "api_gateway_blockchain_submissions",
            "submit_readings transactions sent, by outcome (landed, failed: landed with an "
            "error, dropped: never landed, unknown: not known yet).",
            labels=["outcome"],
        )
        for outcome in sorted({*OUTCOMES, *stats.submissions}):
            submissions.add_metric([outcome], stats.submissions[outcome])
        yield submissions

        errors = CounterMetricFamily(
            "api_gateway_blockchain_errors",
            "Errors of the bridge, by kind (unavailable, refused, failed, expired, timeout, ...).",
            labels=["kind"],
        )
        for kind in sorted({*ERROR_KINDS, *stats.errors}):
            errors.add_metric([kind], stats.errors[kind])
        yield errors

        yield _histogram(
            "api_gateway_blockchain_submission_duration_seconds",
            "Seconds from sending a submit_readings transaction to knowing its outcome.",
            stats.submission_seconds,
        )
        yield _histogram(
            "gridmirror_reading_confirmation_seconds",
            "Seconds from the gateway accepting a reading to its confirmation on chain.",
            stats.lag_seconds,
        )

        readings = CounterMetricFamily(
            "gridmirror_chain_readings",
            "Register pairs with a final answer from the chain (or dead-lettered), by status.",
            labels=["status"],
        )
        for status in sorted({*READING_STATES, *stats.readings}):
            readings.add_metric([status], stats.readings[status])
        yield readings

        yield CounterMetricFamily(
            "gridmirror_minted_wh",
            "Wh minted as energy tokens by this process's clearing crank.",
            value=stats.minted_wh,
        )
        yield CounterMetricFamily(
            "gridmirror_epochs_cleared",
            "Epochs this process's clearing crank has cleared.",
            value=stats.epochs_cleared,
        )


def _histogram(name: str, documentation: str, histogram: Histogram) -> HistogramMetricFamily:
    buckets = [
        ("+Inf" if bound == float("inf") else repr(float(bound)), count)
        for bound, count in histogram.cumulative()
    ]
    return HistogramMetricFamily(name, documentation, buckets=buckets, sum_value=histogram.sum)
