"""kill -9 of a real worker process: after a restart everything converges, once.

The worker runs as ``gridmirror chain worker`` (or, to die at an exact point, as
tests/oracle/crashing_worker.py built the same way) on the embedded chain and SQLite in a
data directory; SIGKILL leaves its transactions unresolved and its rows in flight. A new
worker resolves them by signature (or re-sends the same bytes) and drains the rest: every
reading confirmed, each in exactly one landed transaction, the chain's registers equal
to the database's, no duplicate on chain.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlmodel import Session, func, select

from gateway.db import open_database
from gridmirror.cli import cli
from gridmirror.config import load_settings
from oracle.chain import open_chain
from oracle.outbox import OutboxEntry
from oracle.records import ChainTx
from tests.oracle.harness import Fleet, check_converged, open_bridge

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
METERS, STEPS = 25, 40


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """An initialized oracle and 1,000 readings in the outbox."""
    data = tmp_path / "data"
    result = CliRunner().invoke(cli, ["--data-dir", str(data), "chain", "init"])
    assert result.exit_code == 0, result.output
    database = open_database(f"sqlite:///{data / 'gridmirror.db'}")
    database.ensure_schema()
    Fleet(METERS).post(database.write, int(time.time()) - STEPS * 15 - 60, STEPS)
    database.dispose()
    return data


def count(data: Path, state: str) -> int:
    database = open_database(f"sqlite:///{data / 'gridmirror.db'}")
    try:
        with Session(database.write) as session:
            return int(
                session.exec(
                    select(func.count()).select_from(OutboxEntry).where(OutboxEntry.state == state)
                ).one()
            )
    finally:
        database.dispose()


def worker(data: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "gridmirror", "--data-dir", str(data), "chain", "worker", *extra]


def restart_and_check(data: Path) -> None:
    done = subprocess.run(worker(data, "--drain"), capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert f"{count(data, 'confirmed')} readings" not in done.stderr
    assert count(data, "confirmed") == METERS * STEPS

    async def converged() -> None:
        settings = load_settings(data_dir=data)
        database = open_database(f"sqlite:///{data / 'gridmirror.db'}")
        chain = open_chain(settings.chain)
        try:
            bridge = await open_bridge(database.write, chain, settings.chain, init=False)
            states = await check_converged(bridge)
            assert states == {"confirmed": METERS * STEPS}
        finally:
            await chain.close()
            database.dispose()

    asyncio.run(converged())


@pytest.mark.parametrize("when", ["after-send", "before-send"])
def test_killed_at_a_send_converges_after_restart(data: Path, when: str) -> None:
    crashed = subprocess.run(
        [sys.executable, "-m", "tests.oracle.crashing_worker", str(data), when, "10"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    assert count(data, "in_flight") > 0  # the second round, unresolved
    assert 0 < count(data, "confirmed") < METERS * STEPS
    restart_and_check(data)
    database = open_database(f"sqlite:///{data / 'gridmirror.db'}")
    with Session(database.write) as session:
        states = [t.state for t in session.exec(select(ChainTx).order_by(ChainTx.id))]
    database.dispose()
    # the batch the crash left behind was resolved, not rebuilt: every stored one landed
    assert set(states) == {"landed"}


def test_killed_at_a_random_moment_converges_after_restart(data: Path) -> None:
    proc = subprocess.Popen(worker(data), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while count(data, "confirmed") < 200:
            assert proc.poll() is None, proc.stderr.read()  # type: ignore[union-attr]
            assert time.monotonic() < deadline
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert count(data, "confirmed") < METERS * STEPS
    restart_and_check(data)
