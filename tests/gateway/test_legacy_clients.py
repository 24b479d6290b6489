"""A 2013-draft client (namespace http://ieee.org/2030.5, draft XSD 2.0.4, as the EPRI
reference client) over mutual TLS, on SQLite and PostgreSQL: once it has posted a body,
every answer is valid for its schema (tests/sep2/xsd_2_0_4.py), across a restart; a 2018
body takes it back."""

from __future__ import annotations

import time

import httpx
import pytest
from lxml import etree

from certs.pki import Pki
from gateway.crud import devices
from gateway.db import open_database
from schemas import official_xsd_bytes
from sep2 import (
    DRAFT_2_0_4,
    SEP2_NAMESPACE,
    Codec,
    EndDevice,
    EndDeviceList,
    MirrorMeterReading,
    MirrorUsagePoint,
    Sep2Object,
)
from tests.gateway.conftest import (
    AGGREGATOR,
    METERS,
    StartGateway,
    client,
    get,
    post,
    query,
    site_mup,
)
from tests.sep2.xsd_2_0_4 import NAMESPACE, draft_validator


@pytest.fixture(scope="module")
def draft() -> etree.XMLSchema:
    return draft_validator(official_xsd_bytes())


async def post_draft(
    c: httpx.AsyncClient, path: str, obj: Sep2Object, codec: Codec
) -> httpx.Response:
    """POST ``obj`` as a 2013-draft client writes it."""
    return await post(c, path, codec.serialise(obj, profile=DRAFT_2_0_4))


def in_draft(draft: etree.XMLSchema, answer: httpx.Response) -> etree._Element:
    root = etree.fromstring(answer.content)
    assert etree.QName(root).namespace == NAMESPACE, answer.text
    assert draft.validate(root), f"{draft.error_log}\n{answer.text}"
    return root


def namespace_of(answer: httpx.Response) -> str | None:
    return etree.QName(etree.fromstring(answer.content)).namespace


async def test_a_draft_client_is_answered_in_its_schema_until_it_posts_2018(
    start_gateway: StartGateway, pki: Pki, codec: Codec, draft: etree.XMLSchema
) -> None:
    me = pki.device(METERS[0])
    edev = EndDevice(sfdi=me.sfdi, lfdi=me.lfdi, changed_time=0, device_category=0x10)
    async with start_gateway(post_rate=15) as gw, client(gw, METERS[0]) as c:
        assert namespace_of(await get(c, "/dcap")) == SEP2_NAMESPACE  # nothing posted yet
        made = await post_draft(c, "/edev", edev, codec)
        assert made.status_code == 201
        href = made.headers["location"]
        one = in_draft(draft, await get(c, href))
        assert one.find(f"{{{NAMESPACE}}}postRate") is None
        assert one.find(f"{{{NAMESPACE}}}sFDI").text == str(me.sfdi)  # type: ignore[union-attr]
        for path in ("/dcap", "/tm", "/edev", href + "/rg", href + "/fsa", href + "/fsa/1"):
            in_draft(draft, await get(c, path))
        mup = await post_draft(c, "/mup", site_mup(me.lfdi), codec)
        assert mup.status_code == 201
        for path in ("/mup", mup.headers["location"], "/upt"):
            in_draft(draft, await get(c, path))
        # a refused body is answered with an Error in the draft's namespace too
        unknown = MirrorMeterReading(mrid="AB" * 16)  # new to the mirror, no ReadingType
        refused = await post_draft(c, mup.headers["location"], unknown, codec)
        assert refused.status_code == 400 and namespace_of(refused) == NAMESPACE
    async with start_gateway(post_rate=15) as gw, client(gw, METERS[0]) as c:  # a restart
        in_draft(draft, await get(c, href))
        # a 2018 body (its new firmware): answered in 2018 from then on
        again = await post(c, "/mup", site_mup(me.lfdi), codec)
        assert again.status_code == 204
        answer = await get(c, href)
        assert namespace_of(answer) == SEP2_NAMESPACE
        assert codec.parse(answer.content, EndDevice).post_rate == 15
        assert codec.parse((await get(c, "/mup/1")).content, MirrorUsagePoint).post_rate == 15


async def test_a_draft_aggregator_gets_pages_its_results_can_count(
    start_gateway: StartGateway, pki: Pki, codec: Codec, draft: etree.XMLSchema, database_url: str
) -> None:
    database = open_database(database_url)
    database.ensure_schema()
    with database.write_session() as session:
        for n in range(300):
            lfdi = f"{n:040X}"
            devices.register(session, lfdi=lfdi, sfdi=n, pin=1, via="out-of-band", now=0)
    database.dispose()
    agg = pki.device(AGGREGATOR)
    async with start_gateway() as gw, client(gw, AGGREGATOR) as c:
        listed = codec.parse((await get(c, "/edev?l=1000")).content, EndDeviceList)
        assert (listed.all, listed.results) == (300, 300)  # 2018: one page of 300
        own = EndDevice(sfdi=agg.sfdi, lfdi=agg.lfdi, changed_time=int(time.time()))
        assert (await post_draft(c, "/edev", own, codec)).status_code == 201
        root = in_draft(draft, await get(c, "/edev?l=1000"))
        assert (root.get("all"), root.get("results")) == ("301", "255")
        rest = in_draft(draft, await get(c, "/edev?s=255&l=1000"))
        assert rest.get("results") == "46"


async def test_the_profile_is_kept_only_by_a_request_that_succeeded(
    start_gateway: StartGateway, pki: Pki, codec: Codec, draft: etree.XMLSchema, database_url: str
) -> None:
    """A refused draft body is answered in the draft but teaches nothing to keep; the next
    draft body that succeeds is kept, so the device is answered in its schema after a
    restart before it has sent anything again."""
    from gateway import admin

    me = pki.device(METERS[0])
    database = open_database(database_url)
    database.ensure_schema()
    admin.register_device(database, me.lfdi, 111115)  # out of band
    async with start_gateway() as gw, client(gw, METERS[0]) as c:
        mup = (await post(c, "/mup", site_mup(me.lfdi), codec)).headers["location"]  # 2018
        unknown = MirrorMeterReading(mrid="AB" * 16)  # new to the mirror, no ReadingType
        refused = await post_draft(c, mup, unknown, codec)
        assert refused.status_code == 400 and namespace_of(refused) == NAMESPACE
        assert query(gw, lambda s: devices.codec_profile(s, me.lfdi)) is None
        assert (await post_draft(c, "/mup", site_mup(me.lfdi), codec)).status_code == 204
        assert query(gw, lambda s: devices.codec_profile(s, me.lfdi)) == DRAFT_2_0_4.name
    async with start_gateway() as gw, client(gw, METERS[0]) as c:  # a restart
        in_draft(draft, await get(c, "/edev/1"))


async def test_a_device_registering_again_keeps_the_schema_it_registers_in(
    start_gateway: StartGateway, pki: Pki, codec: Codec, draft: etree.XMLSchema
) -> None:
    """Unregistering forgets the profile with the EndDevice; the new EndDevice a draft body
    creates keeps it, although this process remembers the device as a draft one."""
    me = pki.device(METERS[0])
    edev = EndDevice(sfdi=me.sfdi, lfdi=me.lfdi, changed_time=0)
    async with start_gateway() as gw, client(gw, METERS[0]) as c:
        first = (await post_draft(c, "/edev", edev, codec)).headers["location"]
        assert (await c.delete(first)).status_code == 204
        again = await post_draft(c, "/edev", edev, codec)
        assert again.status_code == 201  # a new EndDevice (SQLite may reuse the id)
        assert query(gw, lambda s: devices.codec_profile(s, me.lfdi)) == DRAFT_2_0_4.name
        in_draft(draft, await get(c, again.headers["location"]))
