"""The DER function sets over mutual TLS: EndDevice -> DERList -> DER -> its four parts,
PUT by the device and served back; others refused; bad bodies 400 with nothing stored."""

from __future__ import annotations

from dataclasses import replace

import httpx
from lxml import etree

from certs.pki import Pki
from sep2 import (
    CONTENT_TYPE,
    ActivePower,
    Codec,
    ConnectStatusValue,
    Der,
    DerAvailability,
    DerCapability,
    DerList,
    DerSettings,
    DerStatus,
    DerType,
    EndDevice,
    Error,
    Sep2Object,
    StateOfChargeStatusValue,
)
from tests.gateway.conftest import (
    AGGREGATOR,
    METERS,
    StartGateway,
    client,
    get,
    register,
    rows,
)

CAPABILITY = DerCapability(
    modes_supported=0x3,
    rtg_max_w=ActivePower(multiplier=1, value=500),
    type=DerType.COMBINED_PV_AND_STORAGE,
)
SETTINGS = DerSettings(
    set_grad_w=100, set_max_w=ActivePower(multiplier=0, value=4_600), updated_time=1_800_000_000
)
STATUS = DerStatus(
    reading_time=1_800_000_000,
    gen_connect_status=ConnectStatusValue(date_time=1_799_999_000, value=0x07),
    state_of_charge_status=StateOfChargeStatusValue(date_time=1_800_000_000, value=5_525),
)
AVAILABILITY = DerAvailability(
    reading_time=1_800_000_000, stat_w_avail=ActivePower(multiplier=0, value=3_210)
)


async def put(c: httpx.AsyncClient, path: str, body: bytes | Sep2Object, codec: Codec) -> int:
    data = body if isinstance(body, bytes) else codec.serialise(body)
    answer = await c.put(
        path, content=data, headers={"Content-Type": CONTENT_TYPE, "Accept": CONTENT_TYPE}
    )
    return answer.status_code


async def _der_of(c: httpx.AsyncClient, edev_href: str, codec: Codec) -> Der:
    edev = codec.parse((await get(c, edev_href)).content, EndDevice)
    assert edev.der_list_link is not None and edev.der_list_link.all == 1
    listed = codec.parse((await get(c, edev.der_list_link.href)).content, DerList)
    assert (listed.all, listed.results, len(listed.items)) == (1, 1, 1)
    assert listed.poll_rate == 77
    item = listed.items[0]
    assert item.href is not None
    assert codec.parse((await get(c, item.href)).content, Der) == item
    return item


async def test_the_device_puts_its_der_parts_and_gets_them_back(
    start_gateway: StartGateway, pki: Pki, codec: Codec
) -> None:
    async with start_gateway(poll_rates={"der": 77}) as gw, client(gw, METERS[0]) as c:
        edev = await register(c, pki, METERS[0], codec)
        der = await _der_of(c, edev, codec)
        links = {
            "dercap": der.der_capability_link,
            "derg": der.der_settings_link,
            "ders": der.der_status_link,
            "dera": der.der_availability_link,
        }
        parts: dict[str, Sep2Object] = {
            "dercap": CAPABILITY,
            "derg": SETTINGS,
            "ders": STATUS,
            "dera": AVAILABILITY,
        }
        for name, link in links.items():
            assert link is not None and link.href.endswith("/" + name)
            assert (await get(c, link.href)).status_code == 404  # nothing PUT yet
            assert await put(c, link.href, parts[name], codec) == 204
            answer = await get(c, link.href)
            assert answer.status_code == 200
            assert codec.schema.first_error(etree.fromstring(answer.content)) is None
            got = codec.parse(answer.content, type(parts[name]))
            assert got == replace(parts[name], href=link.href)  # type: ignore[call-arg]
        # a newer status replaces the older one
        newer = DerStatus(reading_time=1_800_000_060)
        assert await put(c, links["ders"].href, newer, codec) == 204  # type: ignore[union-attr]
        got = codec.parse((await get(c, links["ders"].href)).content, DerStatus)  # type: ignore[union-attr]
        assert got.reading_time == 1_800_000_060 and got.state_of_charge_status is None
        assert len(rows(gw, "SELECT part FROM der_resource")) == 4


async def test_only_the_device_puts_and_others_cannot_see(
    start_gateway: StartGateway, pki: Pki, codec: Codec
) -> None:
    aggregator = pki.device(AGGREGATOR).lfdi
    async with (
        start_gateway(aggregator_lfdis=[aggregator]) as gw,
        client(gw, METERS[0]) as a,
        client(gw, METERS[1]) as b,
        client(gw, AGGREGATOR) as agg,
    ):
        edev_a = await register(a, pki, METERS[0], codec)
        await register(b, pki, METERS[1], codec)
        cap = edev_a + "/der/1/dercap"
        assert await put(a, cap, CAPABILITY, codec) == 204
        for path in (edev_a + "/der", edev_a + "/der/1", cap):
            assert (await get(b, path)).status_code == 403, path
            assert (await get(agg, path)).status_code == 200, path
        assert await put(b, cap, CAPABILITY, codec) == 403
        assert await put(agg, cap, CAPABILITY, codec) == 403  # a device's own statement
        for path in (edev_a + "/der/2", edev_a + "/der/1/derx", edev_a + "/der/x/dercap"):
            assert (await get(a, path)).status_code == 404, path
        assert await put(a, "/edev/999/der/1/dercap", CAPABILITY, codec) == 404
        assert (await a.post(cap, content=codec.serialise(CAPABILITY))).status_code == 405


async def test_bad_bodies_are_400_with_an_error_and_store_nothing(
    start_gateway: StartGateway, pki: Pki, codec: Codec
) -> None:
    async with start_gateway() as gw, client(gw, METERS[0]) as c:
        edev = await register(c, pki, METERS[0], codec)
        base = edev + "/der/1/"
        valid = codec.serialise(CAPABILITY)
        no_rating = etree.fromstring(valid)
        no_rating.remove(no_rating.find("{*}rtgMaxW"))
        for path, body in (
            (base + "dercap", etree.tostring(no_rating)),
            (base + "dercap", valid.replace(b"<type>83</type>", b"<type>300</type>")),
            (base + "dercap", b"<DERCapability"),
            (base + "derg", valid),  # a DERCapability where DERSettings belong
        ):
            answer = await c.put(
                path, content=body, headers={"Content-Type": CONTENT_TYPE, "Accept": CONTENT_TYPE}
            )
            assert answer.status_code == 400, (path, body)
            assert isinstance(codec.parse(answer.content, Error), Error)
        assert rows(gw, "SELECT part FROM der_resource") == []
        # a setting above the rating it limits
        assert await put(c, base + "dercap", CAPABILITY, codec) == 204
        over = DerSettings(
            set_grad_w=1, set_max_w=ActivePower(multiplier=0, value=5_001), updated_time=1
        )
        assert await put(c, base + "derg", over, codec) == 400
        assert rows(gw, "SELECT part FROM der_resource") == [("dercap",)]


async def test_unregistering_forgets_the_der(
    start_gateway: StartGateway, pki: Pki, codec: Codec
) -> None:
    async with start_gateway() as gw, client(gw, METERS[0]) as c:
        edev = await register(c, pki, METERS[0], codec)
        assert await put(c, edev + "/der/1/ders", STATUS, codec) == 204
        assert (await c.delete(edev)).status_code == 204
        assert rows(gw, "SELECT part FROM der_resource") == []
