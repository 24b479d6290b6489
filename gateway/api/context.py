"""What the API's routes share: settings, the token guard, the meter directory, and the
bridge of the running process (``app.state.bridge``, set by oracle.bridge while a bridge
runs; None otherwise)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request

from gateway.api.auth import Guard
from gateway.api.intake import Intake
from gateway.api.problems import ApiProblem
from gateway.runtime import GatewayRuntime
from gateway.settings import GatewaySettings
from oracle.bridge import Bridge
from oracle.registry import MeterDirectory


@dataclass
class ApiContext:
    """The API's shared parts."""

    settings: GatewaySettings
    guard: Guard
    directory: MeterDirectory | None = None


def runtime_of(request: Request) -> GatewayRuntime:
    """The GatewayRuntime of the application."""
    found: GatewayRuntime = request.app.state.runtime
    return found


def bridge_of(request: Request) -> Bridge | None:
    """The bridge running in this process, or None."""
    found: Any = getattr(request.app.state, "bridge", None)
    return found if isinstance(found, Bridge) else None


def require_bridge(request: Request) -> Bridge:
    """The running bridge, or a 503."""
    bridge = bridge_of(request)
    if bridge is None:
        raise ApiProblem(
            503,
            "no oracle bridge runs in this gateway (chain.worker_in_gateway), or it is "
            "not connected yet",
            headers={"Retry-After": "30"},
        )
    return bridge


def intake_of(runtime: GatewayRuntime) -> Intake:
    """The REST readings' job builder over ``runtime``'s ingest."""
    return Intake(
        runtime.ingest,
        pen=runtime.sep2.pen,
        max_future_skew=runtime.settings.max_future_skew,
        clock=runtime.clock,
    )
