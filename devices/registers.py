"""Exact energy accounting: every flow in integer milliwatt-seconds (millijoules).

The physics computes powers in floating point, but each step's energies are rounded to
whole mWs once and from then on only added as integers, so the books always balance
exactly: ``imported - exported == load - pv + charged - discharged`` and a battery's
content changes by ``charged - discharged - losses``. The Wh registers a meter reports
are the floor of the exact accumulators: a register never goes backwards, and no
rounding is ever lost because the remainder stays in the accumulator.
"""

from __future__ import annotations

from dataclasses import dataclass

MWS_PER_WH = 3_600_000
"""Milliwatt-seconds in one watt-hour."""


@dataclass(slots=True)
class EnergyLedger:
    """Cumulative energy flows of one meter, in mWs (all non-decreasing)."""

    imported: int = 0
    """Energy delivered from the grid (flowDirection 1)."""
    exported: int = 0
    """Energy received by the grid (flowDirection 19)."""
    load: int = 0
    pv: int = 0
    charged: int = 0
    """AC energy into the battery."""
    discharged: int = 0
    """AC energy out of the battery."""
    battery_losses: int = 0
    """Heat in the battery and its converter: charged energy that never comes back."""

    @property
    def import_wh(self) -> int:
        """The import register in whole Wh (floor of the exact accumulator)."""
        return self.imported // MWS_PER_WH

    @property
    def export_wh(self) -> int:
        """The export register in whole Wh (floor of the exact accumulator)."""
        return self.exported // MWS_PER_WH

    def book(self, load: int, pv: int, charged: int, discharged: int, losses: int) -> int:
        """Book one interval's flows; returns its net grid energy (+ import, - export)."""
        self.load += load
        self.pv += pv
        self.charged += charged
        self.discharged += discharged
        self.battery_losses += losses
        net = load - pv + charged - discharged
        if net > 0:
            self.imported += net
        else:
            self.exported -= net
        return net

    def copy(self) -> EnergyLedger:
        """An independent copy."""
        return EnergyLedger(
            self.imported,
            self.exported,
            self.load,
            self.pv,
            self.charged,
            self.discharged,
            self.battery_losses,
        )
