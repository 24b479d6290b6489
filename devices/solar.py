"""The sun over a place: position, clear-sky irradiance, and what clouds take away.

Sun position follows the NOAA "general solar position" formulas (Spencer's 1971 Fourier
series in the fractional year): solar declination and the equation of time; the hour
angle comes from true solar time at the site's longitude. Their error is a fraction of a
degree and under a minute, far below what a meter's energy can tell apart.

Clear-sky global horizontal irradiance is Haurwitz's model (1945), which needs only the
solar zenith angle: ``GHI = 1098 cos(z) exp(-0.059 / cos(z))`` W/m². Clouds reduce it by
Kasten and Czeplak's relation (1980) for cloud cover ``c`` in [0, 1]:
``GHI = GHI_clear (1 - 0.75 c^3.4)``.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from devices.timebase import MS_PER_S

HAURWITZ_SCALE = 1098.0  # W/m²
HAURWITZ_EXTINCTION = 0.059
KASTEN_LOSS = 0.75
KASTEN_EXPONENT = 3.4


def fractional_year(t_ms: int) -> float:
    """NOAA's fractional year γ in radians at an instant (UTC)."""
    when = datetime.fromtimestamp(t_ms / MS_PER_S, UTC)
    start = datetime(when.year, 1, 1, tzinfo=UTC)
    days_in_year = (datetime(when.year + 1, 1, 1, tzinfo=UTC) - start).days
    day_of_year = (when - start).days + 1
    hour = when.hour + when.minute / 60 + when.second / 3600
    return 2.0 * math.pi / days_in_year * (day_of_year - 1 + (hour - 12.0) / 24.0)


def declination(gamma: float) -> float:
    """Solar declination in radians for the fractional year γ."""
    return (
        0.006918
        - 0.399912 * math.cos(gamma)
        + 0.070257 * math.sin(gamma)
        - 0.006758 * math.cos(2 * gamma)
        + 0.000907 * math.sin(2 * gamma)
        - 0.002697 * math.cos(3 * gamma)
        + 0.00148 * math.sin(3 * gamma)
    )


def equation_of_time(gamma: float) -> float:
    """Equation of time in minutes (true solar time minus mean solar time)."""
    return 229.18 * (
        0.000075
        + 0.001868 * math.cos(gamma)
        - 0.032077 * math.sin(gamma)
        - 0.014615 * math.cos(2 * gamma)
        - 0.040849 * math.sin(2 * gamma)
    )


def hour_angle(t_ms: int, longitude_deg: float, eot_min: float) -> float:
    """Hour angle in radians: 0 at true solar noon, positive in the afternoon."""
    utc_minutes = (t_ms / 60_000.0) % 1440.0
    solar_minutes = utc_minutes + 4.0 * longitude_deg + eot_min
    return math.radians(solar_minutes / 4.0 - 180.0)


def sin_elevation(latitude_deg: float, decl: float, omega: float) -> float:
    """Sine of the solar elevation (cosine of the zenith angle)."""
    phi = math.radians(latitude_deg)
    return math.sin(phi) * math.sin(decl) + math.cos(phi) * math.cos(decl) * math.cos(omega)


def elevation_deg(t_ms: int, latitude_deg: float, longitude_deg: float) -> float:
    """Solar elevation in degrees at a place and instant (no refraction correction)."""
    gamma = fractional_year(t_ms)
    omega = hour_angle(t_ms, longitude_deg, equation_of_time(gamma))
    s = sin_elevation(latitude_deg, declination(gamma), omega)
    return math.degrees(math.asin(max(-1.0, min(1.0, s))))


def solar_noon_ms(day_start_ms: int, longitude_deg: float) -> int:
    """UTC instant of true solar noon on the UTC day beginning at ``day_start_ms``."""
    eot = equation_of_time(fractional_year(day_start_ms + 12 * 3_600_000))
    minutes = 720.0 - 4.0 * longitude_deg - eot
    return day_start_ms + round(minutes * 60_000)


def clear_sky_ghi(mu: float) -> float:
    """Haurwitz clear-sky GHI in W/m² for ``mu`` = cos(zenith); 0 with the sun down."""
    if mu <= 0.0:
        return 0.0
    return HAURWITZ_SCALE * mu * math.exp(-HAURWITZ_EXTINCTION / mu)


def cloud_factor(cover: float) -> float:
    """Kasten-Czeplak: the share of clear-sky GHI that reaches the ground under cover."""
    return 1.0 - KASTEN_LOSS * math.pow(cover, KASTEN_EXPONENT)
