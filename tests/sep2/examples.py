"""One fully populated and one minimal instance of every document type sep2 models."""

from __future__ import annotations

from sep2 import (
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

LFDI = "3E4F45AB31EDFE5B67E343E5E4562E31984E23E5"
MRID = "0123456789ABCDEF0123456700007ED9"


def _ll(href: str, n: int = 3) -> ListLink:
    return ListLink(href=href, all=n)


FSA_LINKS = {
    "customer_account_list_link": _ll("/bill"),
    "demand_response_program_list_link": _ll("/dr"),
    "der_program_list_link": _ll("/derp"),
    "file_list_link": _ll("/file"),
    "messaging_program_list_link": _ll("/msg"),
    "prepayment_list_link": _ll("/ppy"),
    "response_set_list_link": _ll("/rsps"),
    "tariff_profile_list_link": _ll("/tp"),
    "time_link": Link(href="/tm"),
    "usage_point_list_link": _ll("/upt"),
}

READING_TYPE = ReadingType(
    href="/upt/1/mr/1/rt",
    accumulation_behaviour=9,
    calorific_value=UnitValue(multiplier=-3, unit=31, value=38_000),
    commodity=1,
    conversion_factor=UnitValue(multiplier=0, unit=0, value=-5),
    data_qualifier=12,
    flow_direction=19,
    interval_length=900,
    kind=12,
    max_number_of_intervals=96,
    number_of_consumption_blocks=0,
    number_of_tou_tiers=0,
    phase=0,
    power_of_ten_multiplier=-3,
    sub_interval_length=60,
    supply_limit=2**48 - 1,
    tiered_consumption_blocks=False,
    uom=72,
)

READING = Reading(
    href="/upt/1/mr/1/r",
    subscribable=0,
    consumption_block=0,
    quality_flags=0x0011,
    time_period=DateTimeInterval(duration=900, start=1_767_225_600),
    tou_tier=0,
    value=-(2**47),
    local_id=0x00FF,
)

MIRROR_READING_SET = MirrorReadingSet(
    href="/mup/1/rs/1",
    mrid="AA" * 12 + "00007ED9",
    description="quarter-hour set",
    version=2,
    time_period=DateTimeInterval(duration=1800, start=1_767_225_600),
    readings=(READING, Reading(value=2**47, local_id=1)),
)

MIRROR_METER_READING = MirrorMeterReading(
    href="/mup/1/mr/1",
    mrid=MRID,
    description="export register",
    version=0,
    last_update_time=1_767_225_600,
    mirror_reading_sets=(MIRROR_READING_SET, MIRROR_READING_SET),
    next_update_time=1_767_225_615,
    reading=READING,
    reading_type=READING_TYPE,
)

MIRROR_USAGE_POINT = MirrorUsagePoint(
    href="/mup/1",
    mrid=MRID,
    description='meter 0001 <&> "quoted"',
    version=65535,
    role_flags=0x0053,
    service_category_kind=0,
    status=1,
    device_lfdi=LFDI,
    mirror_meter_readings=(MIRROR_METER_READING, MirrorMeterReading(mrid="01")),
    post_rate=15,
)

USAGE_POINT = UsagePoint(
    href="/upt/1",
    mrid=MRID,
    description="usage point",
    version=1,
    role_flags=0x0003,
    service_category_kind=0,
    status=1,
    device_lfdi=LFDI,
    meter_reading_list_link=_ll("/upt/1/mr", 2),
)

METER_READING = MeterReading(
    href="/upt/1/mr/1",
    mrid=MRID,
    description="import",
    version=3,
    rate_component_list_link=_ll("/upt/1/mr/1/rc", 0),
    reading_link=Link(href="/upt/1/mr/1/r"),
    reading_set_list_link=_ll("/upt/1/mr/1/rs", 4),
    reading_type_link=Link(href="/upt/1/mr/1/rt"),
)

READING_SET = ReadingSet(
    href="/upt/1/mr/1/rs/1",
    mrid=MRID,
    description="set",
    version=1,
    time_period=DateTimeInterval(duration=900, start=0),
    reading_list_link=_ll("/upt/1/mr/1/rs/1/r", 1),
)

END_DEVICE = EndDevice(
    href="/edev/1",
    subscribable=0,
    configuration_link=Link(href="/edev/1/cfg"),
    der_list_link=_ll("/edev/1/der", 0),
    device_category=0x00200000,
    device_information_link=Link(href="/edev/1/di"),
    device_status_link=Link(href="/edev/1/ds"),
    file_status_link=Link(href="/edev/1/fs"),
    ip_interface_list_link=_ll("/edev/1/ns", 0),
    lfdi=LFDI,
    load_shed_availability_list_link=_ll("/edev/1/lsl", 0),
    log_event_list_link=_ll("/edev/1/lel", 0),
    power_status_link=Link(href="/edev/1/ps"),
    sfdi=167261211391,
    changed_time=1_767_225_600,
    enabled=True,
    flow_reservation_request_list_link=_ll("/edev/1/frq", 0),
    flow_reservation_response_list_link=_ll("/edev/1/frp", 0),
    function_set_assignments_list_link=_ll("/edev/1/fsa", 1),
    post_rate=900,
    registration_link=Link(href="/edev/1/rg"),
    subscription_list_link=_ll("/edev/1/sub", 0),
)

FSA = FunctionSetAssignments(
    href="/edev/1/fsa/1",
    **FSA_LINKS,
    mrid=MRID,
    description="default",
    version=1,
    subscribable=0,
)

FULL: tuple[Sep2Object, ...] = (
    DeviceCapability(
        href="/dcap",
        poll_rate=900,
        **FSA_LINKS,
        end_device_list_link=_ll("/edev", 1),
        mirror_usage_point_list_link=_ll("/mup", 1),
        self_device_link=Link(href="/sdev"),
    ),
    Time(
        href="/tm",
        poll_rate=900,
        current_time=1_767_225_600,
        dst_end_time=1_775_318_400,
        dst_offset=3600,
        dst_start_time=1_759_593_600,
        local_time=1_767_265_200,
        quality=3,
        tz_offset=36_000,
    ),
    END_DEVICE,
    EndDeviceList(
        href="/edev",
        subscribable=0,
        all=7,
        results=2,
        poll_rate=300,
        items=(END_DEVICE, END_DEVICE),
    ),
    Registration(
        href="/edev/1/rg", poll_rate=86_400, date_time_registered=1_767_225_600, pin=999_999
    ),
    DeviceInformation(
        href="/edev/1/di",
        poll_rate=900,
        drlc_capabilities=DrlcCapabilities(
            average_energy=RealEnergy(multiplier=0, value=1_500),
            max_demand=ActivePower(multiplier=3, value=-32_768),
            options_implemented=0x001F0000,
        ),
        functions_implemented=0x0000_0000_0000_0FFF,
        gps_location=GpsLocation(lat="-33.8688", lon="151.2093"),
        lfdi=LFDI,
        mf_date=1_700_000_000,
        mf_hw_ver="hw-1.0",
        mf_id=32473,
        mf_info="gridmirror emulated meter",
        mf_model="GM-1",
        mf_ser_num="0001",
        primary_power=1,
        secondary_power=0,
        supported_locale_list_link=_ll("/edev/1/di/loc", 1),
        sw_act_time=1_700_000_000,
        sw_ver="0.1.0",
    ),
    FSA,
    FunctionSetAssignmentsList(
        href="/edev/1/fsa", subscribable=0, all=1, results=1, poll_rate=900, items=(FSA,)
    ),
    MIRROR_USAGE_POINT,
    MirrorUsagePointList(href="/mup", all=1, results=1, poll_rate=900, items=(MIRROR_USAGE_POINT,)),
    MIRROR_METER_READING,
    MirrorMeterReadingList(
        href="/mup/1", all=2, results=2, items=(MIRROR_METER_READING, MIRROR_METER_READING)
    ),
    MIRROR_READING_SET,
    READING_TYPE,
    READING,
    ReadingList(href="/upt/1/mr/1/rs/1/r", subscribable=0, all=9, results=1, items=(READING,)),
    READING_SET,
    ReadingSetList(href="/upt/1/mr/1/rs", subscribable=0, all=1, results=1, items=(READING_SET,)),
    USAGE_POINT,
    UsagePointList(
        href="/upt", subscribable=0, all=1, results=1, poll_rate=900, items=(USAGE_POINT,)
    ),
    METER_READING,
    MeterReadingList(href="/upt/1/mr", subscribable=0, all=1, results=1, items=(METER_READING,)),
    Error(max_retry_duration=60, reason_code=1),
)

MINIMAL: tuple[Sep2Object, ...] = (
    DeviceCapability(),
    Time(current_time=0, dst_end_time=0, dst_offset=0, dst_start_time=0, quality=7, tz_offset=0),
    EndDevice(sfdi=0, changed_time=0),
    EndDeviceList(),
    Registration(date_time_registered=0, pin=0),
    DeviceInformation(
        lfdi="00",
        mf_date=0,
        mf_hw_ver="",
        mf_id=0,
        mf_model="",
        mf_ser_num="",
        primary_power=0,
        secondary_power=0,
        sw_act_time=0,
        sw_ver="",
    ),
    FunctionSetAssignments(mrid="00"),
    FunctionSetAssignmentsList(),
    MirrorUsagePoint(mrid="00", role_flags=0, service_category_kind=0, status=0, device_lfdi="00"),
    MirrorUsagePointList(),
    MirrorMeterReading(mrid="00"),
    MirrorMeterReadingList(),
    MirrorReadingSet(mrid="00", time_period=DateTimeInterval(duration=0, start=0)),
    ReadingType(),
    Reading(),
    ReadingList(),
    ReadingSet(mrid="00", time_period=DateTimeInterval(duration=0, start=0)),
    ReadingSetList(),
    UsagePoint(mrid="00", role_flags=0, service_category_kind=0, status=0),
    UsagePointList(),
    MeterReading(mrid="00", reading_type_link=Link(href="/rt")),
    MeterReadingList(),
    Error(reason_code=0),
)
