"""DeviceCapability (/dcap): the entry point, with the links the caller may follow.

The MirrorUsagePointListLink is given only to a caller that can mirror: one that has
mirrors already, or may create another (``mirrors_per_device``); a server SHALL NOT
advertise mirroring it cannot host.
"""

from __future__ import annotations

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response

from gateway.access import owner_filter
from gateway.crud import devices, mirrors
from gateway.mappers import Hrefs
from gateway.peer import Peer
from gateway.routes.common import Routes, answer
from gateway.runtime import GatewayRuntime
from sep2 import DeviceCapability, Link, ListLink

routes = Routes()


@routes.route(Hrefs.dcap, ["GET"])
async def device_capability(request: Request, rt: GatewayRuntime, peer: Peer) -> Response:
    """GET /dcap"""
    owner = owner_filter(peer)
    limit = rt.settings.mirrors_per_device

    def query(session: Session) -> tuple[int, int, bool]:
        edevs = devices.count(session, owner)
        mups = mirrors.count_for_owner(session, owner)
        if peer.privileged:
            can_mirror = mups > 0 or limit > 0
        else:
            can_mirror = mups > 0 or mirrors.count_for_device(session, peer.lfdi) < limit
        return edevs, mups, can_mirror

    edevs, mups, can_mirror = await rt.read(query)
    return answer(
        rt,
        DeviceCapability(
            href=Hrefs.dcap,
            poll_rate=rt.settings.poll_rate_of("dcap"),
            time_link=Link(href=Hrefs.tm),
            usage_point_list_link=ListLink(href=Hrefs.upt_list, all=mups),
            end_device_list_link=ListLink(href=Hrefs.edev_list, all=edevs),
            mirror_usage_point_list_link=ListLink(href=Hrefs.mup_list, all=mups)
            if can_mirror
            else None,
        ),
    )
