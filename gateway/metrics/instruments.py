"""The gateway's own instruments, in prometheus_client's default registry.

They are process-wide: several gateways in one process (tests) add to the same series,
as Prometheus' client libraries intend. Labels are kept to small, fixed sets (never a
meter id: 10,000 meters would make 10,000 series per metric).
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

READINGS_RECEIVED = Counter(
    "api_gateway_meter_readings_received_total",
    "Readings stored by the gateway (committed), by the interface they came through.",
    ["interface"],
)
"""Incremented after the commit that stored them (gateway.ingest.tally_received)."""

SEP2_REQUESTS = Counter(
    "gridmirror_sep2_requests_total",
    "IEEE 2030.5 requests answered, by resource (route template), method and status.",
    ["resource", "method", "status"],
)

SEP2_REQUEST_SECONDS = Histogram(
    "gridmirror_sep2_request_duration_seconds",
    "Seconds from a 2030.5 request's arrival to the end of its answer, by resource and method.",
    ["resource", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
