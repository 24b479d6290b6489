"""Benchmark of the protocol core: how many readings POSTs one core can take in.

Target (issue #2): parse, XSD-check and extract the readings of a MirrorMeterReadingList
with two MirrorMeterReadings of one reading each (the import and export registers a meter
posts every postRate) at >= 5,000 documents/s on one core.

The full pipeline is timed, and beside it, in the same run, each of its stages alone, so
the figures say where the time goes. Rates are per second of CPU time of this (single-
threaded) process, which is what "one core" means and is steadier than wall time on a
shared machine; the wall-clock rate of the full pipeline is printed too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from lxml import etree

from sep2 import (
    Codec,
    DateTimeInterval,
    FlowDirection,
    MirrorMeterReading,
    MirrorMeterReadingList,
    QualityFlags,
    Reading,
    ReadingType,
    Schema,
    Sep2Settings,
    extract_readings,
    mrid_for,
)
from sep2.enums import AccumulationBehaviour, Commodity, DataQualifier, Kind, Uom
from sep2.hardening import SafeXmlParser

TARGET_DOCS_PER_SECOND = 5_000
_LFDI = "3E4F45AB31EDFE5B67E343E5E4562E31984E23E5"


@dataclass(frozen=True, slots=True)
class StageRate:
    """One timed stage: documents per CPU-second and microseconds per document."""

    name: str
    per_cpu_second: float
    per_wall_second: float

    @property
    def microseconds(self) -> float:
        """CPU microseconds per document."""
        return 1e6 / self.per_cpu_second


def register_types(pen: int) -> dict[str, ReadingType]:
    """The ReadingTypes of a meter's two registers, by MirrorMeterReading mRID."""
    total = ReadingType(
        accumulation_behaviour=AccumulationBehaviour.SUMMATION,
        commodity=Commodity.ELECTRICITY_SECONDARY,
        data_qualifier=DataQualifier.NORMAL,
        kind=Kind.ENERGY,
        power_of_ten_multiplier=0,
        uom=Uom.WH,
    )
    return {
        mrid_for(pen, _LFDI, "import"): replace(total, flow_direction=FlowDirection.FORWARD),
        mrid_for(pen, _LFDI, "export"): replace(total, flow_direction=FlowDirection.REVERSE),
    }


def sample_document(codec: Codec, pen: int) -> bytes:
    """A MirrorMeterReadingList as a meter POSTs it: two registers, one reading each."""
    start = 1_767_225_600
    items = tuple(
        MirrorMeterReading(
            mrid=mrid,
            reading=Reading(
                quality_flags=QualityFlags.VALID,
                time_period=DateTimeInterval(duration=15, start=start),
                value=value,
            ),
        )
        for mrid, value in zip(register_types(pen), (12_345_678, 2_345_678), strict=True)
    )
    return codec.serialise(MirrorMeterReadingList(items=items))


def _rate(name: str, work: Callable[[], object], seconds: float) -> StageRate:
    # Batches keep the clock reads out of the measured work.
    batch = 200
    done = 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    while True:
        for _ in range(batch):
            work()
        done += batch
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        if cpu >= seconds:
            return StageRate(name, done / cpu, done / wall)


def run(xsd: bytes, settings: Sep2Settings, seconds: float = 2.0) -> list[StageRate]:
    """Time the full pipeline and each stage; the first entry is the full pipeline."""
    schema = Schema.from_bytes(xsd)
    codec = Codec(schema, settings)
    known = register_types(settings.pen)
    body = sample_document(codec, settings.pen)

    def pipeline() -> object:
        readings = extract_readings(codec.parse(body, MirrorMeterReadingList), reading_types=known)
        assert len(readings) == 2 and readings[0].wh == 12_345_678
        return readings

    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    tree = etree.fromstring(body, parser)
    validator = etree.XMLSchema(etree.fromstring(xsd))
    parsed = codec.parse(body, MirrorMeterReadingList)
    hardened = SafeXmlParser(max_body_bytes=settings.max_body_bytes, max_depth=settings.max_depth)
    stages = [
        ("full: parse + XSD check + map + extract", pipeline),
        ("  lxml parse alone", lambda: etree.fromstring(body, parser)),
        ("  hardened parse alone (limits, UTF-8, DTD)", lambda: hardened.parse(body)),
        ("  XSD validate alone", lambda: validator.validate(tree)),
        ("  codec.parse (hardened parse + XSD + map)", lambda: codec.parse(body)),
        ("  extract_readings alone", lambda: extract_readings(parsed, reading_types=known)),
        ("  codec.serialise (with XSD check)", lambda: codec.serialise(parsed)),
    ]
    return [_rate(name, work, seconds) for name, work in stages]


def report(rates: list[StageRate], body_size: int) -> str:
    """The figures as printed by ``gridmirror bench sep2``."""
    full = rates[0]
    lines = [
        f"sep2 ingest: MirrorMeterReadingList, 2 registers x 1 reading, {body_size} bytes",
        f"{'stage':<46} {'docs/CPU-s':>12} {'us/doc':>8}",
    ]
    lines += [f"{r.name:<46} {r.per_cpu_second:>12,.0f} {r.microseconds:>8.1f}" for r in rates]
    verdict = "meets" if full.per_cpu_second >= TARGET_DOCS_PER_SECOND else "MISSES"
    lines.append(
        f"full pipeline: {full.per_cpu_second:,.0f} docs/s per core "
        f"({full.per_wall_second:,.0f} docs/s wall); target {TARGET_DOCS_PER_SECOND:,}: {verdict}"
    )
    return "\n".join(lines)
