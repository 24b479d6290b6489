"""Rows to 2030.5 resources and back: the one place that knows both shapes.

The URL layout lives here too (``Hrefs``), so every resource names its links the same way
(docs/gateway.md lists them).
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Mapping, Sequence
from dataclasses import replace
from types import MappingProxyType
from typing import Any, TypeVar

from gateway.models import EndDeviceRow, MeterReadingRow, MirrorRow, ReadingRow, ReadingSetRow
from gateway.postrate import device_post_rate
from sep2 import (
    Codec,
    DateTimeInterval,
    Der,
    DerAvailability,
    DerCapability,
    DerSettings,
    DerStatus,
    DeviceInformation,
    EndDevice,
    Link,
    ListLink,
    MeterReading,
    MirrorMeterReading,
    MirrorUsagePoint,
    Reading,
    ReadingSet,
    ReadingType,
    Registration,
    Sep2Object,
    UsagePoint,
)
from sep2.resources import Resource

T = TypeVar("T")

DER_PARTS: Mapping[str, type[Resource]] = MappingProxyType(
    {
        "dercap": DerCapability,
        "derg": DerSettings,
        "ders": DerStatus,
        "dera": DerAvailability,
    }
)
"""The DER resources a device PUTs, by the path segment under /edev/{e}/der/{d}."""

DERS_PER_DEVICE = 1
"""Every EndDevice has one DER, /edev/{e}/der/1: its site's inverters and storage
together, as CSIP-AUS servers model a site (docs/gateway.md)."""


class Hrefs:
    """The server's URLs (docs/gateway.md)."""

    dcap = "/dcap"
    tm = "/tm"
    edev_list = "/edev"
    mup_list = "/mup"
    upt_list = "/upt"

    @staticmethod
    def edev(e: int) -> str:
        """/edev/{e}"""
        return f"/edev/{e}"

    @staticmethod
    def registration(e: int) -> str:
        """/edev/{e}/rg"""
        return f"/edev/{e}/rg"

    @staticmethod
    def device_information(e: int) -> str:
        """/edev/{e}/di"""
        return f"/edev/{e}/di"

    @staticmethod
    def fsa_list(e: int) -> str:
        """/edev/{e}/fsa"""
        return f"/edev/{e}/fsa"

    @staticmethod
    def fsa(e: int, f: int) -> str:
        """/edev/{e}/fsa/{f}"""
        return f"/edev/{e}/fsa/{f}"

    @staticmethod
    def der_list(e: int) -> str:
        """/edev/{e}/der"""
        return f"/edev/{e}/der"

    @staticmethod
    def der(e: int, d: int) -> str:
        """/edev/{e}/der/{d}"""
        return f"/edev/{e}/der/{d}"

    @staticmethod
    def der_part(e: int, d: int, part: str) -> str:
        """/edev/{e}/der/{d}/{part}, ``part`` one of DER_PARTS"""
        return f"/edev/{e}/der/{d}/{part}"

    @staticmethod
    def mup(m: int) -> str:
        """/mup/{m}"""
        return f"/mup/{m}"

    @staticmethod
    def upt(m: int) -> str:
        """/upt/{m}"""
        return f"/upt/{m}"

    @staticmethod
    def mr_list(m: int) -> str:
        """/upt/{m}/mr"""
        return f"/upt/{m}/mr"

    @staticmethod
    def mr(m: int, r: int) -> str:
        """/upt/{m}/mr/{r}"""
        return f"/upt/{m}/mr/{r}"

    @staticmethod
    def reading_type(m: int, r: int) -> str:
        """/upt/{m}/mr/{r}/rt"""
        return f"/upt/{m}/mr/{r}/rt"

    @staticmethod
    def latest_reading(m: int, r: int) -> str:
        """/upt/{m}/mr/{r}/r"""
        return f"/upt/{m}/mr/{r}/r"

    @staticmethod
    def rs_list(m: int, r: int) -> str:
        """/upt/{m}/mr/{r}/rs"""
        return f"/upt/{m}/mr/{r}/rs"

    @staticmethod
    def rs(m: int, r: int, s: int) -> str:
        """/upt/{m}/mr/{r}/rs/{s}"""
        return f"/upt/{m}/mr/{r}/rs/{s}"

    @staticmethod
    def reading_list(m: int, r: int, s: int) -> str:
        """/upt/{m}/mr/{r}/rs/{s}/r"""
        return f"/upt/{m}/mr/{r}/rs/{s}/r"

    @staticmethod
    def reading(m: int, r: int, s: int, n: int) -> str:
        """/upt/{m}/mr/{r}/rs/{s}/r/{n}"""
        return f"/upt/{m}/mr/{r}/rs/{s}/r/{n}"


# The ReadingSet that holds the readings posted directly in a MirrorMeterReading.
DIRECT_SET_ID = 0

# ReadingType fields kept as columns: what ingest needs to classify and scale a reading.
READING_TYPE_COLUMNS = (
    "uom",
    "kind",
    "accumulation_behaviour",
    "flow_direction",
    "commodity",
    "data_qualifier",
    "phase",
)


def reading_type_columns(reading_type: ReadingType) -> dict[str, Any]:
    """The column values of a ReadingType (meter_reading's uom, kind, ...)."""
    values: dict[str, Any] = {name: getattr(reading_type, name) for name in READING_TYPE_COLUMNS}
    values["power_of_ten"] = reading_type.power_of_ten_multiplier or 0
    return values


def reading_type_of_columns(row: Any) -> ReadingType:
    """A ReadingType with the fields ingest uses, from a meter_reading row (or mapping)."""
    if isinstance(row, dict):
        return _reading_type(row.get("power_of_ten"), *(row.get(n) for n in READING_TYPE_COLUMNS))
    return _reading_type(row.power_of_ten, *_reading_type_columns_of(row))


# One C call for the columns of a row object (ingest asks for each of a mirror's meter
# readings on every readings POST).
_reading_type_columns_of = operator.attrgetter(*READING_TYPE_COLUMNS)


@functools.lru_cache(maxsize=4096)
def _reading_type(power_of_ten: int | None, *values: int | None) -> ReadingType:
    # A few distinct types serve every meter: build each once (ReadingType is frozen).
    fields: dict[str, Any] = dict(zip(READING_TYPE_COLUMNS, values, strict=True))
    return ReadingType(power_of_ten_multiplier=power_of_ten, **fields)


def end_device(row: EndDeviceRow, default_post_rate: int) -> EndDevice:
    """The EndDevice resource of a registered device, with its postRate (its own, else
    ``default_post_rate``, the server's)."""
    assert row.id is not None
    e = row.id
    return EndDevice(
        href=Hrefs.edev(e),
        der_list_link=ListLink(href=Hrefs.der_list(e), all=DERS_PER_DEVICE),
        device_category=row.device_category,
        device_information_link=Link(href=Hrefs.device_information(e))
        if row.device_information
        else None,
        lfdi=row.lfdi,
        sfdi=row.sfdi,
        changed_time=row.changed_time,
        enabled=row.enabled,
        function_set_assignments_list_link=ListLink(href=Hrefs.fsa_list(e), all=1),
        post_rate=device_post_rate(row.post_rate, default_post_rate),
        registration_link=Link(href=Hrefs.registration(e)),
    )


def registration(row: EndDeviceRow) -> Registration:
    """The Registration resource of a registered device."""
    assert row.id is not None
    return Registration(
        href=Hrefs.registration(row.id), date_time_registered=row.registered_at, pin=row.pin
    )


def device_information(row: EndDeviceRow, codec: Codec) -> DeviceInformation | None:
    """The DeviceInformation the device PUT, with our href, or None."""
    if not row.device_information:
        return None
    assert row.id is not None
    info = codec.parse(row.device_information.encode(), DeviceInformation)
    return _with_href(info, Hrefs.device_information(row.id))


def mirror_meter_reading(row: MeterReadingRow, codec: Codec) -> MirrorMeterReading:
    """A MirrorMeterReading as the mirror shows it: mRID, description and ReadingType."""
    return MirrorMeterReading(
        mrid=row.mrid,
        description=row.description,
        version=row.version,
        reading_type=codec.parse(row.reading_type_xml.encode(), ReadingType),
    )


def mirror_usage_point(
    row: MirrorRow, meter_readings: Sequence[MeterReadingRow], codec: Codec, post_rate: int
) -> MirrorUsagePoint:
    """The MirrorUsagePoint resource, showing ``post_rate`` (gateway.postrate says whose)."""
    assert row.id is not None
    return MirrorUsagePoint(
        href=Hrefs.mup(row.id),
        mrid=row.mrid,
        description=row.description,
        version=row.version,
        role_flags=row.role_flags,
        service_category_kind=row.service_category_kind,
        status=row.status,
        device_lfdi=row.device_lfdi,
        mirror_meter_readings=tuple(mirror_meter_reading(mr, codec) for mr in meter_readings),
        post_rate=post_rate,
    )


def usage_point(row: MirrorRow, meter_reading_count: int) -> UsagePoint:
    """The UsagePoint the mirror feeds (same id, same mRID)."""
    assert row.id is not None
    return UsagePoint(
        href=Hrefs.upt(row.id),
        mrid=row.mrid,
        description=row.description,
        version=row.version,
        role_flags=row.role_flags,
        service_category_kind=row.service_category_kind,
        status=row.status,
        device_lfdi=row.device_lfdi,
        meter_reading_list_link=ListLink(href=Hrefs.mr_list(row.id), all=meter_reading_count),
    )


def meter_reading(row: MeterReadingRow, reading_set_count: int, has_readings: bool) -> MeterReading:
    """The MeterReading of a MirrorMeterReading."""
    assert row.id is not None
    m, r = row.mirror_id, row.id
    return MeterReading(
        href=Hrefs.mr(m, r),
        mrid=row.mrid,
        description=row.description,
        version=row.version,
        reading_link=Link(href=Hrefs.latest_reading(m, r)) if has_readings else None,
        reading_set_list_link=ListLink(href=Hrefs.rs_list(m, r), all=reading_set_count),
        reading_type_link=Link(href=Hrefs.reading_type(m, r)),
    )


def reading_type(row: MeterReadingRow, codec: Codec) -> ReadingType:
    """The ReadingType of a MeterReading, as the client declared it, with our href."""
    parsed = codec.parse(row.reading_type_xml.encode(), ReadingType)
    return _with_href(parsed, Hrefs.reading_type(row.mirror_id, row.id or 0))


def reading_set(mirror_id: int, row: ReadingSetRow, reading_count: int) -> ReadingSet:
    """A ReadingSet the client posted as a MirrorReadingSet."""
    assert row.id is not None
    r, s = row.meter_reading_id, row.id
    return ReadingSet(
        href=Hrefs.rs(mirror_id, r, s),
        mrid=row.mrid,
        description=row.description,
        version=row.version,
        time_period=DateTimeInterval(duration=row.duration, start=row.start),
        reading_list_link=ListLink(href=Hrefs.reading_list(mirror_id, r, s), all=reading_count),
    )


def direct_reading_set(
    mirror_id: int, meter_reading_id: int, mrid: str, start: int, end: int, reading_count: int
) -> ReadingSet:
    """The ReadingSet holding the readings posted directly in a MirrorMeterReading."""
    r, s = meter_reading_id, DIRECT_SET_ID
    return ReadingSet(
        href=Hrefs.rs(mirror_id, r, s),
        mrid=mrid,
        description="readings posted without a set",
        time_period=DateTimeInterval(duration=max(0, end - start), start=start),
        reading_list_link=ListLink(href=Hrefs.reading_list(mirror_id, r, s), all=reading_count),
    )


def reading(row: ReadingRow, href: str) -> Reading:
    """A stored Reading as the client posted it (its raw value)."""
    return Reading(
        href=href,
        consumption_block=row.consumption_block or None,
        quality_flags=row.quality_flags,
        time_period=DateTimeInterval(duration=row.duration, start=row.start)
        if row.duration is not None
        else DateTimeInterval(duration=0, start=row.start),
        tou_tier=row.tou_tier or None,
        value=row.value,
        local_id=row.local_id,
    )


def der(e: int, d: int) -> Der:
    """The DER resource ``d`` of EndDevice ``e``: links to the four parts its device PUTs
    (a GET of one answers 404 until the device has PUT it)."""
    return Der(
        href=Hrefs.der(e, d),
        der_availability_link=Link(href=Hrefs.der_part(e, d, "dera")),
        der_capability_link=Link(href=Hrefs.der_part(e, d, "dercap")),
        der_settings_link=Link(href=Hrefs.der_part(e, d, "derg")),
        der_status_link=Link(href=Hrefs.der_part(e, d, "ders")),
    )


def stored_der_part(xml: str, href: str, codec: Codec) -> Sep2Object:
    """A DER part as the device PUT it (kept XML, checked when stored), with our href."""
    return _with_href(codec.parse(xml.encode()), href)


def _with_href(resource: T, href: str) -> T:
    return replace(resource, href=href)  # type: ignore[type-var]
