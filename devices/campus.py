"""The campus a fleet emulates: the shipped Bangkok campus file, or a synthetic fleet.

``devices/campus.toml`` (package data) describes the site and its 25 meters. A synthetic
fleet of any size keeps the campus's site and draws its meters (serials GM-SYN-00001, …)
from the same building types; meter ``i`` depends only on the seed and ``i``, so growing a
fleet never changes the meters it already had.
"""

from __future__ import annotations

import math
import random
import tomllib
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from devices.load import LOAD_CEILING
from devices.meter import MeterModel
from devices.settings import FleetSettings
from devices.site import Site
from devices.spec import SINGLE_PHASE_MAX_W, BatterySpec, MeterSpec, Role, SiteSpec
from devices.timebase import Instant

CAMPUS_FILE = "campus.toml"

# Synthetic fleets: how often each building type and role appears, and typical sizes.
_TYPE_WEIGHTS = {
    "engineering": 4, "science": 3, "business": 2, "library": 2, "student_centre": 2,
    "administration": 1, "dormitory": 4, "cafeteria": 1, "gymnasium": 2, "parking": 1,
    "maintenance": 1, "research": 2,
}  # fmt: skip
_ROLE_WEIGHTS: dict[Role, int] = {"consumer": 4, "prosumer": 4, "hybrid": 2}
_PEAK_RANGE_W = (5_000.0, 150_000.0)


class CampusError(ValueError):
    """The campus cannot be loaded; the message is one line."""


class Campus(BaseModel):
    """A site and the meters on it."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    site: SiteSpec
    meters: tuple[MeterSpec, ...] = Field(alias="meter", min_length=1)

    @model_validator(mode="after")
    def _unique_serials(self) -> Campus:
        seen: set[str] = set()
        for meter in self.meters:
            if meter.serial in seen:
                raise ValueError(f"serial {meter.serial} appears twice")
            seen.add(meter.serial)
        return self

    def meter(self, serial: str) -> MeterSpec:
        """The meter with this serial."""
        for spec in self.meters:
            if spec.serial == serial:
                return spec
        raise KeyError(serial)


def _one_line(exc: ValidationError, data: object) -> str:
    """The first validation error as one line, naming the meter by its serial."""
    error = exc.errors()[0]
    where: list[str] = []
    loc = list(error["loc"])
    if len(loc) >= 2 and loc[0] == "meter" and isinstance(loc[1], int) and isinstance(data, dict):
        meters = data.get("meter")
        serial = None
        if isinstance(meters, list) and loc[1] < len(meters) and isinstance(meters[loc[1]], dict):
            serial = meters[loc[1]].get("serial")
        where.append(f"meter {serial}" if serial else f"meter #{loc[1] + 1}")
        loc = loc[2:]
    where.extend(str(part) for part in loc)
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{'.'.join(where)}: {message}" if where else message


def parse_campus(text: str, origin: str = "campus file") -> Campus:
    """A campus from TOML text; every problem is a one-line ``CampusError``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CampusError(f"{origin}: not valid TOML: {exc}") from exc
    try:
        return Campus.model_validate(data)
    except ValidationError as exc:
        raise CampusError(f"{origin}: {_one_line(exc, data)}") from exc


def load_campus(path: Path | None = None) -> Campus:
    """The campus from ``path``, or the Bangkok campus shipped with gridmirror."""
    if path is None:
        text = resources.files("devices").joinpath(CAMPUS_FILE).read_text(encoding="utf-8")
        return parse_campus(text, f"devices/{CAMPUS_FILE}")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CampusError(f"cannot read campus file {path}: {exc.strerror or exc}") from exc
    return parse_campus(text, str(path))


def _rated(*needs_w: float) -> int:
    """A service rating above every need, rounded up to a whole 5 kW (1 kW when small)."""
    need = max(needs_w)
    unit = 1_000 if need <= SINGLE_PHASE_MAX_W else 5_000
    return int(math.ceil(need / unit) * unit)


def synthetic_meter(index: int, seed: int) -> MeterSpec:
    """Synthetic meter number ``index`` (1-based): a pure function of the seed and index."""
    rng = random.Random(f"{seed}/synthetic/{index}")
    building_type = rng.choices(list(_TYPE_WEIGHTS), weights=list(_TYPE_WEIGHTS.values()))[0]
    role: Role = rng.choices(list(_ROLE_WEIGHTS), weights=list(_ROLE_WEIGHTS.values()))[0]
    low, high = _PEAK_RANGE_W
    peak = round(math.exp(rng.uniform(math.log(low), math.log(high))), -2)
    pv_kwp = 0.0 if role == "consumer" else round(peak / 1000.0 * rng.uniform(0.3, 1.2), 1)
    battery = None
    if role == "hybrid":
        power_kw = round(max(1.0, pv_kwp * rng.uniform(0.3, 0.6)), 1)
        battery = BatterySpec(
            capacity_kwh=round(power_kw * rng.uniform(1.0, 3.0), 1),
            charge_kw=power_kw,
            discharge_kw=power_kw,
        )
    rated = _rated(LOAD_CEILING * peak, pv_kwp * 1000.0)
    phases = 1 if rated <= SINGLE_PHASE_MAX_W and rng.random() < 0.5 else 3
    return MeterSpec(
        serial=f"GM-SYN-{index:05d}",
        building=f"Synthetic {building_type.replace('_', ' ')} {index}",
        building_type=building_type,
        role=role,
        phases=phases,
        rated_power_w=rated,
        peak_load_w=peak,
        pv_kwp=pv_kwp,
        battery=battery,
    )


def synthetic_fleet(count: int, seed: int, site: SiteSpec) -> Campus:
    """``count`` synthetic meters (GM-SYN-00001, …) on ``site``."""
    if not 1 <= count <= 99_999:
        raise CampusError(f"a synthetic fleet has 1 to 99999 meters, not {count}")
    return Campus(site=site, meters=tuple(synthetic_meter(i, seed) for i in range(1, count + 1)))


def fleet_campus(settings: FleetSettings) -> Campus:
    """The campus the fleet settings ask for: the campus file, or a synthetic fleet on
    its site when ``count`` is set."""
    campus = load_campus(settings.campus_file)
    if settings.count is None:
        return campus
    return synthetic_fleet(settings.count, settings.seed, campus.site)


def meter_models(campus: Campus, seed: int, start: Instant) -> list[MeterModel]:
    """The campus's meters, running: one shared ``Site`` (one sky) and a model per meter,
    all starting at ``start``."""
    site = Site(campus.site, seed)
    return [MeterModel(spec, site, start) for spec in campus.meters]
