"""Metering Mirror (/mup...): mirrors and the readings posted to them (gateway.ingest).

The answers (docs/gateway.md): POST /mup 201 for a new mRID, 204 for one the caller
already mirrors, both with ``Location: /mup/{m}``; POST /mup/{m} 201 with the Location of
the MeterReading the readings went to (``/upt/{m}/mr/{r}``), or of the MeterReadingList
for a MirrorMeterReadingList; DELETE 204. Each answer is sent after the commit.
"""

from __future__ import annotations

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response

from gateway import access
from gateway.access import owner_filter
from gateway.crud import devices, mirrors
from gateway.errors import not_found
from gateway.mappers import Hrefs, mirror_usage_point
from gateway.models import MeterReadingRow, MirrorRow
from gateway.peer import Peer
from gateway.postrate import mirror_post_rate
from gateway.routes.common import Routes, answer, list_query, parse_body, path_id
from gateway.runtime import GatewayRuntime
from gateway.sep2http import empty_response
from sep2 import (
    MirrorMeterReading,
    MirrorMeterReadingList,
    MirrorUsagePoint,
    MirrorUsagePointList,
)

routes = Routes()


@routes.route(Hrefs.mup_list, ["GET", "POST"])
async def mirror_usage_point_list(request: Request, rt: GatewayRuntime, peer: Peer) -> Response:
    """GET /mup: the caller's mirrors, by mRID descending; POST /mup: create or overwrite."""
    if request.method == "POST":
        mup = await parse_body(request, rt, MirrorUsagePoint)
        written = await rt.write(rt.ingest.mirror_job(peer, mup))
        status = 201 if written.created else 204
        return empty_response(status, {"Location": Hrefs.mup(written.mirror_id)})
    query = list_query(request, rt)
    owner = owner_filter(peer)

    def fetch(
        session: Session,
    ) -> tuple[list[MirrorRow], dict[int, list[MeterReadingRow]], int, dict[str, int]]:
        rows, total = mirrors.page(session, owner, query.start, query.limit)
        ids = [row.id for row in rows if row.id is not None]
        rates = devices.post_rates(session, _parties(rows))
        return rows, mirrors.current_meter_readings_of(session, ids), total, rates

    rows, meter_readings, total, rates = await rt.read(fetch)
    default = rt.settings.post_rate
    return answer(
        rt,
        MirrorUsagePointList(
            href=Hrefs.mup_list,
            poll_rate=rt.settings.poll_rate_of("mup"),
            all=total,
            results=len(rows),
            items=tuple(
                mirror_usage_point(
                    row,
                    meter_readings[row.id or 0],
                    rt.codec,
                    mirror_post_rate(row.device_lfdi, row.owner_lfdi, rates, default),
                )
                for row in rows
            ),
        ),
    )


@routes.route("/mup/{m}", ["GET", "POST", "DELETE"])
async def mirror_usage_point_one(request: Request, rt: GatewayRuntime, peer: Peer) -> Response:
    """GET /mup/{m}; POST /mup/{m} stores readings; DELETE /mup/{m} removes the mirror."""
    m = request.path_params["m"]
    mirror_id = path_id(m)
    if request.method == "POST":
        resource = await parse_body(request, rt, (MirrorMeterReading, MirrorMeterReadingList))
        written = await rt.write(rt.ingest.readings_job(peer, mirror_id, resource))
        if isinstance(resource, MirrorMeterReading) and written.meter_reading_ids:
            location = Hrefs.mr(mirror_id, written.meter_reading_ids[0])
        else:
            location = Hrefs.mr_list(mirror_id)
        return empty_response(201, {"Location": location})
    if request.method == "DELETE":
        await rt.write(rt.ingest.delete_mirror_job(peer, mirror_id))
        return empty_response(204)

    def fetch(
        session: Session,
    ) -> tuple[MirrorRow | None, list[MeterReadingRow], dict[str, int]]:
        row = mirrors.live(session, mirror_id)
        if row is None:
            return None, [], {}
        rates = devices.post_rates(session, _parties([row]))
        return row, mirrors.current_meter_readings(session, mirror_id), rates

    row, meter_readings, rates = await rt.read(fetch)
    if row is None:
        raise not_found(f"no mirror {mirror_id}")
    access.require_owner(peer, row.owner_lfdi, f"mirror {mirror_id}")
    rate = mirror_post_rate(row.device_lfdi, row.owner_lfdi, rates, rt.settings.post_rate)
    return answer(rt, mirror_usage_point(row, meter_readings, rt.codec, rate))


def _parties(rows: list[MirrorRow]) -> set[str]:
    """The LFDIs whose postRates the mirrors ``rows`` may show."""
    return {lfdi for row in rows for lfdi in (row.device_lfdi, row.owner_lfdi)}
