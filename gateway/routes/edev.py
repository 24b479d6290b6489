"""EndDevice, Registration, DeviceInformation and FunctionSetAssignments (/edev...).

A device sees only its own EndDevice (the list holds it, once registered); aggregators and
operators see all. Each device has one FunctionSetAssignments, naming the function sets
this server gives it: Time and its UsagePoints.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from gateway import access
from gateway.access import owner_filter
from gateway.crud import devices, mirrors
from gateway.errors import not_found
from gateway.mappers import Hrefs, device_information, end_device, registration
from gateway.models import EndDeviceRow
from gateway.peer import Peer
from gateway.routes.common import (
    Routes,
    answer,
    keep_codec_profile,
    list_query,
    parse_body,
    path_id,
)
from gateway.runtime import GatewayRuntime
from gateway.sep2http import empty_response
from sep2 import (
    DeviceInformation,
    EndDevice,
    EndDeviceList,
    FunctionSetAssignments,
    FunctionSetAssignmentsList,
    Link,
    ListLink,
    mrid_for,
    page,
)

routes = Routes()
FSA_ID = 1


async def owned_device(rt: GatewayRuntime, peer: Peer, e: str) -> EndDeviceRow:
    """The EndDevice at path id ``e``, 404 if none, 403 unless ``peer`` may act for it."""
    device_id = path_id(e)
    device = await rt.read(lambda session: devices.by_id(session, device_id))
    if device is None:
        raise not_found(f"no EndDevice {device_id}")
    access.require_owner(peer, device.lfdi, f"EndDevice {device_id}")
    return device


@routes.route(Hrefs.edev_list, ["GET", "POST"])
async def end_device_list(request: Request, rt: GatewayRuntime, peer: Peer) -> Response:
    """GET /edev: the devices the caller sees; POST /edev: in-band registration."""
    if request.method == "POST":
        edev = await parse_body(request, rt, EndDevice)
        registered = await rt.write(rt.registrations.in_band_job(peer, edev))
        if registered.created:
            keep_codec_profile(request)
            await rt.devices_changed()
        assert registered.device.id is not None
        status = 201 if registered.created else 204
        return empty_response(status, {"Location": Hrefs.edev(registered.device.id)})
    query = list_query(request, rt)
    owner = owner_filter(peer)
    rows, total = await rt.read(lambda s: devices.page(s, owner, query.start, query.limit))
    return answer(
        rt,
        EndDeviceList(
            href=Hrefs.edev_list,
            poll_rate=rt.settings.poll_rate_of("edev"),
            all=total,
            results=len(rows),
            items=tuple(end_device(row, rt.settings.post_rate) for row in rows),
        ),
    )


@routes.route("/edev/{e}", ["GET", "DELETE"])
async def end_device_one(request: Request, rt: GatewayRuntime, peer: Peer) -> Response:
    """GET /edev/{e}; DELETE /edev/{e} unregisters the device."""
    e = request.path_params["e"]
    if request.method == "DELETE":
        await rt.write(rt.registrations.unregister_job(peer, path_id(e)))
        await rt.devices_changed()
        return empty_response(204)
    device = await owned_device(rt, peer, e)
    return answer(rt, end_device(device, rt.settings.post_rate))


@routes.route("/edev/{e}/rg", ["GET"])
async def registration_one(request: Request, rt: GatewayRuntime, peer: Peer) -> Response:
    """GET /edev/{e}/rg: when the device registered, and its PIN."""
    e = request.path_params["e"]
    return answer(rt, registration(await owned_device(rt, peer, e)))


@routes.route("/edev/{e}/di", ["GET", "PUT"])
async def device_information_one(request: Request, rt: GatewayRuntime, peer: Peer) -> Response:
    """GET /edev/{e}/di; PUT /edev/{e}/di stores the device's DeviceInformation."""
    e = request.path_params["e"]
    if request.method == "PUT":
        info = await parse_body(request, rt, DeviceInformation)
        xml = rt.codec.serialise(info).decode()
        await rt.write(rt.registrations.device_information_job(peer, path_id(e), info, xml))
        return empty_response(204)
    device = await owned_device(rt, peer, e)
    stored = device_information(device, rt.codec)
    if stored is None:
        raise not_found(f"EndDevice {e} has sent no DeviceInformation")
    return answer(rt, stored)


def _assignments(rt: GatewayRuntime, device: EndDeviceRow, upts: int) -> FunctionSetAssignments:
    assert device.id is not None
    return FunctionSetAssignments(
        href=Hrefs.fsa(device.id, FSA_ID),
        mrid=mrid_for(rt.sep2.pen, device.lfdi, "fsa", pen_format=rt.sep2.mrid_pen_format),
        description="gridmirror metering",
        time_link=Link(href=Hrefs.tm),
        usage_point_list_link=ListLink(href=Hrefs.upt_list, all=upts),
    )


@routes.route("/edev/{e}/fsa", ["GET"])
async def function_set_assignments_list(
    request: Request, rt: GatewayRuntime, peer: Peer
) -> Response:
    """GET /edev/{e}/fsa: the device's one FunctionSetAssignments."""
    e = request.path_params["e"]
    query = list_query(request, rt)
    device = await owned_device(rt, peer, e)
    upts = await rt.read(lambda s: mirrors.count_for_owner(s, owner_filter(peer)))
    chosen = page([_assignments(rt, device, upts)], query)
    assert device.id is not None
    return answer(
        rt,
        FunctionSetAssignmentsList(
            href=Hrefs.fsa_list(device.id),
            poll_rate=rt.settings.poll_rate_of("fsa"),
            all=chosen.all,
            results=chosen.results,
            items=chosen.items,
        ),
    )


@routes.route("/edev/{e}/fsa/{f}", ["GET"])
async def function_set_assignments_one(
    request: Request, rt: GatewayRuntime, peer: Peer
) -> Response:
    """GET /edev/{e}/fsa/{f}"""
    e = request.path_params["e"]
    f = request.path_params["f"]
    device = await owned_device(rt, peer, e)
    if path_id(f) != FSA_ID:
        raise not_found(f"no FunctionSetAssignments {f}")
    upts = await rt.read(lambda s: mirrors.count_for_owner(s, owner_filter(peer)))
    return answer(rt, _assignments(rt, device, upts))
