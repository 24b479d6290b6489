"""A refused TLS handshake is told to the client (the alert), logged once, and bounded.

``openssl s_client`` is the judge: it prints the alert it read. Before gateway.handshake,
asyncio closed the connection without the alert and s_client saw only an EOF.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import time
from pathlib import Path

import pytest

from certs.foreign import foreign_pki
from certs.pki import Pki
from gateway.launch import Gateway
from tests.certs.seeding import HW_TYPE, PKI_TIME
from tests.conftest import require
from tests.gateway.conftest import METERS, StartGateway


@pytest.fixture(scope="module")
def openssl() -> str:
    path = shutil.which("openssl")
    require(path is not None, "the openssl command is not installed")
    assert path is not None
    return path


@pytest.fixture(scope="module")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return foreign_pki(tmp_path_factory.mktemp("foreign"), hw_type=HW_TYPE, at=PKI_TIME).pki


async def s_client(openssl: str, gateway: Gateway, *args: str) -> str:
    """Run openssl s_client against the gateway; everything it printed."""
    process = await asyncio.create_subprocess_exec(
        openssl,
        "s_client",
        "-connect",
        f"127.0.0.1:{gateway.port}",
        "-tls1_2",
        "-CAfile",
        str(gateway.pki.serca),
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(b""), 20)
    return out.decode(errors="replace")


def identity(pki: Pki, serial: str) -> tuple[str, ...]:
    device = pki.device(serial)
    return ("-cert", str(device.cert), "-key", str(device.key), "-cert_chain", str(device.chain))


CCM8 = ("-cipher", "ECDHE-ECDSA-AES128-CCM8")


@pytest.mark.parametrize(
    ("case", "alert", "reason"),
    [
        ("no certificate", "alert handshake failure", "no client certificate"),
        ("foreign CA", "alert unknown ca", "client certificate not trusted"),
        ("no shared cipher", "alert handshake failure", "no shared cipher suite"),
    ],
)
async def test_a_refused_handshake_sends_the_alert_and_logs_the_reason_once(
    start_sqlite_gateway: StartGateway,
    pki: Pki,
    foreign: Pki,
    openssl: str,
    caplog: pytest.LogCaptureFixture,
    case: str,
    alert: str,
    reason: str,
) -> None:
    if case == "no certificate":
        args = CCM8
    elif case == "foreign CA":
        args = (*CCM8, *identity(foreign, "GM-FOREIGN-01"))
    else:
        args = ("-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256", *identity(pki, METERS[0]))
    async with start_sqlite_gateway() as gateway:
        with caplog.at_level(logging.INFO, logger="gateway.handshake"):
            out = await s_client(openssl, gateway, *args)
            await asyncio.sleep(0.2)
    assert alert in out, out
    refusals = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == 1, [r.getMessage() for r in refusals]
    assert reason in refusals[0].getMessage()
    assert "127.0.0.1:" in refusals[0].getMessage()


async def test_a_good_meter_still_completes_the_handshake(
    start_sqlite_gateway: StartGateway, pki: Pki, openssl: str
) -> None:
    async with start_sqlite_gateway() as gateway:
        out = await s_client(openssl, gateway, *CCM8, *identity(pki, METERS[0]))
    assert "Cipher    : ECDHE-ECDSA-AES128-CCM8" in out, out
    assert "alert" not in out


async def test_a_handshake_never_finished_is_closed_on_time(
    start_sqlite_gateway: StartGateway, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    async with start_sqlite_gateway(handshake_timeout_s=0.5) as gateway:
        with caplog.at_level(logging.INFO, logger="gateway.handshake"):
            loop = asyncio.get_running_loop()
            sock = socket.create_connection(("127.0.0.1", gateway.port))
            sock.setblocking(False)
            started = time.monotonic()
            data = await asyncio.wait_for(loop.sock_recv(sock, 1024), 5)
            waited = time.monotonic() - started
            sock.close()
    assert data == b"" and 0.4 <= waited < 3, waited
    assert any("not finished within 0.5 s" in r.getMessage() for r in caplog.records)
