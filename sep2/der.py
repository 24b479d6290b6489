"""The DER function sets of IEEE 2030.5-2018 (clause 10.10): what a client tells the
server about a distributed energy resource behind it.

A device's EndDevice links a DERList; each DER in it links four resources the client
itself PUTs (the server only stores and serves them):

- DERCapability: the DER's ratings (nameplate), fixed for the device;
- DERSettings: the limits it is currently set to, at or under its ratings;
- DERStatus: what it is doing now (connection, inverter and operational mode, state of
  charge), each value with the time it was last true;
- DERAvailability: what it could deliver now (available W/var, reserve, duration).

The conventions are sep2.resources' (frozen dataclasses, XSD sequence order, ``None``
for an absent optional element). The value types pair a value with a power of ten
(``W = value x 10^multiplier``); their value is Int16 or UInt16 as the XSD says, so a
caller scales large ratings with :func:`scaled`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from sep2.resources import (
    ActivePower,
    Link,
    ListLink,
    ListResource,
    Resource,
    Sep2Object,
    XmlKind,
    at,
    el,
)

# --- Value types ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ApparentPower(Sep2Object):
    """ApparentPower: VA times 10^multiplier (UInt16 value)."""

    multiplier: int = field(metadata=el("multiplier"))
    value: int = field(metadata=el("value"))


@dataclass(frozen=True, slots=True, kw_only=True)
class ReactivePower(Sep2Object):
    """ReactivePower: var times 10^multiplier (Int16 value)."""

    multiplier: int = field(metadata=el("multiplier"))
    value: int = field(metadata=el("value"))


@dataclass(frozen=True, slots=True, kw_only=True)
class WattHour(Sep2Object):
    """WattHour: Wh times 10^multiplier (UInt16 value)."""

    multiplier: int = field(metadata=el("multiplier"))
    value: int = field(metadata=el("value"))


@dataclass(frozen=True, slots=True, kw_only=True)
class AmpereHour(Sep2Object):
    """AmpereHour: Ah times 10^multiplier (UInt16 value)."""

    multiplier: int = field(metadata=el("multiplier"))
    value: int = field(metadata=el("value"))


@dataclass(frozen=True, slots=True, kw_only=True)
class VoltageRms(Sep2Object):
    """VoltageRMS: V times 10^multiplier (UInt16 value)."""

    multiplier: int = field(metadata=el("multiplier"))
    value: int = field(metadata=el("value"))


@dataclass(frozen=True, slots=True, kw_only=True)
class CurrentRms(Sep2Object):
    """CurrentRMS: A times 10^multiplier (UInt16 value)."""

    multiplier: int = field(metadata=el("multiplier"))
    value: int = field(metadata=el("value"))


@dataclass(frozen=True, slots=True, kw_only=True)
class PowerFactor(Sep2Object):
    """PowerFactor: cos(theta) as displacement x 10^multiplier."""

    displacement: int = field(metadata=el("displacement"))
    multiplier: int = field(metadata=el("multiplier"))


@dataclass(frozen=True, slots=True, kw_only=True)
class ReactiveSusceptance(Sep2Object):
    """ReactiveSusceptance: siemens times 10^multiplier (UInt16 value)."""

    multiplier: int = field(metadata=el("multiplier"))
    value: int = field(metadata=el("value"))


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectStatusValue(Sep2Object):
    """ConnectStatusType: sep2.enums.ConnectStatus bits, and when they last changed."""

    date_time: int = field(metadata=el("dateTime"))
    value: int = field(metadata=el("value", XmlKind.HEX8))


@dataclass(frozen=True, slots=True, kw_only=True)
class InverterStatusValue(Sep2Object):
    """InverterStatusType: a sep2.enums.InverterStatus, and since when."""

    date_time: int = field(metadata=el("dateTime"))
    value: int = field(metadata=el("value"))


@dataclass(frozen=True, slots=True, kw_only=True)
class LocalControlModeStatusValue(Sep2Object):
    """LocalControlModeStatusType: a sep2.enums.LocalControlModeStatus, and since when."""

    date_time: int = field(metadata=el("dateTime"))
    value: int = field(metadata=el("value"))


@dataclass(frozen=True, slots=True, kw_only=True)
class ManufacturerStatusValue(Sep2Object):
    """ManufacturerStatusType: a vendor's status code (at most 6 characters), and since when."""

    date_time: int = field(metadata=el("dateTime"))
    value: str = field(metadata=el("value"))


@dataclass(frozen=True, slots=True, kw_only=True)
class OperationalModeStatusValue(Sep2Object):
    """OperationalModeStatusType: a sep2.enums.OperationalModeStatus, and since when."""

    date_time: int = field(metadata=el("dateTime"))
    value: int = field(metadata=el("value"))


@dataclass(frozen=True, slots=True, kw_only=True)
class StateOfChargeStatusValue(Sep2Object):
    """StateOfChargeStatusType: state of charge in hundredths of a per cent, and when."""

    date_time: int = field(metadata=el("dateTime"))
    value: int = field(metadata=el("value"))


@dataclass(frozen=True, slots=True, kw_only=True)
class StorageModeStatusValue(Sep2Object):
    """StorageModeStatusType: a sep2.enums.StorageModeStatus, and since when."""

    date_time: int = field(metadata=el("dateTime"))
    value: int = field(metadata=el("value"))


# --- The function-set resources -------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Der(Resource):
    """DER (/edev/{id}/der/{n}): one DER of a device, linking its four resources."""

    xml_name: ClassVar[str] = "DER"
    subscribable: int | None = field(default=None, metadata=at("subscribable"))
    associated_der_program_list_link: ListLink | None = field(
        default=None, metadata=el("AssociatedDERProgramListLink")
    )
    associated_usage_point_link: Link | None = field(
        default=None, metadata=el("AssociatedUsagePointLink")
    )
    current_der_program_link: Link | None = field(
        default=None, metadata=el("CurrentDERProgramLink")
    )
    der_availability_link: Link | None = field(default=None, metadata=el("DERAvailabilityLink"))
    der_capability_link: Link | None = field(default=None, metadata=el("DERCapabilityLink"))
    der_settings_link: Link | None = field(default=None, metadata=el("DERSettingsLink"))
    der_status_link: Link | None = field(default=None, metadata=el("DERStatusLink"))


@dataclass(frozen=True, slots=True, kw_only=True)
class DerList(ListResource):
    """DERList (/edev/{id}/der)."""

    xml_name: ClassVar[str] = "DERList"
    poll_rate: int | None = field(default=None, metadata=at("pollRate"))
    items: tuple[Der, ...] = field(default=(), metadata=el("DER"))


@dataclass(frozen=True, slots=True, kw_only=True)
class DerCapability(Resource):
    """DERCapability (/edev/{id}/der/{n}/dercap): the DER's ratings; ``modes_supported``
    (sep2.enums.DerControlModes), ``rtg_max_w`` and ``type`` (sep2.enums.DerType) required."""

    xml_name: ClassVar[str] = "DERCapability"
    modes_supported: int = field(metadata=el("modesSupported", XmlKind.HEX32))
    rtg_abnormal_category: int | None = field(default=None, metadata=el("rtgAbnormalCategory"))
    rtg_max_a: CurrentRms | None = field(default=None, metadata=el("rtgMaxA"))
    rtg_max_ah: AmpereHour | None = field(default=None, metadata=el("rtgMaxAh"))
    rtg_max_charge_rate_va: ApparentPower | None = field(
        default=None, metadata=el("rtgMaxChargeRateVA")
    )
    rtg_max_charge_rate_w: ActivePower | None = field(
        default=None, metadata=el("rtgMaxChargeRateW")
    )
    rtg_max_discharge_rate_va: ApparentPower | None = field(
        default=None, metadata=el("rtgMaxDischargeRateVA")
    )
    rtg_max_discharge_rate_w: ActivePower | None = field(
        default=None, metadata=el("rtgMaxDischargeRateW")
    )
    rtg_max_v: VoltageRms | None = field(default=None, metadata=el("rtgMaxV"))
    rtg_max_va: ApparentPower | None = field(default=None, metadata=el("rtgMaxVA"))
    rtg_max_var: ReactivePower | None = field(default=None, metadata=el("rtgMaxVar"))
    rtg_max_var_neg: ReactivePower | None = field(default=None, metadata=el("rtgMaxVarNeg"))
    rtg_max_w: ActivePower = field(metadata=el("rtgMaxW"))
    rtg_max_wh: WattHour | None = field(default=None, metadata=el("rtgMaxWh"))
    rtg_min_pf_over_excited: PowerFactor | None = field(
        default=None, metadata=el("rtgMinPFOverExcited")
    )
    rtg_min_pf_under_excited: PowerFactor | None = field(
        default=None, metadata=el("rtgMinPFUnderExcited")
    )
    rtg_min_v: VoltageRms | None = field(default=None, metadata=el("rtgMinV"))
    rtg_normal_category: int | None = field(default=None, metadata=el("rtgNormalCategory"))
    rtg_over_excited_pf: PowerFactor | None = field(default=None, metadata=el("rtgOverExcitedPF"))
    rtg_over_excited_w: ActivePower | None = field(default=None, metadata=el("rtgOverExcitedW"))
    rtg_reactive_susceptance: ReactiveSusceptance | None = field(
        default=None, metadata=el("rtgReactiveSusceptance")
    )
    rtg_under_excited_pf: PowerFactor | None = field(default=None, metadata=el("rtgUnderExcitedPF"))
    rtg_under_excited_w: ActivePower | None = field(default=None, metadata=el("rtgUnderExcitedW"))
    rtg_v_nom: VoltageRms | None = field(default=None, metadata=el("rtgVNom"))
    type: int = field(metadata=el("type"))


@dataclass(frozen=True, slots=True, kw_only=True)
class DerSettings(Resource):
    """DERSettings (/edev/{id}/der/{n}/derg): the limits the DER is set to now;
    ``set_grad_w``, ``set_max_w`` and ``updated_time`` required."""

    xml_name: ClassVar[str] = "DERSettings"
    subscribable: int | None = field(default=None, metadata=at("subscribable"))
    modes_enabled: int | None = field(default=None, metadata=el("modesEnabled", XmlKind.HEX32))
    set_es_delay: int | None = field(default=None, metadata=el("setESDelay"))
    set_es_high_freq: int | None = field(default=None, metadata=el("setESHighFreq"))
    set_es_high_volt: int | None = field(default=None, metadata=el("setESHighVolt"))
    set_es_low_freq: int | None = field(default=None, metadata=el("setESLowFreq"))
    set_es_low_volt: int | None = field(default=None, metadata=el("setESLowVolt"))
    set_es_ramp_tms: int | None = field(default=None, metadata=el("setESRampTms"))
    set_es_random_delay: int | None = field(default=None, metadata=el("setESRandomDelay"))
    set_grad_w: int = field(metadata=el("setGradW"))
    set_max_a: CurrentRms | None = field(default=None, metadata=el("setMaxA"))
    set_max_ah: AmpereHour | None = field(default=None, metadata=el("setMaxAh"))
    set_max_charge_rate_va: ApparentPower | None = field(
        default=None, metadata=el("setMaxChargeRateVA")
    )
    set_max_charge_rate_w: ActivePower | None = field(
        default=None, metadata=el("setMaxChargeRateW")
    )
    set_max_discharge_rate_va: ApparentPower | None = field(
        default=None, metadata=el("setMaxDischargeRateVA")
    )
    set_max_discharge_rate_w: ActivePower | None = field(
        default=None, metadata=el("setMaxDischargeRateW")
    )
    set_max_v: VoltageRms | None = field(default=None, metadata=el("setMaxV"))
    set_max_va: ApparentPower | None = field(default=None, metadata=el("setMaxVA"))
    set_max_var: ReactivePower | None = field(default=None, metadata=el("setMaxVar"))
    set_max_var_neg: ReactivePower | None = field(default=None, metadata=el("setMaxVarNeg"))
    set_max_w: ActivePower = field(metadata=el("setMaxW"))
    set_max_wh: WattHour | None = field(default=None, metadata=el("setMaxWh"))
    set_min_pf_over_excited: PowerFactor | None = field(
        default=None, metadata=el("setMinPFOverExcited")
    )
    set_min_pf_under_excited: PowerFactor | None = field(
        default=None, metadata=el("setMinPFUnderExcited")
    )
    set_min_v: VoltageRms | None = field(default=None, metadata=el("setMinV"))
    set_soft_grad_w: int | None = field(default=None, metadata=el("setSoftGradW"))
    set_v_nom: VoltageRms | None = field(default=None, metadata=el("setVNom"))
    set_v_ref: VoltageRms | None = field(default=None, metadata=el("setVRef"))
    set_v_ref_ofs: VoltageRms | None = field(default=None, metadata=el("setVRefOfs"))
    updated_time: int = field(metadata=el("updatedTime"))


@dataclass(frozen=True, slots=True, kw_only=True)
class DerStatus(Resource):
    """DERStatus (/edev/{id}/der/{n}/ders): what the DER is doing, as of ``reading_time``."""

    xml_name: ClassVar[str] = "DERStatus"
    subscribable: int | None = field(default=None, metadata=at("subscribable"))
    alarm_status: int | None = field(default=None, metadata=el("alarmStatus", XmlKind.HEX32))
    gen_connect_status: ConnectStatusValue | None = field(
        default=None, metadata=el("genConnectStatus")
    )
    inverter_status: InverterStatusValue | None = field(default=None, metadata=el("inverterStatus"))
    local_control_mode_status: LocalControlModeStatusValue | None = field(
        default=None, metadata=el("localControlModeStatus")
    )
    manufacturer_status: ManufacturerStatusValue | None = field(
        default=None, metadata=el("manufacturerStatus")
    )
    operational_mode_status: OperationalModeStatusValue | None = field(
        default=None, metadata=el("operationalModeStatus")
    )
    reading_time: int = field(metadata=el("readingTime"))
    state_of_charge_status: StateOfChargeStatusValue | None = field(
        default=None, metadata=el("stateOfChargeStatus")
    )
    storage_mode_status: StorageModeStatusValue | None = field(
        default=None, metadata=el("storageModeStatus")
    )
    stor_connect_status: ConnectStatusValue | None = field(
        default=None, metadata=el("storConnectStatus")
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class DerAvailability(Resource):
    """DERAvailability (/edev/{id}/der/{n}/dera): what the DER could deliver, as of
    ``reading_time``; per cents in hundredths."""

    xml_name: ClassVar[str] = "DERAvailability"
    subscribable: int | None = field(default=None, metadata=at("subscribable"))
    availability_duration: int | None = field(default=None, metadata=el("availabilityDuration"))
    max_charge_duration: int | None = field(default=None, metadata=el("maxChargeDuration"))
    reading_time: int = field(metadata=el("readingTime"))
    reserve_charge_percent: int | None = field(default=None, metadata=el("reserveChargePercent"))
    reserve_percent: int | None = field(default=None, metadata=el("reservePercent"))
    stat_var_avail: ReactivePower | None = field(default=None, metadata=el("statVarAvail"))
    stat_w_avail: ActivePower | None = field(default=None, metadata=el("statWAvail"))


DER_DOCUMENT_TYPES: tuple[type[Sep2Object], ...] = (
    Der,
    DerList,
    DerCapability,
    DerSettings,
    DerStatus,
    DerAvailability,
)
"""The DER function-set resources that can be a whole document."""

_INT16_MAX = 2**15 - 1
_UINT16_MAX = 2**16 - 1


def scaled(amount: float, *, signed: bool = False) -> tuple[int, int]:
    """``amount`` as (value, multiplier) with the value in Int16 (``signed``) or UInt16 and
    the smallest power of ten that makes it fit, rounded to nearest: 6,600 W is (6600, 0),
    250,000 Wh is (25000, 1). Raises ValueError for a negative amount when not ``signed``
    or one beyond 10^9 x the value's range (the XSD's multipliers stop at 9)."""
    if amount < 0 and not signed:
        raise ValueError(f"{amount} is negative; an unsigned value cannot hold it")
    limit = _INT16_MAX if signed else _UINT16_MAX
    for multiplier in range(0, 10):
        value = round(amount / 10**multiplier)
        if abs(value) <= limit:
            return value, multiplier
    raise ValueError(f"{amount} exceeds what a 16-bit value times 10^9 holds")
