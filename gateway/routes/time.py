"""Time (/tm): the server's clock in the configured zone (sep2.time_resource).

sep2 finds the daylight-saving period by probing the zone day by day, about 2 ms for a zone
without DST (Asia/Bangkok, the default). Between two DST changes only ``currentTime`` and
``localTime`` move, and they move together, so the resource is computed once per period
and then only shifted to the current second: exact, and cheap enough for 10,000 meters.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from starlette.requests import Request
from starlette.responses import Response

from gateway.mappers import Hrefs
from gateway.peer import Peer
from gateway.routes.common import Routes, answer
from gateway.runtime import GatewayRuntime
from sep2 import Time, time_resource

routes = Routes()
_DAY = 86_400


@dataclass(frozen=True, slots=True)
class _Period:
    """A Time computed at ``since``, valid (offsets unchanged) until ``until``."""

    since: int
    until: int
    base: Time


_cache: dict[str, _Period] = {}


def current_time(rt: GatewayRuntime, now: int) -> Time:
    """The Time resource for ``now`` (UTC seconds) in the runtime's zone."""
    key = f"{rt.settings.timezone}|{rt.settings.time_quality}|{rt.settings.poll_rate}"
    period = _cache.get(key)
    if period is None or not period.since <= now < period.until:
        base = time_resource(
            now,
            rt.zone,
            quality=rt.settings.time_quality,
            href=Hrefs.tm,
            poll_rate=rt.settings.poll_rate,
        )
        change = base.dst_end_time if base.dst_offset else base.dst_start_time
        until = change if now < change < now + _DAY else now + _DAY
        period = _cache[key] = _Period(now, until, base)
    base = period.base
    offset = (base.local_time or base.current_time) - base.current_time
    return replace(base, current_time=now, local_time=now + offset)


@routes.route(Hrefs.tm, ["GET"])
async def time(request: Request, rt: GatewayRuntime, _peer: Peer) -> Response:
    """GET /tm"""
    return answer(rt, current_time(rt, int(rt.clock())))
