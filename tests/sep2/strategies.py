"""Hypothesis strategies for whole 2030.5 resources, with the XSD's ranges."""

from __future__ import annotations

from hypothesis import strategies as st

from sep2 import (
    ActivePower,
    AmpereHour,
    ApparentPower,
    ConnectStatusValue,
    CurrentRms,
    DateTimeInterval,
    Der,
    DerAvailability,
    DerCapability,
    DerList,
    DerSettings,
    DerStatus,
    EndDevice,
    InverterStatusValue,
    Link,
    ListLink,
    LocalControlModeStatusValue,
    ManufacturerStatusValue,
    MirrorMeterReading,
    MirrorMeterReadingList,
    MirrorReadingSet,
    MirrorUsagePoint,
    OperationalModeStatusValue,
    PowerFactor,
    ReactivePower,
    ReactiveSusceptance,
    Reading,
    ReadingType,
    StateOfChargeStatusValue,
    StorageModeStatusValue,
    Time,
    UnitValue,
    VoltageRms,
    WattHour,
)
from sep2.primitives import INT48_MAX, INT48_MIN, INT64_MAX, INT64_MIN, UINT40_MAX, UINT48_MAX

uint8 = st.integers(0, 2**8 - 1)
uint16 = st.integers(0, 2**16 - 1)
uint32 = st.integers(0, 2**32 - 1)
int8 = st.integers(-(2**7), 2**7 - 1)
int32 = st.integers(-(2**31), 2**31 - 1)
int48 = st.integers(INT48_MIN, INT48_MAX)
int64 = st.integers(INT64_MIN, INT64_MAX)
uint40 = st.integers(0, UINT40_MAX)
uint48 = st.integers(0, UINT48_MAX)
hex16 = st.integers(0, 0xFFFF)
hex32 = st.integers(0, 0xFFFF_FFFF)
mrids = st.binary(min_size=1, max_size=16).map(lambda b: b.hex().upper())
lfdis = st.binary(min_size=1, max_size=20).map(lambda b: b.hex().upper())

# Characters XML 1.0 can carry (CR included: the codec writes it as a reference).
_xml_chars = st.characters(
    blacklist_categories=("Cs",),
    blacklist_characters=[chr(c) for c in range(0x20) if chr(c) not in "\t\n\r"]
    + ["\ufffe", "\uffff"],
)
string32 = st.text(_xml_chars, max_size=32)
hrefs = st.text(
    st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/-._~?=&"),
    min_size=1,
    max_size=40,
)


def opt(strategy: st.SearchStrategy) -> st.SearchStrategy:  # type: ignore[type-arg]
    return st.none() | strategy


intervals = st.builds(DateTimeInterval, duration=uint32, start=int64)

readings = st.builds(
    Reading,
    href=opt(hrefs),
    subscribable=opt(st.integers(0, 3)),
    consumption_block=opt(uint8),
    quality_flags=opt(hex16),
    time_period=opt(intervals),
    tou_tier=opt(uint8),
    value=opt(int48),
    local_id=opt(hex16),
)

unit_values = st.builds(UnitValue, multiplier=int8, unit=uint8, value=int32)

reading_types = st.builds(
    ReadingType,
    href=opt(hrefs),
    accumulation_behaviour=opt(uint8),
    calorific_value=opt(unit_values),
    commodity=opt(uint8),
    conversion_factor=opt(unit_values),
    data_qualifier=opt(uint8),
    flow_direction=opt(uint8),
    interval_length=opt(uint32),
    kind=opt(uint8),
    max_number_of_intervals=opt(uint8),
    number_of_consumption_blocks=opt(uint8),
    number_of_tou_tiers=opt(uint8),
    phase=opt(uint8),
    power_of_ten_multiplier=opt(int8),
    sub_interval_length=opt(uint32),
    supply_limit=opt(uint48),
    tiered_consumption_blocks=opt(st.booleans()),
    uom=opt(uint8),
)

mirror_reading_sets = st.builds(
    MirrorReadingSet,
    href=opt(hrefs),
    mrid=mrids,
    description=opt(string32),
    version=opt(uint16),
    time_period=intervals,
    readings=st.lists(readings, max_size=3).map(tuple),
)

mirror_meter_readings = st.builds(
    MirrorMeterReading,
    href=opt(hrefs),
    mrid=mrids,
    description=opt(string32),
    version=opt(uint16),
    last_update_time=opt(int64),
    mirror_reading_sets=st.lists(mirror_reading_sets, max_size=2).map(tuple),
    next_update_time=opt(int64),
    reading=opt(readings),
    reading_type=opt(reading_types),
)

mirror_meter_reading_lists = st.builds(
    MirrorMeterReadingList,
    href=opt(hrefs),
    all=opt(uint32),
    results=opt(uint32),
    items=st.lists(mirror_meter_readings, max_size=3).map(tuple),
)

mirror_usage_points = st.builds(
    MirrorUsagePoint,
    href=opt(hrefs),
    mrid=mrids,
    description=opt(string32),
    version=opt(uint16),
    role_flags=hex16,
    service_category_kind=uint8,
    status=uint8,
    device_lfdi=lfdis,
    mirror_meter_readings=st.lists(mirror_meter_readings, max_size=3).map(tuple),
    post_rate=opt(uint32),
)

links = st.builds(Link, href=hrefs)
list_links = st.builds(ListLink, href=hrefs, all=opt(uint32))

end_devices = st.builds(
    EndDevice,
    href=opt(hrefs),
    subscribable=opt(st.integers(0, 3)),
    configuration_link=opt(links),
    der_list_link=opt(list_links),
    device_category=opt(hex32),
    lfdi=opt(lfdis),
    sfdi=uint40,
    changed_time=int64,
    enabled=opt(st.booleans()),
    function_set_assignments_list_link=opt(list_links),
    post_rate=opt(uint32),
    registration_link=opt(links),
)

times = st.builds(
    Time,
    href=opt(hrefs),
    poll_rate=opt(uint32),
    current_time=int64,
    dst_end_time=int64,
    dst_offset=int32,
    dst_start_time=int64,
    local_time=opt(int64),
    quality=uint8,
    tz_offset=int32,
)

# --- The DER function sets --------------------------------------------------------------

int16 = st.integers(-(2**15), 2**15 - 1)
powers_of_ten = st.integers(-(2**7), 2**7 - 1)  # Int8 in the XSD, wider than -9..9
string6 = st.text(_xml_chars, max_size=6)
subscribables = opt(st.integers(0, 3))


def _scaled(cls: type, value: st.SearchStrategy) -> st.SearchStrategy:  # type: ignore[type-arg]
    return st.builds(cls, multiplier=powers_of_ten, value=value)


active_powers = _scaled(ActivePower, int16)
reactive_powers = _scaled(ReactivePower, int16)
apparent_powers = _scaled(ApparentPower, uint16)
watt_hours = _scaled(WattHour, uint16)
ampere_hours = _scaled(AmpereHour, uint16)
voltages = _scaled(VoltageRms, uint16)
currents = _scaled(CurrentRms, uint16)
susceptances = _scaled(ReactiveSusceptance, uint16)
power_factors = st.builds(PowerFactor, displacement=uint16, multiplier=powers_of_ten)


def _status(cls: type, value: st.SearchStrategy) -> st.SearchStrategy:  # type: ignore[type-arg]
    return opt(st.builds(cls, date_time=int64, value=value))


ders = st.builds(
    Der,
    href=opt(hrefs),
    subscribable=subscribables,
    associated_der_program_list_link=opt(list_links),
    associated_usage_point_link=opt(links),
    current_der_program_link=opt(links),
    der_availability_link=opt(links),
    der_capability_link=opt(links),
    der_settings_link=opt(links),
    der_status_link=opt(links),
)

der_lists = st.builds(
    DerList,
    href=opt(hrefs),
    all=opt(uint32),
    results=opt(uint32),
    poll_rate=opt(uint32),
    items=st.lists(ders, max_size=3).map(tuple),
)

der_capabilities = st.builds(
    DerCapability,
    href=opt(hrefs),
    modes_supported=hex32,
    rtg_abnormal_category=opt(uint8),
    rtg_max_a=opt(currents),
    rtg_max_ah=opt(ampere_hours),
    rtg_max_charge_rate_va=opt(apparent_powers),
    rtg_max_charge_rate_w=opt(active_powers),
    rtg_max_discharge_rate_va=opt(apparent_powers),
    rtg_max_discharge_rate_w=opt(active_powers),
    rtg_max_v=opt(voltages),
    rtg_max_va=opt(apparent_powers),
    rtg_max_var=opt(reactive_powers),
    rtg_max_var_neg=opt(reactive_powers),
    rtg_max_w=active_powers,
    rtg_max_wh=opt(watt_hours),
    rtg_min_pf_over_excited=opt(power_factors),
    rtg_min_pf_under_excited=opt(power_factors),
    rtg_min_v=opt(voltages),
    rtg_normal_category=opt(uint8),
    rtg_over_excited_pf=opt(power_factors),
    rtg_over_excited_w=opt(active_powers),
    rtg_reactive_susceptance=opt(susceptances),
    rtg_under_excited_pf=opt(power_factors),
    rtg_under_excited_w=opt(active_powers),
    rtg_v_nom=opt(voltages),
    type=uint8,
)

der_settings = st.builds(
    DerSettings,
    href=opt(hrefs),
    subscribable=subscribables,
    modes_enabled=opt(hex32),
    set_es_delay=opt(uint32),
    set_es_high_freq=opt(uint16),
    set_es_high_volt=opt(int16),
    set_es_low_freq=opt(uint16),
    set_es_low_volt=opt(int16),
    set_es_ramp_tms=opt(uint32),
    set_es_random_delay=opt(uint32),
    set_grad_w=uint16,
    set_max_a=opt(currents),
    set_max_ah=opt(ampere_hours),
    set_max_charge_rate_va=opt(apparent_powers),
    set_max_charge_rate_w=opt(active_powers),
    set_max_discharge_rate_va=opt(apparent_powers),
    set_max_discharge_rate_w=opt(active_powers),
    set_max_v=opt(voltages),
    set_max_va=opt(apparent_powers),
    set_max_var=opt(reactive_powers),
    set_max_var_neg=opt(reactive_powers),
    set_max_w=active_powers,
    set_max_wh=opt(watt_hours),
    set_min_pf_over_excited=opt(power_factors),
    set_min_pf_under_excited=opt(power_factors),
    set_min_v=opt(voltages),
    set_soft_grad_w=opt(uint16),
    set_v_nom=opt(voltages),
    set_v_ref=opt(voltages),
    set_v_ref_ofs=opt(voltages),
    updated_time=int64,
)

der_statuses = st.builds(
    DerStatus,
    href=opt(hrefs),
    subscribable=subscribables,
    alarm_status=opt(hex32),
    gen_connect_status=_status(ConnectStatusValue, uint8),
    inverter_status=_status(InverterStatusValue, uint8),
    local_control_mode_status=_status(LocalControlModeStatusValue, uint8),
    manufacturer_status=_status(ManufacturerStatusValue, string6),
    operational_mode_status=_status(OperationalModeStatusValue, uint8),
    reading_time=int64,
    state_of_charge_status=_status(StateOfChargeStatusValue, uint16),
    storage_mode_status=_status(StorageModeStatusValue, uint8),
    stor_connect_status=_status(ConnectStatusValue, uint8),
)

der_availabilities = st.builds(
    DerAvailability,
    href=opt(hrefs),
    subscribable=subscribables,
    availability_duration=opt(uint32),
    max_charge_duration=opt(uint32),
    reading_time=int64,
    reserve_charge_percent=opt(uint16),
    reserve_percent=opt(uint16),
    stat_var_avail=opt(reactive_powers),
    stat_w_avail=opt(active_powers),
)

der_documents = st.one_of(
    ders, der_lists, der_capabilities, der_settings, der_statuses, der_availabilities
)
