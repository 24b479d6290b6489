"""``gridmirror chain init|worker|status|redrive``, ``readings`` and ``verify``, in process."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlmodel import Session, select

from gateway.db import open_database
from gridmirror.cli import cli
from gridmirror.commands.readings import STATES
from oracle.outbox import OutboxEntry, OutboxState, enqueue
from oracle.records import ChainMeter

pytestmark = pytest.mark.timeout(120)
METER = "3E4F45AB31EDFE5B67E343E5E4562E31984E23E5"
OWNER = "4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T"


def run(data: Path, *args: str) -> Result:
    result = CliRunner().invoke(cli, ["--data-dir", str(data), *args])
    assert "Traceback" not in result.output, result.output
    return result


def post(data: Path, lfdi: str, start: int, steps: int) -> None:
    db = open_database(f"sqlite:///{data / 'gridmirror.db'}")
    db.ensure_schema()
    with db.write_session() as session:
        for i in range(steps):
            enqueue(
                session, lfdi=lfdi, timestamp=start + 15 * i, import_wh=100 + i,
                export_wh=50 + 2 * i, now=time.time(),
            )  # fmt: skip
    db.dispose()


def rows(data: Path) -> list[OutboxEntry]:
    db = open_database(f"sqlite:///{data / 'gridmirror.db'}")
    with Session(db.write) as session:
        out = list(session.exec(select(OutboxEntry).order_by(OutboxEntry.timestamp)))
    db.dispose()
    return out


def test_init_worker_status_verify(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    # a device the gateway registered out of band, with an owner from the config
    assert (
        run(data, "gateway", "register-device", "--lfdi", METER, "--pin", "123456").exit_code == 0
    )
    monkeypatch.setenv("GRIDMIRROR_CHAIN__METER_OWNERS", json.dumps({METER: OWNER}))
    monkeypatch.setenv("GRIDMIRROR_CHAIN__METER_RATED_POWER_W", json.dumps({METER: 20_000}))
    first = run(data, "chain", "init")
    assert first.exit_code == 0, first.output
    assert (
        "program: FQpLNvbsz36vgtGQs6Wt1oPYntG9EwW3ibh7L1kb5caQ (deployed now), initialized now"
        in first.output
    )
    assert "meters: 1 ready (1 registered now)" in first.output
    keys = data / "chain" / "keys"
    for name in ("admin.json", "gateway.json", "mint.json"):
        assert stat.S_IMODE((keys / name).stat().st_mode) == 0o600
    again = run(data, "chain", "init")  # idempotent
    assert again.exit_code == 0 and "meters: 1 ready (0 registered now)" in again.output
    assert "deployed now" not in again.output and "initialized now" not in again.output
    db = open_database(f"sqlite:///{data / 'gridmirror.db'}")
    with Session(db.write) as session:
        (meter,) = session.exec(select(ChainMeter)).all()
    db.dispose()
    assert (meter.owner, meter.rated_power_w, meter.owner_source) == (OWNER, 20_000, "config")

    start = int(time.time()) - 600
    post(data, METER, start, 20)
    other = "AB" * 20  # a meter first seen in the outbox: registered by the worker
    post(data, other, start, 5)
    worked = run(data, "chain", "worker", "--drain")
    assert worked.exit_code == 0, worked.output
    assert "25 readings confirmed" in worked.output
    assert {r.state for r in rows(data)} == {"confirmed"}

    status = run(data, "chain", "status")
    assert "outbox: pending 0, in_flight 0, confirmed 25" in status.output

    # `readings` names what `verify` takes: newest first, the id and LFDI@time
    listed = run(data, "readings", "--lfdi", METER, "--limit", "3")
    assert listed.exit_code == 0, listed.output
    newest = sorted((r for r in rows(data) if r.lfdi == METER), key=lambda r: -r.timestamp)[:3]
    lines = listed.output.strip().splitlines()
    assert [line.split()[0] for line in lines] == [str(r.id) for r in newest]
    assert all(
        line.endswith(f"confirmed slot {r.slot}") for line, r in zip(lines, newest, strict=True)
    )
    assert f"import {newest[0].import_wh} Wh  export {newest[0].export_wh} Wh" in lines[0]
    name = lines[0].split()[1]
    assert run(data, "verify", name).exit_code == 0
    assert run(data, "readings", "--state", "dead").output.strip() == "none match"
    bad = run(data, "readings", "--lfdi", "nope")
    assert bad.exit_code == 2 and "40 hex digits" in bad.output

    target = rows(data)[3]
    yes = run(data, "verify", str(target.id))
    assert yes.exit_code == 0 and "yes: accepted in batch" in yes.output, yes.output
    assert f"signature: {target.signature}" in yes.output
    by_time = run(data, "verify", f"{target.lfdi}@{target.timestamp}")
    assert by_time.exit_code == 0
    no = run(data, "verify", "424242")
    assert no.exit_code == 1 and no.output.strip() == "no: no reading 424242 in the database"


def test_init_with_no_meters_known_says_when_they_will_be(tmp_path: Path) -> None:
    assert run(tmp_path / "data", "readings").output.strip() == "no readings stored yet"
    done = run(tmp_path / "data", "chain", "init")
    assert done.exit_code == 0, done.output
    assert "meters known: 0 to the gateway's database, 0 in the PKI index, 0 named" in done.output
    assert "meters: 0 ready (0 registered now)" in done.output
    assert "a meter is registered when the worker sends its first reading" in done.output


def test_readings_knows_every_outbox_state() -> None:
    assert set(STATES) == {s.value for s in OutboxState}


def test_redrive_and_one_line_errors(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run(data, "chain", "redrive").exit_code == 2  # which ones?
    bad = run(data, "chain", "redrive", "--lfdi", "nope")
    assert bad.exit_code == 2 and "40 hex digits" in bad.output
    assert (
        run(data, "chain", "redrive", "--all").output.strip()
        == "re-driven: 0 reading(s) back to pending"
    )
    # a worker before init: one line, non-zero
    worker = run(data, "chain", "worker", "--drain")
    assert worker.exit_code == 1
    (line,) = worker.output.strip().splitlines()
    assert line.startswith("Error: no gateway key") and "run `gridmirror chain init`" in line


def test_init_registers_the_owner_chosen_through_the_api(tmp_path: Path) -> None:
    from gateway.crud import owners

    data = tmp_path / "data"
    assert run(data, "gateway", "register-device", "--lfdi", METER).exit_code == 0
    db = open_database(f"sqlite:///{data / 'gridmirror.db'}")
    db.ensure_schema()
    with db.write_session() as session:  # what PUT /api/v1/meters/{id}/owner stores
        owners.choose(session, METER, OWNER, time.time())
    db.dispose()
    result = run(data, "chain", "init")
    assert result.exit_code == 0, result.output
    db = open_database(f"sqlite:///{data / 'gridmirror.db'}")
    with Session(db.write) as session:
        (meter,) = session.exec(select(ChainMeter)).all()
    db.dispose()
    assert (meter.owner, meter.owner_source) == (OWNER, "api")
