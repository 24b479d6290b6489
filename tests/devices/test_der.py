"""The DER documents from the physics (devices.der): for every campus meter with PV or a
battery, through a whole day, each document is valid against the official XSD and says
what the physics did."""

from __future__ import annotations

import pytest

from devices.campus import load_campus
from devices.der import PER_CENT, DerReporter, has_der, rated_output_w
from devices.meter import MeterModel
from devices.site import Site
from devices.spec import MeterSpec
from sep2 import ActivePower, Codec, ConnectStatus, StorageModeStatus, WattHour
from tests.devices.conftest import local_midnight

DAY = local_midnight(2026, 3, 21)
STEP_S = 900

_CAMPUS = load_campus()
_DER_METERS = [m for m in _CAMPUS.meters if has_der(m)]


def _w(power: ActivePower | WattHour | None) -> float:
    assert power is not None
    return float(power.value * 10**power.multiplier)


def test_the_campus_has_der_meters_of_both_kinds() -> None:
    assert {m.role for m in _DER_METERS} == {"prosumer", "hybrid"}
    assert not any(has_der(m) for m in _CAMPUS.meters if m.role == "consumer")


@pytest.mark.parametrize("spec", _DER_METERS, ids=[m.serial for m in _DER_METERS])
def test_a_day_of_der_documents(codec: Codec, spec: MeterSpec) -> None:
    model = MeterModel(spec, Site(_CAMPUS.site, 2026), DAY)
    reporter = DerReporter(spec)
    cap = reporter.capability()
    codec.serialise(cap)  # checked against the XSD
    rating = _w(cap.rtg_max_w)
    assert abs(rating - rated_output_w(spec)) <= 10**cap.rtg_max_w.multiplier / 2
    assert rating <= spec.rated_power_w
    settings = reporter.settings(DAY)
    codec.serialise(settings)
    assert settings.set_max_w == cap.rtg_max_w
    if spec.battery is not None:
        usable = spec.battery.capacity_kwh * 1000 * (spec.battery.soc_max - spec.battery.soc_min)
        assert abs(_w(settings.set_max_wh) - usable) <= 10**9  # within its rounding
        assert _w(settings.set_max_wh) <= _w(cap.rtg_max_wh)
    produced = moved = 0
    previous = None
    for t in range(DAY + STEP_S, DAY + 86_400 + 1, STEP_S):
        state = model.step_to(t)
        status = reporter.status(state, t)
        avail = reporter.availability(state, t)
        codec.serialise(status)
        codec.serialise(avail)
        assert status.reading_time == avail.reading_time == t
        assert 0 <= _w(avail.stat_w_avail) <= rating + 10**cap.rtg_max_w.multiplier
        gen = status.gen_connect_status
        assert gen is not None
        operating = bool(gen.value & ConnectStatus.OPERATING)
        assert operating == (state.pv_w >= 1.0)
        produced += operating
        if spec.battery is None:
            assert status.state_of_charge_status is None and avail.availability_duration is None
        else:
            assert state.soc is not None and status.state_of_charge_status is not None
            assert status.state_of_charge_status.value == round(state.soc * PER_CENT)
            mode = status.storage_mode_status
            assert mode is not None
            if abs(state.battery_w) < 1.0:
                assert mode.value == StorageModeStatus.HOLDING
            else:
                moved += 1
                assert mode.value == (
                    StorageModeStatus.CHARGING
                    if state.battery_w > 0
                    else StorageModeStatus.DISCHARGING
                )
            assert avail.availability_duration is not None and avail.max_charge_duration is not None
            floor_wh = (state.soc - spec.battery.soc_min) * spec.battery.capacity_kwh * 1000
            expected_s = floor_wh / (spec.battery.discharge_kw * 1000) * 3600
            assert abs(avail.availability_duration - max(0.0, expected_s)) <= 1
        if previous is not None:  # a dateTime moves exactly when its value changes
            for name in ("gen_connect_status", "inverter_status", "storage_mode_status"):
                a, b = getattr(previous, name), getattr(status, name)
                if a is not None:
                    assert (a.date_time == b.date_time) == (a.value == b.value), name
                    assert b.date_time == (a.date_time if a.value == b.value else t)
        previous = status
    assert produced > 0  # the equinox sun shone on every array
    if spec.battery is not None:
        assert moved > 0
