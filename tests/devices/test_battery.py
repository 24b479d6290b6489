from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.battery import Battery
from devices.registers import MWS_PER_WH

batteries = st.builds(
    Battery,
    capacity_kwh=st.floats(0.5, 2_000),
    charge_kw=st.floats(0.1, 500),
    discharge_kw=st.floats(0.1, 500),
    round_trip_efficiency=st.floats(0.6, 1.0),
    soc_min=st.floats(0.0, 0.4),
    soc_max=st.floats(0.6, 1.0),
    soc_initial=st.floats(0.0, 1.0),
)
# An interval: its surplus (PV minus load) in W and its length in ms.
intervals = st.lists(
    st.tuples(st.floats(-600_000, 600_000), st.integers(1, 3_600_000)), min_size=1, max_size=60
)


@given(battery=batteries, steps=intervals)
@settings(max_examples=300, deadline=None)
def test_self_consumption_within_limits_and_bounds(
    battery: Battery, steps: list[tuple[float, int]]
) -> None:
    low, high = battery.window
    charge_w, discharge_w = battery.limits_w
    for surplus_w, dt in steps:
        surplus = round(surplus_w * dt)
        before = battery.content
        charged, discharged, losses = battery.dispatch(surplus, dt)
        assert low <= battery.content <= high
        assert charged >= 0 and discharged >= 0 and losses >= 0
        assert charged == 0 or discharged == 0
        # Never more than the limit, never more than the surplus or the deficit.
        assert charged <= charge_w * dt and discharged <= discharge_w * dt
        assert charged <= max(surplus, 0) and discharged <= max(-surplus, 0)
        # Energy is conserved exactly: what went in, minus what came out, minus heat.
        assert battery.content - before == charged - discharged - losses
        assert 0.0 <= battery.soc <= 1.0


def test_round_trip_efficiency_and_full_stops() -> None:
    battery = Battery(10.0, 5.0, 5.0, 0.81, soc_min=0.1, soc_max=0.9, soc_initial=0.1)
    low, high = battery.window
    assert battery.content == low
    hour = 3_600_000
    charged = discharged = 0
    for _ in range(4):  # more than enough to fill it
        c, d, _ = battery.dispatch(surplus=10_000 * hour, dt_ms=hour)
        charged += c
        assert c <= 5_000 * hour
    assert battery.content == pytest.approx(high, abs=1)
    assert battery.dispatch(10_000 * hour, hour) == (0, 0, 0)  # full: PV surplus is exported
    for _ in range(4):
        _, d, _ = battery.dispatch(surplus=-10_000 * hour, dt_ms=hour)
        discharged += d
    assert battery.content == pytest.approx(low, abs=1)
    assert battery.dispatch(-10_000 * hour, hour) == (0, 0, 0)  # empty: load is imported
    assert discharged / charged == pytest.approx(0.81, rel=1e-6)
    assert charged * math.sqrt(0.81) == pytest.approx((high - low), rel=1e-6)
    assert (high - low) / MWS_PER_WH == pytest.approx(8_000, abs=0.001)


def test_bad_ratings_are_refused() -> None:
    with pytest.raises(ValueError):
        Battery(10, 5, 5, 0.9, soc_min=0.9, soc_max=0.5, soc_initial=0.5)
    with pytest.raises(ValueError):
        Battery(10, 5, 5, 1.2, soc_min=0.1, soc_max=0.9, soc_initial=0.5)
