"""Prometheus metrics of the gateway (GET /metrics on the API listener).

- :mod:`gateway.metrics.instruments`: the gateway's own counters and histograms (readings
  received by interface, 2030.5 requests by resource and status), process-wide in
  prometheus_client's default registry;
- :mod:`gateway.metrics.requests`: the ASGI middleware that counts 2030.5 requests;
- :mod:`gateway.metrics.bridge`: the oracle bridge's figures (oracle.status.STATS), pulled
  at scrape time by a collector (oracle knows nothing of Prometheus);
- :mod:`gateway.metrics.storage`: what the database holds (outbox rows by state, minted
  Wh, cleared epochs), read at scrape time, at most once per ``ttl`` seconds;
- :mod:`gateway.metrics.endpoint`: the /metrics route, which writes the default registry
  (the fleet's simulator_* metrics too, when the meters run in this process) and this
  application's storage collector.

The metric names and what they mean are listed in docs/dashboard.md.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from fastapi import FastAPI
from prometheus_client import REGISTRY, CollectorRegistry
from sqlalchemy import Engine
from starlette.routing import Route

from gateway.metrics.bridge import BridgeCollector
from gateway.metrics.endpoint import router
from gateway.metrics.requests import Sep2RequestMetrics
from gateway.metrics.storage import StorageCollector

_bridge_registered = threading.Lock()
_BRIDGE: list[BridgeCollector] = []


def register_bridge_collector() -> BridgeCollector:
    """Put the bridge collector in the default registry (once per process)."""
    with _bridge_registered:
        if not _BRIDGE:
            collector = BridgeCollector()
            REGISTRY.register(collector)
            _BRIDGE.append(collector)
        return _BRIDGE[0]


def install_metrics(
    app: FastAPI,
    database_read: Engine,
    *,
    sep2_routes: Sequence[Route],
    is_sep2: Callable[[str], bool],
    storage_ttl: float = 5.0,
) -> None:
    """Give ``app`` its /metrics route, the 2030.5 request counting and the collectors."""
    register_bridge_collector()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StorageCollector(database_read, ttl=storage_ttl))
    app.state.metrics_registry = registry
    app.add_middleware(Sep2RequestMetrics, routes=sep2_routes, is_sep2=is_sep2)
    app.include_router(router)
