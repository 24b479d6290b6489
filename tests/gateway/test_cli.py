"""``gridmirror gateway``: out-of-band registration, one-line errors, and the real process:
SIGTERM drains and exits 0, kill -9 loses nothing that was acknowledged."""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text

from certs.pki import Pki
from certs.tls import client_context
from gateway.db import open_database
from gridmirror.cli import cli
from sep2 import Codec, EndDevice
from tests.gateway.conftest import METERS, SEP2_HEADERS, gateway_process_env, readings, site_mup

NOW = int(time.time()) // 60 * 60 - 3600


def run(data: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--data-dir", str(data), *args])


def one_line_error(result: Result) -> str:
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


@pytest.fixture
def data(tmp_path: Path, pki: Pki) -> Path:
    """A data directory holding (a copy of) the test PKI."""
    shutil.copytree(pki.dir, tmp_path / "data" / "pki")
    return tmp_path / "data"


def db_rows(data: Path, sql: str) -> list[tuple[object, ...]]:
    db = open_database(f"sqlite:///{data / 'gridmirror.db'}")
    try:
        db.ensure_schema()
        with db.read_session() as session:
            return [tuple(r) for r in session.execute(text(sql))]
    finally:
        db.dispose()


def test_register_unregister_and_delete_mirrors(data: Path, pki: Pki) -> None:
    device = pki.device(METERS[0])
    made = run(data, "gateway", "register-device", "--cert", str(device.cert), "--pin", "123455")
    assert made.exit_code == 0, made.output
    assert f"LFDI {device.lfdi}" in made.output and "PIN 123455" in made.output
    again = run(data, "gateway", "register-device", "--lfdi", device.lfdi.lower(), "--pin", "7")
    assert (
        again.exit_code == 0 and again.output.startswith("updated") and "PIN 000007" in again.output
    )
    assert db_rows(data, "SELECT lfdi, pin, via FROM end_device") == [
        (device.lfdi, 7, "out-of-band")
    ]
    assert (
        "deleted 0 mirror(s)"
        in run(data, "gateway", "delete-mirrors", "--lfdi", device.lfdi).output
    )
    gone = run(data, "gateway", "unregister-device", "--lfdi", device.lfdi)
    assert gone.exit_code == 0 and "unregistered" in gone.output
    assert db_rows(data, "SELECT count(*) FROM end_device") == [(0,)]
    assert (
        "not registered" in run(data, "gateway", "unregister-device", "--lfdi", device.lfdi).output
    )


def test_set_post_rate_says_what_it_changed(data: Path, pki: Pki, database_url: str) -> None:
    def gateway(*args: str) -> Result:
        env = {"GRIDMIRROR_GATEWAY__DATABASE_URL": database_url}
        return CliRunner().invoke(cli, ["--data-dir", str(data), "gateway", *args], env=env)

    lfdi = pki.device(METERS[0]).lfdi
    refused = one_line_error(gateway("set-post-rate", "--lfdi", lfdi, "--seconds", "30"))
    assert f"{lfdi} is not registered" in refused and "register-device" in refused
    assert gateway("register-device", "--lfdi", lfdi).exit_code == 0
    given = gateway("set-post-rate", "--lfdi", lfdi, "--seconds", "30")
    assert given.output.splitlines() == [
        f"EndDevice /edev/1 (LFDI {lfdi}): postRate 30 s (was the server's, 15 s); "
        "it has no mirrors yet; new mirrors of it will show 30 s"
    ]
    reset = gateway("set-post-rate", "--lfdi", lfdi, "--reset")
    assert reset.output.splitlines() == [
        f"EndDevice /edev/1 (LFDI {lfdi}): the server's postRate, 15 s (was 30 s, its own); "
        "it has no mirrors yet; new mirrors of it will show 15 s"
    ]
    every = gateway("set-post-rate", "--seconds", "20")
    assert every.output.splitlines() == [
        "1 EndDevice(s) now show postRate 20 s; there are no mirrors; "
        "devices registered later get the server's (15 s)"
    ]


def test_one_line_errors(tmp_path: Path, data: Path) -> None:
    assert "certs init" in one_line_error(run(tmp_path / "empty", "gateway", "--no-mdns"))
    assert "40 hex" in one_line_error(run(data, "gateway", "register-device", "--lfdi", "abc"))
    assert "exactly one" in one_line_error(run(data, "gateway", "register-device"))
    assert "exactly one" in one_line_error(run(data, "gateway", "set-post-rate"))
    not_a_cert = tmp_path / "x.pem"
    not_a_cert.write_text("hello")
    assert one_line_error(run(data, "gateway", "register-device", "--cert", str(not_a_cert)))


# --- the real process ---------------------------------------------------------------------


class Process:
    def __init__(self, data: Path) -> None:
        env = gateway_process_env()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gridmirror", "--data-dir", str(data), "gateway"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert "gridmirror gateway: https://" in line, line + (
            self.proc.stderr.read() if self.proc.stderr else ""
        )
        self.url = line.split()[2].removesuffix("/dcap").rstrip(",")

    def finish(self, sig: int) -> tuple[int, str]:
        self.proc.send_signal(sig)
        out, _ = self.proc.communicate(timeout=60)
        return self.proc.returncode, out


@pytest.fixture
def process(data: Path) -> Iterator[Process]:
    started = Process(data)
    yield started
    if started.proc.poll() is None:
        started.proc.kill()
        started.proc.wait()


def meter_client(pki: Pki, url: str, serial: str) -> httpx.AsyncClient:
    device = pki.device(serial)
    return httpx.AsyncClient(
        base_url=url, verify=client_context(device.chain, device.key, pki.serca), timeout=20
    )


async def set_up_mirror(c: httpx.AsyncClient, pki: Pki, serial: str, codec: Codec) -> str:
    device = pki.device(serial)
    registered = await c.post(
        "/edev",
        content=codec.serialise(EndDevice(sfdi=device.sfdi, changed_time=0)),
        headers=SEP2_HEADERS,
    )
    assert registered.status_code == 201
    created = await c.post(
        "/mup", content=codec.serialise(site_mup(device.lfdi)), headers=SEP2_HEADERS
    )
    assert created.status_code == 201
    return created.headers["location"]


@pytest.mark.slow
async def test_sigterm_drains_and_exits_cleanly(
    process: Process, data: Path, pki: Pki, codec: Codec
) -> None:
    acknowledged: list[tuple[str, int]] = []
    stop_sent = asyncio.Event()

    async def meter(serial: str) -> None:
        lfdi = pki.device(serial).lfdi
        async with meter_client(pki, process.url, serial) as c:
            location = await set_up_mirror(c, pki, serial, codec)
            for k in range(10_000):
                body = codec.serialise(readings(lfdi, NOW + 15 * k, 1000 + k, k))
                try:
                    answer = await c.post(location, content=body, headers=SEP2_HEADERS)
                except httpx.HTTPError:
                    assert stop_sent.is_set()  # only once the server is going away
                    return
                if answer.status_code != 201:
                    assert stop_sent.is_set() and answer.status_code >= 500, answer.status_code
                    return
                acknowledged.append((lfdi, NOW + 15 * k))

    tasks = [asyncio.create_task(meter(s)) for s in METERS]
    while len(acknowledged) < 60:
        await asyncio.sleep(0.05)
    stop_sent.set()
    code, out = await asyncio.to_thread(process.finish, signal.SIGTERM)
    await asyncio.gather(*tasks)
    assert code == 0 and out.strip().endswith("gridmirror gateway: stopped")
    stored = set(db_rows(data, "SELECT lfdi, timestamp FROM outbox"))
    assert set(acknowledged) <= stored


@pytest.mark.slow
async def test_kill_9_loses_nothing_acknowledged(
    process: Process, data: Path, pki: Pki, codec: Codec
) -> None:
    serial = METERS[1]
    lfdi = pki.device(serial).lfdi
    async with meter_client(pki, process.url, serial) as c:
        location = await set_up_mirror(c, pki, serial, codec)
        for k in range(40):
            body = codec.serialise(readings(lfdi, NOW + 15 * k, 10 * k, k, power=k))
            assert (await c.post(location, content=body, headers=SEP2_HEADERS)).status_code == 201
    code, _ = await asyncio.to_thread(process.finish, signal.SIGKILL)
    assert code == -signal.SIGKILL
    assert db_rows(data, "SELECT count(*) FROM reading") == [(120,)]
    assert db_rows(data, "SELECT count(*), sum(import_wh) FROM outbox") == [
        (40, sum(10 * k for k in range(40)))
    ]
