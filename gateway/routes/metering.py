"""Metering (/upt...): read views of the mirrored data.

UsagePoint ``/upt/{m}`` is the server side of mirror ``/mup/{m}``; each current
MirrorMeterReading is a MeterReading with its ReadingType, its ReadingSets and Readings.
Readings posted directly in a MirrorMeterReading form one ReadingSet with id 0, listed
first; posted MirrorReadingSets follow by start time, newest first. Every list pages with
s / l (and a on the time-ordered ones) and answers all / results.
"""

from __future__ import annotations

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response

from gateway import access
from gateway.access import owner_filter
from gateway.crud import mirrors, readings
from gateway.errors import not_found
from gateway.mappers import (
    DIRECT_SET_ID,
    Hrefs,
    direct_reading_set,
    meter_reading,
    reading,
    reading_set,
    reading_type,
    usage_point,
)
from gateway.models import MeterReadingRow, MirrorRow, ReadingRow
from gateway.peer import Peer
from gateway.routes.common import Routes, answer, list_query, path_id
from gateway.runtime import GatewayRuntime
from sep2 import (
    MeterReading,
    MeterReadingList,
    Reading,
    ReadingList,
    ReadingSet,
    ReadingSetList,
    UsagePointList,
    mrid_for,
    page,
)

routes = Routes()


async def _mirror(rt: GatewayRuntime, peer: Peer, m: str) -> MirrorRow:
    mirror_id = path_id(m)
    row = await rt.read(lambda session: mirrors.live(session, mirror_id))
    if row is None:
        raise not_found(f"no UsagePoint {mirror_id}")
    access.require_owner(peer, row.owner_lfdi, f"UsagePoint {mirror_id}")
    return row


async def _meter_reading(rt: GatewayRuntime, peer: Peer, m: str, r: str) -> MeterReadingRow:
    mirror = await _mirror(rt, peer, m)
    assert mirror.id is not None
    mirror_id, mr_id = mirror.id, path_id(r)
    row = await rt.read(lambda s: mirrors.current_meter_reading(s, mirror_id, mr_id))
    if row is None:
        raise not_found(f"no MeterReading {r} in UsagePoint {m}")
    return row


def _meter_reading_resource(session: Session, row: MeterReadingRow) -> MeterReading:
    assert row.id is not None
    sets = readings.reading_set_count(session, row.id)
    return meter_reading(row, sets, has_readings=sets > 0)


def _reading_href(row: ReadingRow, mirror_id: int) -> str:
    assert row.id is not None
    set_id = row.reading_set_id if row.reading_set_id is not None else DIRECT_SET_ID
    return Hrefs.reading(mirror_id, row.meter_reading_id, set_id, row.id)


@routes.route(Hrefs.upt_list, ["GET"])
async def usage_point_list(request: Request, rt: GatewayRuntime, peer: Peer) -> Response:
    """GET /upt: the UsagePoints of the caller's mirrors, by mRID descending."""
    query = list_query(request, rt)
    owner = owner_filter(peer)

    def fetch(session: Session) -> tuple[list[MirrorRow], dict[int, list[MeterReadingRow]], int]:
        rows, total = mirrors.page(session, owner, query.start, query.limit)
        ids = [row.id for row in rows if row.id is not None]
        return rows, mirrors.current_meter_readings_of(session, ids), total

    rows, meter_readings, total = await rt.read(fetch)
    return answer(
        rt,
        UsagePointList(
            href=Hrefs.upt_list,
            poll_rate=rt.settings.poll_rate_of("upt"),
            all=total,
            results=len(rows),
            items=tuple(usage_point(row, len(meter_readings[row.id or 0])) for row in rows),
        ),
    )


@routes.route("/upt/{m}", ["GET"])
async def usage_point_one(request: Request, rt: GatewayRuntime, peer: Peer) -> Response:
    """GET /upt/{m}"""
    m = request.path_params["m"]
    mirror = await _mirror(rt, peer, m)
    mirror_id = mirror.id or 0
    count = len(await rt.read(lambda s: mirrors.current_meter_readings(s, mirror_id)))
    return answer(rt, usage_point(mirror, count))


@routes.route("/upt/{m}/mr", ["GET"])
async def meter_reading_list(request: Request, rt: GatewayRuntime, peer: Peer) -> Response:
    """GET /upt/{m}/mr: the MeterReadings of a UsagePoint, by mRID descending."""
    m = request.path_params["m"]
    query = list_query(request, rt)
    mirror = await _mirror(rt, peer, m)
    mirror_id = mirror.id or 0

    def fetch(session: Session) -> tuple[list[MeterReading], int]:
        chosen = page(mirrors.current_meter_readings(session, mirror_id), query)
        return [_meter_reading_resource(session, row) for row in chosen.items], chosen.all

    items, total = await rt.read(fetch)
    return answer(
        rt,
        MeterReadingList(
            href=Hrefs.mr_list(mirror_id), all=total, results=len(items), items=tuple(items)
        ),
    )


@routes.route("/upt/{m}/mr/{r}", ["GET"])
async def meter_reading_one(request: Request, rt: GatewayRuntime, peer: Peer) -> Response:
    """GET /upt/{m}/mr/{r}"""
    m = request.path_params["m"]
    r = request.path_params["r"]
    row = await _meter_reading(rt, peer, m, r)
    return answer(rt, await rt.read(lambda s: _meter_reading_resource(s, row)))


@routes.route("/upt/{m}/mr/{r}/rt", ["GET"])
async def reading_type_one(request: Request, rt: GatewayRuntime, peer: Peer) -> Response:
    """GET /upt/{m}/mr/{r}/rt: the ReadingType as the client declared it."""
    m = request.path_params["m"]
    r = request.path_params["r"]
    row = await _meter_reading(rt, peer, m, r)
    return answer(rt, reading_type(row, rt.codec))


@routes.route("/upt/{m}/mr/{r}/r", ["GET"])
async def latest_reading_one(request: Request, rt: GatewayRuntime, peer: Peer) -> Response:
    """GET /upt/{m}/mr/{r}/r: the newest Reading."""
    m = request.path_params["m"]
    r = request.path_params["r"]
    row = await _meter_reading(rt, peer, m, r)
    mr_id = row.id or 0
    found = await rt.read(lambda s: readings.latest_reading(s, mr_id))
    if found is None:
        raise not_found(f"MeterReading {r} has no readings")
    return answer(rt, reading(found, _reading_href(found, row.mirror_id)))


def _direct(session: Session, rt: GatewayRuntime, row: MeterReadingRow) -> ReadingSet | None:
    assert row.id is not None
    found = readings.direct_set(session, row.id)
    if found is None:
        return None
    mrid = mrid_for(rt.sep2.pen, row.mrid, "direct readings", pen_format=rt.sep2.mrid_pen_format)
    return direct_reading_set(row.mirror_id, row.id, mrid, found.start, found.end, found.count)


@routes.route("/upt/{m}/mr/{r}/rs", ["GET"])
async def reading_set_list(request: Request, rt: GatewayRuntime, peer: Peer) -> Response:
    """GET /upt/{m}/mr/{r}/rs: the direct set first, then posted sets, newest first."""
    m = request.path_params["m"]
    r = request.path_params["r"]
    query = list_query(request, rt)
    row = await _meter_reading(rt, peer, m, r)
    mr_id = row.id or 0

    def fetch(session: Session) -> tuple[list[ReadingSet], int]:
        direct = _direct(session, rt, row)
        if direct is not None and query.after is not None:
            end = direct.time_period.start + direct.time_period.duration
            direct = direct if end > query.after else None
        lead = [direct] if direct is not None else []
        offset = max(0, query.start - len(lead))
        limit = query.limit - (len(lead) if query.start == 0 else 0)
        posted, total = readings.reading_set_page(
            session, mr_id, query.after, offset, max(0, limit)
        )
        counts = readings.reading_counts(session, [s.id for s in posted if s.id is not None])
        items = (lead if query.start == 0 else []) + [
            reading_set(row.mirror_id, s, counts.get(s.id or 0, 0)) for s in posted
        ]
        return items[: query.limit], total + len(lead)

    items, total = await rt.read(fetch)
    return answer(
        rt,
        ReadingSetList(
            href=Hrefs.rs_list(row.mirror_id, mr_id),
            all=total,
            results=len(items),
            items=tuple(items),
        ),
    )


async def _reading_set(
    rt: GatewayRuntime, row: MeterReadingRow, s: str
) -> tuple[ReadingSet, int | None]:
    set_id = path_id(s)
    mr_id = row.id or 0

    def fetch(session: Session) -> ReadingSet | None:
        if set_id == DIRECT_SET_ID:
            return _direct(session, rt, row)
        found = readings.reading_set_by_id(session, mr_id, set_id)
        if found is None:
            return None
        return reading_set(
            row.mirror_id, found, readings.reading_counts(session, [set_id]).get(set_id, 0)
        )

    resource = await rt.read(fetch)
    if resource is None:
        raise not_found(f"no ReadingSet {s} in MeterReading {mr_id}")
    return resource, None if set_id == DIRECT_SET_ID else set_id


@routes.route("/upt/{m}/mr/{r}/rs/{s}", ["GET"])
async def reading_set_one(request: Request, rt: GatewayRuntime, peer: Peer) -> Response:
    """GET /upt/{m}/mr/{r}/rs/{s}"""
    m = request.path_params["m"]
    r = request.path_params["r"]
    s = request.path_params["s"]
    row = await _meter_reading(rt, peer, m, r)
    resource, _ = await _reading_set(rt, row, s)
    return answer(rt, resource)


@routes.route("/upt/{m}/mr/{r}/rs/{s}/r", ["GET"])
async def reading_list(request: Request, rt: GatewayRuntime, peer: Peer) -> Response:
    """GET /upt/{m}/mr/{r}/rs/{s}/r: a set's Readings, newest first."""
    m = request.path_params["m"]
    r = request.path_params["r"]
    s = request.path_params["s"]
    query = list_query(request, rt)
    row = await _meter_reading(rt, peer, m, r)
    _, set_id = await _reading_set(rt, row, s)
    mr_id = row.id or 0
    rows, total = await rt.read(
        lambda session: readings.reading_page(
            session, mr_id, set_id, query.after, query.start, query.limit
        )
    )
    items = tuple(reading(found, _reading_href(found, row.mirror_id)) for found in rows)
    return answer(
        rt,
        ReadingList(
            href=Hrefs.reading_list(row.mirror_id, mr_id, path_id(s)),
            all=total,
            results=len(items),
            items=items,
        ),
    )


@routes.route("/upt/{m}/mr/{r}/rs/{s}/r/{n}", ["GET"])
async def reading_one(request: Request, rt: GatewayRuntime, peer: Peer) -> Response:
    """GET /upt/{m}/mr/{r}/rs/{s}/r/{n}"""
    m = request.path_params["m"]
    r = request.path_params["r"]
    s = request.path_params["s"]
    n = request.path_params["n"]
    row = await _meter_reading(rt, peer, m, r)
    _, set_id = await _reading_set(rt, row, s)
    mr_id, reading_id = row.id or 0, path_id(n)
    found = await rt.read(
        lambda session: readings.reading_in_set(session, mr_id, set_id, reading_id)
    )
    if found is None:
        raise not_found(f"no Reading {n} in ReadingSet {s}")
    resource: Reading = reading(found, _reading_href(found, row.mirror_id))
    return answer(rt, resource)
