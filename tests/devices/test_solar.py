from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices import solar
from devices.site import Site
from tests.devices.conftest import bangkok_site

LAT, LON = 13.78, 100.56


def ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


@pytest.mark.parametrize(
    ("day", "degrees"),
    [((2026, 6, 21), 23.44), ((2026, 12, 21), -23.44), ((2026, 3, 20), 0.0), ((2026, 9, 23), 0.0)],
)
def test_declination_at_solstices_and_equinoxes(day: tuple[int, int, int], degrees: float) -> None:
    gamma = solar.fractional_year(ms(datetime(*day, 12, tzinfo=UTC)))
    assert math.degrees(solar.declination(gamma)) == pytest.approx(degrees, abs=0.5)


@pytest.mark.parametrize(
    ("day", "minutes"),
    # The equation of time's well-known extremes and zeros.
    [((2026, 2, 11), -14.2), ((2026, 5, 14), 3.7), ((2026, 7, 26), -6.5), ((2026, 11, 3), 16.4),
     ((2026, 4, 15), 0.0), ((2026, 12, 25), 0.0)],
)  # fmt: skip
def test_equation_of_time(day: tuple[int, int, int], minutes: float) -> None:
    gamma = solar.fractional_year(ms(datetime(*day, 12, tzinfo=UTC)))
    assert solar.equation_of_time(gamma) == pytest.approx(minutes, abs=0.6)


def test_bangkok_solar_noon_through_the_year() -> None:
    """Bangkok's true solar noon is 12:01-12:32 local time, 12:15-12:30 most of the year."""
    in_window = 0
    for day in range(365):
        start = ms(datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=day))
        noon = solar.solar_noon_ms(start, LON)
        local = datetime.fromtimestamp(noon / 1000, UTC) + timedelta(hours=7)
        minutes = local.hour * 60 + local.minute + local.second / 60
        assert 12 * 60 + 1 <= minutes <= 12 * 60 + 33
        in_window += 12 * 60 + 15 <= minutes <= 12 * 60 + 30
        # At true solar noon the sun stands at 90° - |latitude - declination|.
        decl = math.degrees(solar.declination(solar.fractional_year(noon)))
        assert solar.elevation_deg(noon, LAT, LON) == pytest.approx(90 - abs(LAT - decl), abs=0.05)
        # ... and it is the highest point of the day.
        for offset in (-600_000, 600_000):
            assert solar.elevation_deg(noon + offset, LAT, LON) < solar.elevation_deg(
                noon, LAT, LON
            )
    assert in_window > 180


def test_haurwitz_and_kasten_czeplak() -> None:
    assert solar.clear_sky_ghi(1.0) == pytest.approx(1098 * math.exp(-0.059))
    assert solar.clear_sky_ghi(0.0) == 0.0
    assert solar.clear_sky_ghi(-0.3) == 0.0
    assert solar.cloud_factor(0.0) == 1.0
    assert solar.cloud_factor(1.0) == pytest.approx(0.25)
    covers = [i / 20 for i in range(21)]
    factors = [solar.cloud_factor(c) for c in covers]
    assert factors == sorted(factors, reverse=True)


@given(
    t=st.integers(
        min_value=ms(datetime(2000, 1, 1, tzinfo=UTC)),
        max_value=ms(datetime(2060, 1, 1, tzinfo=UTC)),
    )
)
@settings(max_examples=200, deadline=None)
def test_site_interpolated_sun_matches_the_formulas(t: int) -> None:
    """The site interpolates declination and equation of time within a day; the error
    stays far below anything a meter can see."""
    site = Site(bangkok_site(), seed=1)
    elevation = math.degrees(math.asin(site.cos_zenith(t)))
    assert elevation == pytest.approx(solar.elevation_deg(t, LAT, LON), abs=0.05)
