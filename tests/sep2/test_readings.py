from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sep2 import (
    Codec,
    DateTimeInterval,
    EnergyRegister,
    MirrorMeterReading,
    MirrorMeterReadingList,
    MirrorReadingSet,
    MirrorUsagePoint,
    Reading,
    ReadingType,
    energy_register,
    extract_readings,
    reading_types_of,
    scaled_value,
    whole_wh,
)
from sep2.primitives import INT48_MAX, INT48_MIN

IMPORT = ReadingType(uom=72, kind=12, accumulation_behaviour=9, flow_direction=1, commodity=1)
EXPORT = replace(IMPORT, flow_direction=19)
T0 = 1_767_225_600


@given(st.integers(INT48_MIN, INT48_MAX), st.integers(-9, 9))
def test_scaled_value_is_exact(raw: int, power: int) -> None:
    value = scaled_value(raw, power)
    assert Decimal(value) == Decimal(raw) * Decimal(10) ** power
    assert isinstance(value, int) == (power >= 0)


def test_scaled_value_without_multiplier_is_the_raw_int() -> None:
    assert scaled_value(42, None) == 42
    assert scaled_value(12345, -3) == Decimal("12.345")
    assert str(scaled_value(-5, -1)) == "-0.5"


@given(st.integers(0, INT48_MAX), st.integers(-9, 9))
def test_whole_wh_is_exact_or_none(raw: int, power: int) -> None:
    wh = whole_wh(raw, power)
    exact = Decimal(raw) * Decimal(10) ** power
    if exact == exact.to_integral_value():
        assert wh == int(exact)
    else:
        assert wh is None


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, EnergyRegister.IMPORT),
        ({"flow_direction": 19}, EnergyRegister.EXPORT),
        ({"commodity": None}, EnergyRegister.IMPORT),
        ({"commodity": 2}, EnergyRegister.IMPORT),
        ({"data_qualifier": 12}, EnergyRegister.IMPORT),
        ({"phase": 0}, EnergyRegister.IMPORT),
        ({"power_of_ten_multiplier": 3}, EnergyRegister.IMPORT),
        ({"flow_direction": None}, None),
        ({"flow_direction": 4}, None),
        ({"uom": 73}, None),
        ({"uom": None}, None),
        ({"kind": 37}, None),
        ({"accumulation_behaviour": 4}, None),
        ({"accumulation_behaviour": 3}, None),
        ({"commodity": 7}, None),
        ({"data_qualifier": 8}, None),
        ({"phase": 128}, None),
    ],
)
def test_energy_register_recognition(
    changes: dict[str, int | None], expected: EnergyRegister | None
) -> None:
    assert energy_register(replace(IMPORT, **changes)) == expected  # type: ignore[arg-type]


def test_no_reading_type_is_no_register() -> None:
    assert energy_register(None) is None


def test_readings_use_the_known_reading_types() -> None:
    mmrl = MirrorMeterReadingList(
        items=(
            MirrorMeterReading(
                mrid="0A",
                reading=Reading(value=1234, time_period=DateTimeInterval(duration=15, start=T0)),
            ),
            MirrorMeterReading(mrid="0B", reading=Reading(value=56, quality_flags=0x10)),
            MirrorMeterReading(mrid="0C", reading=Reading(value=7)),
        )
    )
    known = {
        "0A": replace(IMPORT, power_of_ten_multiplier=-1),
        "0B": replace(EXPORT, power_of_ten_multiplier=3),
    }
    a, b, c = extract_readings(mmrl, reading_types=known)
    assert (a.register, a.value, a.wh, a.start, a.duration) == (
        EnergyRegister.IMPORT,
        Decimal("123.4"),
        None,
        T0,
        15,
    )
    assert (b.register, b.value, b.wh, b.quality_flags) == (
        EnergyRegister.EXPORT,
        56_000,
        56_000,
        0x10,
    )
    assert (c.reading_type, c.register, c.value, c.start) == (None, None, 7, None)


def test_a_reading_type_in_the_document_wins() -> None:
    mmr = MirrorMeterReading(mrid="0A", reading=Reading(value=5), reading_type=EXPORT)
    (reading,) = extract_readings(mmr, reading_types={"0A": IMPORT})
    assert reading.register == EnergyRegister.EXPORT


def test_tier_and_block_readings_are_not_whole_registers() -> None:
    mmrl = MirrorMeterReadingList(
        items=(
            MirrorMeterReading(
                mrid="01", reading=Reading(value=5, tou_tier=1), reading_type=IMPORT
            ),
            MirrorMeterReading(
                mrid="02", reading=Reading(value=5, consumption_block=2), reading_type=IMPORT
            ),
            MirrorMeterReading(
                mrid="03",
                reading=Reading(value=5, tou_tier=0, consumption_block=0),
                reading_type=IMPORT,
            ),
        )
    )
    assert [r.register for r in extract_readings(mmrl)] == [None, None, EnergyRegister.IMPORT]


def test_reading_sets_and_time_fallbacks() -> None:
    set_period = DateTimeInterval(duration=900, start=T0)
    mmr = MirrorMeterReading(
        mrid="01",
        last_update_time=T0 + 5,
        reading=Reading(value=1),
        reading_type=IMPORT,
        mirror_reading_sets=(
            MirrorReadingSet(
                mrid="AA",
                time_period=set_period,
                readings=(
                    Reading(
                        value=2,
                        local_id=0,
                        time_period=DateTimeInterval(duration=300, start=T0 + 300),
                    ),
                    Reading(value=3, local_id=1),
                ),
            ),
        ),
    )
    direct, in_set, set_default = extract_readings(mmr)
    assert (direct.start, direct.duration, direct.reading_set_mrid) == (T0 + 5, None, None)
    assert (in_set.start, in_set.duration, in_set.reading_set_mrid, in_set.local_id) == (
        T0 + 300,
        300,
        "AA",
        0,
    )
    assert (set_default.start, set_default.duration, set_default.wh) == (T0, 900, 3)


def test_a_reading_without_a_value_is_kept_without_one() -> None:
    (reading,) = extract_readings(
        MirrorMeterReading(mrid="01", reading=Reading(), reading_type=IMPORT)
    )
    assert (reading.raw_value, reading.value, reading.wh, reading.register) == (
        None,
        None,
        None,
        EnergyRegister.IMPORT,
    )


def test_extraction_from_a_mirror_usage_point_and_reading_types_of() -> None:
    mup = MirrorUsagePoint(
        mrid="FF",
        role_flags=1,
        service_category_kind=0,
        status=1,
        device_lfdi="00",
        mirror_meter_readings=(
            MirrorMeterReading(mrid="01", reading_type=IMPORT, reading=Reading(value=10)),
            MirrorMeterReading(mrid="02", reading_type=EXPORT),
            MirrorMeterReading(mrid="03"),
        ),
    )
    assert reading_types_of(mup) == {"01": IMPORT, "02": EXPORT}
    assert [(r.mmr_mrid, r.wh) for r in extract_readings(mup)] == [("01", 10)]


def test_end_to_end_from_bytes(codec: Codec) -> None:
    body = (
        b'<MirrorMeterReadingList xmlns="urn:ieee:std:2030.5:ns">'
        b"<MirrorMeterReading><mRID>0a</mRID><Reading><timePeriod><duration>15</duration>"
        b"<start>1767225600</start></timePeriod><value>140737488355328</value></Reading>"
        b"</MirrorMeterReading></MirrorMeterReadingList>"
    )
    mmrl = codec.parse(body, MirrorMeterReadingList)
    (reading,) = extract_readings(
        mmrl, reading_types={"0A": replace(IMPORT, power_of_ten_multiplier=-3)}
    )
    assert reading.mmr_mrid == "0A"  # keys are the upper-case form the codec gives
    assert reading.value == Decimal("140737488355.328")
    assert reading.wh is None
