"""Electric load of a campus building: time-of-day shapes, weekdays, heat and noise.

Each building type has two hourly shapes (weekday, weekend) as fractions of the meter's
typical peak, interpolated linearly between local hours. Bangkok is hot all year and
air-conditioning dominates: teaching and office buildings peak in the afternoon heat,
dormitories in the evening and night, the cafeteria at meals, the gymnasium after
classes, the parking at night (lighting). The air-conditioned share of a building's load
follows the ambient temperature (about 3 %/K around 30 °C), and an AR(1) noise process
per meter (unit variance, 20-minute persistence) scales the load by a few percent.

The load never exceeds ``LOAD_CEILING`` x the typical peak: meter ratings are checked
against that ceiling, so the on-chain "physically possible" check can never trip on an
honest emulated meter.
"""

from __future__ import annotations

from dataclasses import dataclass

from devices.noise import Ar1Path

LOAD_CEILING = 1.35
"""Largest load as a multiple of the typical peak; ratings must cover it."""

COOLING_PER_K = 0.03  # share of the air-conditioning load per kelvin
COOLING_REFERENCE_C = 30.0
NOISE_CELL_S = 300
NOISE_TAU_S = 1200.0
NOISE_CELLS_PER_BLOCK = 288  # one UTC day


@dataclass(frozen=True)
class BuildingType:
    """How a kind of building uses electricity."""

    weekday: tuple[float, ...]
    """Fraction of the typical peak at the start of each local hour, Monday to Friday."""
    weekend: tuple[float, ...]
    power_factor: float
    """Displacement power factor of the load (motors and compressors lower it)."""
    cooling_share: float
    """Share of the load that is air conditioning and follows the ambient temperature."""
    noise: float
    """Standard deviation of the relative load noise."""


def _hours(*values: float) -> tuple[float, ...]:
    if len(values) != 24 or not all(0.0 <= v <= 1.0 for v in values):
        raise ValueError("a shape is 24 hourly fractions in [0, 1]")
    return values


BUILDING_TYPES: dict[str, BuildingType] = {
    "engineering": BuildingType(
        weekday=_hours(0.32, 0.30, 0.30, 0.30, 0.30, 0.31, 0.35, 0.50, 0.70, 0.82, 0.88, 0.90,
                       0.86, 0.94, 1.00, 0.98, 0.90, 0.75, 0.60, 0.52, 0.46, 0.40, 0.36, 0.34),
        weekend=_hours(0.30, 0.29, 0.29, 0.29, 0.29, 0.29, 0.30, 0.32, 0.35, 0.38, 0.40, 0.42,
                       0.42, 0.42, 0.43, 0.42, 0.40, 0.37, 0.35, 0.33, 0.32, 0.31, 0.31, 0.30),
        power_factor=0.92, cooling_share=0.50, noise=0.06,
    ),
    "business": BuildingType(
        weekday=_hours(0.18, 0.18, 0.18, 0.18, 0.18, 0.18, 0.20, 0.35, 0.65, 0.82, 0.88, 0.90,
                       0.82, 0.92, 1.00, 0.97, 0.88, 0.62, 0.45, 0.38, 0.30, 0.24, 0.20, 0.19),
        weekend=_hours(0.18, 0.18, 0.18, 0.18, 0.18, 0.18, 0.18, 0.19, 0.22, 0.26, 0.29, 0.30,
                       0.30, 0.30, 0.30, 0.29, 0.26, 0.22, 0.20, 0.19, 0.19, 0.18, 0.18, 0.18),
        power_factor=0.94, cooling_share=0.60, noise=0.06,
    ),
    "science": BuildingType(
        weekday=_hours(0.46, 0.45, 0.45, 0.45, 0.45, 0.45, 0.47, 0.56, 0.72, 0.84, 0.90, 0.92,
                       0.88, 0.95, 1.00, 0.98, 0.92, 0.78, 0.64, 0.57, 0.52, 0.49, 0.47, 0.46),
        weekend=_hours(0.45, 0.45, 0.45, 0.45, 0.45, 0.45, 0.45, 0.46, 0.48, 0.50, 0.52, 0.53,
                       0.53, 0.54, 0.54, 0.53, 0.51, 0.49, 0.47, 0.46, 0.46, 0.45, 0.45, 0.45),
        power_factor=0.90, cooling_share=0.45, noise=0.05,
    ),
    "library": BuildingType(
        weekday=_hours(0.20, 0.20, 0.20, 0.20, 0.20, 0.20, 0.22, 0.30, 0.70, 0.80, 0.85, 0.88,
                       0.88, 0.93, 0.98, 1.00, 0.97, 0.92, 0.90, 0.90, 0.88, 0.80, 0.45, 0.25),
        weekend=_hours(0.20, 0.20, 0.20, 0.20, 0.20, 0.20, 0.20, 0.22, 0.30, 0.60, 0.68, 0.72,
                       0.75, 0.75, 0.75, 0.74, 0.68, 0.50, 0.25, 0.21, 0.20, 0.20, 0.20, 0.20),
        power_factor=0.95, cooling_share=0.65, noise=0.05,
    ),
    "student_centre": BuildingType(
        weekday=_hours(0.15, 0.15, 0.15, 0.15, 0.15, 0.15, 0.16, 0.25, 0.45, 0.60, 0.70, 0.85,
                       0.90, 0.85, 0.75, 0.78, 0.88, 0.98, 1.00, 0.95, 0.80, 0.55, 0.30, 0.18),
        weekend=_hours(0.15, 0.15, 0.15, 0.15, 0.15, 0.15, 0.15, 0.18, 0.28, 0.40, 0.50, 0.60,
                       0.65, 0.62, 0.58, 0.60, 0.66, 0.72, 0.72, 0.65, 0.50, 0.32, 0.20, 0.16),
        power_factor=0.94, cooling_share=0.55, noise=0.08,
    ),
    "administration": BuildingType(
        weekday=_hours(0.12, 0.12, 0.12, 0.12, 0.12, 0.12, 0.14, 0.25, 0.70, 0.85, 0.90, 0.92,
                       0.80, 0.93, 1.00, 0.98, 0.85, 0.45, 0.22, 0.16, 0.14, 0.13, 0.12, 0.12),
        weekend=_hours(0.12, 0.12, 0.12, 0.12, 0.12, 0.12, 0.12, 0.12, 0.13, 0.14, 0.15, 0.15,
                       0.15, 0.15, 0.15, 0.15, 0.14, 0.13, 0.12, 0.12, 0.12, 0.12, 0.12, 0.12),
        power_factor=0.95, cooling_share=0.60, noise=0.05,
    ),
    "dormitory": BuildingType(
        weekday=_hours(0.95, 0.90, 0.85, 0.80, 0.75, 0.70, 0.70, 0.65, 0.45, 0.35, 0.32, 0.33,
                       0.38, 0.36, 0.36, 0.40, 0.50, 0.62, 0.75, 0.85, 0.92, 0.98, 1.00, 0.98),
        weekend=_hours(0.96, 0.92, 0.88, 0.84, 0.80, 0.76, 0.72, 0.68, 0.62, 0.58, 0.56, 0.56,
                       0.58, 0.57, 0.57, 0.58, 0.62, 0.68, 0.78, 0.87, 0.93, 0.98, 1.00, 0.99),
        power_factor=0.93, cooling_share=0.55, noise=0.08,
    ),
    "cafeteria": BuildingType(
        weekday=_hours(0.15, 0.15, 0.15, 0.15, 0.18, 0.25, 0.55, 0.80, 0.65, 0.45, 0.60, 0.95,
                       1.00, 0.70, 0.45, 0.40, 0.55, 0.85, 0.90, 0.60, 0.30, 0.20, 0.15, 0.15),
        weekend=_hours(0.15, 0.15, 0.15, 0.15, 0.15, 0.18, 0.30, 0.50, 0.50, 0.35, 0.40, 0.62,
                       0.65, 0.48, 0.32, 0.30, 0.38, 0.55, 0.58, 0.40, 0.22, 0.17, 0.15, 0.15),
        power_factor=0.90, cooling_share=0.35, noise=0.10,
    ),
    "gymnasium": BuildingType(
        weekday=_hours(0.12, 0.12, 0.12, 0.12, 0.12, 0.15, 0.30, 0.40, 0.45, 0.46, 0.48, 0.50,
                       0.50, 0.55, 0.60, 0.70, 0.85, 1.00, 1.00, 0.95, 0.80, 0.50, 0.20, 0.12),
        weekend=_hours(0.12, 0.12, 0.12, 0.12, 0.12, 0.13, 0.20, 0.35, 0.50, 0.60, 0.68, 0.70,
                       0.68, 0.68, 0.72, 0.78, 0.85, 0.85, 0.80, 0.70, 0.50, 0.30, 0.15, 0.12),
        power_factor=0.92, cooling_share=0.50, noise=0.10,
    ),
    "parking": BuildingType(
        weekday=_hours(1.00, 1.00, 1.00, 1.00, 1.00, 1.00, 0.70, 0.15, 0.12, 0.12, 0.12, 0.12,
                       0.12, 0.12, 0.12, 0.12, 0.12, 0.25, 0.75, 1.00, 1.00, 1.00, 1.00, 1.00),
        weekend=_hours(0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.65, 0.12, 0.10, 0.10, 0.10, 0.10,
                       0.10, 0.10, 0.10, 0.10, 0.10, 0.22, 0.70, 0.95, 0.95, 0.95, 0.95, 0.95),
        power_factor=0.96, cooling_share=0.0, noise=0.03,
    ),
    "maintenance": BuildingType(
        weekday=_hours(0.30, 0.30, 0.30, 0.30, 0.30, 0.32, 0.40, 0.70, 0.92, 0.98, 1.00, 0.95,
                       0.70, 0.95, 0.98, 0.92, 0.75, 0.42, 0.33, 0.31, 0.30, 0.30, 0.30, 0.30),
        weekend=_hours(0.30, 0.30, 0.30, 0.30, 0.30, 0.30, 0.30, 0.32, 0.35, 0.36, 0.36, 0.35,
                       0.34, 0.35, 0.35, 0.34, 0.33, 0.31, 0.30, 0.30, 0.30, 0.30, 0.30, 0.30),
        power_factor=0.85, cooling_share=0.20, noise=0.09,
    ),
    "research": BuildingType(
        weekday=_hours(0.70, 0.70, 0.70, 0.70, 0.70, 0.70, 0.71, 0.75, 0.84, 0.90, 0.94, 0.96,
                       0.94, 0.97, 1.00, 0.99, 0.95, 0.88, 0.80, 0.76, 0.74, 0.72, 0.71, 0.70),
        weekend=_hours(0.70, 0.70, 0.70, 0.70, 0.70, 0.70, 0.70, 0.71, 0.74, 0.77, 0.80, 0.82,
                       0.82, 0.82, 0.82, 0.81, 0.79, 0.76, 0.73, 0.72, 0.71, 0.71, 0.70, 0.70),
        power_factor=0.93, cooling_share=0.50, noise=0.05,
    ),
}  # fmt: skip


def is_weekend(local_day: int) -> bool:
    """Saturday or Sunday, for a local day counted from 1970-01-01 (a Thursday)."""
    return (local_day + 3) % 7 >= 5


class BuildingLoad:
    """The load of one meter's building, a pure function of time and the air's heat."""

    __slots__ = (
        "_ceiling",
        "_cooling",
        "_day",
        "_no_cooling",
        "_noise",
        "_path",
        "_peak",
        "_shape",
        "_type",
    )

    def __init__(self, building_type: str, peak_w: float, key: str) -> None:
        self._type = BUILDING_TYPES[building_type]
        self._peak = peak_w
        self._ceiling = peak_w * LOAD_CEILING
        self._cooling = self._type.cooling_share * COOLING_PER_K
        self._no_cooling = 1.0 - self._type.cooling_share
        self._noise = self._type.noise
        self._path = Ar1Path(key, NOISE_CELL_S, NOISE_TAU_S, NOISE_CELLS_PER_BLOCK)
        self._day = -(1 << 62)
        self._shape: tuple[float, ...] = ()

    @property
    def power_factor(self) -> float:
        """Displacement power factor of this load."""
        return self._type.power_factor

    def power(self, t_ms: int, local_day: int, hour: float, ambient_c: float) -> float:
        """Load in W at an instant, given its local day and hour and the air temperature."""
        if local_day != self._day:
            self._day = local_day
            self._shape = self._shape_of(local_day)
        i = int(hour)
        shape = self._shape
        level = shape[i] + (hour - i) * (shape[i + 1] - shape[i])
        heat = 1.0 + self._cooling * (ambient_c - COOLING_REFERENCE_C)
        if heat < self._no_cooling:  # cold enough that the air conditioning is off
            heat = self._no_cooling
        w = self._peak * level * heat * (1.0 + self._noise * self._path.at(t_ms))
        if w > self._ceiling:
            return self._ceiling
        return w if w > 0.0 else 0.0

    def _shape_of(self, local_day: int) -> tuple[float, ...]:
        """25 points: the day's 24 hours and the next day's midnight, so days join up."""
        kind = self._type
        today = kind.weekend if is_weekend(local_day) else kind.weekday
        tomorrow = kind.weekend if is_weekend(local_day + 1) else kind.weekday
        return (*today, tomorrow[0])
