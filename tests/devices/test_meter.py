from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices.campus import Campus, meter_models
from devices.load import BUILDING_TYPES, LOAD_CEILING
from devices.meter import PIECE_MS, MeterModel, MeterSnapshot
from devices.registers import MWS_PER_WH
from devices.site import Site
from devices.spec import BatterySpec, ClimateSpec, MeterSpec, SiteSpec
from tests.devices.conftest import bangkok_site, local_midnight

monthly = st.tuples(*[st.floats(0.0, 1.0)] * 12)


@st.composite
def sites(draw: st.DrawFn) -> SiteSpec:
    """Anywhere on earth, any weather."""
    t_min = draw(st.tuples(*[st.floats(-30, 30)] * 12))
    span = draw(st.floats(0, 20))
    climate = ClimateSpec(
        t_min_c=t_min,
        t_max_c=tuple(t + span for t in t_min),  # type: ignore[arg-type]
        cloud_cover=draw(monthly),
        cloud_variability=draw(st.floats(0, 1)),
        temperature_anomaly_k=draw(st.floats(0, 5)),
    )
    return SiteSpec(
        name=draw(st.text(min_size=1, max_size=10)),
        latitude=draw(st.floats(-70, 70)),
        longitude=draw(st.floats(-180, 180)),
        utc_offset_hours=draw(st.sampled_from([-10.0, -5.0, 0.0, 5.5, 7.0, 13.0])),
        climate=climate,
    )


@st.composite
def meter_specs(draw: st.DrawFn) -> MeterSpec:
    role = draw(st.sampled_from(["consumer", "prosumer", "hybrid"]))
    phases = draw(st.sampled_from([1, 3]))
    peak = draw(st.floats(200, 12_000 if phases == 1 else 500_000))
    pv = 0.0 if role == "consumer" else draw(st.floats(0.5, 16.0 if phases == 1 else 600.0))
    battery = None
    if role == "hybrid":
        battery = BatterySpec(
            capacity_kwh=draw(st.floats(1, 1_000)),
            charge_kw=draw(st.floats(0.5, 300)),
            discharge_kw=draw(st.floats(0.5, 300)),
            round_trip_efficiency=draw(st.floats(0.7, 1.0)),
            soc_min=draw(st.floats(0.0, 0.3)),
            soc_max=draw(st.floats(0.7, 1.0)),
            soc_initial=draw(st.floats(0.0, 1.0)),
        )
    need = max(LOAD_CEILING * peak, pv * 1000)
    rated = int(need) + 1 + draw(st.integers(0, 10_000))
    if phases == 1:
        rated = min(rated, 23_000)
    return MeterSpec(
        serial=draw(st.from_regex(r"GM-[A-Z]{3}-[0-9]{2}", fullmatch=True)),
        building="b",
        building_type=draw(st.sampled_from(sorted(BUILDING_TYPES))),
        role=role,
        phases=phases,
        rated_power_w=rated,
        peak_load_w=peak,
        pv_kwp=pv,
        battery=battery,
    )


step_sizes = st.lists(
    st.one_of(st.floats(0.001, 60), st.floats(60, 3_600), st.floats(3_600, 2 * 86_400)),
    min_size=1,
    max_size=30,
)
starts = st.integers(
    int(datetime(2000, 1, 1, tzinfo=UTC).timestamp()),
    int(datetime(2060, 1, 1, tzinfo=UTC).timestamp()),
)


def sun_clearly(site: Site, t0: int, t1: int) -> str | None:
    """'down' or 'up' if the sun is clearly so through [t0, t1] (ms), else None."""
    times = [*range(t0, t1, 60_000), t1]
    mus = [site.cos_zenith(t) for t in times]
    if max(mus) < -0.01:
        return "down"
    if min(mus) > 0.2:
        return "up"
    return None


@given(
    site_spec=sites(),
    spec=meter_specs(),
    seed=st.integers(0, 2**32),
    start=starts,
    steps=step_sizes,
)
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_physics_invariants(
    site_spec: SiteSpec, spec: MeterSpec, seed: int, start: int, steps: list[float]
) -> None:
    site = Site(site_spec, seed)
    meter = MeterModel(spec, site, start)
    battery = meter.battery
    content0 = battery.content if battery is not None else 0
    prev_state, prev = meter.state, meter.ledger
    assert (prev_state.import_wh, prev_state.export_wh) == (0, 0)
    for seconds in steps:
        t0 = meter.time_ms
        state = meter.step(seconds)
        t1 = meter.time_ms
        if t1 == t0:
            assert state is prev_state
            continue
        dt = t1 - t0
        ledger = meter.ledger
        # Registers: exact floors of the accumulators, never decreasing.
        assert state.import_wh == ledger.imported // MWS_PER_WH >= prev_state.import_wh
        assert state.export_wh == ledger.exported // MWS_PER_WH >= prev_state.export_wh
        # Energy conservation, exactly, with the battery's losses in the battery.
        assert ledger.imported - ledger.exported == (
            ledger.load - ledger.pv + ledger.charged - ledger.discharged
        )
        if battery is not None:
            low, high = battery.window
            assert low <= battery.content <= high
            assert battery.content - content0 == (
                ledger.charged - ledger.discharged - ledger.battery_losses
            )
            charge_w, discharge_w = battery.limits_w
            assert ledger.charged - prev.charged <= charge_w * dt
            assert ledger.discharged - prev.discharged <= discharge_w * dt
            assert state.soc is not None
            assert spec.battery is not None
            assert spec.battery.soc_min - 1e-9 <= state.soc <= spec.battery.soc_max + 1e-9
        else:
            assert ledger.charged == ledger.discharged == ledger.battery_losses == 0
            assert state.soc is None
        # What the chain checks: no step moves more energy than the rating can carry.
        assert ledger.imported - prev.imported <= spec.rated_power_w * dt
        assert ledger.exported - prev.exported <= spec.rated_power_w * dt
        assert abs(state.power_w) <= spec.rated_power_w + 1e-6
        # Electrical readings agree with the power.
        assert abs(state.power_w) / spec.phases == pytest.approx(
            state.voltage_v * state.current_a * state.power_factor, rel=1e-9, abs=1e-6
        )
        assert 0.0 <= state.power_factor <= 1.0
        assert 0.85 * 230 < state.voltage_v < 1.15 * 230
        assert 49.8 < state.frequency_hz < 50.2
        # No PV in the dark, some in daylight.
        sun = sun_clearly(site, t0, t1) if dt <= 3_600_000 else None
        if sun == "down" or spec.pv_kwp == 0:
            assert ledger.pv == prev.pv
        elif sun == "up":
            assert ledger.pv > prev.pv
        prev_state, prev = state, ledger


def run_steps(meter: MeterModel, start: int, steps: list[float]) -> list[tuple[object, ...]]:
    out = []
    t = float(start)
    for s in steps:
        t += s
        out.append(tuple(meter.step_to(t)))
    return out


@given(seed=st.integers(0, 2**32), start=starts, steps=step_sizes)
@settings(max_examples=25, deadline=None)
def test_same_seed_same_steps_same_everything(
    campus: Campus, seed: int, start: int, steps: list[float]
) -> None:
    spec = campus.meter("GM-DRB-01")
    a = run_steps(MeterModel(spec, Site(campus.site, seed), start), start, steps)
    b = run_steps(MeterModel(spec, Site(campus.site, seed), start), start, steps)
    assert a == b


def test_another_seed_another_day(campus: Campus) -> None:
    start = local_midnight(2026, 7, 1)
    registers = set()
    for seed in range(5):
        meter = MeterModel(campus.meter("GM-GYM-01"), Site(campus.site, seed), start)
        state = meter.step_to(start + 86_400)
        registers.add((state.import_wh, state.export_wh))
    assert len(registers) == 5


@pytest.mark.parametrize(
    "serial", ["GM-ENG-01", "GM-GYM-01", "GM-PRK-01", "GM-DRB-01", "GM-CAF-01"]
)
def test_step_size_hardly_matters(campus: Campus, serial: str) -> None:
    """A day stepped every 15 s and the same day in 15-minute or 7-second steps agree."""
    start = local_midnight(2026, 3, 10)
    results = {}
    for step in (7, 15, 900, 86_400):
        meter = MeterModel(campus.meter(serial), Site(campus.site, 11), start)
        for k in range(1, 86_400 // step + 1):
            meter.step_to(start + k * step)
        meter.step_to(start + 86_400)
        results[step] = meter.ledger
    base = results[15]
    for step, ledger in results.items():
        for field in ("imported", "exported", "pv", "load"):
            a, b = getattr(ledger, field), getattr(base, field)
            # import and export are differences of load and PV: they inherit the PV's
            # small absolute differences, which are large against a small export
            scale = max(b, base.pv) if field in ("imported", "exported") else b
            assert abs(a - b) <= 0.005 * scale + MWS_PER_WH, (step, field)


def test_snapshot_resumes_exactly(campus: Campus) -> None:
    start = local_midnight(2026, 5, 2)
    spec = campus.meter("GM-ENG-01")
    whole = MeterModel(spec, Site(campus.site, 5), start)
    states = [tuple(whole.step_to(start + 15 * k)) for k in range(1, 5_761)]
    half = MeterModel(spec, Site(campus.site, 5), start)
    for k in range(1, 2_881):
        half.step_to(start + 15 * k)
    saved = json.dumps(half.snapshot().to_dict())
    resumed = MeterModel.restore(
        spec, Site(campus.site, 5), MeterSnapshot.from_dict(json.loads(saved))
    )
    assert tuple(resumed.state)[:4] == states[2_879][:4]
    rest = [tuple(resumed.step_to(start + 15 * k)) for k in range(2_881, 5_761)]
    assert rest == states[2_880:]


def test_restore_refuses_a_foreign_snapshot(campus: Campus) -> None:
    site = Site(campus.site, 1)
    snap = MeterModel(campus.meter("GM-ENG-01"), site, 0).snapshot()
    with pytest.raises(ValueError, match="GM-ENG-02"):
        MeterModel.restore(campus.meter("GM-ENG-02"), site, snap)
    with pytest.raises(ValueError, match="battery"):
        MeterModel.restore(
            campus.meter("GM-ENG-01").model_copy(update={"serial": "GM-ENG-01", "battery": None}),
            site,
            snap,
        )
    data = snap.to_dict()
    assert MeterSnapshot.from_dict(data) == snap
    for broken in ({**data, "time_ms": "soon"}, {**data, "ledger": {"imported": -1}}, {}):
        with pytest.raises(ValueError, match="not a meter snapshot"):
            MeterSnapshot.from_dict(broken)


def test_time_is_a_parameter(campus: Campus) -> None:
    spec = campus.meter("GM-LIB-01")
    start = datetime(2026, 3, 10, 8, 0, tzinfo=timezone(timedelta(hours=7)))
    by_datetime = MeterModel(spec, Site(campus.site, 2), start)
    by_seconds = MeterModel(spec, Site(campus.site, 2), start.timestamp())
    later = start + timedelta(minutes=15)
    assert by_datetime.step_to(later) == by_seconds.step_to(later.timestamp())
    assert by_datetime.state.time == later
    assert by_datetime.step_to(later) is by_datetime.state  # same time: unchanged
    with pytest.raises(ValueError, match="backwards"):
        by_datetime.step_to(later - timedelta(seconds=1))
    with pytest.raises(ValueError, match="naive"):
        by_datetime.step_to(datetime(2026, 3, 10, 9, 0))
    with pytest.raises(ValueError, match="backwards"):
        by_datetime.step(-1)


def test_replay_catches_up_in_aligned_steps(campus: Campus) -> None:
    start = local_midnight(2026, 1, 5) + 123
    meter = MeterModel(campus.meter("GM-SCI-01"), Site(campus.site, 3), start)
    until = start + 3 * 86_400 + 77
    states = list(meter.replay(until, every_s=900))
    times = [s.time_ms for s in states]
    assert times[-1] == until * 1000
    assert all(t % 900_000 == 0 for t in times[:-1])
    assert times == sorted(set(times))
    assert len(states) == (until // 900) - (start // 900) + 1
    assert states[-1].import_wh > 3 * 1_000_000  # three days of a science faculty
    assert list(meter.replay(until, every_s=900)) == []


def test_campus_runs_on_one_sky(campus: Campus) -> None:
    start = local_midnight(2026, 3, 10) + 12 * 3600
    meters = meter_models(campus, 7, start)
    assert len({id(m.site) for m in meters}) == 1
    states = [m.step(PIECE_MS / 1000) for m in meters]
    exporters = [s.serial for s in states if s.power_w < 0]
    assert "GM-GYM-01" in exporters or "GM-PRK-01" in exporters
    assert all(s.import_wh >= 0 and s.export_wh >= 0 for s in states)
    for s in states:
        if s.phases == 3:
            assert s.line_voltage_v == pytest.approx(s.voltage_v * 3**0.5)
            assert 370 < s.line_voltage_v < 430
        else:
            assert s.line_voltage_v is None
    assert all(abs(s.power_w) <= m.spec.rated_power_w for s, m in zip(states, meters, strict=True))


def test_a_meter_never_imports_more_because_of_its_battery() -> None:
    """Self-consumption: with and without the battery, the same sky and load; the battery
    only ever lowers both import and export."""
    site_spec = bangkok_site()
    common: dict[str, object] = dict(
        building="b", building_type="dormitory", phases=3, rated_power_w=150_000,
        peak_load_w=80_000, pv_kwp=100.0,
    )  # fmt: skip
    plain = MeterSpec(serial="GM-X-01", role="prosumer", **common)  # type: ignore[arg-type]
    hybrid = MeterSpec(
        serial="GM-X-01",
        role="hybrid",
        battery=BatterySpec(capacity_kwh=200, charge_kw=60, discharge_kw=60),
        **common,
    )  # type: ignore[arg-type]
    start = local_midnight(2026, 2, 1)
    a = MeterModel(plain, Site(site_spec, 1), start)
    b = MeterModel(hybrid, Site(site_spec, 1), start)
    for k in range(1, 4 * 96 + 1):
        sa, sb = a.step_to(start + 900 * k), b.step_to(start + 900 * k)
        assert sb.load_w == sa.load_w and sb.pv_w == sa.pv_w
    la, lb = a.ledger, b.ledger
    assert lb.imported < la.imported and lb.exported < la.exported
    assert lb.charged > 0 and lb.discharged > 0
    # What the battery saved on import is its discharge; what it kept from export, its charge.
    assert la.imported - lb.imported == lb.discharged
    assert la.exported - lb.exported == lb.charged
