"""What a site and its meters are: location, climate, and each meter's ratings.

These are the validated descriptions the campus file (and the synthetic fleet) produce
and the physics is built from. Ratings are checked against the physics: a meter's rated
power must cover the largest load its building can draw and the largest output of its PV
inverter, because the on-chain Oracle rejects energy a meter's rating cannot deliver.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from devices.dispatch import GRID_MARGIN, Strategy
from devices.load import BUILDING_TYPES, LOAD_CEILING

Role = Literal["consumer", "prosumer", "hybrid"]
Monthly = tuple[float, float, float, float, float, float, float, float, float, float, float, float]

SINGLE_PHASE_MAX_W = 23_000  # a 100 A single-phase service at 230 V
_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _base58_decode(text: str) -> bytes:
    number = 0
    for ch in text:
        digit = _BASE58.find(ch)
        if digit < 0:
            raise ValueError(f"{ch!r} is not a base58 character")
        number = number * 58 + digit
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body


class ClimateSpec(BaseModel):
    """A site's climate: monthly normals and how much the weather wanders from them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    t_max_c: Monthly = Field(description="Mean daily maximum air temperature, Jan..Dec (°C).")
    t_min_c: Monthly = Field(description="Mean daily minimum air temperature, Jan..Dec (°C).")
    cloud_cover: Monthly = Field(description="Mean daytime cloud cover, Jan..Dec (0..1).")
    cloud_variability: float = Field(
        default=0.3, ge=0.0, le=1.0, description="Standard deviation of the cloud cover."
    )
    temperature_anomaly_k: float = Field(
        default=1.0, ge=0.0, le=10.0, description="Standard deviation of the day's anomaly (K)."
    )

    @model_validator(mode="after")
    def _sane(self) -> ClimateSpec:
        if any(c < 0.0 or c > 1.0 for c in self.cloud_cover):
            raise ValueError("cloud_cover values must be within 0..1")
        if any(lo > hi for lo, hi in zip(self.t_min_c, self.t_max_c, strict=True)):
            raise ValueError("t_min_c must not exceed t_max_c")
        if any(t < -60.0 or t > 60.0 for t in (*self.t_min_c, *self.t_max_c)):
            raise ValueError("temperatures must be within -60..60 °C")
        return self


class SiteSpec(BaseModel):
    """Where the meters are: one place, one sky, one clock."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, description="Name of the site; part of its random seed.")
    latitude: float = Field(ge=-90.0, le=90.0, description="Degrees north.")
    longitude: float = Field(ge=-180.0, le=180.0, description="Degrees east.")
    utc_offset_hours: float = Field(
        ge=-12.0, le=14.0, description="Local clock offset from UTC (fixed; no DST)."
    )
    climate: ClimateSpec


class BatterySpec(BaseModel):
    """A battery's ratings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    capacity_kwh: float = Field(gt=0.0, le=100_000.0, description="Nominal capacity.")
    charge_kw: float = Field(gt=0.0, description="Largest charging power (AC).")
    discharge_kw: float = Field(gt=0.0, description="Largest discharging power (AC).")
    round_trip_efficiency: float = Field(default=0.90, gt=0.5, le=1.0)
    soc_min: float = Field(default=0.10, ge=0.0, lt=1.0, description="Lowest state of charge.")
    soc_max: float = Field(default=0.95, gt=0.0, le=1.0, description="Highest state of charge.")
    soc_initial: float = Field(default=0.50, ge=0.0, le=1.0, description="At the first step.")
    strategy: Strategy = Field(
        default="self_consumption",
        description="How it is run (devices.dispatch): self_consumption, time_of_use or "
        "peak_shaving.",
    )
    off_peak_hours: tuple[float, float] = Field(
        default=(22.0, 9.0),
        description="time_of_use: local start and end of the off-peak hours (may wrap "
        "midnight); Thailand's TOU tariff by default.",
    )
    off_peak_weekends: bool = Field(
        default=True, description="time_of_use: Saturday and Sunday are off-peak all day."
    )
    peak_shaving_kw: float | None = Field(
        default=None, gt=0.0, description="peak_shaving: the import it holds the meter to."
    )

    @model_validator(mode="after")
    def _window(self) -> BatterySpec:
        if self.soc_min >= self.soc_max:
            raise ValueError("soc_min must be below soc_max")
        if any(not 0.0 <= h <= 24.0 for h in self.off_peak_hours):
            raise ValueError("off_peak_hours must be within 0..24")
        if self.strategy == "peak_shaving" and self.peak_shaving_kw is None:
            raise ValueError("a peak_shaving battery needs peak_shaving_kw")
        return self


class MeterSpec(BaseModel):
    """One meter: which building it serves, its role and its ratings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    serial: str = Field(
        pattern=r"^[A-Z0-9][A-Z0-9-]{1,31}$",
        description="Stable serial (e.g. GM-ENG-01); device certificates are issued per serial.",
    )
    building: str = Field(min_length=1, description="The building's name.")
    building_type: str = Field(description="Load profile: one of devices.load.BUILDING_TYPES.")
    role: Role
    phases: Literal[1, 3] = 3
    rated_power_w: int = Field(gt=0, description="Largest power the service can carry.")
    peak_load_w: float = Field(gt=0.0, description="Typical peak load of the building.")
    pv_kwp: float = Field(default=0.0, ge=0.0, description="PV array, kW peak.")
    battery: BatterySpec | None = None
    owner: str | None = Field(
        default=None, description="Solana wallet (base58) that receives the energy tokens."
    )

    @field_validator("building_type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value not in BUILDING_TYPES:
            raise ValueError(f"unknown building type; known: {', '.join(sorted(BUILDING_TYPES))}")
        return value

    @field_validator("owner")
    @classmethod
    def _wallet(cls, value: str | None) -> str | None:
        if value is not None and len(_base58_decode(value)) != 32:
            raise ValueError("owner must be a base58 Solana address of 32 bytes")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> MeterSpec:
        has_pv, has_battery = self.pv_kwp > 0.0, self.battery is not None
        wanted = {"consumer": (False, False), "prosumer": (True, False), "hybrid": (True, True)}
        if (has_pv, has_battery) != wanted[self.role]:
            raise ValueError(
                f"a {self.role} has "
                + {"consumer": "no PV and no battery", "prosumer": "PV and no battery",
                   "hybrid": "PV and a battery"}[self.role]
            )  # fmt: skip
        largest_load = LOAD_CEILING * self.peak_load_w
        if self.rated_power_w < largest_load:
            raise ValueError(
                f"rated_power_w {self.rated_power_w} is below the largest "
                f"load {largest_load:.0f} W ({LOAD_CEILING} x peak_load_w)"
            )
        if self.rated_power_w < self.pv_kwp * 1000.0:
            raise ValueError(
                f"rated_power_w {self.rated_power_w} is below the PV "
                f"inverter's {self.pv_kwp * 1000.0:.0f} W"
            )
        b = self.battery
        shave = b.peak_shaving_kw if b is not None else None
        if shave is not None and shave * 1000.0 > GRID_MARGIN * self.rated_power_w:
            raise ValueError(
                f"peak_shaving_kw {b.peak_shaving_kw:g} is above {GRID_MARGIN:g} x rated_power_w"
            )
        if self.phases == 1 and self.rated_power_w > SINGLE_PHASE_MAX_W:
            raise ValueError(f"a single-phase service carries at most {SINGLE_PHASE_MAX_W} W")
        return self
