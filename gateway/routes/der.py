"""The DER function sets (/edev/{e}/der...): what a device reports of the DER behind it.

Each EndDevice has one DER (gateway.mappers.DERS_PER_DEVICE). The server creates the
DERList and the DER; the device itself PUTs the DER's four parts (DERCapability,
DERSettings, DERStatus, DERAvailability) and the server keeps the last of each and
serves it back. Only the device may PUT its own (403 for anyone else, aggregators
included: these are the device's statements about itself); the device, aggregators and
operators may GET them. A part not PUT yet is 404. A DERSettings whose setMaxW exceeds
the DERCapability's rtgMaxW already PUT is refused (400, reasonCode 1): a setting cannot
exceed the rating it limits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response

from gateway.crud import devices, direct
from gateway.errors import bad_request, forbidden, not_found
from gateway.groupcommit import Job
from gateway.mappers import DER_PARTS, DERS_PER_DEVICE, Hrefs, der, stored_der_part
from gateway.peer import Peer
from gateway.routes.common import Routes, answer, list_query, parse_body, path_id
from gateway.routes.edev import owned_device
from gateway.runtime import GatewayRuntime
from gateway.sep2http import empty_response
from sep2 import ActivePower, Codec, DerCapability, DerList, DerSettings, page
from sep2.resources import Resource

routes = Routes()


def _der_id(d: str) -> int:
    der_id = path_id(d)
    if not 1 <= der_id <= DERS_PER_DEVICE:
        raise not_found(f"no DER {der_id}")
    return der_id


@routes.route("/edev/{e}/der", ["GET"])
async def der_list(request: Request, rt: GatewayRuntime, peer: Peer) -> Response:
    """GET /edev/{e}/der: the device's DERs."""
    query = list_query(request, rt)
    device = await owned_device(rt, peer, request.path_params["e"])
    assert device.id is not None
    e = device.id
    chosen = page([der(e, d) for d in range(1, DERS_PER_DEVICE + 1)], query)
    return answer(
        rt,
        DerList(
            href=Hrefs.der_list(e),
            poll_rate=rt.settings.poll_rate_of("der"),
            all=chosen.all,
            results=chosen.results,
            items=chosen.items,
        ),
    )


@routes.route("/edev/{e}/der/{d}", ["GET"])
async def der_one(request: Request, rt: GatewayRuntime, peer: Peer) -> Response:
    """GET /edev/{e}/der/{d}: one DER, with the links to its parts."""
    d = _der_id(request.path_params["d"])
    device = await owned_device(rt, peer, request.path_params["e"])
    assert device.id is not None
    return answer(rt, der(device.id, d))


@routes.route("/edev/{e}/der/{d}/{part}", ["GET", "PUT"])
async def der_part(request: Request, rt: GatewayRuntime, peer: Peer) -> Response:
    """GET/PUT /edev/{e}/der/{d}/{dercap,derg,ders,dera}; PUT answers 204."""
    part = request.path_params["part"]
    cls = DER_PARTS.get(part)
    if cls is None:
        raise not_found(f"no DER resource {part!r}")
    d = _der_id(request.path_params["d"])
    e = path_id(request.path_params["e"])
    if request.method == "PUT":
        resource = await parse_body(request, rt, cls)
        await rt.write(_put_job(rt, peer, e, d, part, resource))
        return empty_response(204)
    await owned_device(rt, peer, str(e))
    xml = await rt.read(lambda s: direct.der_resource(s, e, d, part))
    if xml is None:
        raise not_found(f"EndDevice {e} has not PUT its {cls.xml_name} of DER {d}")
    return answer(rt, stored_der_part(xml, Hrefs.der_part(e, d, part), rt.codec))


def _put_job(
    rt: GatewayRuntime, peer: Peer, e: int, d: int, part: str, resource: Resource
) -> Job[None]:
    """Keep what the device PUT, if it is the device's own DER."""
    codec: Codec = rt.codec
    clock: Callable[[], float] = rt.clock
    # As the device sent it, without the href it may have named (ours is given on GET).
    xml = codec.serialise(_without_href(resource)).decode()

    def job(session: Session) -> None:
        device = devices.by_id(session, e)
        if device is None:
            raise not_found(f"no EndDevice {e}")
        if device.lfdi != peer.lfdi:
            raise forbidden(f"EndDevice {e} is another device's; only it reports its DER")
        if isinstance(resource, DerSettings):
            stored = direct.der_resource(session, e, d, "dercap")
            if stored is not None:
                _within_rating(resource, codec.parse(stored.encode(), DerCapability))
        direct.put_der_resource(session, e, d, part, xml, clock())

    return job


def _watts(power: ActivePower) -> float:
    return power.value * 10.0**power.multiplier


def _within_rating(settings: DerSettings, capability: DerCapability) -> None:
    if _watts(settings.set_max_w) > _watts(capability.rtg_max_w):
        raise bad_request(
            f"setMaxW {_watts(settings.set_max_w):g} W exceeds the DER's rtgMaxW "
            f"{_watts(capability.rtg_max_w):g} W"
        )


def _without_href(resource: Resource) -> Resource:
    return replace(resource, href=None)
