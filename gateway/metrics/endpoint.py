"""GET /metrics: the Prometheus text exposition of this process and this gateway.

It writes prometheus_client's default registry (the gateway's instruments, the bridge
collector, the fleet's simulator_* metrics when meters run in this process, the
process_* and python_* defaults) followed by the application's own registry (the
storage collector of its database). Writing runs on a worker thread: the storage
collector may query the database.
"""

from __future__ import annotations

from anyio import to_thread
from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from starlette.responses import Response

router = APIRouter(include_in_schema=False)


def exposition(app_registry: CollectorRegistry | None) -> bytes:
    """The text of both registries, the process's first."""
    text = generate_latest(REGISTRY)
    if app_registry is not None:
        text += generate_latest(app_registry)
    return text


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    """Prometheus text format (version 0.0.4)."""
    registry: CollectorRegistry | None = getattr(request.app.state, "metrics_registry", None)
    body = await to_thread.run_sync(exposition, registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
