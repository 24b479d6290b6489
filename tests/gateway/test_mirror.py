"""Metering Mirror over mutual TLS, on SQLite and PostgreSQL: mirrors, readings, outbox."""

from __future__ import annotations

import time
from dataclasses import replace
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import text

from certs.pki import Pki
from sep2 import (
    Codec,
    DateTimeInterval,
    EndDevice,
    Error,
    MirrorMeterReading,
    MirrorMeterReadingList,
    MirrorReadingSet,
    MirrorUsagePoint,
    MirrorUsagePointList,
    Reading,
    ReasonCode,
    RoleFlags,
)
from tests.gateway.conftest import (
    AGGREGATOR,
    METERS,
    POWER_TYPE,
    StartGateway,
    client,
    get,
    mrids,
    post,
    reading,
    readings,
    register,
    rows,
    site_mup,
)

NOW = int(time.time()) // 60 * 60 - 3600  # an hour ago, on a minute


def outbox(gateway: object) -> list[tuple[str, int, int, int, str]]:
    return rows(
        gateway,  # type: ignore[arg-type]
        "SELECT lfdi, timestamp, import_wh, export_wh, state FROM outbox ORDER BY lfdi, timestamp",
    )


def reading_rows(gateway: object) -> list[tuple[int, int, int, str | None, int | None]]:
    return rows(
        gateway,  # type: ignore[arg-type]
        "SELECT meter_reading_id, start, value, energy_register, wh FROM reading "
        "ORDER BY meter_reading_id, start",
    )


def error_code(codec: Codec, body: bytes) -> int:
    return codec.parse(body, Error).reason_code


async def test_mirror_created_overwritten_listed_and_deleted(
    start_gateway: StartGateway, pki: Pki, codec: Codec
) -> None:
    meter = pki.device(METERS[0])
    async with start_gateway(post_rate=7) as gw, client(gw, METERS[0]) as c:
        await register(c, pki, METERS[0], codec)
        mup = site_mup(meter.lfdi)
        created = await post(c, "/mup", mup, codec)
        assert created.status_code == 201
        location = created.headers["location"]
        assert location.startswith("/mup/")
        again = await post(c, "/mup", replace(mup, status=0, description="renamed"), codec)
        assert (again.status_code, again.headers["location"]) == (204, location)
        second = await post(c, "/mup", site_mup(meter.lfdi, "pv", role_flags=0x09), codec)
        assert second.status_code == 201

        one = codec.parse((await get(c, location)).content, MirrorUsagePoint)
        assert (one.href, one.mrid, one.status, one.description) == (
            location,
            mup.mrid,
            0,
            "renamed",
        )
        assert one.post_rate == 7  # the server's postRate, whatever the client proposed
        assert {m.mrid: m.reading_type for m in one.mirror_meter_readings} == {
            m.mrid: m.reading_type for m in mup.mirror_meter_readings
        }
        listed = codec.parse((await get(c, "/mup?l=10")).content, MirrorUsagePointList)
        assert listed.all == listed.results == 2
        assert [m.mrid for m in listed.items] == sorted(
            (m.mrid for m in listed.items), reverse=True
        )
        first_page = codec.parse((await get(c, "/mup")).content, MirrorUsagePointList)
        assert (first_page.all, first_page.results) == (2, 1)  # default l = 1

        assert (await c.delete(location)).status_code == 204
        assert (await get(c, location)).status_code == 404
        assert codec.parse((await get(c, "/mup")).content, MirrorUsagePointList).all == 1
        # the mRID is free again: a new mirror
        assert (await post(c, "/mup", mup, codec)).status_code == 201


async def test_a_device_keeps_its_own_post_rate_on_everything_it_has_and_makes(
    start_gateway: StartGateway, pki: Pki, codec: Codec, database_url: str
) -> None:
    """set-post-rate gives the device a postRate: its EndDevice, the mirrors it has and
    those it creates later show it, across a restart; others keep the server's."""
    from gateway import admin
    from gateway.db import open_database

    meter, other = pki.device(METERS[0]), pki.device(METERS[1])

    def set_rate(lfdi: str | None, seconds: int | None) -> admin.PostRateChange:
        return admin.set_post_rate(open_database(database_url), lfdi, seconds, 15)

    async def shown(c: httpx.AsyncClient, *hrefs: str) -> list[int | None]:
        rates = []
        for href in hrefs:
            body = (await get(c, href)).content
            kind = EndDevice if href.startswith("/edev") else MirrorUsagePoint
            rates.append(codec.parse(body, kind).post_rate)
        return rates

    async with (
        start_gateway(post_rate=15) as gw,
        client(gw, METERS[0]) as c,
        client(gw, METERS[1]) as d,
    ):
        edev = await register(c, pki, METERS[0], codec)
        edev_other = await register(d, pki, METERS[1], codec)
        # no mirrors yet: the EndDevice shows it at once, the first mirror from its creation
        first = set_rate(meter.lfdi, 30)
        assert (first.devices, first.mirrors) == (((int(edev[6:]), meter.lfdi, None),), {})
        assert await shown(c, edev) == [30]
        site = (await post(c, "/mup", site_mup(meter.lfdi), codec)).headers["location"]
        der = site_mup(meter.lfdi, "der", role_flags=RoleFlags.IS_MIRROR | RoleFlags.IS_DER)
        mine = (await post(c, "/mup", der, codec)).headers["location"]
        theirs = (await post(d, "/mup", site_mup(other.lfdi), codec)).headers["location"]
        assert await shown(c, edev, site, mine) == [30, 30, 30]
        listed = codec.parse((await get(c, "/mup?l=10")).content, MirrorUsagePointList)
        assert [m.post_rate for m in listed.items] == [30, 30]
        assert await shown(d, edev_other, theirs) == [15, 15]
        changed = set_rate(meter.lfdi, 45)
        assert (changed.devices[0][2], changed.mirrors) == (30, {45: 2})
    async with start_gateway(post_rate=15) as gw, client(gw, METERS[0]) as c:  # a restart
        assert await shown(c, edev, site, mine) == [45, 45, 45]
        back = set_rate(meter.lfdi, None)
        assert (back.devices[0][2], back.mirrors) == (45, {15: 2})
        assert await shown(c, edev, site) == [15, 15]
        every = set_rate(None, 20)
        assert [lfdi for _, lfdi, _ in every.devices] == [meter.lfdi, other.lfdi]
        assert every.mirrors == {20: 3}
        assert await shown(c, edev, site) == [20, 20]
    with pytest.raises(admin.NotRegistered, match="not registered"):
        set_rate(pki.device(METERS[2]).lfdi, 30)


async def test_an_aggregators_mirrors_show_the_mirrored_devices_post_rate_else_its_own(
    start_gateway: StartGateway, pki: Pki, codec: Codec, database_url: str
) -> None:
    from gateway import admin
    from gateway.db import open_database

    agg, one, two = (pki.device(s) for s in (AGGREGATOR, METERS[0], METERS[1]))
    async with start_gateway(post_rate=15) as gw, client(gw, AGGREGATOR) as c:
        await register(c, pki, AGGREGATOR, codec)
        of_one = (await post(c, "/mup", site_mup(one.lfdi), codec)).headers["location"]
        of_two = (await post(c, "/mup", site_mup(two.lfdi), codec)).headers["location"]
        admin.register_device(open_database(database_url), one.lfdi, 111115)
        admin.set_post_rate(open_database(database_url), agg.lfdi, 60, 15)
        admin.set_post_rate(open_database(database_url), one.lfdi, 30, 15)
        rates = [
            codec.parse((await get(c, href)).content, MirrorUsagePoint).post_rate
            for href in (of_one, of_two)
        ]
    assert rates == [30, 60]  # the mirrored device's own first, then its creator's


async def test_readings_are_stored_once_and_pairs_reach_the_outbox(
    start_gateway: StartGateway, pki: Pki, codec: Codec
) -> None:
    meter = pki.device(METERS[0])
    ids = mrids(meter.lfdi)
    async with start_gateway() as gw, client(gw, METERS[0]) as c:
        await register(c, pki, METERS[0], codec)
        location = (await post(c, "/mup", site_mup(meter.lfdi), codec)).headers["location"]
        posted = await post(c, location, readings(meter.lfdi, NOW, 1000, 20, power=1500), codec)
        assert posted.status_code == 201, posted.headers
        assert posted.headers["location"] == location.replace("/mup/", "/upt/") + "/mr"
        # the same post again (a retry) changes nothing
        assert (
            await post(c, location, readings(meter.lfdi, NOW, 1000, 20, power=1500), codec)
        ).status_code == 201
        stored = reading_rows(gw)
        assert len(stored) == 3
        assert sorted((r[2], r[3], r[4]) for r in stored) == [
            (20, "export", 20),
            (1000, "import", 1000),
            (1500, None, None),
        ]
        assert outbox(gw) == [(meter.lfdi, NOW, 1000, 20, "pending")]

        # a single MirrorMeterReading: 201 with the Location of its MeterReading
        single = await post(c, location, reading(ids["power"], NOW + 15, 1400), codec)
        assert single.status_code == 201
        assert single.headers["location"].startswith(location.replace("/mup/", "/upt/") + "/mr/")

        # one register now, its partner in a later request: the pair waits for it
        assert (
            await post(c, location, readings(meter.lfdi, NOW + 15, 1010, None), codec)
        ).status_code == 201
        assert len(outbox(gw)) == 1
        assert (
            await post(c, location, readings(meter.lfdi, NOW + 15, None, 25), codec)
        ).status_code == 201
        assert outbox(gw)[1] == (meter.lfdi, NOW + 15, 1010, 25, "pending")

        # a pending pair can still be corrected
        assert (
            await post(c, location, readings(meter.lfdi, NOW + 15, 1011, 25), codec)
        ).status_code == 201
        assert outbox(gw)[1][2] == 1011
        assert len(reading_rows(gw)) == 6


async def test_a_pair_that_left_for_the_chain_never_changes(
    start_gateway: StartGateway, pki: Pki, codec: Codec
) -> None:
    meter = pki.device(METERS[0])
    async with start_gateway() as gw, client(gw, METERS[0]) as c:
        await register(c, pki, METERS[0], codec)
        location = (await post(c, "/mup", site_mup(meter.lfdi), codec)).headers["location"]
        assert (
            await post(c, location, readings(meter.lfdi, NOW, 500, 5), codec)
        ).status_code == 201
        with gw.runtime.database.write_session() as session:
            session.execute(text("UPDATE outbox SET state = 'confirmed'"))
        assert (
            await post(c, location, readings(meter.lfdi, NOW, 500, 5), codec)
        ).status_code == 201
        changed = await post(c, location, readings(meter.lfdi, NOW, 501, 5, power=9), codec)
        assert changed.status_code == 409
        assert error_code(codec, changed.content) == ReasonCode.INVALID_REQUEST_VALUES
        assert "left for the chain" in changed.headers["x-problem"]
        # nothing of the refused request was stored, not even its power reading
        assert sorted(r[2] for r in reading_rows(gw)) == [5, 500]
        assert outbox(gw) == [(meter.lfdi, NOW, 500, 5, "confirmed")]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"start": None}, "has no time"),
        ({"start": 0}, "not a time"),
        ({"start": "future"}, "ahead of"),
        ({"value": -1}, "negative"),
        ({"value": None}, "without a value"),
    ],
)
async def test_bad_readings_are_refused_and_nothing_is_stored(
    start_gateway: StartGateway, pki: Pki, codec: Codec, change: dict[str, object], problem: str
) -> None:
    meter = pki.device(METERS[0])
    ids = mrids(meter.lfdi)
    start = change.get("start", NOW)
    if start == "future":
        start = int(time.time()) + 3600
    bad = Reading(
        time_period=None if start is None else DateTimeInterval(duration=15, start=start),  # type: ignore[arg-type]
        value=change.get("value", 7),  # type: ignore[arg-type]
    )
    document = MirrorMeterReadingList(
        items=(reading(ids["power"], NOW, 100), MirrorMeterReading(mrid=ids["import"], reading=bad))
    )
    async with start_gateway() as gw, client(gw, METERS[0]) as c:
        await register(c, pki, METERS[0], codec)
        location = (await post(c, "/mup", site_mup(meter.lfdi), codec)).headers["location"]
        refused = await post(c, location, document, codec)
        assert refused.status_code == 400
        assert problem in refused.headers["x-problem"]
        assert error_code(codec, refused.content) == ReasonCode.INVALID_REQUEST_VALUES
        assert reading_rows(gw) == []


async def test_fractional_registers_are_floored_for_the_outbox_only(
    start_gateway: StartGateway, pki: Pki, codec: Codec
) -> None:
    meter = pki.device(METERS[1])
    async with start_gateway() as gw, client(gw, METERS[1]) as c:
        await register(c, pki, METERS[1], codec)
        location = (await post(c, "/mup", site_mup(meter.lfdi, power_of_ten=-1), codec)).headers[
            "location"
        ]
        assert (
            await post(c, location, readings(meter.lfdi, NOW, 12345, 99), codec)
        ).status_code == 201
        assert outbox(gw) == [(meter.lfdi, NOW, 1234, 9, "pending")]
        scaled = rows(gw, "SELECT scaled FROM reading ORDER BY value")
        assert sorted(Decimal(str(s[0])) for s in scaled) == [Decimal("9.9"), Decimal("1234.5")]


async def test_mirror_rules(start_gateway: StartGateway, pki: Pki, codec: Codec) -> None:
    a, b = pki.device(METERS[0]), pki.device(METERS[1])
    async with (
        start_gateway(mirrors_per_device=2) as gw,
        client(gw, METERS[0]) as ca,
        client(gw, METERS[1]) as cb,
    ):
        # not registered yet
        assert (await post(ca, "/mup", site_mup(a.lfdi), codec)).status_code == 403
        await register(ca, pki, METERS[0], codec)
        await register(cb, pki, METERS[1], codec)
        # a device mirrors only itself
        assert (await post(ca, "/mup", site_mup(b.lfdi), codec)).status_code == 403
        assert (await post(ca, "/mup", site_mup(a.lfdi), codec)).status_code == 201
        # a second settling mirror of the same device would count its energy twice
        twice = await post(ca, "/mup", site_mup(a.lfdi, "again"), codec)
        assert twice.status_code == 409 and "already settles" in twice.headers["x-problem"]
        # a DER mirror with registers is fine: it does not settle
        der = site_mup(a.lfdi, "battery", role_flags=RoleFlags.IS_MIRROR | RoleFlags.IS_DER)
        der_location = (await post(ca, "/mup", der, codec)).headers["location"]
        # the limit of mirrors per device
        full = await post(ca, "/mup", site_mup(a.lfdi, "pv", role_flags=0x09), codec)
        assert full.status_code == 409
        assert error_code(codec, full.content) == ReasonCode.RESOURCE_LIMIT_REACHED
        dcap = (await get(ca, "/dcap")).text
        assert "MirrorUsagePointListLink" in dcap  # it has mirrors to post to
        # an MMR mRID of another device's mirror
        b_mup = site_mup(b.lfdi)
        stolen = replace(
            b_mup,
            mirror_meter_readings=(
                replace(b_mup.mirror_meter_readings[0], mrid=mrids(a.lfdi)["import"]),
            ),
        )
        assert (await post(cb, "/mup", stolen, codec)).status_code == 409
        # another device's mirror
        assert (await get(cb, der_location)).status_code == 403
        assert (
            await post(cb, der_location, readings(a.lfdi, NOW, 1, 1, name="battery"), codec)
        ).status_code == 403
        assert (await cb.delete(der_location)).status_code == 403
        # DER registers are stored but not settled
        assert (
            await post(ca, der_location, readings(a.lfdi, NOW, 1, 1, name="battery"), codec)
        ).status_code == 201
        assert outbox(gw) == []
        assert len(reading_rows(gw)) == 2


async def test_aggregator_mirrors_other_devices_and_sees_all(
    start_gateway: StartGateway, pki: Pki, codec: Codec
) -> None:
    a = pki.device(METERS[0])
    async with start_gateway() as gw, client(gw, METERS[0]) as ca, client(gw, AGGREGATOR) as agg:
        await register(ca, pki, METERS[0], codec)
        mine = (await post(ca, "/mup", site_mup(a.lfdi), codec)).headers["location"]
        other = site_mup(pki.device(METERS[2]).lfdi)
        theirs = (await post(agg, "/mup", other, codec)).headers["location"]
        listed = codec.parse((await get(agg, "/mup?l=10")).content, MirrorUsagePointList)
        assert {m.href for m in listed.items} == {mine, theirs}
        assert (await post(agg, mine, readings(a.lfdi, NOW, 3, 4), codec)).status_code == 201
        assert outbox(gw) == [(a.lfdi, NOW, 3, 4, "pending")]
        assert codec.parse((await get(ca, "/mup?l=10")).content, MirrorUsagePointList).all == 1


async def test_reading_types_sent_once_and_changed_by_overwrite(
    start_gateway: StartGateway, pki: Pki, codec: Codec
) -> None:
    meter = pki.device(METERS[0])
    ids = mrids(meter.lfdi)
    async with start_gateway() as gw, client(gw, METERS[0]) as c:
        await register(c, pki, METERS[0], codec)
        mup = site_mup(meter.lfdi)
        location = (await post(c, "/mup", mup, codec)).headers["location"]
        assert (await post(c, location, reading(ids["power"], NOW, 10), codec)).status_code == 201
        # a new MirrorMeterReading without its ReadingType cannot be understood
        unknown = await post(c, location, reading("0A" * 16, NOW, 1), codec)
        assert unknown.status_code == 400 and "no ReadingType" in unknown.headers["x-problem"]
        # a new one with its ReadingType joins the mirror
        voltage = MirrorMeterReading(
            mrid="0B" * 16,
            reading_type=replace(POWER_TYPE, uom=29, kind=0),
            reading=Reading(time_period=DateTimeInterval(duration=15, start=NOW), value=230),
        )
        assert (await post(c, location, voltage, codec)).status_code == 201
        # overwrite: power becomes reactive power, the voltage MMR is dropped
        changed = replace(
            mup,
            mirror_meter_readings=(
                *mup.mirror_meter_readings[:2],
                MirrorMeterReading(mrid=ids["power"], reading_type=replace(POWER_TYPE, uom=63)),
            ),
        )
        assert (await post(c, "/mup", changed, codec)).status_code == 204
        one = codec.parse((await get(c, location)).content, MirrorUsagePoint)
        assert {
            m.mrid: m.reading_type.uom for m in one.mirror_meter_readings if m.reading_type
        } == {
            ids["import"]: 72,
            ids["export"]: 72,
            ids["power"]: 63,
        }
        # the old power reading stays under its old (superseded) MeterReading
        assert (await post(c, location, reading(ids["power"], NOW, 11), codec)).status_code == 201
        kinds = rows(
            gw,
            "SELECT mr.uom, r.value, mr.superseded_at IS NULL FROM reading r "
            "JOIN meter_reading mr ON mr.id = r.meter_reading_id "
            "WHERE mr.mrid = :m ORDER BY r.value",
            m=ids["power"],
        )
        assert kinds == [(38, 10, False), (63, 11, True)]


async def test_reading_sets_and_a_mirror_posted_with_readings(
    start_gateway: StartGateway, pki: Pki, codec: Codec
) -> None:
    meter = pki.device(METERS[0])
    ids = mrids(meter.lfdi)
    with_readings = site_mup(
        meter.lfdi,
        readings=(reading(ids["import"], NOW, 70), reading(ids["export"], NOW, 7)),
    )
    sets = MirrorMeterReading(
        mrid=ids["power"],
        mirror_reading_sets=(
            MirrorReadingSet(
                mrid="0C" * 16,
                time_period=DateTimeInterval(duration=60, start=NOW),
                readings=(
                    Reading(time_period=DateTimeInterval(duration=15, start=NOW), value=1),
                    Reading(time_period=DateTimeInterval(duration=15, start=NOW + 15), value=2),
                    Reading(value=3),  # takes the set's time: NOW, overwriting the first
                ),
            ),
        ),
    )
    async with start_gateway() as gw, client(gw, METERS[0]) as c:
        await register(c, pki, METERS[0], codec)
        location = (await post(c, "/mup", with_readings, codec)).headers["location"]
        assert outbox(gw) == [(meter.lfdi, NOW, 70, 7, "pending")]
        assert (await post(c, location, sets, codec)).status_code == 201
        power = rows(
            gw,
            "SELECT r.start, r.value, s.mrid FROM reading r JOIN reading_set s "
            "ON s.id = r.reading_set_id ORDER BY r.start",
        )
        assert power == [(NOW, 3, "0C" * 16), (NOW + 15, 2, "0C" * 16)]


async def test_malformed_documents_and_http_errors(
    start_gateway: StartGateway, pki: Pki, codec: Codec
) -> None:
    meter = pki.device(METERS[0])
    async with start_gateway() as gw, client(gw, METERS[0]) as c:
        await register(c, pki, METERS[0], codec)
        location = (await post(c, "/mup", site_mup(meter.lfdi), codec)).headers["location"]
        good = codec.serialise(readings(meter.lfdi, NOW, 1, 1))
        bad_value = good.replace(b"<value>1</value>", b"<value>x</value>", 1)
        refused = await post(c, location, bad_value)
        assert refused.status_code == 400
        assert refused.headers["content-type"].startswith("application/sep+xml")
        assert error_code(codec, refused.content) == ReasonCode.INVALID_REQUEST_VALUES
        assert "value" in refused.headers["x-problem"]
        structural = await post(
            c,
            location,
            good.replace(b"<value>", b"<valeur>", 1).replace(b"</value>", b"</valeur>", 1),
        )
        assert structural.status_code == 400
        assert error_code(codec, structural.content) == ReasonCode.INVALID_REQUEST_FORMAT
        wrong_type = await post(c, location, codec.serialise(site_mup(meter.lfdi)))
        assert wrong_type.status_code == 400
        not_xml = await c.post(location, content=good, headers={"Content-Type": "application/xml"})
        assert not_xml.status_code == 415
        with_level = await c.post(
            location, content=good, headers={"Content-Type": "application/sep+xml; level=-S1"}
        )
        assert with_level.status_code == 201
        too_big = await post(c, location, b"<" + b"x" * (1 << 20) + b"/>")
        assert too_big.status_code == 413
        assert error_code(codec, too_big.content) == ReasonCode.INVALID_REQUEST_FORMAT

        async def chunks():  # no Content-Length: the stream is capped
            for _ in range(40):
                yield b" " * 65536

        streamed = await c.post(
            location, content=chunks(), headers={"Content-Type": "application/sep+xml"}
        )
        assert streamed.status_code == 413
        assert (await c.get(location, headers={"Accept": "application/json"})).status_code == 406
        assert (await c.get(location, headers={"Accept": "application/*"})).status_code == 200
        assert (
            await c.get(location, headers={"Accept": "application/sep+xml;q=0, */*;q=0"})
        ).status_code == 406
        put = await c.put(location, content=good, headers={"Content-Type": "application/sep+xml"})
        assert put.status_code == 405
        assert set(put.headers["allow"].split(", ")) == {"GET", "HEAD", "POST", "DELETE"}
        assert (await get(c, "/mup/999999")).status_code == 404
        assert (await get(c, "/mup/abc")).status_code == 404
        assert len(reading_rows(gw)) == 2  # only the request with level=-S1


async def test_a_large_body_arrives_whole_through_the_capped_tls_read_buffer(
    start_sqlite_gateway: StartGateway, pki: Pki, codec: Codec
) -> None:
    from asyncio import sslproto

    before = sslproto.SSLProtocol.max_size
    meter = pki.device(METERS[0])
    # A day of 15 s readings of both registers: about 17 times the 16 KiB buffer.
    periods = 600
    items = [
        item
        for n in range(periods)
        for item in readings(meter.lfdi, NOW - 15 * periods + 15 * n, 1000 + n, n).items
    ]
    body = codec.serialise(MirrorMeterReadingList(items=tuple(items)))
    assert len(body) > 16 * 16 * 1024
    async with start_sqlite_gateway(tls_read_buffer_kib=16) as gw, client(gw, METERS[0]) as c:
        assert sslproto.SSLProtocol.max_size == 16 * 1024
        await register(c, pki, METERS[0], codec)
        location = (await post(c, "/mup", site_mup(meter.lfdi), codec)).headers["location"]
        assert (await post(c, location, body)).status_code == 201
        assert len(reading_rows(gw)) == 2 * periods
        assert len(outbox(gw)) == periods
    assert sslproto.SSLProtocol.max_size == before
