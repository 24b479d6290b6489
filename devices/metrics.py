"""The fleet's Prometheus metrics (the integration plan's simulator_* names).

:class:`FleetMetrics` is a :class:`~devices.stats.FleetObserver`: every fleet subscribes
one to its FleetStats, and it keeps these instruments in prometheus_client's default
registry. ``gridmirror meters --metrics-port`` serves that registry over HTTP; when the
meters run in the gateway's process (the demo) the gateway's /metrics shows them too.

Unlike the plan, no metric is labelled by meter: 10,000 meters would make 10,000 series
per metric. Per-meter state is on the gateway's dashboard instead.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from devices.mirror import Sample
from devices.stats import ErrorKind, FleetObserver, FleetStats, MeterPhase, MeterStatus

READINGS_GENERATED = Counter(
    "simulator_readings_generated_total",
    "Readings the emulated meters have read (a sample is 6 Readings, 2 when telemetry is shed).",
)
READINGS_PUBLISHED = Counter(
    "simulator_readings_published_total",
    "Readings the gateway answered, by status: accepted (2xx) or refused (4xx, not retried).",
    ["status"],
)
PUBLISH_SECONDS = Histogram(
    "simulator_gateway_publish_duration_seconds",
    "Seconds from sending a POST of readings to the gateway's 2xx answer.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
PUBLISH_ERRORS = Counter(
    "simulator_gateway_publish_errors_total",
    "Failed requests of the meters, by kind (timeout, connection, tls, server, client, protocol).",
    ["error_type"],
)
ACTIVE_METERS = Gauge(
    "simulator_active_meters", "Meters whose last request to the gateway succeeded."
)


class FleetMetrics(FleetObserver):
    """Keeps the simulator_* instruments up to date from a fleet's events."""

    def __init__(self) -> None:
        self._accepted = READINGS_PUBLISHED.labels("accepted")
        self._refused = READINGS_PUBLISHED.labels("refused")
        self._errors = {kind: PUBLISH_ERRORS.labels(kind.value) for kind in ErrorKind}

    def generated(self, meter: MeterStatus, sample: Sample) -> None:
        """Count a sample's readings."""
        READINGS_GENERATED.inc(meter.readings_of(sample))

    def published(self, meter: MeterStatus, samples: list[Sample], seconds: float) -> None:
        """Count the accepted readings and time the POST."""
        self._accepted.inc(sum(map(meter.readings_of, samples)))
        PUBLISH_SECONDS.observe(seconds)

    def refused(self, meter: MeterStatus, samples: list[Sample]) -> None:
        """Count readings the gateway refused for good."""
        self._refused.inc(sum(map(meter.readings_of, samples)))

    def failed(self, meter: MeterStatus, kind: ErrorKind, seconds: float) -> None:
        """Count a failed request by kind."""
        self._errors[kind].inc()

    def phase_changed(self, meter: MeterStatus, before: MeterPhase) -> None:
        """Keep the count of online meters (meters of every fleet in this process)."""
        if meter.phase is MeterPhase.ONLINE:
            ACTIVE_METERS.inc()
        elif before is MeterPhase.ONLINE:
            ACTIVE_METERS.dec()


def observe_fleet(stats: FleetStats) -> None:
    """Subscribe a FleetMetrics to ``stats`` unless one already listens."""
    if not any(isinstance(o, FleetMetrics) for o in stats.observers):
        stats.subscribe(FleetMetrics())
