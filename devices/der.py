"""What a meter's DER (its PV array, its battery, or both) tells the server, from the
physics: the four documents of the 2030.5 DER function sets a DER client PUTs.

A meter with PV or a battery has one DER, the site's inverters and storage together
(DERType 4, photovoltaic, or 83, combined PV and storage), as CSIP-AUS servers model a
site. :class:`DerReporter` writes:

- **DERCapability**, the ratings: rtgMaxW is the PV inverter's and the battery's
  discharge rating together, capped by the meter's rated power (the physics never
  produces more); rtgMaxWh the battery's capacity; rtgMaxChargeRateW and
  rtgMaxDischargeRateW its power limits; rtgVNom the 230 V phase voltage the physics
  measures about. modesSupported says charge and discharge for a battery and nothing
  else: the emulated meters do not act on DERControls.
- **DERSettings**, the limits it runs at: its ratings (setGradW 10000, 100 % of setMaxW
  per second: the physics has no ramp limit), setMaxWh the usable part of the battery
  (between its lowest and highest state of charge).
- **DERStatus**, from the latest physics step: genConnectStatus (connected and available;
  operating while the PV produces), inverterStatus (4, tracking MPPT, while the PV
  produces; 2, sleeping, otherwise: battery activity is in storageModeStatus),
  operationalModeStatus 2 (operational), localControlModeStatus 0 (local), the state of
  charge in hundredths of a per cent, storageModeStatus (charging, discharging, holding)
  and storConnectStatus (operating while the battery moves). Each value's dateTime is
  when it last changed (the first report's time for a value never seen to change).
- **DERAvailability**: statWAvail is the PV power now plus the battery's discharge limit
  while it holds energy above its lowest state of charge, capped by rtgMaxW;
  availabilityDuration how long the battery could discharge at its limit and
  maxChargeDuration how long it could charge at its limit.

Pure functions of the spec and the physics state, and one small memory of when each
status value changed: no I/O, no clock (times are passed in).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from devices.electrical import NOMINAL_PHASE_V
from devices.meter import MeterState
from devices.spec import MeterSpec
from sep2 import (
    ActivePower,
    ConnectStatus,
    ConnectStatusValue,
    DerAvailability,
    DerCapability,
    DerControlModes,
    DerSettings,
    DerStatus,
    DerType,
    InverterStatus,
    InverterStatusValue,
    LocalControlModeStatus,
    LocalControlModeStatusValue,
    OperationalModeStatus,
    OperationalModeStatusValue,
    StateOfChargeStatusValue,
    StorageModeStatus,
    StorageModeStatusValue,
    VoltageRms,
    WattHour,
    scaled,
)

FULL_RAMP = 10_000  # setGradW: hundredths of a per cent of setMaxW per second
PER_CENT = 10_000  # PerCent: hundredths
IDLE_W = 1.0  # below this a battery or an array counts as still (rounding noise)


def has_der(spec: MeterSpec) -> bool:
    """Whether the meter has a DER to report (PV or a battery)."""
    return spec.pv_kwp > 0.0 or spec.battery is not None


def _watts(amount: float) -> ActivePower:
    value, multiplier = scaled(amount, signed=True)
    return ActivePower(multiplier=multiplier, value=value)


def _watt_hours(amount: float) -> WattHour:
    value, multiplier = scaled(amount)
    return WattHour(multiplier=multiplier, value=value)


def rated_output_w(spec: MeterSpec) -> float:
    """The most the DER can deliver: PV inverter plus battery discharge, within the
    meter's rated power."""
    battery = spec.battery.discharge_kw * 1000.0 if spec.battery is not None else 0.0
    return min(float(spec.rated_power_w), spec.pv_kwp * 1000.0 + battery)


def capability(spec: MeterSpec) -> DerCapability:
    """The DER's DERCapability (see the module docstring)."""
    b = spec.battery
    modes = DerControlModes.CHARGE | DerControlModes.DISCHARGE if b is not None else 0
    kind = (
        DerType.COMBINED_PV_AND_STORAGE
        if b is not None and spec.pv_kwp > 0
        else DerType.OTHER_STORAGE
        if b is not None
        else DerType.PHOTOVOLTAIC
    )
    return DerCapability(
        modes_supported=int(modes),
        rtg_max_charge_rate_w=_watts(b.charge_kw * 1000.0) if b is not None else None,
        rtg_max_discharge_rate_w=_watts(b.discharge_kw * 1000.0) if b is not None else None,
        rtg_max_w=_watts(rated_output_w(spec)),
        rtg_max_wh=_watt_hours(b.capacity_kwh * 1000.0) if b is not None else None,
        rtg_v_nom=VoltageRms(multiplier=0, value=round(NOMINAL_PHASE_V)),
        type=int(kind),
    )


def settings(spec: MeterSpec, now: int) -> DerSettings:
    """The DER's DERSettings at ``now``: it runs at its ratings."""
    b = spec.battery
    cap = capability(spec)
    return DerSettings(
        modes_enabled=cap.modes_supported,
        set_grad_w=FULL_RAMP,
        set_max_charge_rate_w=cap.rtg_max_charge_rate_w,
        set_max_discharge_rate_w=cap.rtg_max_discharge_rate_w,
        set_max_w=cap.rtg_max_w,
        set_max_wh=_watt_hours(b.capacity_kwh * 1000.0 * (b.soc_max - b.soc_min))
        if b is not None
        else None,
        set_v_nom=cap.rtg_v_nom,
        updated_time=now,
    )


def availability(spec: MeterSpec, state: MeterState, now: int) -> DerAvailability:
    """The DER's DERAvailability from the physics ``state``, as of ``now``."""
    b = spec.battery
    available = max(0.0, state.pv_w)
    discharge_s = charge_s = None
    if b is not None and state.soc is not None:
        capacity_wh = b.capacity_kwh * 1000.0
        above_floor_wh = max(0.0, (state.soc - b.soc_min) * capacity_wh)
        below_top_wh = max(0.0, (b.soc_max - state.soc) * capacity_wh)
        if above_floor_wh > 0.0:
            available += b.discharge_kw * 1000.0
        discharge_s = round(above_floor_wh / (b.discharge_kw * 1000.0) * 3600)
        charge_s = round(below_top_wh / (b.charge_kw * 1000.0) * 3600)
    return DerAvailability(
        availability_duration=discharge_s,
        max_charge_duration=charge_s,
        reading_time=now,
        stat_w_avail=_watts(min(available, rated_output_w(spec))),
    )


def _observed(spec: MeterSpec, state: MeterState) -> dict[str, int]:
    """The status values the physics shows now, by DERStatus field."""
    values = {
        "operational_mode_status": int(OperationalModeStatus.OPERATIONAL),
        "local_control_mode_status": int(LocalControlModeStatus.LOCAL),
    }
    ready = ConnectStatus.CONNECTED | ConnectStatus.AVAILABLE
    if spec.pv_kwp > 0.0:
        producing = state.pv_w >= IDLE_W
        values["gen_connect_status"] = int(ready | ConnectStatus.OPERATING if producing else ready)
        values["inverter_status"] = int(
            InverterStatus.TRACKING_MPPT if producing else InverterStatus.SLEEPING
        )
    if spec.battery is not None and state.soc is not None:
        moving = abs(state.battery_w) >= IDLE_W
        values["stor_connect_status"] = int(ready | ConnectStatus.OPERATING if moving else ready)
        values["storage_mode_status"] = int(
            StorageModeStatus.HOLDING
            if not moving
            else StorageModeStatus.CHARGING
            if state.battery_w > 0
            else StorageModeStatus.DISCHARGING
        )
        values["state_of_charge_status"] = round(state.soc * PER_CENT)
    return values


_STATUS_TYPES: dict[str, type] = {
    "gen_connect_status": ConnectStatusValue,
    "inverter_status": InverterStatusValue,
    "local_control_mode_status": LocalControlModeStatusValue,
    "operational_mode_status": OperationalModeStatusValue,
    "state_of_charge_status": StateOfChargeStatusValue,
    "storage_mode_status": StorageModeStatusValue,
    "stor_connect_status": ConnectStatusValue,
}
"""Each DERStatus field and the status type that carries its value and dateTime."""


@dataclass
class DerReporter:
    """One meter's DER documents; remembers since when each status value holds."""

    spec: MeterSpec
    _since: dict[str, tuple[int, int]] = field(default_factory=dict)  # field: (value, time)

    def capability(self) -> DerCapability:
        """DERCapability (ratings; fixed for the meter)."""
        return capability(self.spec)

    def settings(self, now: int) -> DerSettings:
        """DERSettings, updated at ``now``."""
        return settings(self.spec, now)

    def status(self, state: MeterState, now: int) -> DerStatus:
        """DERStatus of ``state``, read at ``now``; each value dated from its last change."""
        values: dict[str, object] = {}
        for name, value in _observed(self.spec, state).items():
            known = self._since.get(name)
            if known is None or known[0] != value:
                known = self._since[name] = (value, now)
            values[name] = _STATUS_TYPES[name](date_time=known[1], value=value)
        return DerStatus(reading_time=now, **values)  # type: ignore[arg-type]

    def availability(self, state: MeterState, now: int) -> DerAvailability:
        """DERAvailability of ``state``, as of ``now``."""
        return availability(self.spec, state, now)
