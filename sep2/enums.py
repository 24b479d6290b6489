"""The enumerations of IEEE 2030.5-2018 that metering and the DER function sets use,
with the XSD's values.

Values come from the annotations of the official XSD's simple types (UomType, KindType,
...). The XSD allows values outside these lists (e.g. other IEC 61968-9 units), so resource
objects hold plain ``int``s and these enums are for naming and comparing: IntEnum members
compare equal to their integers (``reading_type.uom == Uom.WH``). Bit fields (roleFlags,
qualityFlags) are IntFlags, which keep unknown bits instead of refusing them.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag


class Uom(IntEnum):
    """UomType: unit of measure (IEC 61968-9 codes)."""

    NOT_APPLICABLE = 0
    A = 5
    KELVIN = 6
    DEGREES_CELSIUS = 23
    V = 29
    J = 31
    HZ = 33
    W = 38
    M3 = 42
    VA = 61
    VAR = 63
    COS_THETA = 65
    V2 = 67
    A2 = 69
    VAH = 71
    WH = 72
    VARH = 73
    AH = 106
    FT3 = 119
    FT3_PER_H = 122
    M3_PER_H = 125
    US_GL = 128
    US_GL_PER_H = 129
    IMP_GL = 130
    IMP_GL_PER_H = 131
    BTU = 132
    BTU_PER_H = 133
    LITER = 134
    L_PER_H = 137
    PA_GAUGE = 140
    PA_ABSOLUTE = 155
    THERM = 169


class Kind(IntEnum):
    """KindType: what a reading measures."""

    NOT_APPLICABLE = 0
    CURRENCY = 3
    DEMAND = 8
    ENERGY = 12
    POWER = 37


class AccumulationBehaviour(IntEnum):
    """AccumulationBehaviourType: how a value accumulates over time."""

    NOT_APPLICABLE = 0
    CUMULATIVE = 3
    DELTA_DATA = 4
    INDICATING = 6
    SUMMATION = 9
    INSTANTANEOUS = 12


class FlowDirection(IntEnum):
    """FlowDirectionType: FORWARD is delivered to the customer (import), REVERSE is
    received from the customer (export)."""

    NOT_APPLICABLE = 0
    FORWARD = 1
    REVERSE = 19


class DataQualifier(IntEnum):
    """DataQualifierType: the statistic a value is."""

    NOT_APPLICABLE = 0
    AVERAGE = 2
    MAXIMUM = 8
    MINIMUM = 9
    NORMAL = 12
    STD_DEV_POPULATION = 29
    STD_DEV_SAMPLE = 30


class Commodity(IntEnum):
    """CommodityType: what is metered."""

    NOT_APPLICABLE = 0
    ELECTRICITY_SECONDARY = 1
    ELECTRICITY_PRIMARY = 2
    AIR = 4
    NATURAL_GAS = 7
    PROPANE = 8
    POTABLE_WATER = 9
    STEAM = 10
    WASTE_WATER = 11
    HEATING_FLUID = 12
    COOLING_FLUID = 13


class ServiceKind(IntEnum):
    """ServiceKind: a usage point's serviceCategoryKind."""

    ELECTRICITY = 0
    GAS = 1
    WATER = 2
    TIME = 3
    PRESSURE = 4
    HEAT = 5
    COOLING = 6


class PhaseCode(IntEnum):
    """PhaseCode: the phase(s) a reading applies to; 0 is the total."""

    NOT_APPLICABLE = 0
    C = 32
    CN = 33
    CA = 40
    B = 64
    BN = 65
    BC = 66
    A = 128
    AN = 129
    AB = 132
    ABC = 224


class UsagePointStatus(IntEnum):
    """UsagePointBase.status: whether service is on at the usage point."""

    OFF = 0
    ON = 1


class RoleFlags(IntFlag):
    """RoleFlagsType (HexBinary16): the roles of a usage point; bits 7-15 reserved."""

    IS_MIRROR = 1 << 0
    IS_PREMISES_AGGREGATION_POINT = 1 << 1
    IS_PEV = 1 << 2
    IS_DER = 1 << 3
    IS_REVENUE_QUALITY = 1 << 4
    IS_DC = 1 << 5
    IS_SUBMETER = 1 << 6


class QualityFlags(IntFlag):
    """ReadingBase.qualityFlags (HexBinary16)."""

    VALID = 1 << 0
    MANUALLY_EDITED = 1 << 1
    ESTIMATED_REFERENCE_DAY = 1 << 2
    ESTIMATED_LINEAR_INTERPOLATION = 1 << 3
    QUESTIONABLE = 1 << 4
    DERIVED = 1 << 5
    PROJECTED = 1 << 6


class ReasonCode(IntEnum):
    """Error.reasonCode."""

    INVALID_REQUEST_FORMAT = 0
    INVALID_REQUEST_VALUES = 1
    RESOURCE_LIMIT_REACHED = 2
    CONDITIONAL_SUBSCRIPTION_FIELD_NOT_SUPPORTED = 3
    MAXIMUM_REQUEST_FREQUENCY_EXCEEDED = 4


class TimeQuality(IntEnum):
    """Time.quality: how good the server's time source is; lower is better."""

    EXTERNAL_AUTHORITATIVE = 3  # e.g. NTP
    LEVEL_3_SOURCE = 4
    MANUAL_OR_LEVEL_4_SOURCE = 5
    LEVEL_5_SOURCE = 6
    UNCOORDINATED = 7


class PowerSource(IntEnum):
    """PowerSourceType: DeviceInformation.primaryPower and secondaryPower."""

    NONE = 0
    MAINS = 1
    BATTERY = 2
    LOCAL_GENERATION = 3
    EMERGENCY = 4
    UNKNOWN = 5


class DerType(IntEnum):
    """DERType: DERCapability.type, what kind of DER it is."""

    NOT_APPLICABLE = 0
    VIRTUAL_OR_MIXED = 1
    RECIPROCATING_ENGINE = 2
    FUEL_CELL = 3
    PHOTOVOLTAIC = 4
    COMBINED_HEAT_AND_POWER = 5
    OTHER_GENERATION = 6
    OTHER_STORAGE = 80
    ELECTRIC_VEHICLE = 81
    EVSE = 82
    COMBINED_PV_AND_STORAGE = 83


class DerControlModes(IntFlag):
    """DERControlType (HexBinary32): modesSupported / modesEnabled; bits 27-31 reserved."""

    CHARGE = 1 << 0
    DISCHARGE = 1 << 1
    OP_MOD_CONNECT = 1 << 2
    OP_MOD_ENERGIZE = 1 << 3
    OP_MOD_FIXED_PF_ABSORB_W = 1 << 4
    OP_MOD_FIXED_PF_INJECT_W = 1 << 5
    OP_MOD_FIXED_VAR = 1 << 6
    OP_MOD_FIXED_W = 1 << 7
    OP_MOD_FREQ_DROOP = 1 << 8
    OP_MOD_FREQ_WATT = 1 << 9
    OP_MOD_HFRT_MAY_TRIP = 1 << 10
    OP_MOD_HFRT_MUST_TRIP = 1 << 11
    OP_MOD_HVRT_MAY_TRIP = 1 << 12
    OP_MOD_HVRT_MOMENTARY_CESSATION = 1 << 13
    OP_MOD_HVRT_MUST_TRIP = 1 << 14
    OP_MOD_LFRT_MAY_TRIP = 1 << 15
    OP_MOD_LFRT_MUST_TRIP = 1 << 16
    OP_MOD_LVRT_MAY_TRIP = 1 << 17
    OP_MOD_LVRT_MOMENTARY_CESSATION = 1 << 18
    OP_MOD_LVRT_MUST_TRIP = 1 << 19
    OP_MOD_MAX_LIM_W = 1 << 20
    OP_MOD_TARGET_VAR = 1 << 21
    OP_MOD_TARGET_W = 1 << 22
    OP_MOD_VOLT_VAR = 1 << 23
    OP_MOD_VOLT_WATT = 1 << 24
    OP_MOD_WATT_PF = 1 << 25
    OP_MOD_WATT_VAR = 1 << 26


class ConnectStatus(IntFlag):
    """ConnectStatusType (HexBinary8): genConnectStatus / storConnectStatus bits."""

    CONNECTED = 1 << 0
    AVAILABLE = 1 << 1
    OPERATING = 1 << 2
    TEST = 1 << 3
    FAULT = 1 << 4


class InverterStatus(IntEnum):
    """InverterStatusType value."""

    NOT_APPLICABLE = 0
    OFF = 1
    SLEEPING = 2
    STARTING = 3
    TRACKING_MPPT = 4
    FORCED_POWER_REDUCTION = 5
    SHUTTING_DOWN = 6
    FAULT = 7
    STANDBY = 8
    TEST = 9
    MANUFACTURER = 10


class OperationalModeStatus(IntEnum):
    """OperationalModeStatusType value."""

    NOT_APPLICABLE = 0
    OFF = 1
    OPERATIONAL = 2
    TEST = 3


class StorageModeStatus(IntEnum):
    """StorageModeStatusType value."""

    CHARGING = 0
    DISCHARGING = 1
    HOLDING = 2


class LocalControlModeStatus(IntEnum):
    """LocalControlModeStatusType value."""

    LOCAL = 0
    REMOTE = 1
