"""``gridmirror demo`` end to end, as a user runs it: real processes, real TLS, the real
embedded chain; then the database and the chain must agree."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from gateway.db import open_database
from gridmirror.showcase.ledger import read_ledger
from oracle.chain import open_chain
from oracle.settings import ChainSettings
from tests.oracle.harness import check_converged, check_settlements, open_bridge

pytestmark = pytest.mark.timeout(240)

DEMO = ["demo", "--meters", "5", "--port", "0", "--api-port", "0", "--no-mdns"]


def demo(data: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the demo in a process of its own, its stdout a pipe (plain status lines)."""
    return subprocess.run(
        [sys.executable, "-m", "gridmirror", "--data-dir", str(data), *DEMO, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def confirmed_in(output: str) -> int:
    """The summary's count of register pairs confirmed on chain."""
    found = re.search(r"confirmed on chain: (\d+)", output)
    assert found, output
    return int(found.group(1))


async def agree(data: Path) -> dict[str, int]:
    """Drain what is left in the outbox, then: on-chain registers equal the database's,
    every proof verifies, and minted tokens equal each settlement's positive net export."""
    drained = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "gridmirror", "--data-dir", str(data), "chain", "worker", "--drain"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert drained.returncode == 0, drained.stdout + drained.stderr
    database = open_database(f"sqlite:///{data / 'gridmirror.db'}")
    settings = ChainSettings(state_dir=data / "chain")
    chain = open_chain(settings)
    try:
        bridge = await open_bridge(database.write, chain, settings, init=False)
        states = await check_converged(bridge)
        await check_settlements(bridge)
        return states
    finally:
        await chain.close()
        database.dispose()


async def test_the_demo_runs_and_a_second_run_continues(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = await asyncio.to_thread(demo, data, "--duration", "20")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Traceback" not in first.stderr
    assert "PKI: made" in first.stdout and "deployed now" in first.stdout
    assert re.search(r"replaying 24\.00 h at 400x", first.stdout)
    assert re.search(r"^demo \d+s \| .* meters \d/5 online", first.stdout, re.M)  # status lines
    api = re.search(r"^API +(http://127\.0\.0\.1:\d+)/api/v1$", first.stdout, re.M)
    assert api and f"dashboard  {api.group(1)}/dashboard" in first.stdout
    confirmed = confirmed_in(first.stdout)
    assert confirmed > 0
    states = await agree(data)
    assert states["confirmed"] >= confirmed

    second = await asyncio.to_thread(demo, data, "--duration", "8")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "PKI: made" not in second.stdout and "deployed now" not in second.stdout
    assert "5 meters ready (0 registered now)" in second.stdout
    # the meters carry on from their saved state: a shorter replay, then more on chain
    hours = float(re.search(r"replaying ([\d.]+) h", second.stdout).group(1))  # type: ignore[union-attr]
    assert hours < 24
    assert confirmed_in(second.stdout) > states["confirmed"]
    await agree(data)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def meters_over_rest(data: Path, api_port: int) -> set[str]:
    """The meters the running demo's REST API lists, with a viewer token from the CLI."""
    token = subprocess.run(
        [sys.executable, "-m", "gridmirror", "--data-dir", str(data), "auth", "token",
         "--role", "viewer", "--subject", "demo-test"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    answer = httpx.get(
        f"http://127.0.0.1:{api_port}/api/v1/meters",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return {m["meter_id"] for m in answer.json()["items"]}


async def test_ctrl_c_stops_everything_cleanly(tmp_path: Path) -> None:
    data = tmp_path / "data"
    api_port = free_port()
    args = [*DEMO[: DEMO.index("--api-port")], "--api-port", str(api_port), "--no-mdns"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "gridmirror", "--data-dir", str(data), *args, "--duration", "120"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    database = None
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "nothing was confirmed"
            if (data / "gridmirror.db").is_file():
                database = database or open_database(f"sqlite:///{data / 'gridmirror.db'}")
                try:
                    if read_ledger(database.read).confirmed > 0:
                        break
                except Exception:  # the tables may not be there yet
                    pass
            await asyncio.sleep(0.5)
        # the REST API is served beside the 2030.5 resources, and knows the demo's meters
        listed = await asyncio.to_thread(meters_over_rest, data, api_port)
        assert len(listed) == 5
        proc.send_signal(signal.SIGINT)
        out, err = await asyncio.to_thread(proc.communicate, timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        if database is not None:
            database.dispose()
    assert proc.returncode == 0, out + err
    assert "Traceback" not in err and "Traceback" not in out
    assert "demo stopped after" in out and confirmed_in(out) > 0
    await agree(data)

    # the same data directory, the 2030.5 port taken: one line, and not 0
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        taken = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "gridmirror", "--data-dir", str(data), *DEMO,
             "--port", str(port), "--duration", "5"],
            capture_output=True, text=True, timeout=60,
            env=dict(os.environ),
        )  # fmt: skip
    assert taken.returncode != 0
    assert taken.stderr.strip().splitlines() == [
        f"Error: cannot listen on 127.0.0.1:{port}: Address already in use"
    ]
