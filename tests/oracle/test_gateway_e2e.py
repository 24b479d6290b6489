"""End to end: a meter posts over mutual TLS, the gateway stores, the bridge in the
gateway's lifespan puts it on the embedded chain, and every reading verifies."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from sqlmodel import Session, func, select

from certs.pki import Pki, default_serials, init_pki
from certs.settings import PkiSettings
from certs.tls import client_context
from gateway.db import open_database
from gateway.launch import Gateway
from gateway.settings import GatewaySettings
from gridmirror.cli import cli
from oracle.bridge import bridge_lifespan
from oracle.chain import open_chain
from oracle.chain.served import SERVED_FILE
from oracle.deployment import init_oracle
from oracle.outbox import OutboxEntry
from oracle.program import OracleProgram
from oracle.verify import verify_reading
from schemas import official_xsd_bytes
from sep2 import Codec, Schema, Sep2Settings
from tests.certs.seeding import HW_TYPE, PKI_TIME
from tests.gateway.conftest import (
    client,
    gateway_process_env,
    post,
    readings,
    register,
    site_mup,
)
from tests.oracle.harness import bridge_settings, check_converged, open_bridge

pytestmark = pytest.mark.timeout(180)
STEPS = 12


def confirmed(url: str) -> int:
    database = open_database(url)
    try:
        with Session(database.read) as session:
            return int(
                session.exec(
                    select(func.count())
                    .select_from(OutboxEntry)
                    .where(OutboxEntry.state == "confirmed")
                ).one()
            )
    finally:
        database.dispose()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """Two meters' certificates."""
    return init_pki(
        tmp_path_factory.mktemp("e2epki"), default_serials(2), hw_type=HW_TYPE, at=PKI_TIME
    ).pki


@pytest.fixture(scope="module")
def codec() -> Codec:
    return Codec(Schema.from_bytes(official_xsd_bytes()), Sep2Settings())


async def test_meter_to_chain_through_the_gateway(pki: Pki, codec: Codec, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    chain_settings = bridge_settings(tmp_path, clearing=False)
    chain = open_chain(chain_settings)  # the embedded chain on disk, on the wall clock
    await init_oracle(chain, chain_settings)
    await chain.close()  # one process, one opener: the gateway's bridge opens it next

    gateway = Gateway(
        GatewaySettings(
            host="127.0.0.1",
            port=0,
            api_enabled=False,
            database_url=url,
            mdns=False,
            sqlite_synchronous="normal",
        ),
        Sep2Settings(),
        pki,
        PkiSettings(),
        codec=codec,
        lifespans=[
            bridge_lifespan(
                chain_settings,
                None,
                lambda app: (app.state.runtime.database.write, app.state.runtime.database.read),
            )
        ],
    )
    await gateway.start()
    start = int(time.time()) - STEPS * 15 - 30
    try:
        for serial in default_serials(2):
            meter = pki.device(serial)
            async with client(gateway, serial) as c:
                await register(c, pki, serial, codec)
                location = (await post(c, "/mup", site_mup(meter.lfdi), codec)).headers["location"]
                for i in range(STEPS):
                    answer = await post(
                        c,
                        location,
                        readings(meter.lfdi, start + 15 * i, 1000 + 7 * i, 50 + 3 * i),
                        codec,
                    )
                    assert answer.status_code == 201
        deadline = time.monotonic() + 60
        while confirmed(url) < 2 * STEPS:
            assert time.monotonic() < deadline, "the bridge did not confirm the readings"
            await asyncio.sleep(0.1)
    finally:
        await gateway.stop()

    # the chain agrees with the gateway's database, and each reading proves
    database = open_database(url)
    chain = open_chain(chain_settings)
    try:
        bridge = await open_bridge(database.write, chain, chain_settings, init=False)
        assert await check_converged(bridge) == {"confirmed": 2 * STEPS}
        with Session(database.read) as session:
            ids = [r.id for r in session.exec(select(OutboxEntry))]
        for row_id in ids:
            verdict = await verify_reading(database.read, chain, OracleProgram(), str(row_id))
            assert verdict.ok, verdict.reason
    finally:
        await chain.close()
        database.dispose()


async def test_the_gateway_serves_while_the_oracle_is_not_set_up(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = open_database(f"sqlite:///{tmp_path / 'g.db'}")
    database.ensure_schema()
    settings = bridge_settings(tmp_path, backoff_base_s=0.01, backoff_cap_s=0.02)
    lifespan = bridge_lifespan(settings, None, lambda app: (database.write, database.read))
    with caplog.at_level("DEBUG", logger="oracle.bridge"):
        async with lifespan(object()):
            await asyncio.sleep(0.3)  # the bridge keeps trying; nothing escapes
    tries = [r for r in caplog.records if r.getMessage() == "bridge not running"]
    assert len(tries) >= 2
    assert [r.levelname for r in tries][:2] == ["WARNING", "DEBUG"]  # said once
    database.dispose()


@pytest.mark.slow
async def test_gridmirror_gateway_runs_the_bridge_in_its_process(
    pki: Pki, codec: Codec, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    shutil.copytree(pki.dir, data / "pki")
    init = await asyncio.to_thread(
        CliRunner().invoke, cli, ["--data-dir", str(data), "chain", "init"]
    )
    assert init.exit_code == 0, init.output
    # both of the PKI's meters, before either has connected
    assert (
        "2 in the PKI index" in init.output and "meters: 2 ready (2 registered now)" in init.output
    )
    env = gateway_process_env()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gridmirror", "--data-dir", str(data), "gateway"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "gridmirror gateway: https://" in line, proc.stderr.read()  # type: ignore[union-attr]
        url = line.split()[2].removesuffix("/dcap").rstrip(",")
        serial = default_serials(1)[0]
        device = pki.device(serial)
        start = int(time.time()) - 300
        async with httpx.AsyncClient(
            base_url=url, verify=client_context(device.chain, device.key, pki.serca), timeout=20
        ) as c:
            await register(c, pki, serial, codec)
            location = (await post(c, "/mup", site_mup(device.lfdi), codec)).headers["location"]
            for i in range(6):
                body = readings(device.lfdi, start + 15 * i, 500 + i, 20 + i)
                assert (await post(c, location, body, codec)).status_code == 201
        db_url = f"sqlite:///{data / 'gridmirror.db'}"
        deadline = time.monotonic() + 60
        while confirmed(db_url) < 6:
            assert proc.poll() is None and time.monotonic() < deadline
            await asyncio.sleep(0.1)
        # The CLI beside the running gateway, each command its own process: the gateway
        # holds the embedded chain and serves it, and the commands find it.
        served = json.loads((data / "chain" / SERVED_FILE).read_text())
        assert served["pid"] == proc.pid and served["url"].startswith("http://127.0.0.1:")
        beside = {
            name: await asyncio.to_thread(gridmirror, data, *args)
            for name, args in {
                "verify": ["verify", f"{device.lfdi}@{start}"],
                "status": ["chain", "status"],
                "reconcile": ["chain", "reconcile"],
                "init": ["chain", "init"],
            }.items()
        }
        for name, done in beside.items():
            assert "in use by pid" not in done.stderr, (name, done.stderr)
        assert beside["verify"].returncode == 0, beside["verify"].stderr
        assert "yes: accepted" in beside["verify"].stdout
        assert "pending 0" in beside["status"].stdout
        assert "confirmed 6" in beside["status"].stdout
        assert beside["reconcile"].returncode == 0, beside["reconcile"].stdout
        assert "reconciled: 2 meters" in beside["reconcile"].stdout
        assert beside["init"].returncode == 0, beside["init"].stderr
        assert f"chain: {served['url']}" in beside["init"].stdout
        assert "meters: 2 ready (0 registered now)" in beside["init"].stdout
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0 and out.strip().endswith("gridmirror gateway: stopped")
    assert not (data / "chain" / SERVED_FILE).exists()  # withdrawn at a clean stop
    verdict = await asyncio.to_thread(
        CliRunner().invoke, cli, ["--data-dir", str(data), "verify", f"{device.lfdi}@{start}"]
    )
    assert verdict.exit_code == 0 and "yes: accepted" in verdict.output


def gridmirror(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """One ``gridmirror`` command in its own process, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "gridmirror", "--data-dir", str(data), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=gateway_process_env(),
    )
