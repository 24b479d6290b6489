"""The demo's pure parts: the snapshot's arithmetic, the views, the continued replay, and
the ledger read from a real SQLite database."""

from __future__ import annotations

import time
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console
from sqlmodel import Session, col, select

from devices.campus import load_campus
from devices.mirror import Sample, Telemetry
from devices.stats import FleetStats, MeterPhase, MeterStatus
from gridmirror.showcase.ledger import Ledger, read_ledger
from gridmirror.showcase.prepare import continued_replay_s
from gridmirror.showcase.snapshot import Counters, Links, ReplayClock, Snapshot, take
from gridmirror.showcase.view import WIDE, render, status_line, summary
from oracle.outbox import OutboxEntry, OutboxState, enqueue
from oracle.records import EpochClearing, Settlement
from tests.oracle.harness import create_tables, make_engine

CAMPUS = load_campus()
SPECS = CAMPUS.meters[:6]
LFDIS = {spec.serial: f"{i:02X}".ljust(40, "A") for i, spec in enumerate(SPECS)}
PHASES = list(MeterPhase)


def fleet_of(phases: list[MeterPhase], samples: list[Sample | None], published: int) -> FleetStats:
    fleet = FleetStats(readings_published=published)
    for spec, phase, sample in zip(SPECS, phases, samples, strict=True):
        status = MeterStatus(spec.serial, LFDIS[spec.serial], 1, phase=phase, last_sample=sample)
        fleet.add_meter(status)
    return fleet


samples = st.one_of(
    st.none(),
    st.builds(
        Sample,
        time=st.integers(1_700_000_000, 1_800_000_000),
        import_wh=st.integers(0, 10**9),
        export_wh=st.integers(0, 10**9),
        telemetry=st.one_of(
            st.none(),
            st.builds(
                Telemetry,
                since=st.integers(1_600_000_000, 1_700_000_000),
                power_w=st.integers(-200_000, 200_000),
                voltage_dv=st.integers(2000, 2500),
                frequency_chz=st.integers(4900, 5100),
                power_factor_milli=st.integers(800, 1000),
            ),
        ),
    ),
)
counts = st.integers(0, 10**6)


def snapshot_of(
    fleet: FleetStats,
    ledger: Ledger,
    *,
    baseline: Counters | None = None,
    at: float = 1_800_000_100.0,
    api_url: str | None = None,
) -> Snapshot:
    return take(
        at=at,
        started_at=at - 42,
        specs=SPECS,
        lfdis=LFDIS,
        fleet=fleet,
        ledger=ledger,
        clock=ReplayClock(1_800_000_000.0, 0.5, 7.0),
        links=Links("https://127.0.0.1:8443", api_url, "gm-demo"),
        baseline=baseline,
    )


@given(
    phases=st.lists(st.sampled_from(PHASES), min_size=6, max_size=6),
    last=st.lists(samples, min_size=6, max_size=6),
    confirmed=st.lists(counts, min_size=6, max_size=6),
    minted=st.lists(counts, min_size=6, max_size=6),
    pending=counts,
    dead=counts,
    published=counts,
)
def test_a_snapshot_joins_the_meters_with_the_ledger(
    phases: list[MeterPhase],
    last: list[Sample | None],
    confirmed: list[int],
    minted: list[int],
    pending: int,
    dead: int,
    published: int,
) -> None:
    lfdis = list(LFDIS.values())
    ledger = Ledger(
        states={"confirmed": sum(confirmed), "pending": pending, "dead": dead},
        confirmed_by_meter=dict(zip(lfdis, confirmed, strict=True)),
        minted_wh_by_meter=dict(zip(lfdis, minted, strict=True)),
        epochs_cleared=3,
    )
    snap = snapshot_of(fleet_of(phases, last, published), ledger)
    assert [row.serial for row in snap.meters] == [spec.serial for spec in SPECS]
    assert snap.meters_online == phases.count(MeterPhase.ONLINE)
    for row, phase, sample, c, m in zip(snap.meters, phases, last, confirmed, minted, strict=True):
        assert row.phase == phase.value
        assert row.confirmed == c and row.minted_wh == m
        if sample is None:
            assert row.import_wh is None and row.power_w is None
        else:
            assert (row.import_wh, row.export_wh) == (sample.import_wh, sample.export_wh)
            assert row.power_w == (sample.telemetry.power_w if sample.telemetry else None)
    assert snap.accepted == sum(confirmed) + pending + dead
    assert snap.confirmed == sum(confirmed) and snap.open == pending and snap.dead == dead
    assert snap.minted_wh == sum(minted)
    assert snap.readings_per_s == 0.0  # no baseline, no rate


@given(
    before=st.tuples(counts, counts),
    grown=st.tuples(counts, counts),
    seconds=st.floats(0.1, 60),
)
def test_rates_are_growth_over_the_window(
    before: tuple[int, int], grown: tuple[int, int], seconds: float
) -> None:
    at = 1_800_000_100.0
    readings, confirmed = before[0] + grown[0], before[1] + grown[1]
    fleet = fleet_of([MeterPhase.ONLINE] * 6, [None] * 6, readings)
    snap = snapshot_of(
        fleet,
        Ledger(states={"confirmed": confirmed}),
        baseline=Counters(at - seconds, *before),
        at=at,
    )
    assert abs(snap.readings_per_s - grown[0] / seconds) <= 1e-6 * max(1.0, grown[0] / seconds)
    assert abs(snap.confirmed_per_s - grown[1] / seconds) <= 1e-6 * max(1.0, grown[1] / seconds)
    assert snap.counters == Counters(at, readings, confirmed)


def a_snapshot(api_url: str | None = None) -> Snapshot:
    sample = Sample(1_800_000_000, 123_456, 7_890, Telemetry(1_799_999_985, -4321, 2300, 5000, 990))
    fleet = fleet_of([MeterPhase.ONLINE] * 5 + [MeterPhase.RETRYING], [sample] * 6, 98_765)
    lfdi = LFDIS[SPECS[1].serial]
    ledger = Ledger(
        states={"confirmed": 4321, "pending": 17, "in_flight": 3, "dead": 2},
        confirmed_by_meter={lfdi: 4321},
        minted_wh_by_meter={lfdi: 12_345},
        epochs_cleared=96,
    )
    return snapshot_of(fleet, ledger, api_url=api_url)


def text_of(snapshot: Snapshot, width: int) -> str:
    console = Console(record=True, width=width, color_system=None)
    console.print(render(snapshot, width))
    return console.export_text()


def test_the_view_shows_every_meter_the_figures_and_where_to_look() -> None:
    text = text_of(a_snapshot("http://127.0.0.1:8080"), 140)
    for spec in SPECS:
        assert spec.serial in text and spec.building[:20] in text
    assert "5 of 6 online" in text and "retrying" in text
    assert "98,765" in text and "4,321 pairs" in text and "12.345" in text
    assert "-4,321" in text and "123.5" in text  # power W, import kWh
    assert "96" in text and "on the way    20" in text
    for url in ("/api/v1", "/docs", "/dashboard", "/metrics"):
        assert f"http://127.0.0.1:8080{url}" in text
    assert "https://127.0.0.1:8443/dcap" in text and "gm-demo" in text
    assert "2027-01-15 15:00 UTC+7 (replay 50%)" in text  # the campus' local time
    assert "PV W" in text and "SoC %" in text  # what is behind each meter, when wide
    assert "2030.5 Readings" in text and "pairs on chain" in text  # what each count counts


def test_a_narrow_terminal_loses_the_buildings_not_the_figures() -> None:
    text = text_of(a_snapshot(), 80)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert SPECS[0].building not in text
    for spec in SPECS:
        assert spec.serial in text
    assert "/api/v1" not in text  # no REST listener given: only the 2030.5 URL
    assert "12.345" in text and "4,321" in text
    assert "PV W" not in text
    assert WIDE > 80


def test_the_status_line_and_the_summary() -> None:
    snap = a_snapshot()
    line = status_line(snap)
    assert "\n" not in line
    assert "meters 5/6 online" in line and "confirmed 4321" in line and "dead 2" in line
    lines = summary(snap)
    assert lines[0].startswith("demo stopped after 42 s")
    assert any("confirmed on chain: 4321" in x and "dead letters: 2" in x for x in lines)
    assert any(f"{SPECS[1].serial} 12.345" in x for x in lines)


@given(
    window=st.floats(0, 48 * 3600),
    ago=st.lists(st.floats(0, 72 * 3600), min_size=1, max_size=6),
    missing=st.booleans(),
)
def test_a_second_run_replays_from_where_the_meters_stopped(
    window: float, ago: list[float], missing: bool
) -> None:
    now = 1_800_000_000.0
    serials = [spec.serial for spec in SPECS[: len(ago)]]
    saved = {s: int((now - a) * 1000) for s, a in zip(serials, ago, strict=True)}
    if missing:
        saved.pop(serials[-1])
    replay = continued_replay_s(saved, serials, now, window)
    assert 0 <= replay <= window
    if missing:
        assert replay == window  # a meter without state starts at the window's start
    else:
        earliest = now - min(saved.values()) / 1000
        assert replay == min(window, earliest)


def test_the_ledger_from_a_real_database(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'g.db'}")
    create_tables(engine)
    a, b = "A" * 40, "B" * 40
    with Session(engine) as session, session.begin():
        for lfdi, n in ((a, 5), (b, 3)):
            for i in range(n):
                enqueue(
                    session, lfdi=lfdi, timestamp=1000 + 15 * i, import_wh=i, export_wh=2 * i,
                    now=time.time(),
                )  # fmt: skip
    with Session(engine) as session, session.begin():
        rows = list(session.exec(select(OutboxEntry).order_by(col(OutboxEntry.id))))
        states = ["confirmed"] * 4 + ["dead", "confirmed", "in_flight"]  # the 8th stays pending
        for row, state in zip(rows, states, strict=False):
            row.state = state
        for epoch, lfdi, wh in ((1, a, 700), (2, a, 50), (2, b, 0)):
            session.add(
                Settlement(
                    epoch=epoch, lfdi=lfdi, owner="o", import_wh=0, export_wh=wh,
                    import_delta_wh=0, export_delta_wh=wh, net_export_wh=wh, minted_wh=wh,
                    signature="s", slot=1, recorded_at=0.0,
                )
            )  # fmt: skip
        session.add(EpochClearing(epoch=1, cleared_at=0.0))
        session.add(EpochClearing(epoch=2, cleared_at=0.0))
    ledger = read_ledger(engine)
    assert ledger.confirmed_by_meter == {a: 4, b: 1}
    assert ledger.minted_wh_by_meter == {a: 750, b: 0} and ledger.minted_wh == 750
    assert ledger.states[OutboxState.PENDING.value] == 1  # b's last row
    assert (ledger.accepted, ledger.confirmed, ledger.open, ledger.dead) == (8, 5, 2, 1)
    assert ledger.epochs_cleared == 2
    engine.dispose()
