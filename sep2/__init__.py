"""IEEE 2030.5 (SEP 2.0) protocol core, sans-IO: resources, XML codec, XSD check, identity.

Pure data and functions shared by the gateway (server) and the emulated meters (client):
no sockets, no files, no clock. The official XSD's bytes come from the caller::

    from schemas import official_xsd_bytes
    import sep2

    codec = sep2.Codec(sep2.Schema.from_bytes(official_xsd_bytes()), settings.sep2)
    mmrl = codec.parse(body, sep2.MirrorMeterReadingList)      # Sep2ParseError if refused
    for reading in sep2.extract_readings(mmrl, reading_types=known):
        ...
    body = codec.serialise(sep2.Error(reason_code=sep2.ReasonCode.INVALID_REQUEST_FORMAT))

Decisions where the standard is ambiguous are written in each module's docstring and
collected in docs/protocol-decisions.md.
"""

from sep2.enums import (
    AccumulationBehaviour,
    Commodity,
    DataQualifier,
    FlowDirection,
    Kind,
    PhaseCode,
    PowerSource,
    QualityFlags,
    ReasonCode,
    RoleFlags,
    ServiceKind,
    TimeQuality,
    Uom,
    UsagePointStatus,
)
from sep2.errors import Sep2EncodeError, Sep2Error, Sep2ParseError
from sep2.extensions import CSIP_AUS_NAMESPACE, Extension
from sep2.identity import (
    IdentityError,
    is_valid_sfdi,
    lfdi_from_der,
    normalise_lfdi,
    sfdi_dns_label,
    sfdi_from_der,
    sfdi_from_lfdi,
)
from sep2.lists import (
    DEFAULT_LIMIT,
    ListQuery,
    Page,
    list_href,
    next_query,
    page,
    parse_list_query,
    window,
)
from sep2.localtime import time_resource
from sep2.mrid import Mrid, PenFormat, mrid_for, normalise_mrid, parse_mrid, pen_digits
from sep2.profiles import (
    DRAFT_2_0_4,
    IEEE_2018,
    CodecProfile,
    profile_for_namespace,
    profile_named,
)
from sep2.readings import (
    EnergyRegister,
    MirroredReading,
    energy_register,
    extract_readings,
    reading_types_of,
    scaled_value,
    whole_wh,
)
from sep2.resources import (
    DOCUMENT_TYPES,
    ActivePower,
    DateTimeInterval,
    DeviceCapability,
    DeviceInformation,
    DrlcCapabilities,
    EndDevice,
    EndDeviceList,
    Error,
    FunctionSetAssignments,
    FunctionSetAssignmentsList,
    GpsLocation,
    Link,
    ListLink,
    MeterReading,
    MeterReadingList,
    MirrorMeterReading,
    MirrorMeterReadingList,
    MirrorReadingSet,
    MirrorUsagePoint,
    MirrorUsagePointList,
    Reading,
    ReadingList,
    ReadingSet,
    ReadingSetList,
    ReadingType,
    RealEnergy,
    Registration,
    Sep2Object,
    Time,
    UnitValue,
    UsagePoint,
    UsagePointList,
)
from sep2.schema import LEGACY_NAMESPACES, SEP2_NAMESPACE, Schema
from sep2.settings import Sep2Settings
from sep2.xml import Codec, Document

CONTENT_TYPE = "application/sep+xml"

__all__ = [
    "CONTENT_TYPE",
    "CSIP_AUS_NAMESPACE",
    "DEFAULT_LIMIT",
    "DOCUMENT_TYPES",
    "DRAFT_2_0_4",
    "IEEE_2018",
    "LEGACY_NAMESPACES",
    "SEP2_NAMESPACE",
    "AccumulationBehaviour",
    "ActivePower",
    "Codec",
    "CodecProfile",
    "Commodity",
    "DataQualifier",
    "DateTimeInterval",
    "DeviceCapability",
    "DeviceInformation",
    "Document",
    "DrlcCapabilities",
    "EndDevice",
    "EndDeviceList",
    "EnergyRegister",
    "Error",
    "Extension",
    "FlowDirection",
    "FunctionSetAssignments",
    "FunctionSetAssignmentsList",
    "GpsLocation",
    "IdentityError",
    "Kind",
    "Link",
    "ListLink",
    "ListQuery",
    "MeterReading",
    "MeterReadingList",
    "MirrorMeterReading",
    "MirrorMeterReadingList",
    "MirrorReadingSet",
    "MirrorUsagePoint",
    "MirrorUsagePointList",
    "MirroredReading",
    "Mrid",
    "Page",
    "PenFormat",
    "PhaseCode",
    "PowerSource",
    "QualityFlags",
    "Reading",
    "ReadingList",
    "ReadingSet",
    "ReadingSetList",
    "ReadingType",
    "RealEnergy",
    "ReasonCode",
    "Registration",
    "RoleFlags",
    "Schema",
    "Sep2EncodeError",
    "Sep2Error",
    "Sep2Object",
    "Sep2ParseError",
    "Sep2Settings",
    "ServiceKind",
    "Time",
    "TimeQuality",
    "UnitValue",
    "Uom",
    "UsagePoint",
    "UsagePointList",
    "UsagePointStatus",
    "energy_register",
    "extract_readings",
    "is_valid_sfdi",
    "lfdi_from_der",
    "list_href",
    "mrid_for",
    "next_query",
    "normalise_lfdi",
    "normalise_mrid",
    "page",
    "parse_list_query",
    "parse_mrid",
    "pen_digits",
    "profile_for_namespace",
    "profile_named",
    "reading_types_of",
    "scaled_value",
    "sfdi_dns_label",
    "sfdi_from_der",
    "sfdi_from_lfdi",
    "time_resource",
    "whole_wh",
    "window",
]
