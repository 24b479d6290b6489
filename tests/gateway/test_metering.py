"""The /upt read views of mirrored data, with paging, over mutual TLS."""

from __future__ import annotations

import time

from lxml import etree

from certs.pki import Pki
from sep2 import (
    Codec,
    DateTimeInterval,
    FunctionSetAssignments,
    MeterReading,
    MeterReadingList,
    MirrorMeterReading,
    MirrorReadingSet,
    Reading,
    ReadingList,
    ReadingSet,
    ReadingSetList,
    ReadingType,
    UsagePoint,
    UsagePointList,
    parse_mrid,
)
from sep2.settings import Sep2Settings
from tests.gateway.conftest import (
    METERS,
    PEN,
    StartGateway,
    client,
    get,
    mrids,
    post,
    readings,
    register,
    site_mup,
)

NOW = int(time.time()) // 60 * 60 - 7200


async def test_usage_points_meter_readings_sets_and_readings(
    start_gateway: StartGateway, pki: Pki, codec: Codec
) -> None:
    meter = pki.device(METERS[0])
    ids = mrids(meter.lfdi)
    async with start_gateway() as gw, client(gw, METERS[0]) as c, client(gw, METERS[1]) as other:
        await register(c, pki, METERS[0], codec)
        mup = site_mup(meter.lfdi)
        mup_href = (await post(c, "/mup", mup, codec)).headers["location"]
        for k in range(5):
            posted = await post(
                c, mup_href, readings(meter.lfdi, NOW + 15 * k, 100 + k, k, power=50 * k), codec
            )
            assert posted.status_code == 201
        in_set = MirrorMeterReading(
            mrid=ids["power"],
            mirror_reading_sets=(
                MirrorReadingSet(
                    mrid="0D" * 16,
                    time_period=DateTimeInterval(duration=30, start=NOW + 600),
                    readings=(
                        Reading(
                            time_period=DateTimeInterval(duration=15, start=NOW + 600), value=7
                        ),
                    ),
                ),
            ),
        )
        assert (await post(c, mup_href, in_set, codec)).status_code == 201

        upts = codec.parse((await get(c, "/upt?l=5")).content, UsagePointList)
        assert (upts.all, upts.results) == (1, 1)
        upt = upts.items[0]
        assert upt.href == mup_href.replace("/mup/", "/upt/") and upt.mrid == mup.mrid
        assert upt.device_lfdi == meter.lfdi and upt.meter_reading_list_link is not None
        assert codec.parse((await get(c, upt.href or "")).content, UsagePoint) == upt
        assert (await get(other, upt.href or "")).status_code == 403

        mrs = codec.parse(
            (await get(c, upt.meter_reading_list_link.href + "?l=10")).content, MeterReadingList
        )
        assert mrs.all == mrs.results == 3
        assert [m.mrid for m in mrs.items] == sorted(
            (ids[k] for k in ("import", "export", "power")), reverse=True
        )
        power = next(m for m in mrs.items if m.mrid == ids["power"])
        assert codec.parse((await get(c, power.href or "")).content, MeterReading) == power
        rt = codec.parse((await get(c, power.reading_type_link.href)).content, ReadingType)
        assert (rt.uom, rt.kind, rt.data_qualifier) == (38, 37, 2)
        assert power.reading_link is not None
        latest = codec.parse((await get(c, power.reading_link.href)).content, Reading)
        assert latest.value == 7  # the newest: the one in the set

        assert power.reading_set_list_link is not None and power.reading_set_list_link.all == 2
        sets_href = power.reading_set_list_link.href
        sets = codec.parse((await get(c, sets_href + "?l=10")).content, ReadingSetList)
        assert (sets.all, sets.results) == (2, 2)
        direct, posted_set = sets.items
        assert direct.href == sets_href + "/0" and direct.time_period.start == NOW
        assert direct.time_period.duration == 4 * 15 + 15
        assert posted_set.mrid == "0D" * 16
        second_page = codec.parse((await get(c, sets_href + "?s=1&l=1")).content, ReadingSetList)
        assert [s.mrid for s in second_page.items] == [posted_set.mrid] and second_page.all == 2
        after = codec.parse(
            (await get(c, sets_href + f"?a={NOW + 100}&l=10")).content, ReadingSetList
        )
        assert [s.mrid for s in after.items] == [posted_set.mrid]
        assert codec.parse((await get(c, direct.href or "")).content, ReadingSet) == direct

        assert direct.reading_list_link is not None and direct.reading_list_link.all == 5
        page = codec.parse(
            (await get(c, direct.reading_list_link.href + "?s=1&l=2")).content, ReadingList
        )
        assert (page.all, page.results) == (5, 2)
        assert [r.value for r in page.items] == [150, 100]  # newest first
        assert all(etree.fromstring(codec.serialise(r)) is not None for r in page.items)
        newer = codec.parse(
            (await get(c, direct.reading_list_link.href + f"?a={NOW + 30}&l=9")).content,
            ReadingList,
        )
        assert [r.value for r in newer.items] == [200, 150]
        one = page.items[0]
        assert codec.parse((await get(c, one.href or "")).content, Reading) == one
        assert (await get(c, sets_href + "/99")).status_code == 404
        assert (await get(c, (one.href or "").rsplit("/", 1)[0] + "/999999")).status_code == 404


async def test_server_made_mrids_carry_the_pen_in_the_configured_form(
    start_gateway: StartGateway, pki: Pki, codec: Codec
) -> None:
    """FunctionSetAssignments and the direct ReadingSet: hex by default, decimal if asked
    (the same database served twice: the mRIDs are made when answered, not stored)."""
    meter = pki.device(METERS[0])
    made: dict[str, tuple[str, str]] = {}
    for form in ("hex", "decimal"):
        async with (
            start_gateway(sep2=Sep2Settings(pen=PEN, mrid_pen_format=form)) as gw,
            client(gw, METERS[0]) as c,
        ):
            if form == "hex":
                href = await register(c, pki, METERS[0], codec)
                mup = (await post(c, "/mup", site_mup(meter.lfdi), codec)).headers["location"]
                posted = await post(c, mup, readings(meter.lfdi, NOW, 100, 1), codec)
                assert posted.status_code == 201, posted.headers
            fsa = codec.parse((await get(c, href + "/fsa/1")).content, FunctionSetAssignments)
            listed = codec.parse((await get(c, mup.replace("mup", "upt") + "/mr?l=10")).content,
                                 MeterReadingList)  # fmt: skip
            mr = next(m for m in listed.items if m.reading_link is not None)  # posted to
            assert mr.reading_set_list_link is not None
            sets_href = mr.reading_set_list_link.href
            direct = codec.parse((await get(c, sets_href + "/0")).content, ReadingSet)
            made[form] = (fsa.mrid, direct.mrid)
    assert [m[-8:] for m in made["hex"]] == ["00007ED9", "00007ED9"]
    assert [m[-8:] for m in made["decimal"]] == ["00032473", "00032473"]
    assert [m[:24] for m in made["hex"]] == [m[:24] for m in made["decimal"]]
    assert all(parse_mrid(m).issued_by(PEN) for m in (*made["hex"], *made["decimal"]))
