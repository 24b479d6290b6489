"""DNS-SD discovery: the TXT rules, and one real mDNS browse."""

from __future__ import annotations

import socket
import uuid

import pytest
from zeroconf import IPVersion
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

from devices.discovery import (
    SERVICE_TYPE,
    DiscoveredGateway,
    DiscoveryError,
    discover,
    gateway_from_record,
)

GOOD = {"txtvers": "1", "dcap": "/dcap", "https": "8443", "level": "-S1"}


def test_a_good_record() -> None:
    found = gateway_from_record(f"gw-1.{SERVICE_TYPE}", ["fe80::1", "10.0.0.5"], GOOD)
    assert found == DiscoveredGateway("gw-1", "10.0.0.5", 8443, "/dcap", "-S1")
    assert found.dcap_url == "https://10.0.0.5:8443/dcap"
    v6 = gateway_from_record("gw", ["2001:db8::5"], {**GOOD, "https": "", "dcap": "/sep2/dcap"})
    assert isinstance(v6, DiscoveredGateway)
    assert v6.dcap_url == "https://[2001:db8::5]:443/sep2/dcap"
    extra = gateway_from_record("gw", ["10.0.0.5"], {**GOOD, "path": "/mup", "zzz": None})
    assert isinstance(extra, DiscoveredGateway)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"txtvers": "2"}, "txtvers"),
        ({"dcap": None}, "dcap"),
        ({"dcap": "dcap"}, "dcap"),
        ({"dcap": "//evil/dcap"}, "dcap"),
        ({"level": ""}, "level"),
        ({"level": "-S2"}, "level"),
        ({"https": "port"}, "https"),
        ({"https": "70000"}, "https"),
    ],
)
def test_records_that_are_skipped(change: dict[str, str | None], why: str) -> None:
    txt = {**GOOD, **change}
    result = gateway_from_record("gw", ["10.0.0.5"], txt)
    assert isinstance(result, str) and why in result


def test_plain_http_or_no_address_is_skipped() -> None:
    txt = {k: v for k, v in GOOD.items() if k != "https"}
    assert "TLS" in str(gateway_from_record("gw", ["10.0.0.5"], txt))
    assert "address" in str(gateway_from_record("gw", ["fe80::1", "bogus"], GOOD))


async def _advertise(
    name: str, port: int, txt: dict[str, str]
) -> tuple[AsyncZeroconf, AsyncServiceInfo]:
    zc = AsyncZeroconf(ip_version=IPVersion.V4Only)
    info = AsyncServiceInfo(
        SERVICE_TYPE,
        f"{name}.{SERVICE_TYPE}",
        addresses=[socket.inet_aton("127.0.0.1")],
        port=port,
        properties=txt,
        server=f"{name}.local.",
    )
    await zc.async_register_service(info)
    return zc, info


async def test_browse_finds_our_instance_among_others() -> None:
    ours, other = f"gm-test-{uuid.uuid4().hex[:8]}", f"gm-other-{uuid.uuid4().hex[:8]}"
    ads = [
        await _advertise(other, 9999, {**GOOD, "https": "9999"}),
        await _advertise(ours, 4443, {**GOOD, "https": "4443"}),
    ]
    try:
        found = await discover(5.0, instance=ours, site=False)  # .local only, as below
        assert found.instance == ours
        assert found.dcap_url == "https://127.0.0.1:4443/dcap"
        with pytest.raises(DiscoveryError, match="no usable instance"):
            await discover(1.0, instance=f"gm-absent-{uuid.uuid4().hex[:8]}", site=False)
    finally:
        for zc, info in ads:
            await zc.async_unregister_service(info)
            await zc.async_close()


async def test_browse_explains_why_nothing_was_usable() -> None:
    name = f"gm-s2-{uuid.uuid4().hex[:8]}"
    zc, info = await _advertise(name, 4444, {**GOOD, "level": "-S2"})
    try:
        with pytest.raises(DiscoveryError, match="level") as err:
            await discover(2.0, instance=name, site=False)
        assert "meters.server_url" in str(err.value)
    finally:
        await zc.async_unregister_service(info)
        await zc.async_close()
