"""Time (/tm): the server's clock in the configured zone (sep2.time_resource)."""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from gateway.deps import CallerDep, RuntimeDep
from gateway.mappers import Hrefs
from gateway.routes.common import answer, sep2_router
from sep2 import time_resource

router = sep2_router()


@router.api_route(Hrefs.tm, methods=["GET"])
async def time(request: Request, rt: RuntimeDep, _peer: CallerDep) -> Response:
    """GET /tm"""
    resource = time_resource(
        int(rt.clock()),
        rt.zone,
        quality=rt.settings.time_quality,
        href=Hrefs.tm,
        poll_rate=rt.settings.poll_rate,
    )
    return answer(rt, resource)
