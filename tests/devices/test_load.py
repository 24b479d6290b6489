from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.load import BUILDING_TYPES, LOAD_CEILING, BuildingLoad, is_weekend
from tests.devices.conftest import local_midnight

# 2026-03-09 is a Monday, 2026-03-14 a Saturday (Bangkok local days).
MONDAY = local_midnight(2026, 3, 9) * 1000
SATURDAY = local_midnight(2026, 3, 14) * 1000
HOUR_MS = 3_600_000
BANGKOK_MS = 7 * HOUR_MS


def day_of(t_ms: int) -> int:
    return (t_ms + BANGKOK_MS) // 86_400_000


def mean_load(
    kind: str, midnight_ms: int, hours: tuple[float, float], t_air: float = 30.0
) -> float:
    """Mean over an hour window and over 20 meters (noise averages out)."""
    total, n = 0.0, 0
    for meter in range(20):
        load = BuildingLoad(kind, 100_000.0, f"test/{kind}/{meter}")
        h = hours[0]
        while h < hours[1]:
            t = midnight_ms + int(h * HOUR_MS)
            total += load.power(t, day_of(t), h, t_air)
            n += 1
            h += 0.25
    return total / n


def test_weekdays_and_weekends() -> None:
    assert not is_weekend(day_of(MONDAY))
    assert is_weekend(day_of(SATURDAY))
    assert is_weekend(day_of(SATURDAY) + 1)
    assert not is_weekend(day_of(SATURDAY) + 2)


@pytest.mark.parametrize(
    ("kind", "peak", "low"),
    [
        ("engineering", (13, 16), (2, 5)),  # air-conditioned afternoon
        ("administration", (13, 16), (20, 23)),
        ("library", (14, 17), (2, 5)),
        ("dormitory", (20, 24), (9, 12)),  # evenings and nights at home
        ("cafeteria", (11.5, 13), (14.5, 16)),  # lunch
        ("cafeteria", (17.5, 19), (20.5, 22)),  # dinner
        ("parking", (20, 24), (9, 15)),  # lighting
        ("gymnasium", (16.5, 19), (9, 11)),
    ],
)
def test_building_shapes(kind: str, peak: tuple[float, float], low: tuple[float, float]) -> None:
    assert mean_load(kind, MONDAY, peak) > 1.3 * mean_load(kind, MONDAY, low)


@pytest.mark.parametrize("kind", ["engineering", "business", "administration", "science"])
def test_teaching_buildings_quieter_at_weekends(kind: str) -> None:
    assert mean_load(kind, MONDAY, (10, 16)) > 1.4 * mean_load(kind, SATURDAY, (10, 16))


def test_heat_drives_air_conditioning() -> None:
    hot = mean_load("library", MONDAY, (13, 15), t_air=35.0)
    mild = mean_load("library", MONDAY, (13, 15), t_air=27.0)
    assert hot > 1.15 * mild
    assert mean_load("parking", MONDAY, (20, 22), 35.0) == mean_load(
        "parking", MONDAY, (20, 22), 27.0
    )


def test_continuous_at_midnight_from_friday_to_saturday() -> None:
    for kind in BUILDING_TYPES:
        load = BuildingLoad(kind, 50_000.0, f"mid/{kind}")
        edge = SATURDAY
        before = load.power(edge - 1, day_of(edge - 1), 24 - 1 / HOUR_MS, 28.0)
        after = load.power(edge, day_of(edge), 0.0, 28.0)
        assert after == pytest.approx(before, rel=1e-3)


@given(
    kind=st.sampled_from(sorted(BUILDING_TYPES)),
    peak=st.floats(100, 1e6),
    hours=st.floats(0, 24 * 400),
    t_air=st.floats(-40, 55),
    key=st.text(max_size=8),
)
@settings(max_examples=200, deadline=None)
def test_load_within_zero_and_ceiling(
    kind: str, peak: float, hours: float, t_air: float, key: str
) -> None:
    load = BuildingLoad(kind, peak, key)
    t = MONDAY + int(hours * HOUR_MS)
    w = load.power(t, day_of(t), ((t + BANGKOK_MS) % 86_400_000) / HOUR_MS, t_air)
    assert 0.0 <= w <= LOAD_CEILING * peak
