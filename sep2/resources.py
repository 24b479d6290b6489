"""Typed IEEE 2030.5-2018 resources that gridmirror reads and writes.

Each resource is a frozen dataclass whose fields map one to one onto the XSD's elements
and attributes: Python names are snake_case (``mrid`` for ``mRID``, ``items`` for the
members of a list), and the XML name sits in the field's metadata. Field order is the
XSD sequence order, base type first, so the codec writes elements in exactly the order the
XSD requires. Optional XSD elements are ``None`` (or an empty tuple when repeated).

Value conventions:

- integers (UInt*, Int*, TimeType seconds, enums) are ``int``; enum fields take the members
  of sep2.enums, which are ints;
- HexBinary8/16/32/64 bit fields (roleFlags, qualityFlags, localID, deviceCategory,
  functionsImplemented, optionsImplemented, the DER's connect status and control modes)
  are ``int``, written at full width;
- mRIDs (HexBinary128) and LFDIs (HexBinary160) are upper-case hex ``str``s as written,
  leading zeros kept;
- ``href`` is a plain string the caller sets: sep2 never invents server URLs.
- ``all``/``results`` of a list may be ``None``: they are then written as the number of
  items, and they are ``None`` after parsing a POSTed list that omitted them.

Every element and attribute the 2018 XSD gives these types is modelled (a test compares
them with the XSD), so nothing a peer sends in them is dropped. A document of a type not in
``sep2.documents.DOCUMENT_TYPES`` (these, and the DER function sets of sep2.der) is refused
by the codec.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, ClassVar


class XmlKind(Enum):
    """How a field's text is read and written, where the Python type does not say it."""

    HEX8 = "HexBinary8"
    HEX16 = "HexBinary16"
    HEX32 = "HexBinary32"
    HEX64 = "HexBinary64"
    HEX_ID = "HexBinary"  # mRID, LFDI: kept as upper-case strings
    UINT40 = "UInt40"


@dataclass(frozen=True, slots=True)
class XmlName:
    """The XML side of a field: its element or attribute name and, if needed, its kind."""

    name: str
    kind: XmlKind | None = None
    attribute: bool = False


def el(name: str, kind: XmlKind | None = None) -> dict[str, Any]:
    """Field metadata for an XSD element."""
    return {"xml": XmlName(name, kind)}


def at(name: str, kind: XmlKind | None = None) -> dict[str, Any]:
    """Field metadata for an XSD attribute."""
    return {"xml": XmlName(name, kind, attribute=True)}


_HEX16 = XmlKind.HEX16
_HEX_ID = XmlKind.HEX_ID


# --- Value types (no href) --------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Sep2Object:
    """Anything the codec reads or writes. ``xml_name`` is its element name as a document."""

    xml_name: ClassVar[str] = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class DateTimeInterval(Sep2Object):
    """A time interval: ``start`` (seconds since the epoch, UTC) and ``duration`` (seconds)."""

    duration: int = field(metadata=el("duration"))
    start: int = field(metadata=el("start"))


@dataclass(frozen=True, slots=True, kw_only=True)
class UnitValue(Sep2Object):
    """UnitValueType: a value with its unit and power of ten."""

    multiplier: int = field(metadata=el("multiplier"))
    unit: int = field(metadata=el("unit"))
    value: int = field(metadata=el("value"))


@dataclass(frozen=True, slots=True, kw_only=True)
class GpsLocation(Sep2Object):
    """GPSLocationType: WGS 84 latitude and longitude in decimal degrees, as text."""

    lat: str = field(metadata=el("lat"))
    lon: str = field(metadata=el("lon"))


@dataclass(frozen=True, slots=True, kw_only=True)
class RealEnergy(Sep2Object):
    """RealEnergy: Wh times 10^multiplier."""

    multiplier: int = field(metadata=el("multiplier"))
    value: int = field(metadata=el("value"))


@dataclass(frozen=True, slots=True, kw_only=True)
class ActivePower(Sep2Object):
    """ActivePower: W times 10^multiplier."""

    multiplier: int = field(metadata=el("multiplier"))
    value: int = field(metadata=el("value"))


@dataclass(frozen=True, slots=True, kw_only=True)
class DrlcCapabilities(Sep2Object):
    """DRLCCapabilities of a DeviceInformation."""

    average_energy: RealEnergy = field(metadata=el("averageEnergy"))
    max_demand: ActivePower = field(metadata=el("maxDemand"))
    options_implemented: int = field(metadata=el("optionsImplemented", XmlKind.HEX32))


@dataclass(frozen=True, slots=True, kw_only=True)
class Error(Sep2Object):
    """Error: the body of a 4xx answer."""

    xml_name: ClassVar[str] = "Error"
    max_retry_duration: int | None = field(default=None, metadata=el("maxRetryDuration"))
    reason_code: int = field(metadata=el("reasonCode"))


# --- Resource bases -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Resource(Sep2Object):
    """Resource: anything addressable; ``href`` is required in answers to GET."""

    href: str | None = field(default=None, metadata=at("href"))


@dataclass(frozen=True, slots=True, kw_only=True)
class Link(Sep2Object):
    """Link (TimeLink, SelfDeviceLink, ...): a reference to a resource."""

    href: str = field(metadata=at("href"))


@dataclass(frozen=True, slots=True, kw_only=True)
class ListLink(Link):
    """ListLink (EndDeviceListLink, ...): a reference to a list, with its size if known."""

    all: int | None = field(default=None, metadata=at("all"))


@dataclass(frozen=True, slots=True, kw_only=True)
class IdentifiedObject(Resource):
    """IdentifiedObject: mRID (HexBinary128), description (<= 32 chars), version."""

    mrid: str = field(metadata=el("mRID", _HEX_ID))
    description: str | None = field(default=None, metadata=el("description"))
    version: int | None = field(default=None, metadata=el("version"))


@dataclass(frozen=True, slots=True, kw_only=True)
class ListResource(Resource):
    """List: ``all`` (total) and ``results`` (in this page); see the module docstring."""

    all: int | None = field(default=None, metadata=at("all"))
    results: int | None = field(default=None, metadata=at("results"))


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscribableListResource(Resource):
    """SubscribableList: a List that also says whether it can be subscribed to."""

    subscribable: int | None = field(default=None, metadata=at("subscribable"))
    all: int | None = field(default=None, metadata=at("all"))
    results: int | None = field(default=None, metadata=at("results"))


# --- Device capability, time, end devices -------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class FunctionSetAssignmentsBase(Resource):
    """The links shared by DeviceCapability and FunctionSetAssignments."""

    customer_account_list_link: ListLink | None = field(
        default=None, metadata=el("CustomerAccountListLink")
    )
    demand_response_program_list_link: ListLink | None = field(
        default=None, metadata=el("DemandResponseProgramListLink")
    )
    der_program_list_link: ListLink | None = field(default=None, metadata=el("DERProgramListLink"))
    file_list_link: ListLink | None = field(default=None, metadata=el("FileListLink"))
    messaging_program_list_link: ListLink | None = field(
        default=None, metadata=el("MessagingProgramListLink")
    )
    prepayment_list_link: ListLink | None = field(default=None, metadata=el("PrepaymentListLink"))
    response_set_list_link: ListLink | None = field(
        default=None, metadata=el("ResponseSetListLink")
    )
    tariff_profile_list_link: ListLink | None = field(
        default=None, metadata=el("TariffProfileListLink")
    )
    time_link: Link | None = field(default=None, metadata=el("TimeLink"))
    usage_point_list_link: ListLink | None = field(default=None, metadata=el("UsagePointListLink"))


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceCapability(FunctionSetAssignmentsBase):
    """DeviceCapability (/dcap): the entry point a client discovers."""

    xml_name: ClassVar[str] = "DeviceCapability"
    poll_rate: int | None = field(default=None, metadata=at("pollRate"))
    end_device_list_link: ListLink | None = field(default=None, metadata=el("EndDeviceListLink"))
    mirror_usage_point_list_link: ListLink | None = field(
        default=None, metadata=el("MirrorUsagePointListLink")
    )
    self_device_link: Link | None = field(default=None, metadata=el("SelfDeviceLink"))


@dataclass(frozen=True, slots=True, kw_only=True)
class Time(Resource):
    """Time (/tm). All times are seconds since the epoch (UTC); offsets are seconds.

    sep2.localtime.time_resource computes it from a timestamp and a zone.
    """

    xml_name: ClassVar[str] = "Time"
    poll_rate: int | None = field(default=None, metadata=at("pollRate"))
    current_time: int = field(metadata=el("currentTime"))
    dst_end_time: int = field(metadata=el("dstEndTime"))
    dst_offset: int = field(metadata=el("dstOffset"))
    dst_start_time: int = field(metadata=el("dstStartTime"))
    local_time: int | None = field(default=None, metadata=el("localTime"))
    quality: int = field(metadata=el("quality"))
    tz_offset: int = field(metadata=el("tzOffset"))


@dataclass(frozen=True, slots=True, kw_only=True)
class EndDevice(Resource):
    """EndDevice (/edev/{id}): a device known to the server, by its SFDI (and LFDI)."""

    xml_name: ClassVar[str] = "EndDevice"
    subscribable: int | None = field(default=None, metadata=at("subscribable"))
    # AbstractDevice
    configuration_link: Link | None = field(default=None, metadata=el("ConfigurationLink"))
    der_list_link: ListLink | None = field(default=None, metadata=el("DERListLink"))
    device_category: int | None = field(default=None, metadata=el("deviceCategory", XmlKind.HEX32))
    device_information_link: Link | None = field(default=None, metadata=el("DeviceInformationLink"))
    device_status_link: Link | None = field(default=None, metadata=el("DeviceStatusLink"))
    file_status_link: Link | None = field(default=None, metadata=el("FileStatusLink"))
    ip_interface_list_link: ListLink | None = field(
        default=None, metadata=el("IPInterfaceListLink")
    )
    lfdi: str | None = field(default=None, metadata=el("lFDI", _HEX_ID))
    load_shed_availability_list_link: ListLink | None = field(
        default=None, metadata=el("LoadShedAvailabilityListLink")
    )
    log_event_list_link: ListLink | None = field(default=None, metadata=el("LogEventListLink"))
    power_status_link: Link | None = field(default=None, metadata=el("PowerStatusLink"))
    sfdi: int = field(metadata=el("sFDI", XmlKind.UINT40))
    # EndDevice
    changed_time: int = field(metadata=el("changedTime"))
    enabled: bool | None = field(default=None, metadata=el("enabled"))
    flow_reservation_request_list_link: ListLink | None = field(
        default=None, metadata=el("FlowReservationRequestListLink")
    )
    flow_reservation_response_list_link: ListLink | None = field(
        default=None, metadata=el("FlowReservationResponseListLink")
    )
    function_set_assignments_list_link: ListLink | None = field(
        default=None, metadata=el("FunctionSetAssignmentsListLink")
    )
    post_rate: int | None = field(default=None, metadata=el("postRate"))
    registration_link: Link | None = field(default=None, metadata=el("RegistrationLink"))
    subscription_list_link: ListLink | None = field(
        default=None, metadata=el("SubscriptionListLink")
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class EndDeviceList(SubscribableListResource):
    """EndDeviceList (/edev)."""

    xml_name: ClassVar[str] = "EndDeviceList"
    poll_rate: int | None = field(default=None, metadata=at("pollRate"))
    items: tuple[EndDevice, ...] = field(default=(), metadata=el("EndDevice"))


@dataclass(frozen=True, slots=True, kw_only=True)
class Registration(Resource):
    """Registration (/edev/{id}/rg): when the device was registered, and its PIN."""

    xml_name: ClassVar[str] = "Registration"
    poll_rate: int | None = field(default=None, metadata=at("pollRate"))
    date_time_registered: int = field(metadata=el("dateTimeRegistered"))
    pin: int = field(metadata=el("pIN"))


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceInformation(Resource):
    """DeviceInformation (/edev/{id}/di): manufacturer, model, versions of a device."""

    xml_name: ClassVar[str] = "DeviceInformation"
    poll_rate: int | None = field(default=None, metadata=at("pollRate"))
    drlc_capabilities: DrlcCapabilities | None = field(
        default=None, metadata=el("DRLCCapabilities")
    )
    functions_implemented: int | None = field(
        default=None, metadata=el("functionsImplemented", XmlKind.HEX64)
    )
    gps_location: GpsLocation | None = field(default=None, metadata=el("gpsLocation"))
    lfdi: str = field(metadata=el("lFDI", _HEX_ID))
    mf_date: int = field(metadata=el("mfDate"))
    mf_hw_ver: str = field(metadata=el("mfHwVer"))
    mf_id: int = field(metadata=el("mfID"))
    mf_info: str | None = field(default=None, metadata=el("mfInfo"))
    mf_model: str = field(metadata=el("mfModel"))
    mf_ser_num: str = field(metadata=el("mfSerNum"))
    primary_power: int = field(metadata=el("primaryPower"))
    secondary_power: int = field(metadata=el("secondaryPower"))
    supported_locale_list_link: ListLink | None = field(
        default=None, metadata=el("SupportedLocaleListLink")
    )
    sw_act_time: int = field(metadata=el("swActTime"))
    sw_ver: str = field(metadata=el("swVer"))


@dataclass(frozen=True, slots=True, kw_only=True)
class FunctionSetAssignments(FunctionSetAssignmentsBase):
    """FunctionSetAssignments (/edev/{id}/fsa/{n}): which function sets a device uses."""

    xml_name: ClassVar[str] = "FunctionSetAssignments"
    mrid: str = field(metadata=el("mRID", _HEX_ID))
    description: str | None = field(default=None, metadata=el("description"))
    version: int | None = field(default=None, metadata=el("version"))
    subscribable: int | None = field(default=None, metadata=at("subscribable"))


@dataclass(frozen=True, slots=True, kw_only=True)
class FunctionSetAssignmentsList(SubscribableListResource):
    """FunctionSetAssignmentsList (/edev/{id}/fsa)."""

    xml_name: ClassVar[str] = "FunctionSetAssignmentsList"
    poll_rate: int | None = field(default=None, metadata=at("pollRate"))
    items: tuple[FunctionSetAssignments, ...] = field(
        default=(), metadata=el("FunctionSetAssignments")
    )


# --- Metering -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadingType(Resource):
    """ReadingType: what the readings of a MeterReading are (unit, kind, direction, ...)."""

    xml_name: ClassVar[str] = "ReadingType"
    accumulation_behaviour: int | None = field(default=None, metadata=el("accumulationBehaviour"))
    calorific_value: UnitValue | None = field(default=None, metadata=el("calorificValue"))
    commodity: int | None = field(default=None, metadata=el("commodity"))
    conversion_factor: UnitValue | None = field(default=None, metadata=el("conversionFactor"))
    data_qualifier: int | None = field(default=None, metadata=el("dataQualifier"))
    flow_direction: int | None = field(default=None, metadata=el("flowDirection"))
    interval_length: int | None = field(default=None, metadata=el("intervalLength"))
    kind: int | None = field(default=None, metadata=el("kind"))
    max_number_of_intervals: int | None = field(default=None, metadata=el("maxNumberOfIntervals"))
    number_of_consumption_blocks: int | None = field(
        default=None, metadata=el("numberOfConsumptionBlocks")
    )
    number_of_tou_tiers: int | None = field(default=None, metadata=el("numberOfTouTiers"))
    phase: int | None = field(default=None, metadata=el("phase"))
    power_of_ten_multiplier: int | None = field(default=None, metadata=el("powerOfTenMultiplier"))
    sub_interval_length: int | None = field(default=None, metadata=el("subIntervalLength"))
    supply_limit: int | None = field(default=None, metadata=el("supplyLimit"))
    tiered_consumption_blocks: bool | None = field(
        default=None, metadata=el("tieredConsumptionBlocks")
    )
    uom: int | None = field(default=None, metadata=el("uom"))


@dataclass(frozen=True, slots=True, kw_only=True)
class Reading(Resource):
    """Reading: one value in the units of its ReadingType, times 10^powerOfTenMultiplier."""

    xml_name: ClassVar[str] = "Reading"
    subscribable: int | None = field(default=None, metadata=at("subscribable"))
    # ReadingBase
    consumption_block: int | None = field(default=None, metadata=el("consumptionBlock"))
    quality_flags: int | None = field(default=None, metadata=el("qualityFlags", _HEX16))
    time_period: DateTimeInterval | None = field(default=None, metadata=el("timePeriod"))
    tou_tier: int | None = field(default=None, metadata=el("touTier"))
    value: int | None = field(default=None, metadata=el("value"))
    # Reading
    local_id: int | None = field(default=None, metadata=el("localID", _HEX16))


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadingList(SubscribableListResource):
    """ReadingList (/upt/{id}/mr/{id}/rs/{id}/r)."""

    xml_name: ClassVar[str] = "ReadingList"
    items: tuple[Reading, ...] = field(default=(), metadata=el("Reading"))


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadingSet(IdentifiedObject):
    """ReadingSet: readings over one time period."""

    xml_name: ClassVar[str] = "ReadingSet"
    time_period: DateTimeInterval = field(metadata=el("timePeriod"))
    reading_list_link: ListLink | None = field(default=None, metadata=el("ReadingListLink"))


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadingSetList(SubscribableListResource):
    """ReadingSetList (/upt/{id}/mr/{id}/rs)."""

    xml_name: ClassVar[str] = "ReadingSetList"
    items: tuple[ReadingSet, ...] = field(default=(), metadata=el("ReadingSet"))


@dataclass(frozen=True, slots=True, kw_only=True)
class MeterReading(IdentifiedObject):
    """MeterReading (/upt/{id}/mr/{id}): one measured quantity of a usage point."""

    xml_name: ClassVar[str] = "MeterReading"
    rate_component_list_link: ListLink | None = field(
        default=None, metadata=el("RateComponentListLink")
    )
    reading_link: Link | None = field(default=None, metadata=el("ReadingLink"))
    reading_set_list_link: ListLink | None = field(default=None, metadata=el("ReadingSetListLink"))
    reading_type_link: Link = field(metadata=el("ReadingTypeLink"))


@dataclass(frozen=True, slots=True, kw_only=True)
class MeterReadingList(SubscribableListResource):
    """MeterReadingList (/upt/{id}/mr)."""

    xml_name: ClassVar[str] = "MeterReadingList"
    items: tuple[MeterReading, ...] = field(default=(), metadata=el("MeterReading"))


@dataclass(frozen=True, slots=True, kw_only=True)
class UsagePoint(IdentifiedObject):
    """UsagePoint (/upt/{id}): the server's side of a mirrored (or its own) metering point."""

    xml_name: ClassVar[str] = "UsagePoint"
    role_flags: int = field(metadata=el("roleFlags", _HEX16))
    service_category_kind: int = field(metadata=el("serviceCategoryKind"))
    status: int = field(metadata=el("status"))
    device_lfdi: str | None = field(default=None, metadata=el("deviceLFDI", _HEX_ID))
    meter_reading_list_link: ListLink | None = field(
        default=None, metadata=el("MeterReadingListLink")
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class UsagePointList(SubscribableListResource):
    """UsagePointList (/upt)."""

    xml_name: ClassVar[str] = "UsagePointList"
    poll_rate: int | None = field(default=None, metadata=at("pollRate"))
    items: tuple[UsagePoint, ...] = field(default=(), metadata=el("UsagePoint"))


@dataclass(frozen=True, slots=True, kw_only=True)
class MirrorReadingSet(IdentifiedObject):
    """MirrorReadingSet: a set of readings over one time period, posted by a client."""

    xml_name: ClassVar[str] = "MirrorReadingSet"
    time_period: DateTimeInterval = field(metadata=el("timePeriod"))
    readings: tuple[Reading, ...] = field(default=(), metadata=el("Reading"))


@dataclass(frozen=True, slots=True, kw_only=True)
class MirrorMeterReading(IdentifiedObject):
    """MirrorMeterReading: a client's mirror of one MeterReading; carries its ReadingType
    when first posted, then a Reading (or MirrorReadingSets) each time."""

    xml_name: ClassVar[str] = "MirrorMeterReading"
    last_update_time: int | None = field(default=None, metadata=el("lastUpdateTime"))
    mirror_reading_sets: tuple[MirrorReadingSet, ...] = field(
        default=(), metadata=el("MirrorReadingSet")
    )
    next_update_time: int | None = field(default=None, metadata=el("nextUpdateTime"))
    reading: Reading | None = field(default=None, metadata=el("Reading"))
    reading_type: ReadingType | None = field(default=None, metadata=el("ReadingType"))


@dataclass(frozen=True, slots=True, kw_only=True)
class MirrorMeterReadingList(ListResource):
    """MirrorMeterReadingList: what a client POSTs to /mup/{id} with several readings."""

    xml_name: ClassVar[str] = "MirrorMeterReadingList"
    items: tuple[MirrorMeterReading, ...] = field(default=(), metadata=el("MirrorMeterReading"))


@dataclass(frozen=True, slots=True, kw_only=True)
class MirrorUsagePoint(IdentifiedObject):
    """MirrorUsagePoint (/mup/{id}): a client's mirror of its meter; mRID, roleFlags,
    serviceCategoryKind, status and deviceLFDI are required."""

    xml_name: ClassVar[str] = "MirrorUsagePoint"
    role_flags: int = field(metadata=el("roleFlags", _HEX16))
    service_category_kind: int = field(metadata=el("serviceCategoryKind"))
    status: int = field(metadata=el("status"))
    device_lfdi: str = field(metadata=el("deviceLFDI", _HEX_ID))
    mirror_meter_readings: tuple[MirrorMeterReading, ...] = field(
        default=(), metadata=el("MirrorMeterReading")
    )
    post_rate: int | None = field(default=None, metadata=el("postRate"))


@dataclass(frozen=True, slots=True, kw_only=True)
class MirrorUsagePointList(ListResource):
    """MirrorUsagePointList (/mup)."""

    xml_name: ClassVar[str] = "MirrorUsagePointList"
    poll_rate: int | None = field(default=None, metadata=at("pollRate"))
    items: tuple[MirrorUsagePoint, ...] = field(default=(), metadata=el("MirrorUsagePoint"))


METERING_DOCUMENT_TYPES: tuple[type[Sep2Object], ...] = (
    DeviceCapability,
    Time,
    EndDevice,
    EndDeviceList,
    Registration,
    DeviceInformation,
    FunctionSetAssignments,
    FunctionSetAssignmentsList,
    MirrorUsagePoint,
    MirrorUsagePointList,
    MirrorMeterReading,
    MirrorMeterReadingList,
    MirrorReadingSet,
    ReadingType,
    Reading,
    ReadingList,
    ReadingSet,
    ReadingSetList,
    UsagePoint,
    UsagePointList,
    MeterReading,
    MeterReadingList,
    Error,
)
"""The resources of this module that can be a whole document (the XSD declares each as a
global element)."""
