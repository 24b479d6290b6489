from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.electrical import line_voltage, measure, reactive_power


@given(
    rated=st.floats(1_000, 1e6),
    share=st.floats(-1.0, 1.0),
    load_share=st.floats(0.0, 1.35),
    pf=st.floats(0.7, 1.0),
    phases=st.sampled_from([1, 3]),
    offset=st.floats(-0.01, 0.01),
    v_dev=st.floats(-3.0, 3.0),
    f_dev=st.floats(-3.0, 3.0),
)
@settings(max_examples=300)
def test_readings_consistent_with_power(
    rated: float, share: float, load_share: float, pf: float, phases: int,
    offset: float, v_dev: float, f_dev: float,
) -> None:  # fmt: skip
    power = share * rated
    q = reactive_power(load_share * rated, pf)
    e = measure(power, q, phases, rated, offset, v_dev, f_dev)
    assert 0.9 * 230 <= e.voltage_v <= 1.1 * 230
    assert 49.8 <= e.frequency_hz <= 50.2
    assert 0.0 <= e.power_factor <= 1.0
    assert e.current_a >= 0.0
    # Per phase: |P| / n = V I PF, and the apparent power is V I per phase.
    assert abs(power) / phases == pytest.approx(
        e.voltage_v * e.current_a * e.power_factor, rel=1e-9, abs=1e-6
    )
    assert math.hypot(power, q) / phases == pytest.approx(
        e.voltage_v * e.current_a, rel=1e-9, abs=1e-6
    )


def test_import_sags_and_export_lifts_the_voltage() -> None:
    importing = measure(50_000, 0, 3, 100_000, 0.0, 0.0, 0.0)
    exporting = measure(-50_000, 0, 3, 100_000, 0.0, 0.0, 0.0)
    assert importing.voltage_v < 230 < exporting.voltage_v
    assert line_voltage(230.0) == pytest.approx(398.4, abs=0.1)  # "400 V" three phase


def test_power_factor_of_a_load() -> None:
    q = reactive_power(10_000, 0.8)
    assert q == pytest.approx(7_500)
    e = measure(10_000, q, 1, 20_000, 0.0, 0.0, 0.0)
    assert e.power_factor == pytest.approx(0.8)
    assert e.current_a == pytest.approx(12_500 / e.voltage_v)
