"""The 2030.5 function sets the gateway serves, one router per module.

Each path is one route with all its methods, so that a 405 names every allowed method in
``Allow``; every route needs a caller (gateway.deps.caller) and refuses with 406 a caller
that does not accept application/sep+xml.
"""

from __future__ import annotations

from fastapi import APIRouter

SEP2_PREFIXES = ("/dcap", "/tm", "/edev", "/mup", "/upt")


def sep2_routers() -> list[APIRouter]:
    """The routers of every 2030.5 function set served."""
    from gateway.routes import dcap, edev, metering, mirror, time

    return [dcap.router, time.router, edev.router, mirror.router, metering.router]
