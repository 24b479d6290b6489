"""DeviceCapability, Time, EndDevice, Registration, DeviceInformation, FSA over mutual TLS."""

from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from lxml import etree

from certs.pki import Pki
from gateway import admin
from gateway.db import open_database
from gateway.settings import GatewaySettings
from sep2 import (
    Codec,
    DeviceCapability,
    DeviceInformation,
    EndDevice,
    EndDeviceList,
    FunctionSetAssignments,
    FunctionSetAssignmentsList,
    MirrorUsagePointList,
    Registration,
    Time,
    UsagePointList,
    mrid_for,
)
from tests.gateway.conftest import (
    AGGREGATOR,
    METERS,
    PEN,
    StartGateway,
    client,
    get,
    post,
    register,
)


def valid(codec: Codec, body: bytes) -> None:
    """The answer is valid against the official XSD (sep2's own check, independently)."""
    assert codec.schema.first_error(etree.fromstring(body)) is None


async def test_time_reports_the_configured_zone(start_gateway: StartGateway, codec: Codec) -> None:
    async with (
        start_gateway(timezone="Australia/Sydney", time_quality=3) as gw,
        client(gw, METERS[0]) as c,
    ):
        answer = await get(c, "/tm")
        valid(codec, answer.content)
        tm = codec.parse(answer.content, Time)
    assert abs(tm.current_time - time.time()) < 5 and tm.quality == 3
    local = datetime.fromtimestamp(tm.current_time, ZoneInfo("Australia/Sydney"))
    offset = local.utcoffset()
    assert offset is not None
    assert tm.local_time == tm.current_time + int(offset.total_seconds())
    assert tm.local_time - tm.tz_offset - tm.dst_offset == tm.current_time
    assert tm.tz_offset == 36000 and tm.dst_start_time < tm.dst_end_time


async def test_registration_in_band_with_pin_and_device_information(
    start_gateway: StartGateway, pki: Pki, codec: Codec
) -> None:
    me, other = pki.device(METERS[0]), pki.device(METERS[1])
    async with start_gateway(registration_pins={me.lfdi: 246800}) as gw, client(gw, METERS[0]) as c:
        dcap = codec.parse((await get(c, "/dcap")).content, DeviceCapability)
        assert dcap.end_device_list_link is not None and dcap.end_device_list_link.all == 0
        assert dcap.time_link is not None and dcap.mirror_usage_point_list_link is not None
        # the sFDI and lFDI must be the certificate's
        lie = await post(
            c, "/edev", EndDevice(sfdi=other.sfdi, lfdi=other.lfdi, changed_time=1), codec
        )
        assert lie.status_code == 400
        wrong_sfdi = await post(
            c, "/edev", EndDevice(sfdi=other.sfdi, lfdi=me.lfdi, changed_time=1), codec
        )
        assert wrong_sfdi.status_code == 400
        created = await post(c, "/edev", EndDevice(sfdi=me.sfdi, changed_time=5), codec)
        assert created.status_code == 201
        href = created.headers["location"]
        again = await post(c, "/edev", EndDevice(sfdi=me.sfdi, lfdi=me.lfdi, changed_time=6), codec)
        assert (again.status_code, again.headers["location"]) == (409, href)  # registered once

        answer = await get(c, href)
        valid(codec, answer.content)
        edev = codec.parse(answer.content, EndDevice)
        assert (edev.lfdi, edev.sfdi, edev.changed_time, edev.post_rate) == (
            me.lfdi,
            me.sfdi,
            5,
            15,
        )
        assert (
            edev.registration_link is not None
            and edev.function_set_assignments_list_link is not None
        )
        rg = codec.parse((await get(c, edev.registration_link.href)).content, Registration)
        assert rg.pin == 246800 and abs(rg.date_time_registered - time.time()) < 60

        fsas = codec.parse(
            (await get(c, edev.function_set_assignments_list_link.href)).content,
            FunctionSetAssignmentsList,
        )
        assert (fsas.all, fsas.results) == (1, 1)
        fsa = fsas.items[0]
        assert fsa.mrid == mrid_for(PEN, me.lfdi, "fsa") and fsa.time_link is not None
        assert fsa.href is not None
        assert codec.parse((await get(c, fsa.href)).content, FunctionSetAssignments) == fsa
        assert (await get(c, href + "/fsa/2")).status_code == 404

        assert (await get(c, href + "/di")).status_code == 404
        info = DeviceInformation(
            lfdi=me.lfdi, mf_date=0, mf_hw_ver="1", mf_id=32473, mf_model="GM-1",
            mf_ser_num=METERS[0], primary_power=1, secondary_power=0, sw_act_time=0, sw_ver="0.1",
        )  # fmt: skip
        put = await c.put(
            href + "/di",
            content=codec.serialise(info),
            headers={"Content-Type": "application/sep+xml"},
        )
        assert put.status_code == 204
        stored = codec.parse((await get(c, href + "/di")).content, DeviceInformation)
        assert stored.mf_model == "GM-1" and stored.href == href + "/di"
        edev = codec.parse((await get(c, href)).content, EndDevice)
        assert edev.device_information_link is not None

        listed = codec.parse((await get(c, "/edev")).content, EndDeviceList)
        assert (listed.all, listed.results, listed.items[0].href) == (1, 1, href)


async def test_devices_see_only_themselves_aggregators_see_all(
    start_gateway: StartGateway, pki: Pki, codec: Codec
) -> None:
    async with (
        start_gateway(default_pin=135790) as gw,
        client(gw, METERS[0]) as a,
        client(gw, METERS[1]) as b,
        client(gw, AGGREGATOR) as agg,
    ):
        href_a = await register(a, pki, METERS[0], codec)
        href_b = await register(b, pki, METERS[1], codec)
        assert codec.parse((await get(a, href_a + "/rg")).content, Registration).pin == 135790
        for path in (href_b, href_b + "/rg", href_b + "/fsa", href_b + "/di"):
            assert (await get(a, path)).status_code == 403, path
        assert (await a.delete(href_b)).status_code == 403
        seen = codec.parse((await get(agg, "/edev?l=10")).content, EndDeviceList)
        assert {d.href for d in seen.items} == {href_a, href_b}
        assert [d.sfdi for d in seen.items] == sorted(d.sfdi for d in seen.items)
        page = codec.parse((await get(agg, "/edev?s=1&l=1")).content, EndDeviceList)
        assert (page.all, page.results) == (2, 1) and page.items[0].href == seen.items[1].href
        bad = await get(agg, "/edev?l=x")
        assert bad.status_code == 400
        # the aggregator registers a device of its own
        third = pki.device(METERS[2])
        made = await post(
            agg, "/edev", EndDevice(sfdi=third.sfdi, lfdi=third.lfdi, changed_time=0), codec
        )
        assert made.status_code == 201
        # a device unregisters itself
        assert (await a.delete(href_a)).status_code == 204
        assert codec.parse((await get(a, "/edev")).content, EndDeviceList).all == 0


async def test_out_of_band_registration_only(
    start_gateway: StartGateway, pki: Pki, codec: Codec, database_url: str
) -> None:
    me = pki.device(METERS[0])
    async with start_gateway(in_band_registration=False) as gw, client(gw, METERS[0]) as c:
        refused = await post(c, "/edev", EndDevice(sfdi=me.sfdi, changed_time=0), codec)
        assert refused.status_code == 403
        registered = admin.register_device(open_database(database_url), me.lfdi, 111112)
        assert registered.created
        listed = codec.parse((await get(c, "/edev")).content, EndDeviceList)
        assert listed.all == 1
        assert listed.items[0].registration_link is not None
        rg = codec.parse(
            (await get(c, listed.items[0].registration_link.href)).content, Registration
        )
        assert rg.pin == 111112
        # registered out of band: registering again in band is a conflict
        again = await post(c, "/edev", EndDevice(sfdi=me.sfdi, changed_time=9), codec)
        assert again.status_code == 409 and again.headers["location"] == listed.items[0].href


async def test_no_client_certificate_no_access(start_gateway: StartGateway) -> None:
    import ssl

    async with start_gateway() as gw:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_ciphers("ECDHE-ECDSA-AES128-CCM8")
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        import httpx

        async with httpx.AsyncClient(base_url=gw.url, verify=ctx) as anonymous:
            with pytest.raises(httpx.HTTPError):  # the handshake requires a certificate
                await anonymous.get("/dcap")


async def test_each_list_answers_its_own_poll_rate_else_the_global_one(
    start_gateway: StartGateway, pki: Pki, codec: Codec
) -> None:
    rates = {"dcap": 300, "edev": 301, "fsa": 302, "mup": 60}  # upt left to poll_rate
    async with (
        start_gateway(poll_rate=600, poll_rates=rates) as gw,
        client(gw, METERS[0]) as c,
    ):
        href = await register(c, pki, METERS[0], codec)
        answered = {
            "dcap": codec.parse((await get(c, "/dcap")).content, DeviceCapability).poll_rate,
            "edev": codec.parse((await get(c, "/edev")).content, EndDeviceList).poll_rate,
            "fsa": codec.parse(
                (await get(c, href + "/fsa")).content, FunctionSetAssignmentsList
            ).poll_rate,
            "mup": codec.parse((await get(c, "/mup")).content, MirrorUsagePointList).poll_rate,
            "upt": codec.parse((await get(c, "/upt")).content, UsagePointList).poll_rate,
            "tm": codec.parse((await get(c, "/tm")).content, Time).poll_rate,
        }
    assert answered == {**rates, "upt": 600, "tm": 600}


def test_poll_rates_come_from_the_settings_and_refuse_unknown_lists() -> None:
    settings = GatewaySettings(poll_rate=120, poll_rates={"mup": 30})
    assert [settings.poll_rate_of(r) for r in ("dcap", "edev", "fsa", "mup", "upt")] == [
        120, 120, 120, 30, 120,
    ]  # fmt: skip
    with pytest.raises(ValueError, match="derp"):
        GatewaySettings(poll_rates={"derp": 30})
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        GatewaySettings(poll_rates={"dcap": 0})
