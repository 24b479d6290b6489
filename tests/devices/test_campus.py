from __future__ import annotations

import re
from pathlib import Path

import pytest

from devices.campus import Campus, CampusError, fleet_campus, load_campus, synthetic_fleet
from devices.load import BUILDING_TYPES, LOAD_CEILING
from devices.settings import FleetSettings

REQUIRED_TYPES = {
    "engineering", "business", "science", "library", "student_centre", "administration",
    "dormitory", "cafeteria", "gymnasium", "parking", "maintenance", "research",
}  # fmt: skip


def test_the_campus_file_loads_with_its_buildings_and_roles(campus: Campus) -> None:
    assert len(campus.meters) == 25
    assert campus.site.latitude == pytest.approx(13.78)
    assert campus.site.longitude == pytest.approx(100.56)
    assert campus.site.utc_offset_hours == 7.0
    assert {m.building_type for m in campus.meters} == REQUIRED_TYPES
    dormitories = {m.building for m in campus.meters if m.building_type == "dormitory"}
    assert len(dormitories) == 2
    assert {m.role for m in campus.meters} == {"consumer", "prosumer", "hybrid"}
    assert {m.phases for m in campus.meters} == {1, 3}
    per_building: dict[str, int] = {}
    for m in campus.meters:
        per_building[m.building] = per_building.get(m.building, 0) + 1
    assert len(per_building) == 13
    assert max(per_building.values()) >= 3  # several meters in the big buildings


def test_serials_are_unique_and_stable(campus: Campus) -> None:
    serials = [m.serial for m in campus.meters]
    assert len(set(serials)) == len(serials)
    assert all(re.fullmatch(r"GM-[A-Z]{3}-\d{2}", s) for s in serials)
    assert "GM-ENG-01" in serials


def test_ratings_cover_what_the_physics_can_draw(campus: Campus) -> None:
    for m in campus.meters:
        assert m.rated_power_w >= LOAD_CEILING * m.peak_load_w
        assert m.rated_power_w >= m.pv_kwp * 1000
        assert (m.pv_kwp > 0) == (m.role != "consumer")
        assert (m.battery is not None) == (m.role == "hybrid")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "campus.toml"
    path.write_text(text)
    return path


SITE = """
[site]
name = "t"
latitude = 13.78
longitude = 100.56
utc_offset_hours = 7
[site.climate]
t_max_c = [33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33, 33]
t_min_c = [25, 25, 25, 25, 25, 25, 25, 25, 25, 25, 25, 25]
cloud_cover = [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
"""
METER = """
[[meter]]
serial = "{serial}"
building = "B"
building_type = "{kind}"
role = "{role}"
rated_power_w = {rated}
peak_load_w = 10000
pv_kwp = {pv}
{extra}
"""


def meter(serial: str = "GM-T-01", kind: str = "library", role: str = "prosumer",
          rated: int = 20_000, pv: float = 5.0, extra: str = "") -> str:  # fmt: skip
    return METER.format(serial=serial, kind=kind, role=role, rated=rated, pv=pv, extra=extra)


def test_a_small_campus_file_loads(tmp_path: Path) -> None:
    owner = "4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T"
    campus = load_campus(write(tmp_path, SITE + meter(extra=f'owner = "{owner}"')))
    assert campus.meters[0].owner == owner
    assert campus.site.climate.cloud_variability == 0.3  # the default


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (SITE + meter() + meter(), "serial GM-T-01 appears twice"),
        (
            SITE + meter(rated=12_000),
            "meter GM-T-01: rated_power_w 12000 is below the largest load",
        ),
        (SITE + meter(role="hybrid"), "meter GM-T-01: a hybrid has PV and a battery"),
        (SITE + meter(role="consumer"), "a consumer has no PV and no battery"),
        (SITE + meter(kind="stadium"), "meter GM-T-01.building_type: unknown building type"),
        (SITE + meter(extra='owner = "0OIl"'), "is not a base58 character"),
        (SITE + meter(extra='owner = "abc"'), "32 bytes"),
        (SITE + meter(extra="colour = 3"), "meter GM-T-01.colour: Extra inputs are not permitted"),
        (SITE + meter(extra="phases = 1", rated=40_000, pv=1), "single-phase service"),
        (SITE.replace("latitude = 13.78", "latitude = 130"), "site.latitude"),
        (SITE.replace("0.5, 0.5]", "0.5, 1.5]") + meter(), "cloud_cover values must be within"),
        (SITE, "meter: Field required"),
        ("[site\n", "not valid TOML"),
    ],
)
def test_bad_campus_files_give_one_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(CampusError) as info:
        load_campus(write(tmp_path, text))
    assert "\n" not in str(info.value)
    assert message in str(info.value)
    assert str(tmp_path) in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CampusError, match="cannot read campus file"):
        load_campus(tmp_path / "nowhere.toml")


def test_synthetic_fleet(campus: Campus) -> None:
    fleet = synthetic_fleet(300, seed=2030, site=campus.site)
    serials = [m.serial for m in fleet.meters]
    assert serials[0] == "GM-SYN-00001" and serials[-1] == "GM-SYN-00300"
    assert len(set(serials)) == 300
    assert {m.role for m in fleet.meters} == {"consumer", "prosumer", "hybrid"}
    assert {m.phases for m in fleet.meters} == {1, 3}
    assert {m.building_type for m in fleet.meters} == set(BUILDING_TYPES) == REQUIRED_TYPES
    # Growing a fleet keeps the meters it had; another seed gives other meters.
    assert synthetic_fleet(20, 2030, campus.site).meters == fleet.meters[:20]
    assert synthetic_fleet(20, 1, campus.site).meters != fleet.meters[:20]
    with pytest.raises(CampusError):
        synthetic_fleet(0, 1, campus.site)


def test_fleet_settings_choose_the_campus(tmp_path: Path) -> None:
    assert len(fleet_campus(FleetSettings()).meters) == 25
    synthetic = fleet_campus(FleetSettings(count=40, seed=3))
    assert len(synthetic.meters) == 40 and synthetic.site == load_campus().site
    own = fleet_campus(FleetSettings(campus_file=write(tmp_path, SITE + meter())))
    assert [m.serial for m in own.meters] == ["GM-T-01"]
