from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices import solar
from devices.pv import PvArray
from devices.site import Site, monthly_value
from tests.devices.conftest import bangkok_site, local_midnight

MINUTE_MS = 60_000
DAY_MS = 86_400_000


def day_samples(
    site: Site, midnight_s: int, every_min: int = 1
) -> list[tuple[float, float, float]]:
    """(local hour, GHI, ambient) through one local day."""
    out = []
    for k in range(0, 24 * 60, every_min):
        c = site.at(midnight_s * 1000 + k * MINUTE_MS)
        out.append((c.hour, c.ghi, c.ambient_c))
    return out


@pytest.mark.parametrize("date", [(2026, 1, 15), (2026, 4, 15), (2026, 7, 15), (2026, 11, 3)])
def test_clear_sky_pv_is_zero_at_night_and_peaks_near_solar_noon(
    date: tuple[int, int, int],
) -> None:
    site = Site(bangkok_site(cloud_cover=0.0, variability=0.0, anomaly=0.0), seed=3)
    pv = PvArray(10.0)
    midnight = local_midnight(*date)
    noon_ms = solar.solar_noon_ms(int(datetime(*date, tzinfo=UTC).timestamp()) * 1000, 100.56)
    noon_hour = (noon_ms - midnight * 1000) / 3_600_000
    samples = day_samples(site, midnight)
    powers = [(h, pv.power(g, t)) for h, g, t in samples]
    for h, p in powers:
        if h < 5.75 or h > 19.0:  # Bangkok's sun rises after 05:50 and sets before 18:55
            assert p == 0.0
    ghi_peak = max(samples, key=lambda s: s[1])[0]
    pv_peak = max(powers, key=lambda s: s[1])[0]
    assert abs(ghi_peak - noon_hour) <= 2 / 60
    # The afternoon is hotter, so temperature derating pulls the PV peak a little earlier.
    assert -25 / 60 <= pv_peak - noon_hour <= 5 / 60
    assert 12.0 <= noon_hour <= 12.55


def test_ambient_temperature_follows_bangkok_days() -> None:
    site = Site(bangkok_site(anomaly=0.0), seed=1)
    samples = day_samples(site, local_midnight(2026, 4, 20), every_min=5)
    temps = [t for _, _, t in samples]
    warmest = max(samples, key=lambda s: s[2])[0]
    coolest = min(samples, key=lambda s: s[2])[0]
    assert 14.5 <= warmest <= 15.5 and 5.5 <= coolest <= 6.5
    assert 25.5 < min(temps) < 28 and 34 < max(temps) < 36.5  # April: 27 / 35.4 normals


def test_climate_is_continuous_across_days_and_years() -> None:
    site = Site(bangkok_site(), seed=9)
    for date in [(2026, 1, 1), (2026, 3, 1), (2026, 7, 16), (2027, 1, 1)]:
        edge = local_midnight(*date) * 1000
        before, after = site.at(edge - 1), site.at(edge)
        assert abs(before.ambient_c - after.ambient_c) < 0.01
        assert after.hour == 0.0 and before.hour > 23.99
        assert after.local_day == before.local_day + 1
    values = (1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0)
    for day in range(0, 800):
        assert abs(monthly_value(values, day + 1) - monthly_value(values, day)) < 0.4


def test_annual_pv_yield_is_plausible_for_bangkok() -> None:
    """Flat modules in Bangkok yield about 1,300-1,450 kWh per kWp a year."""
    site = Site(bangkok_site(), seed=2030)
    pv = PvArray(1.0)
    start = local_midnight(2026, 1, 1) * 1000
    wh = ghi = 0.0
    for k in range(365 * 96):
        c = site.at(start + k * 900_000 + 450_000)
        wh += pv.power(c.ghi, c.ambient_c) * 0.25
        ghi += c.ghi * 0.25
    assert 1_250 < wh / 1000 < 1_500
    assert 1_650 < ghi / 1000 < 1_900  # Bangkok's long-term GHI, about 1,770 kWh/m²


@given(seed=st.integers(0, 2**32), hours=st.floats(0, 24 * 365 * 3))
@settings(max_examples=100, deadline=None)
def test_irradiance_bounded_and_dark_at_night(seed: int, hours: float) -> None:
    site = Site(bangkok_site(), seed=seed)
    t = local_midnight(2026, 1, 1) * 1000 + int(hours * 3_600_000)
    c = site.at(t)
    mu = site.cos_zenith(t)
    if mu <= 0:
        assert c.ghi == 0.0
    else:
        clear = solar.clear_sky_ghi(mu)
        assert 0.25 * clear - 1e-9 <= c.ghi <= clear + 1e-9
    assert 10 < c.ambient_c < 45
    assert site.at(t) == c  # pure


def test_clouds_persist() -> None:
    """Cloud cover is a process with memory: minute-to-minute changes are small next to
    the spread over a month."""
    site = Site(bangkok_site(), seed=4)
    pv = PvArray(1.0)
    start = local_midnight(2026, 7, 1) * 1000 + 12 * 3_600_000
    noon = [pv.power(site.at(start + d * DAY_MS).ghi, 30.0) for d in range(30)]
    minutes = [pv.power(site.at(start + m * MINUTE_MS).ghi, 30.0) for m in range(10)]
    spread = max(noon) - min(noon)
    assert spread > 150  # days differ
    assert max(abs(a - b) for a, b in itertools.pairwise(minutes)) < spread / 5
