"""The mirror documents a meter sends: valid 2030.5, deterministic, read back as meant."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.campus import load_campus, meter_models
from devices.mirror import (
    QUANTITIES,
    REGISTER_ROLES,
    MeterMirror,
    Sample,
    ShapeCheck,
    Telemetry,
    sample_from_list,
    sample_of,
    shape_of,
    site_quantities,
)
from sep2 import (
    Codec,
    EnergyRegister,
    MirrorMeterReadingList,
    MirrorUsagePoint,
    Mrid,
    RoleFlags,
    extract_readings,
    reading_types_of,
)

LFDI = "3E4F45AB31EDFE5B67E343E5E4562E31984E23E5"
PEN = 32473

telemetry = st.builds(
    Telemetry,
    since=st.just(0),
    power_w=st.integers(-(10**7), 10**7),
    voltage_dv=st.integers(0, 5000),
    frequency_chz=st.integers(4000, 6500),
    power_factor_milli=st.integers(0, 1000),
    reactive_var=st.integers(-(10**7), 10**7),
)


@st.composite
def sample_runs(draw: st.DrawFn) -> list[Sample]:
    """Samples at increasing times with non-decreasing registers; some without telemetry."""
    count = draw(st.integers(1, 12))
    t = draw(st.integers(1_600_000_000, 1_900_000_000))
    imp, exp = draw(st.integers(0, 10**12)), draw(st.integers(0, 10**12))
    out = []
    for _ in range(count):
        step = draw(st.integers(1, 900))
        imp += draw(st.integers(0, 10_000))
        exp += draw(st.integers(0, 10_000))
        tele = draw(st.none() | telemetry)
        if tele is not None:
            tele = tele._replace(since=t)
        t += step
        out.append(Sample(t, imp, exp, tele))
    return out


def test_usage_point_is_valid_and_deterministic(codec: Codec) -> None:
    mirror = MeterMirror(LFDI, PEN, "GM-ENG-01")
    body = codec.serialise(mirror.usage_point(post_rate=15))  # checked against the XSD
    again = MeterMirror(LFDI, PEN, "GM-ENG-01").usage_point(post_rate=15)
    assert codec.serialise(again) == body
    mup = codec.parse(body, MirrorUsagePoint)
    assert mup.mrid == mirror.mup_mrid and Mrid(mup.mrid).issued_by(PEN)
    assert mup.role_flags & RoleFlags.IS_MIRROR
    assert mup.device_lfdi == LFDI and mup.post_rate == 15
    assert [m.mrid for m in mup.mirror_meter_readings] == [
        mirror.mmr_mrids[q.role] for q in QUANTITIES
    ]
    assert all(m.reading_type is not None for m in mup.mirror_meter_readings)
    # Another meter, or another PEN, gets other mRIDs.
    other = MeterMirror("00" + LFDI[2:], PEN, "GM-ENG-02")
    assert other.mup_mrid != mirror.mup_mrid
    assert MeterMirror(LFDI, 1, "GM-ENG-01").mup_mrid != mirror.mup_mrid


def test_registers_are_what_the_gateway_settles(codec: Codec) -> None:
    mirror = MeterMirror(LFDI, PEN, "GM-ENG-01")
    mup = codec.parse(codec.serialise(mirror.usage_point()), MirrorUsagePoint)
    types = reading_types_of(mup)
    sample = Sample(1_780_000_015, 1234, 56, Telemetry(1_780_000_000, -4200, 2301, 5002, 987))
    body = codec.serialise(mirror.readings([sample], 15))
    readings = extract_readings(codec.parse(body, MirrorMeterReadingList), reading_types=types)
    registers = {r.register: r for r in readings if r.register is not None}
    assert registers[EnergyRegister.IMPORT].wh == 1234
    assert registers[EnergyRegister.EXPORT].wh == 56
    assert all(r.start == 1_780_000_015 and r.duration == 0 for r in registers.values())
    by_mrid = {r.mmr_mrid: r for r in readings}
    power = by_mrid[mirror.mmr_mrids["power"]]
    assert (power.start, power.duration, power.value) == (1_780_000_000, 15, -4200)
    assert by_mrid[mirror.mmr_mrids["voltage"]].value == Decimal("230.1")
    assert by_mrid[mirror.mmr_mrids["frequency"]].value == Decimal("50.02")
    assert by_mrid[mirror.mmr_mrids["power_factor"]].value == Decimal("0.987")
    assert len(readings) == len(QUANTITIES)


@settings(max_examples=60, deadline=None)
@given(samples=sample_runs())
def test_any_backlog_is_valid_and_reads_back(codec: Codec, samples: list[Sample]) -> None:
    mirror = MeterMirror(LFDI, PEN, "GM-SYN-00001")
    types = reading_types_of(mirror.usage_point())
    document = mirror.readings(samples, 15)
    body = codec.serialise(document)  # XSD check
    readings = extract_readings(codec.parse(body, MirrorMeterReadingList), reading_types=types)
    got = {(r.register, r.start): r.wh for r in readings if r.register is not None}
    want = {}
    for s in samples:
        want[(EnergyRegister.IMPORT, s.time)] = s.import_wh
        want[(EnergyRegister.EXPORT, s.time)] = s.export_wh
    assert got == want
    expected_telemetry = sum(1 for s in samples if s.telemetry is not None) * 4
    assert len(readings) == 2 * len(samples) + expected_telemetry
    # The same backlog gives the same document (re-posts are the same sets).
    assert codec.serialise(mirror.readings(samples, 15)) == body


def test_sample_of_a_real_meter(codec: Codec) -> None:
    campus = load_campus()
    meter = meter_models(campus, 2030, 1_780_000_000)[0]
    state = meter.step_to(1_780_000_900)
    sample = sample_of(state, 1_780_000_000, 1_780_000_900)
    assert (sample.import_wh, sample.export_wh) == (state.import_wh, state.export_wh)
    assert sample.telemetry is not None
    assert sample.telemetry.power_w == round(state.power_w)
    assert sample.telemetry.voltage_dv == round(state.voltage_v * 10)
    assert sample_from_list(sample.to_list()) == sample
    assert sample_from_list(sample.registers_only().to_list()).telemetry is None
    codec.serialise(MeterMirror(LFDI, PEN, campus.meters[0].serial).readings([sample], 15))


@pytest.mark.parametrize(
    "bad", [None, [], [1, 2, 3], [1, 2, 3, [1]], [1, "2", 3, None], [1, 2, 3, [1, 2, 3, 4, True]]]
)
def test_saved_sample_refused(bad: object) -> None:
    with pytest.raises(ValueError):
        sample_from_list(bad)


def test_shape_check_validates_each_shape_once_then_samples() -> None:
    mirror = MeterMirror(LFDI, PEN, "GM-SYN-00001")
    tele = Telemetry(0, 1, 2300, 5000, 990)
    one = mirror.readings([Sample(10, 1, 1, tele)], 15)
    two = mirror.readings([Sample(10, 1, 1, tele), Sample(25, 2, 1, tele)], 15)
    bare = mirror.readings([Sample(10, 1, 1, None)], 15)
    assert len({shape_of(one), shape_of(two), shape_of(bare)}) == 3
    never = ShapeCheck(0.0)
    assert [never.wants(d) for d in (one, one, two, two, bare, one)] == [
        True, False, True, False, True, False,
    ]  # fmt: skip
    always = ShapeCheck(1.0)
    assert all(always.wants(one) for _ in range(5))
    sometimes = ShapeCheck(0.1, random.Random(1))
    sometimes.wants(one)
    hits = sum(sometimes.wants(one) for _ in range(2000))
    assert 120 < hits < 290
    with pytest.raises(ValueError):
        ShapeCheck(1.5)


def test_der_mirror(codec: Codec) -> None:
    from devices.mirror import DER_ROLE_FLAGS, der_mirror

    hybrid = der_mirror(LFDI, PEN, "GM-ENG-01", battery=True)
    prosumer = der_mirror(LFDI, PEN, "GM-ENG-01", battery=False)
    site = MeterMirror(LFDI, PEN, "GM-ENG-01")
    assert hybrid.mup_mrid == prosumer.mup_mrid != site.mup_mrid
    assert not set(hybrid.mmr_mrids.values()) & set(site.mmr_mrids.values())
    mup = codec.parse(codec.serialise(hybrid.usage_point()), MirrorUsagePoint)
    assert mup.role_flags == DER_ROLE_FLAGS and mup.description == "GM-ENG-01 DER"
    assert len(mup.mirror_meter_readings) == 3 and len(prosumer.quantities) == 1
    tele = Telemetry(985, 1200, 2301, 5001, 950, pv_w=30_000, battery_w=-2_500, soc_permille=615)
    samples = [Sample(1000, 5, 2, tele), Sample(1015, 6, 2, tele._replace(since=1000))]
    body = codec.serialise(hybrid.readings(samples, 15))
    readings = extract_readings(
        codec.parse(body, MirrorMeterReadingList), reading_types=reading_types_of(mup)
    )
    assert all(r.register is None for r in readings)  # never an energy register
    values = {(r.mmr_mrid, r.start): r.value for r in readings}
    assert values[(hybrid.mmr_mrids["pv_power"], 985)] == 30_000
    assert values[(hybrid.mmr_mrids["battery_power"], 1000)] == -2_500
    assert values[(hybrid.mmr_mrids["battery_soc"], 1015)] == Decimal("61.5")
    # Without a battery the state of charge is absent, and so is its reading.
    no_battery = Sample(1000, 5, 2, tele._replace(soc_permille=None))
    assert len(prosumer.readings([no_battery], 15).items) == 1
    assert not hybrid.readings([no_battery.registers_only()], 15).items


def test_no_samples_no_document() -> None:
    with pytest.raises(ValueError):
        MeterMirror(LFDI, PEN, "X1").readings([], 15)


def test_register_roles_are_registers(codec: Codec) -> None:
    from sep2 import energy_register

    for q in QUANTITIES:
        assert (energy_register(q.reading_type) is not None) == (q.role in REGISTER_ROLES)
        assert q.description and len(q.description) <= 32


@settings(max_examples=40, deadline=None)
@given(samples=sample_runs(), phases=st.sampled_from([1, 3]))
def test_csip_aus_site_readings_are_valid_and_read_back(
    codec: Codec, samples: list[Sample], phases: int
) -> None:
    """Under CSIP-AUS the site mirror adds reactive power and, on three phases, a voltage
    per phase; every backlog of it passes the XSD and reads back value for value."""
    quantities = site_quantities("csip-aus", phases)
    mirror = MeterMirror(LFDI, PEN, "GM-SYN-00001", quantities=quantities, role_flags=0x03)
    mup = codec.parse(codec.serialise(mirror.usage_point()), MirrorUsagePoint)
    types = reading_types_of(mup)
    volts = [t for t in types.values() if t.uom == 29]
    assert sorted(t.phase or 0 for t in volts) == ([0] if phases == 1 else [33, 65, 129])
    body = codec.serialise(mirror.readings(samples, 60))  # XSD check
    readings = extract_readings(codec.parse(body, MirrorMeterReadingList), reading_types=types)
    full = [s for s in samples if s.telemetry is not None]
    assert len(readings) == 2 * len(samples) + len(full) * (len(quantities) - 2)
    var = mirror.mmr_mrids["reactive_power"]
    got = sorted((r.start, r.raw_value) for r in readings if r.mmr_mrid == var)
    assert got == sorted((s.telemetry.since, s.telemetry.reactive_var) for s in full if s.telemetry)


def test_plain_site_readings_are_the_six() -> None:
    assert site_quantities("ieee-2030.5", 3) == QUANTITIES
