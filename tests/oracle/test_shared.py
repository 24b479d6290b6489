"""Two worker processes on one PostgreSQL, one chain served over JSON-RPC, and the chain's
server killed and restarted under them: every reading confirmed exactly once.

``gridmirror chain serve`` owns the embedded chain (the program deployed with
``--program``); ``chain init`` and two ``chain worker --drain`` processes reach it with
``chain.backend = "rpc"``. Each worker holds a few meters at a time, so both have work.
While they run, the server is killed with SIGKILL and started again on the same port: the
workers back off, resolve what they had in flight by signature, and finish.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy
from click.testing import CliRunner
from sqlmodel import Session, func, select

from anchor.abi import PROGRAM_ID
from anchor.artifacts import PROGRAM_SO
from gateway.db import open_database
from gridmirror.cli import cli
from gridmirror.config import load_settings
from oracle.outbox import OutboxEntry
from oracle.records import ChainTx
from tests.conftest import PG_URL, _postgres_reachable, require
from tests.oracle.harness import Fleet, check_converged, open_bridge

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(400)]
METERS, STEPS = 30, 30


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL schema, as a URL."""
    require(_postgres_reachable(), f"PostgreSQL at {PG_URL}")
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = sqlalchemy.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sqlalchemy.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(sqlalchemy.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Serve:
    """``gridmirror chain serve`` with the Oracle deployed, on a fixed port."""

    def __init__(self, data: Path, port: int) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gridmirror",
                "--data-dir",
                str(data),
                "chain",
                "serve",
                "--port",
                str(port),
                "--program",
                f"{PROGRAM_ID}={PROGRAM_SO}",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if "listening on" in line:
                return
        raise AssertionError(f"serve did not start: {self.proc.stderr.read()}")  # type: ignore[union-attr]

    def kill(self, sig: int = signal.SIGKILL) -> None:
        self.proc.send_signal(sig)
        self.proc.wait(timeout=20)


def confirmed(engine: sqlalchemy.Engine) -> int:
    with Session(engine) as s:
        return int(
            s.exec(
                select(func.count())
                .select_from(OutboxEntry)
                .where(OutboxEntry.state == "confirmed")
            ).one()
        )


def test_two_workers_one_postgres_chain_restarted_under_them(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    port = free_port()
    env = {
        "GRIDMIRROR_GATEWAY__DATABASE_URL": pg_url,
        "GRIDMIRROR_CHAIN__BACKEND": "rpc",
        "GRIDMIRROR_CHAIN__RPC_URL": f"http://127.0.0.1:{port}",
        "GRIDMIRROR_CHAIN__KEYS_DIR": str(data / "keys"),
        "GRIDMIRROR_CHAIN__POLL_INTERVAL": "0.05",
        "GRIDMIRROR_CHAIN__RPC_TIMEOUT": "3",
        "GRIDMIRROR_CHAIN__CONFIRM_TIMEOUT": "5",
        "GRIDMIRROR_CHAIN__CLAIM_METERS": "6",
        "GRIDMIRROR_CHAIN__CONCURRENT_BATCHES": "2",
        "GRIDMIRROR_CHAIN__BACKOFF_CAP_S": "1",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    servers = [Serve(data, port)]
    workers: list[subprocess.Popen[str]] = []
    try:
        init = CliRunner().invoke(cli, ["--data-dir", str(data), "chain", "init"])
        assert init.exit_code == 0, init.output
        database = open_database(pg_url)
        database.ensure_schema()
        engine = database.write
        Fleet(METERS).post(engine, int(time.time()) - STEPS * 15 - 60, STEPS)
        for name in ("wA", "wB"):
            workers.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "gridmirror",
                        "--data-dir",
                        str(data),
                        "chain",
                        "worker",
                        "--drain",
                        "--id",
                        name,
                    ],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    env={**os.environ, **env},
                )
            )
        deadline = time.monotonic() + 120
        while confirmed(engine) < 150:
            assert all(w.poll() is None for w in workers), [w.stderr.read() for w in workers]  # type: ignore[union-attr]
            assert time.monotonic() < deadline
            time.sleep(0.02)
        servers[0].kill()  # the chain goes away mid-run...
        time.sleep(1.5)
        servers.append(Serve(data, port))  # ...and comes back with its state
        for w in workers:
            _out, err = w.communicate(timeout=240)
            assert w.returncode == 0, err
        assert confirmed(engine) == METERS * STEPS
        with Session(engine) as s:
            landed_by = {t.worker for t in s.exec(select(ChainTx)) if t.state == "landed"}
        assert landed_by == {"wA", "wB"}  # both did part of the work

        async def converged() -> None:
            settings = load_settings(data_dir=data)
            from oracle.chain import open_chain

            chain = open_chain(settings.chain)
            try:
                bridge = await open_bridge(engine, chain, settings.chain, init=False)
                assert await check_converged(bridge) == {"confirmed": METERS * STEPS}
            finally:
                await chain.close()

        asyncio.run(converged())
        database.dispose()
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
                w.wait()
        for server in servers:
            if server.proc.poll() is None:
                server.kill(signal.SIGTERM)
