"""Readings out of a MirrorMeterReading(List): what the gateway stores and the chain settles.

A meter first POSTs its MirrorUsagePoint with one MirrorMeterReading per quantity, each
with its ReadingType; later POSTs to /mup/{id} carry only the MirrorMeterReading's mRID and
a Reading (or MirrorReadingSets of Readings) and SHOULD NOT repeat the ReadingType. So
:func:`extract_readings` takes the ReadingTypes already known for the mirror, by
MirrorMeterReading mRID, and uses a ReadingType in the document when there is one.

Values are exact: a Reading's value is an integer in the ReadingType's unit times
10^powerOfTenMultiplier, returned as an ``int`` when the multiplier is >= 0 and as a
``Decimal`` (exact, no float ever) when it is negative.

Energy registers are what gridmirror settles: real energy (uom 72 Wh, kind 12 energy) that
is a summation (accumulationBehaviour 9), forward (flowDirection 1: delivered to the
customer, *import*) or reverse (19: received from the customer, *export*). To count each
Wh once, only a whole-meter register qualifies: commodity absent or electricity (0, 1, 2),
dataQualifier absent, 0 or 12 (normal), phase absent or 0 (a per-phase register would
count the same energy again), and a Reading with no touTier or consumptionBlock (a tier or
block register is part of the total). Its ``wh`` is the register in whole Wh, or None when
the multiplier leaves a fraction (e.g. 1234 x 10^-1).

A reading's time is its own timePeriod; a Reading without one takes its MirrorReadingSet's
timePeriod, or, directly in a MirrorMeterReading, ``start`` = the MirrorMeterReading's
lastUpdateTime (duration None); otherwise both are None and the caller decides.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

from sep2.enums import AccumulationBehaviour, FlowDirection, Kind, Uom
from sep2.resources import (
    DateTimeInterval,
    MirrorMeterReading,
    MirrorMeterReadingList,
    MirrorUsagePoint,
    Reading,
    ReadingType,
)


class EnergyRegister(Enum):
    """Which cumulative energy register a reading is."""

    IMPORT = "import"  # flowDirection 1, forward: delivered to the customer
    EXPORT = "export"  # flowDirection 19, reverse: received from the customer


_ELECTRICITY = (None, 0, 1, 2)
_PLAIN_QUALIFIER = (None, 0, 12)
_NO_TIER = (None, 0)


@dataclass(frozen=True, slots=True)
class MirroredReading:
    """One Reading with everything needed to store it: where it came from, its type,
    its time, its exact value and whether it is an energy register."""

    mmr_mrid: str
    reading_set_mrid: str | None
    reading_type: ReadingType | None
    start: int | None
    duration: int | None
    raw_value: int | None
    value: int | Decimal | None
    quality_flags: int | None
    local_id: int | None
    tou_tier: int | None
    consumption_block: int | None
    register: EnergyRegister | None
    wh: int | None


def scaled_value(raw: int, power_of_ten: int | None) -> int | Decimal:
    """``raw`` x 10^power_of_ten exactly: an int for a power >= 0, else a Decimal."""
    power = power_of_ten or 0
    if power >= 0:
        return raw * int(10**power)
    return Decimal(raw).scaleb(power)


def energy_register(reading_type: ReadingType | None) -> EnergyRegister | None:
    """IMPORT or EXPORT if ``reading_type`` is a whole-meter Wh summation register."""
    if reading_type is None:
        return None
    rt = reading_type
    if (
        rt.uom != Uom.WH
        or rt.kind != Kind.ENERGY
        or rt.accumulation_behaviour != AccumulationBehaviour.SUMMATION
        or rt.commodity not in _ELECTRICITY
        or rt.data_qualifier not in _PLAIN_QUALIFIER
        or rt.phase not in _NO_TIER
    ):
        return None
    if rt.flow_direction == FlowDirection.FORWARD:
        return EnergyRegister.IMPORT
    if rt.flow_direction == FlowDirection.REVERSE:
        return EnergyRegister.EXPORT
    return None


def whole_wh(raw: int, power_of_ten: int | None) -> int | None:
    """``raw`` x 10^power_of_ten Wh as an exact int, or None if it has a fraction."""
    power = power_of_ten or 0
    if power >= 0:
        return raw * int(10**power)
    divisor = int(10**-power)
    return raw // divisor if raw % divisor == 0 else None


def reading_types_of(mup: MirrorUsagePoint) -> dict[str, ReadingType]:
    """The ReadingTypes a MirrorUsagePoint declares, by MirrorMeterReading mRID."""
    return {mmr.mrid: mmr.reading_type for mmr in mup.mirror_meter_readings if mmr.reading_type}


def _one(
    mmr_mrid: str,
    set_mrid: str | None,
    reading_type: ReadingType | None,
    reading: Reading,
    fallback_period: DateTimeInterval | None,
    fallback_start: int | None,
) -> MirroredReading:
    period = reading.time_period or fallback_period
    start = period.start if period else fallback_start
    duration = period.duration if period else None
    power = reading_type.power_of_ten_multiplier if reading_type else None
    raw = reading.value
    register = energy_register(reading_type)
    if reading.tou_tier not in _NO_TIER or reading.consumption_block not in _NO_TIER:
        register = None
    return MirroredReading(
        mmr_mrid=mmr_mrid,
        reading_set_mrid=set_mrid,
        reading_type=reading_type,
        start=start,
        duration=duration,
        raw_value=raw,
        value=None if raw is None else scaled_value(raw, power),
        quality_flags=reading.quality_flags,
        local_id=reading.local_id,
        tou_tier=reading.tou_tier,
        consumption_block=reading.consumption_block,
        register=register,
        wh=None if register is None or raw is None else whole_wh(raw, power),
    )


def _of_mmr(
    mmr: MirrorMeterReading, reading_types: Mapping[str, ReadingType]
) -> Iterable[MirroredReading]:
    reading_type = mmr.reading_type or reading_types.get(mmr.mrid)
    if mmr.reading is not None:
        yield _one(mmr.mrid, None, reading_type, mmr.reading, None, mmr.last_update_time)
    for reading_set in mmr.mirror_reading_sets:
        for reading in reading_set.readings:
            yield _one(
                mmr.mrid, reading_set.mrid, reading_type, reading, reading_set.time_period, None
            )


def extract_readings(
    resource: MirrorUsagePoint | MirrorMeterReading | MirrorMeterReadingList,
    *,
    reading_types: Mapping[str, ReadingType] | None = None,
) -> list[MirroredReading]:
    """Every Reading in ``resource``, in document order, typed and scaled.

    ``reading_types`` are the ReadingTypes known for this mirror (from its creation POST,
    see :func:`reading_types_of`), keyed by MirrorMeterReading mRID in upper case.
    """
    known = reading_types or {}
    if isinstance(resource, MirrorMeterReading):
        mmrs: Iterable[MirrorMeterReading] = (resource,)
    elif isinstance(resource, MirrorMeterReadingList):
        mmrs = resource.items
    else:
        mmrs = resource.mirror_meter_readings
    return [reading for mmr in mmrs for reading in _of_mmr(mmr, known)]
