"""One emulated meter's physics: load, PV and battery integrated into exact registers.

``MeterModel`` is stepped forward in time by whoever drives it (``step``, ``step_to``,
or ``replay`` for many steps at once) and answers with a ``MeterState``: the two
cumulative Wh registers (import, flowDirection 1; export, flowDirection 19), the mean
powers over the step, and the electrical readings at its end. It never reads a clock.

A step is cut at the fixed 5-minute grid of the epoch; each piece uses the powers at its
midpoint, so a 15-second step costs one sample and a day's replay 288. Because the
weather and noise are pure functions of time (devices.noise), how a meter is stepped
only changes where the pieces fall, not what the sky does: a meter stepped every 15 s
and one replayed in 15-minute steps agree closely, and the same steps from the same
seed give identical registers.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from devices.battery import Battery
from devices.electrical import line_voltage, measure, reactive_power
from devices.load import BuildingLoad
from devices.pv import PvArray
from devices.registers import EnergyLedger
from devices.site import Site
from devices.spec import MeterSpec
from devices.timebase import MS_PER_S, Instant, to_datetime, to_ms

PIECE_MS = 300_000
"""Steps are cut at this grid (5 minutes) and integrated piece by piece."""
VOLTAGE_OFFSET = 0.01  # a meter's steady voltage deviation is within ±1 %


class MeterState(NamedTuple):
    """What a meter shows at the end of a step."""

    serial: str
    time_ms: int
    """End of the step, milliseconds since the epoch (UTC)."""
    import_wh: int
    """Cumulative energy imported (delivered to the customer), floor of the exact sum."""
    export_wh: int
    """Cumulative energy exported (received from the customer), floor of the exact sum."""
    power_w: float
    """Mean net active power over the step: positive importing, negative exporting."""
    load_w: float
    pv_w: float
    battery_w: float
    """Mean battery power: positive charging, negative discharging."""
    soc: float | None
    """Battery state of charge 0..1, or None without a battery."""
    phases: int
    voltage_v: float
    """Phase-to-neutral voltage (230 V nominal; 400 V line to line on three phases)."""
    current_a: float
    """Current per phase."""
    frequency_hz: float
    power_factor: float
    reactive_var: float

    @property
    def time(self) -> datetime:
        """End of the step as an aware UTC datetime."""
        return to_datetime(self.time_ms)

    @property
    def line_voltage_v(self) -> float | None:
        """Line-to-line voltage of a three-phase meter (None on a single phase)."""
        return line_voltage(self.voltage_v) if self.phases == 3 else None


@dataclass(frozen=True)
class MeterSnapshot:
    """Everything needed to resume a meter exactly where it stopped."""

    serial: str
    time_ms: int
    ledger: EnergyLedger
    battery_content: int | None
    """Stored battery energy in mWs."""

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict (integers only, so nothing is lost)."""
        return {
            "serial": self.serial,
            "time_ms": self.time_ms,
            "battery_content": self.battery_content,
            "ledger": {
                "imported": self.ledger.imported,
                "exported": self.ledger.exported,
                "load": self.ledger.load,
                "pv": self.ledger.pv,
                "charged": self.ledger.charged,
                "discharged": self.ledger.discharged,
                "battery_losses": self.ledger.battery_losses,
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> MeterSnapshot:
        """The snapshot that ``to_dict`` wrote; anything else is a ``ValueError``."""
        serial, time_ms = data.get("serial"), data.get("time_ms")
        content, ledger = data.get("battery_content"), data.get("ledger")
        fields = EnergyLedger.__dataclass_fields__
        if (
            not isinstance(serial, str)
            or not isinstance(time_ms, int)
            or not (content is None or isinstance(content, int))
            or not isinstance(ledger, dict)
            or set(ledger) != set(fields)
            or not all(isinstance(v, int) and v >= 0 for v in ledger.values())
        ):
            raise ValueError("not a meter snapshot")
        return cls(serial, time_ms, EnergyLedger(**ledger), content)


class MeterModel:
    """The physics of one meter at one site, stepped forward in time."""

    def __init__(self, spec: MeterSpec, site: Site, start: Instant) -> None:
        self.spec = spec
        self.site = site
        key = f"{site.seed}/{spec.serial}"
        self._load = BuildingLoad(spec.building_type, spec.peak_load_w, f"{key}/load")
        self._pv = PvArray(spec.pv_kwp) if spec.pv_kwp > 0.0 else None
        b = spec.battery
        self.battery = (
            Battery(
                b.capacity_kwh,
                b.charge_kw,
                b.discharge_kw,
                b.round_trip_efficiency,
                b.soc_min,
                b.soc_max,
                b.soc_initial,
            )
            if b is not None
            else None
        )
        self._ledger = EnergyLedger()
        self._reactive_per_w = reactive_power(1.0, self._load.power_factor)
        self._voltage_offset = random.Random(f"{key}/supply").uniform(
            -VOLTAGE_OFFSET, VOLTAGE_OFFSET
        )
        self._t = to_ms(start)
        self._state = self._at_rest()

    @classmethod
    def restore(cls, spec: MeterSpec, site: Site, snapshot: MeterSnapshot) -> MeterModel:
        """A meter resumed from a snapshot: its registers and every later step are exactly
        as if it had never stopped (its state before the next step shows instantaneous
        powers, like a new meter's)."""
        if snapshot.serial != spec.serial:
            raise ValueError(f"snapshot of {snapshot.serial} given to {spec.serial}")
        if (snapshot.battery_content is None) != (spec.battery is None):
            raise ValueError(f"{spec.serial}: snapshot and spec disagree about a battery")
        meter = cls(spec, site, snapshot.time_ms / MS_PER_S)
        meter._t = snapshot.time_ms
        meter._ledger = snapshot.ledger.copy()
        if meter.battery is not None and snapshot.battery_content is not None:
            low, high = meter.battery.window
            if not low <= snapshot.battery_content <= high:
                raise ValueError(f"{spec.serial}: snapshot battery content out of its window")
            meter.battery.content = snapshot.battery_content
        meter._state = meter._at_rest()
        return meter

    def start_at(self, when: Instant) -> None:
        """Move the start of a meter that has not run yet (a client that learns the
        server's clock before its first reading starts in the server's time)."""
        if self._ledger != EnergyLedger():
            raise ValueError(f"{self.spec.serial}: a meter that has run cannot move its start")
        self._t = to_ms(when)
        self._state = self._at_rest()

    @property
    def time_ms(self) -> int:
        """The meter's present time, milliseconds since the epoch."""
        return self._t

    @property
    def state(self) -> MeterState:
        """The state after the last step (or at the start, with the battery idle)."""
        return self._state

    @property
    def ledger(self) -> EnergyLedger:
        """A copy of the exact energy books (mWs)."""
        return self._ledger.copy()

    def snapshot(self) -> MeterSnapshot:
        """The meter's exact state, to resume it later with ``restore``."""
        content = self.battery.content if self.battery is not None else None
        return MeterSnapshot(self.spec.serial, self._t, self._ledger.copy(), content)

    def step(self, seconds: float) -> MeterState:
        """Advance by ``seconds`` (>= 0) and return the new state."""
        return self._advance(self._t + round(seconds * MS_PER_S))

    def step_to(self, when: Instant) -> MeterState:
        """Advance to ``when`` (aware datetime or epoch seconds) and return the new state.

        Time never runs backwards: an earlier time is refused, the same time returns the
        present state unchanged.
        """
        return self._advance(to_ms(when))

    def step_to_ms(self, t_ms: int) -> MeterState:
        """``step_to`` for a time in integer milliseconds since the epoch."""
        return self._advance(t_ms)

    def _advance(self, t1: int) -> MeterState:
        t0 = self._t
        if t1 <= t0:
            if t1 == t0:
                return self._state
            raise ValueError(f"{self.spec.serial}: time runs backwards ({t1} < {t0} ms)")
        ledger = self._ledger
        before = (
            ledger.imported - ledger.exported,
            ledger.load,
            ledger.pv,
            ledger.charged - ledger.discharged,
        )
        a = t0
        while a < t1:
            b = (a // PIECE_MS + 1) * PIECE_MS
            if b > t1:
                b = t1
            self._piece(a, b)
            a = b
        self._t = t1
        dt = t1 - t0  # mWs / ms = W
        net = (ledger.imported - ledger.exported - before[0]) / dt
        load = (ledger.load - before[1]) / dt
        self._state = self._show(
            t1,
            net,
            load,
            (ledger.pv - before[2]) / dt,
            (ledger.charged - ledger.discharged - before[3]) / dt,
        )
        return self._state

    def replay(self, until: Instant, every_s: int) -> Iterator[MeterState]:
        """Step to ``until`` in steps ending on multiples of ``every_s`` seconds.

        Yields each step's state; the last one is at ``until``. A meter catching up from
        a past start to the present reports the readings it would have posted.
        """
        if every_s <= 0:
            raise ValueError("every_s must be positive")
        end = to_ms(until)
        every = every_s * MS_PER_S
        while self._t < end:
            nxt = min(end, (self._t // every + 1) * every)
            yield self._advance(nxt)

    def _piece(self, a: int, b: int) -> None:
        """Integrate ``[a, b)`` at its midpoint's powers into the ledger."""
        dt = b - a
        mid = (a + b) // 2
        c = self.site.at(mid)
        e_load = round(self._load.power(mid, c.local_day, c.hour, c.ambient_c) * dt)
        e_pv = round(self._pv.power(c.ghi, c.ambient_c) * dt) if self._pv is not None else 0
        if self.battery is not None:
            charged, discharged, losses = self.battery.dispatch(e_pv - e_load, dt)
            self._ledger.book(e_load, e_pv, charged, discharged, losses)
        else:
            self._ledger.book(e_load, e_pv, 0, 0, 0)

    def _at_rest(self) -> MeterState:
        """The state at the present instant before any step: no energy has flowed yet."""
        c = self.site.at(self._t)
        load = self._load.power(self._t, c.local_day, c.hour, c.ambient_c)
        pv = self._pv.power(c.ghi, c.ambient_c) if self._pv is not None else 0.0
        return self._show(self._t, load - pv, load, pv, 0.0)

    def _show(self, t: int, net: float, load: float, pv: float, battery: float) -> MeterState:
        volts, freq = self.site.grid_at(t)
        e = measure(
            net,
            load * self._reactive_per_w,
            self.spec.phases,
            self.spec.rated_power_w,
            self._voltage_offset,
            volts,
            freq,
        )
        ledger = self._ledger
        return MeterState(
            self.spec.serial,
            t,
            ledger.import_wh,
            ledger.export_wh,
            net,
            load,
            pv,
            battery,
            self.battery.soc if self.battery is not None else None,
            self.spec.phases,
            e.voltage_v,
            e.current_a,
            e.frequency_hz,
            e.power_factor,
            e.reactive_var,
        )
