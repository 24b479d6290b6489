"""The place all of a fleet's meters share: its sun, its clouds, its air and its grid.

Everything here is a pure function of time and the seed, computed on demand: the sun's
position (devices.solar), a cloud cover that wanders around the month's normal with
persistence (two AR(1) processes: weather systems over hours, passing clouds over tens
of minutes), the air temperature (a diurnal curve between the day's normal minimum at
06:00 and maximum at 15:00 local, plus a slow anomaly), and the grid's voltage and
frequency deviations. Declination and the equation of time are computed at each local
midnight and interpolated through the day, which keeps a sample to a single cosine.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from devices import solar
from devices.noise import Ar1Path
from devices.spec import ClimateSpec, SiteSpec
from devices.timebase import DAY_MS, HOUR_MS

COOLEST_HOUR = 6.0
WARMEST_HOUR = 15.0
_YEAR_DAYS = 365.2425  # 1970-01-01 is day 0 of a year; the drift is a day a century
_MONTH_DAYS = _YEAR_DAYS / 12.0
_OMEGA_PER_MS = math.radians(1.0) / 240_000.0  # the sun moves 1° in 4 minutes
_OMEGA_PER_EOT_MINUTE = math.radians(0.25)
_CACHED_DAYS = 64  # small records; meters replaying weeks apart share them
# The cloud cover's deviation = variability x (0.8 slow + 0.6 fast): unit variance.
_SLOW_SHARE = 0.8
_FAST_SHARE = 0.6


class Conditions(NamedTuple):
    """What the meters of a site see at one instant."""

    local_day: int
    """Local calendar day, counted from 1970-01-01."""
    hour: float
    """Local clock time in hours, 0 <= hour < 24."""
    ghi: float
    """Global horizontal irradiance, W/m²."""
    ambient_c: float
    """Air temperature, °C."""


class _Day(NamedTuple):
    a0: float  # sin(lat) sin(decl) at local midnight
    da: float  # its change over the day
    b0: float  # cos(lat) cos(decl)
    db: float
    e0: float  # equation of time, minutes
    de: float
    t_min: float  # today's normal minimum (at dawn)
    t_span: float  # today's maximum minus minimum
    t_prev_max: float  # yesterday's maximum, cooling toward today's dawn
    t_next_min: float  # tomorrow's minimum, which this evening cools toward
    cloud: float  # the day's normal cloud cover


def monthly_value(values: tuple[float, ...], day: float) -> float:
    """A monthly normal for a local day (counted from 1970-01-01), interpolated between
    mid-month points on a continuous year, so consecutive days never jump."""
    pos = ((day + 0.5) % _YEAR_DAYS) / _MONTH_DAYS - 0.5
    i = math.floor(pos)
    f = pos - i
    return values[i % 12] * (1.0 - f) + values[(i + 1) % 12] * f


class Site:
    """A site's sky, air and grid as functions of time (milliseconds since the epoch)."""

    def __init__(self, spec: SiteSpec, seed: int) -> None:
        self.spec = spec
        self.seed = seed
        climate: ClimateSpec = spec.climate
        key = f"{seed}/{spec.name}"
        self._offset_ms = round(spec.utc_offset_hours * HOUR_MS)
        self._sin_lat = math.sin(math.radians(spec.latitude))
        self._cos_lat = math.cos(math.radians(spec.latitude))
        self._omega_base = math.radians(spec.longitude - 15.0 * spec.utc_offset_hours) - math.pi
        # Shared by meters that may be days apart (live ones and replaying ones): keep
        # about a month of blocks, a few megabytes.
        self._cloud_slow = Ar1Path(f"{key}/cloud-slow", 3600, 8 * 3600.0, 240, 4)
        self._cloud_fast = Ar1Path(f"{key}/cloud-fast", 300, 1500.0, 288, 40)
        self._anomaly = Ar1Path(f"{key}/temperature", 3600, 36 * 3600.0, 720, 3)
        self._voltage = Ar1Path(f"{key}/voltage", 60, 1800.0, 1440, 40)
        self._frequency = Ar1Path(f"{key}/frequency", 20, 120.0, 4320, 40)
        self._slow_sd = climate.cloud_variability * _SLOW_SHARE
        self._fast_sd = climate.cloud_variability * _FAST_SHARE
        self._anomaly_sd = climate.temperature_anomaly_k
        self._days: dict[int, _Day] = {}
        self._last_t: int | None = None
        self._last: Conditions = Conditions(0, 0.0, 0.0, 0.0)

    def local_day(self, t_ms: int) -> int:
        """The local calendar day of an instant, counted from 1970-01-01."""
        return (t_ms + self._offset_ms) // DAY_MS

    def at(self, t_ms: int) -> Conditions:
        """Conditions at ``t_ms``; the last answer is kept for meters stepping together."""
        if t_ms == self._last_t:
            return self._last
        day, in_day = divmod(t_ms + self._offset_ms, DAY_MS)
        d = self._days.get(day)
        if d is None:
            d = self._day(day)
        f = in_day / DAY_MS
        hour = 24.0 * f
        mu = self._mu(d, in_day, f)
        ghi = 0.0
        if mu > 0.0:
            cover = (
                d.cloud
                + self._slow_sd * self._cloud_slow.at(t_ms)
                + self._fast_sd * self._cloud_fast.at(t_ms)
            )
            cover = 0.0 if cover < 0.0 else 1.0 if cover > 1.0 else cover
            ghi = solar.clear_sky_ghi(mu) * solar.cloud_factor(cover)
        ambient = self._diurnal(d, hour) + self._anomaly_sd * self._anomaly.at(t_ms)
        self._last_t = t_ms
        self._last = Conditions(day, hour, ghi, ambient)
        return self._last

    def cos_zenith(self, t_ms: int) -> float:
        """Cosine of the solar zenith angle (sine of the elevation) at ``t_ms``."""
        day, in_day = divmod(t_ms + self._offset_ms, DAY_MS)
        d = self._days.get(day) or self._day(day)
        return self._mu(d, in_day, in_day / DAY_MS)

    def grid_at(self, t_ms: int) -> tuple[float, float]:
        """The grid's voltage and frequency deviations at ``t_ms`` (unit processes)."""
        return self._voltage.at(t_ms), self._frequency.at(t_ms)

    def _mu(self, d: _Day, in_day: int, f: float) -> float:
        omega = (
            self._omega_base + in_day * _OMEGA_PER_MS + (d.e0 + f * d.de) * _OMEGA_PER_EOT_MINUTE
        )
        return d.a0 + f * d.da + (d.b0 + f * d.db) * math.cos(omega)

    @staticmethod
    def _diurnal(d: _Day, hour: float) -> float:
        """Normal air temperature: rising 06:00-15:00, falling to the next dawn."""
        if hour < COOLEST_HOUR:  # still falling since yesterday's 15:00, to today's dawn
            x = (hour + 24.0 - WARMEST_HOUR) / (24.0 - WARMEST_HOUR + COOLEST_HOUR)
            return d.t_min + (d.t_prev_max - d.t_min) * 0.5 * (1.0 + math.cos(math.pi * x))
        if hour <= WARMEST_HOUR:
            x = (hour - COOLEST_HOUR) / (WARMEST_HOUR - COOLEST_HOUR)
            return d.t_min + d.t_span * 0.5 * (1.0 - math.cos(math.pi * x))
        x = (hour - WARMEST_HOUR) / (24.0 - WARMEST_HOUR + COOLEST_HOUR)
        low = d.t_next_min
        return low + (d.t_min + d.t_span - low) * 0.5 * (1.0 + math.cos(math.pi * x))

    def _day(self, day: int) -> _Day:
        start = day * DAY_MS - self._offset_ms
        g0 = solar.fractional_year(start)
        g1 = solar.fractional_year(start + DAY_MS)
        dec0, dec1 = solar.declination(g0), solar.declination(g1)
        a0, a1 = self._sin_lat * math.sin(dec0), self._sin_lat * math.sin(dec1)
        b0, b1 = self._cos_lat * math.cos(dec0), self._cos_lat * math.cos(dec1)
        e0, e1 = solar.equation_of_time(g0), solar.equation_of_time(g1)
        climate = self.spec.climate
        t_min = monthly_value(climate.t_min_c, day)
        t_max = monthly_value(climate.t_max_c, day)
        record = _Day(
            a0, a1 - a0, b0, b1 - b0, e0, e1 - e0, t_min, t_max - t_min,
            monthly_value(climate.t_max_c, day - 1), monthly_value(climate.t_min_c, day + 1),
            monthly_value(climate.cloud_cover, day),
        )  # fmt: skip
        if len(self._days) >= _CACHED_DAYS:
            del self._days[next(iter(self._days))]
        self._days[day] = record
        return record
