"""DNS-SD over real mDNS on 127.0.0.1: found by python-zeroconf and by py20305's client."""

from __future__ import annotations

import asyncio
import importlib
import uuid
from typing import Any

import pytest
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

from certs.pki import Pki
from gateway.discovery import SERVICE_TYPE, device_subtype, txt_record
from sep2 import Codec
from tests.gateway.conftest import METERS, StartGateway, client, register

discover_module: Any = importlib.import_module("py20305.client.dnssd.discover")
wire: Any = importlib.import_module("py20305.client.dnssd.wire")


async def instances(subtype: str | None = None) -> set[str]:
    """The instance names py20305's DNS-SD client finds (optionally by subtype)."""
    found = await asyncio.to_thread(
        discover_module.discover, wire.MDNS, timeout=0.7, subtype=subtype, interface="127.0.0.1"
    )
    return {server.instance.rstrip(".") for server in found}


def test_txt_record_has_txtvers_first() -> None:
    record = txt_record(8443)
    assert record == b"\x09txtvers=1\x0adcap=/dcap\x0ahttps=8443\x09level=-S1"


async def test_advertised_found_and_withdrawn(
    start_sqlite_gateway: StartGateway, pki: Pki, codec: Codec
) -> None:
    name = f"gm-test-{uuid.uuid4().hex[:8]}"
    me = f"{name}._smartenergy._tcp.local"
    sfdi = pki.device(METERS[0]).sfdi
    async with start_sqlite_gateway(mdns=True, mdns_name=name, mdns_interfaces=["127.0.0.1"]) as gw:
        assert gw.advertiser is not None and gw.advertiser.name == me + "."
        zc = AsyncZeroconf(interfaces=["127.0.0.1"])
        try:
            info = AsyncServiceInfo(SERVICE_TYPE, me + ".")
            assert await info.async_request(zc.zeroconf, 3000)
        finally:
            await zc.async_close()
        assert info.port == gw.port and info.parsed_addresses() == ["127.0.0.1"]
        assert info.text == txt_record(gw.port)
        for subtype in (None, "edev", "tm", "upt", "mup"):
            assert me in await instances(subtype), subtype
        assert me not in await instances("dr")
        assert me not in await instances(device_subtype(sfdi))
        async with client(gw, METERS[0]) as c:
            await register(c, pki, METERS[0], codec)
        assert me in await instances(device_subtype(sfdi))
    assert me not in await instances()


async def test_no_mup_subtype_without_mirroring(start_sqlite_gateway: StartGateway) -> None:
    name = f"gm-test-{uuid.uuid4().hex[:8]}"
    me = f"{name}._smartenergy._tcp.local"
    async with start_sqlite_gateway(
        mdns=True, mdns_name=name, mdns_interfaces=["127.0.0.1"], mirrors_per_device=0
    ):
        assert me in await instances("edev")
        assert me not in await instances("mup")


async def test_out_of_band_registrations_reach_dns_sd(
    start_sqlite_gateway: StartGateway, pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gateway import admin, launch
    from gateway.db import open_database

    monkeypatch.setattr(launch, "SUBTYPE_REFRESH_SECONDS", 0.2)
    name = f"gm-test-{uuid.uuid4().hex[:8]}"
    me = f"{name}._smartenergy._tcp.local"
    device = pki.device(METERS[1])
    async with start_sqlite_gateway(mdns=True, mdns_name=name, mdns_interfaces=["127.0.0.1"]) as gw:
        assert gw.settings.database_url is not None
        await asyncio.to_thread(
            admin.register_device, open_database(gw.settings.database_url), device.lfdi, 1
        )
        await asyncio.sleep(0.5)
        assert me in await instances(device_subtype(device.sfdi))
