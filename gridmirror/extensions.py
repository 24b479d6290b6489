"""What a gateway process hangs on the 2030.5 server: the REST API and the oracle bridge.

``gridmirror gateway`` and ``gridmirror demo`` build the same process, so they build its
routers and lifespans here, in the order that matters: the REST API's lifespan first (it
loads the owner wallets chosen through the API into the meter directory), then the
bridge's (which registers meters with those owners).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import APIRouter

from gateway.app import Lifespan
from gateway.settings import GatewaySettings
from oracle.registry import MeterDirectory
from oracle.settings import ChainSettings


class ExtensionError(Exception):
    """An extension could not be set up (one line, for the CLI)."""


@dataclass
class Extensions:
    """Routers and lifespans for ``gateway.launch.Gateway``."""

    routers: list[APIRouter] = field(default_factory=list)
    lifespans: list[Lifespan] = field(default_factory=list)


def gateway_extensions(
    gateway: GatewaySettings, chain: ChainSettings, directory: MeterDirectory | None
) -> Extensions:
    """The REST API when the API listener is on, and the bridge when ``directory`` is
    given (``chain.worker_in_gateway``: the bridge runs in this process)."""
    parts = Extensions()
    if gateway.api_enabled:
        from gateway.api import build_api

        try:
            api = build_api(gateway, directory=directory)
        except (OSError, ValueError) as exc:
            raise ExtensionError(f"cannot set up the REST API's JWT key: {exc}") from None
        parts.routers.append(api.router)
        parts.lifespans.append(api.lifespan)
    if directory is not None:
        from oracle.bridge import bridge_lifespan

        parts.lifespans.append(
            bridge_lifespan(
                chain,
                directory,
                lambda app: (app.state.runtime.database.write, app.state.runtime.database.read),
            )
        )
    return parts
