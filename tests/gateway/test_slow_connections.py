"""Slow and surplus connections are closed or refused on time; a good meter is served.

Before gateway.connections, each of the slow connections here stayed open for as long as
the peer liked (uvicorn bounds only keep-alive idleness), and no cap refused any.
"""

from __future__ import annotations

import asyncio
import ssl
import time

import pytest

from certs.pki import Pki
from certs.tls import client_context
from gateway.connections import ConnectionCount, ConnectionLimits
from gateway.launch import Gateway
from tests.gateway.conftest import METERS, StartGateway, client


def meter_tls(pki: Pki, serial: str = METERS[0]) -> ssl.SSLContext:
    device = pki.device(serial)
    return client_context(device.chain, device.key, pki.serca, check_hostname=False)


async def open_tls(gateway: Gateway) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", gateway.port, ssl=meter_tls(gateway.pki))


async def closed_after(reader: asyncio.StreamReader, limit: float) -> float:
    """Seconds until the gateway closes the connection (fails after ``limit``)."""
    started = time.monotonic()
    while True:
        data = await asyncio.wait_for(reader.read(4096), limit)
        if not data:
            return time.monotonic() - started


SLOW = {
    "headers never finished": b"GET /dcap HTTP/1.1\r\nHost: gw\r\nAccept: application/sep+xml\r\n",
    "a body shorter than its length": (
        b"POST /mup HTTP/1.1\r\nHost: gw\r\nContent-Type: application/sep+xml\r\n"
        b"Content-Length: 1000\r\n\r\n<MirrorUsagePoint"
    ),
    "a chunked body without its end": (
        b"POST /mup HTTP/1.1\r\nHost: gw\r\nContent-Type: application/sep+xml\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n5\r\n<Mirr\r\n"
    ),
}


@pytest.mark.parametrize("case", list(SLOW))
async def test_a_slow_connection_is_closed_on_time_while_a_good_meter_is_served(
    start_sqlite_gateway: StartGateway, case: str
) -> None:
    async with start_sqlite_gateway(header_timeout_s=0.6, body_timeout_s=0.6) as gateway:
        reader, writer = await open_tls(gateway)
        writer.write(SLOW[case])
        await writer.drain()
        started = time.monotonic()
        async with client(gateway, METERS[1]) as good:
            answer = await good.get("/dcap")
        assert answer.status_code == 200
        waited = await closed_after(reader, 5)
        writer.close()
    assert time.monotonic() - started < 4 and waited >= 0.3, waited


async def test_a_connection_that_sends_nothing_after_the_handshake_is_closed(
    start_sqlite_gateway: StartGateway,
) -> None:
    async with start_sqlite_gateway(header_timeout_s=0.6) as gateway:
        reader, writer = await open_tls(gateway)
        waited = await closed_after(reader, 5)
        writer.close()
    assert 0.4 <= waited < 4


async def test_keep_alive_requests_are_not_cut_by_the_header_timeout(
    start_sqlite_gateway: StartGateway,
) -> None:
    async with (
        start_sqlite_gateway(header_timeout_s=0.5) as gateway,
        client(gateway, METERS[0]) as meter,
    ):
        for _ in range(3):
            assert (await meter.get("/dcap")).status_code == 200
            await asyncio.sleep(0.3)  # idle between requests is keep-alive's business


async def test_connections_over_the_cap_per_peer_are_refused_with_503(
    start_sqlite_gateway: StartGateway,
) -> None:
    async with start_sqlite_gateway(max_connections_per_peer=2) as gateway:
        held = [await open_tls(gateway) for _ in range(2)]
        reader, writer = await open_tls(gateway)
        writer.write(b"GET /dcap HTTP/1.1\r\nHost: gw\r\n\r\n")
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(4096), 5)
        assert answer.startswith(b"HTTP/1.1 503"), answer
        assert b"x-problem: too many connections: 127.0.0.1 holds its maximum of 2" in answer
        assert b"retry-after: 30" in answer
        writer.close()
        for _, w in held:
            w.close()
        await asyncio.sleep(0.3)
        async with client(gateway, METERS[1]) as good:  # the slots came back
            assert (await good.get("/dcap")).status_code == 200


async def test_connections_over_the_overall_cap_are_refused(
    start_sqlite_gateway: StartGateway,
) -> None:
    async with start_sqlite_gateway(max_connections=1) as gateway:
        _, first = await open_tls(gateway)
        async with client(gateway, METERS[1]) as other:
            answer = await other.get("/dcap")
        assert answer.status_code == 503
        assert "maximum of 1 connections" in answer.headers["X-Problem"]
        first.close()


async def test_memory_is_given_back_after_a_storm() -> None:
    count = ConnectionCount(ConnectionLimits(max_connections=0, max_connections_per_peer=0))
    for i in range(400):
        assert count.admit(f"10.0.{i // 250}.{i % 250}") is None
    assert count.open == count.peak == 400
    for i in range(299):
        count.release(f"10.0.{i // 250}.{i % 250}")
    assert count.trims == 0
    count.release("10.0.1.49")  # 100 left: a quarter of the peak
    assert count.trims == 1 and count.peak == 100 and count.open == 100
    await asyncio.sleep(0)  # the trim itself runs on the loop
