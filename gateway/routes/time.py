"""Time (/tm): the server's clock in the configured zone (sep2.time_resource)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from gateway.mappers import Hrefs
from gateway.peer import Peer
from gateway.routes.common import Routes, answer
from gateway.runtime import GatewayRuntime
from sep2 import time_resource

routes = Routes()


@routes.route(Hrefs.tm, ["GET"])
async def time(request: Request, rt: GatewayRuntime, _peer: Peer) -> Response:
    """GET /tm"""
    resource = time_resource(
        int(rt.clock()),
        rt.zone,
        quality=rt.settings.time_quality,
        href=Hrefs.tm,
        poll_rate=rt.settings.poll_rate,
    )
    return answer(rt, resource)
