"""The dashboard's history (fleet power by 15-minute epoch) computed in SQL, on SQLite and
PostgreSQL, against the same figures computed here in Python from the rows written."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from itertools import pairwise

import httpx
import pytest
from sqlmodel import Session

from gateway.dashboard.history import EPOCH_SECONDS, Window, fleet_history
from gateway.dashboard.routes import zone_name
from gateway.db import open_database
from gridmirror.bench.history import Seeded, seed
from tests.gateway.conftest import StartGateway

START = 1_800_000_000 - 1_800_000_000 % EPOCH_SECONDS + 37  # not on an epoch boundary


def expected(s: Seeded, window: Window) -> dict[int, dict[str, float | None]]:
    """Per epoch: each register's energy (its last value in the epoch minus its last value
    in the epoch it reported before), and the DER mirrors' mean powers summed."""
    last: dict[tuple[str, str, int], int] = {}
    for lfdi, register, start, wh in s.readings:
        key = (lfdi, register, (start - 1) // EPOCH_SECONDS)
        last[key] = max(last.get(key, wh), wh)
    energy: dict[int, dict[str, int]] = defaultdict(lambda: {"import": 0, "export": 0})
    by_register: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    for (lfdi, register, epoch), wh in last.items():
        by_register[lfdi, register].append((epoch, wh))
    for (_, register), ends in by_register.items():
        ends.sort()
        for (_, before), (epoch, wh) in pairwise(ends):
            if epoch >= window.first:
                energy[epoch][register] += wh - before
    values: dict[tuple[int, int, int], list[int]] = defaultdict(list)
    for mirror, flow, start, w in s.der:
        epoch = (start - 1) // EPOCH_SECONDS
        if window.first <= epoch <= window.last:
            values[epoch, mirror, flow].append(w)
    der: dict[int, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    for (epoch, _, flow), ws in values.items():
        der[epoch][flow] += sum(ws) / len(ws)
    return {
        e: {
            "import_w": energy[e]["import"] * 4.0,
            "export_w": energy[e]["export"] * 4.0,
            "pv_w": der[e].get(19) if e in der else None,
            "battery_w": der[e].get(1) if e in der else None,
        }
        for e in sorted(set(energy) | set(der))
    }


@pytest.mark.parametrize("step_s", [60, 300, 1200])
def test_fleet_history_is_the_epochs_energy_and_mean_powers(database_url: str, step_s: int) -> None:
    database = open_database(database_url)
    try:
        database.ensure_schema()
        seeded = seed(database.write, 7, start=START, hours=3, step_s=step_s, keep=True)
        # a window that starts after the data does: its first epoch still has a base
        window = Window(START // EPOCH_SECONDS + 2, (START + 3 * 3600) // EPOCH_SECONDS)
        with Session(database.read) as session:
            got = fleet_history(session, window)
    finally:
        database.dispose()
    want = expected(seeded, window)
    assert [e["epoch"] for e in got] == list(want)
    assert got[0]["epoch"] == window.first
    for e in got:
        w = want[e["epoch"]]
        assert e["start"] == e["epoch"] * EPOCH_SECONDS
        assert e["import_w"] == w["import_w"] and e["export_w"] == w["export_w"]
        for key in ("pv_w", "battery_w"):
            assert (e[key] is None) == (w[key] is None)
            assert e[key] == pytest.approx(w[key], rel=1e-9)
    assert any(e["import_w"] > 0 for e in got) and any(e["pv_w"] for e in got)


def test_the_window_ends_at_the_epoch_now_is_in() -> None:
    w = Window.ending(START + 10, 24)
    assert w.last == (START + 10) // EPOCH_SECONDS
    assert w.last - w.first == 96


async def test_history_json_serves_the_window_on_the_site_clock(
    start_sqlite_gateway: StartGateway,
) -> None:
    now = time.time()
    async with start_sqlite_gateway(dashboard_utc_offset_hours=7, dashboard_history_hours=2) as gw:
        database = gw.runtime.database
        # 3 h of readings ending now: the 2 h window shows its last 8 or 9 epochs
        seed(database.write, 4, start=int(now) - 3 * 3600, hours=3, step_s=300)
        async with httpx.AsyncClient(base_url=gw.api_url) as c:
            answer = (await c.get("/dashboard/history.json")).json()
            again = (await c.get("/dashboard/history.json")).json()
        with Session(database.read) as session:
            direct = fleet_history(session, Window.ending(answer["generated_at"], 2))
    assert (answer["zone"], answer["utc_offset_hours"]) == ("UTC+7", 7)
    assert answer["epochs"] == json.loads(json.dumps(direct)) and len(direct) >= 8
    assert again["generated_at"] == answer["generated_at"]  # read once per 10 s at most


def test_zone_names() -> None:
    assert [zone_name(h) for h in (0, 7, 5.5, -3, -9.5)] == [
        "UTC", "UTC+7", "UTC+5:30", "UTC-3", "UTC-9:30",
    ]  # fmt: skip
