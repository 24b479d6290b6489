"""A battery in exact integer energy: it does what it is asked within its limits.

Each interval it is given a target (devices.dispatch: the strategy that runs it, e.g.
the PV surplus for self-consumption): positive, it charges up to that much; negative, it
discharges up to that much, each within its power limit and the state-of-charge window.
The strategies never ask a discharge above the interval's deficit, so a battery never
exports; only time-of-use and peak shaving ask a charge from the grid.

Round-trip efficiency is split evenly between the two directions (``sqrt(rte)`` each):
charging ``E`` of AC energy stores ``E x eta``; delivering ``E`` draws ``E / eta`` from
storage. The difference is booked as losses, so energy in the ledger is conserved.
"""

from __future__ import annotations

import math

from devices.registers import MWS_PER_WH


class Battery:
    """One battery: capacity, power limits, efficiency and a state-of-charge window."""

    __slots__ = (
        "_capacity",
        "_charge_w",
        "_discharge_w",
        "_eta",
        "_floor",
        "_top",
        "content",
    )

    def __init__(
        self,
        capacity_kwh: float,
        charge_kw: float,
        discharge_kw: float,
        round_trip_efficiency: float,
        soc_min: float,
        soc_max: float,
        soc_initial: float,
    ) -> None:
        if not 0.0 <= soc_min < soc_max <= 1.0:
            raise ValueError("state-of-charge bounds must satisfy 0 <= min < max <= 1")
        if not 0.0 < round_trip_efficiency <= 1.0:
            raise ValueError("round-trip efficiency must be in (0, 1]")
        self._capacity = round(capacity_kwh * 1000 * MWS_PER_WH)
        self._floor = math.ceil(self._capacity * soc_min)
        self._top = math.floor(self._capacity * soc_max)
        self._charge_w = charge_kw * 1000.0
        self._discharge_w = discharge_kw * 1000.0
        self._eta = math.sqrt(round_trip_efficiency)
        self.content = min(self._top, max(self._floor, round(self._capacity * soc_initial)))
        """Stored energy in mWs, always within the state-of-charge window."""

    @property
    def capacity(self) -> int:
        """Nominal capacity in mWs."""
        return self._capacity

    @property
    def window(self) -> tuple[int, int]:
        """Lowest and highest allowed content in mWs."""
        return self._floor, self._top

    @property
    def limits_w(self) -> tuple[float, float]:
        """Charge and discharge power limits in W (AC side)."""
        return self._charge_w, self._discharge_w

    @property
    def soc(self) -> float:
        """State of charge, 0..1 of the nominal capacity."""
        return self.content / self._capacity

    def dispatch(self, surplus: int, dt_ms: int) -> tuple[int, int, int]:
        """Run one interval of ``dt_ms`` toward ``surplus`` mWs (the strategy's target;
        for self-consumption PV minus load).

        Returns ``(charged, discharged, losses)`` in mWs, AC side: ``charged`` never
        exceeds a positive target and ``discharged`` never exceeds a negative one.
        """
        if surplus > 0:
            room = self._top - self.content
            if room <= 0:
                return 0, 0, 0
            energy = min(surplus, int(self._charge_w * dt_ms), int(room / self._eta))
            stored = min(int(energy * self._eta), room)
            self.content += stored
            return energy, 0, energy - stored
        if surplus < 0:
            available = self.content - self._floor
            if available <= 0:
                return 0, 0, 0
            energy = min(-surplus, int(self._discharge_w * dt_ms), int(available * self._eta))
            drawn = min(available, max(energy, math.ceil(energy / self._eta)))
            self.content -= drawn
            return 0, energy, drawn - energy
        return 0, 0, 0
