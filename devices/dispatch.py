"""How a battery is run: what it is asked to charge or discharge in each interval.

A strategy turns an interval's PV surplus (PV minus load, mWs; negative: a deficit) and
the local time into a *target* for :meth:`devices.battery.Battery.dispatch`: positive,
charge up to that much AC energy; negative, discharge up to that much. The battery then
keeps to its power limits and state-of-charge window, and the meter's ledger books the
flows (devices.registers), so energy is conserved whatever the strategy asks. Three
strategies that real campus batteries run:

- ``self_consumption``: PV surplus charges, the battery covers load the PV does not.
  Never charges from the grid. Behind a building whose PV never outgrows its load (most
  of this campus) it never charges at all.
- ``time_of_use``: charge from the grid in the tariff's off-peak hours (up to the charge
  limit, and so that the import stays within ``GRID_MARGIN`` of the service's rating,
  which the on-chain Oracle enforces), hold the charge there, and in the peak hours run
  for self-consumption (the stored off-peak energy covers peak load). The default hours
  are Thailand's TOU tariff (MEA and PEA): peak 09:00-22:00 Monday to Friday; off-peak
  22:00-09:00 and all of Saturday and Sunday (public holidays are not modelled).
- ``peak_shaving``: keep the import at or under ``peak_shaving_kw``: discharge what the
  deficit exceeds it by, and below it recharge (from PV and the grid) up to it.

In every strategy a discharge never exceeds the deficit, so a battery never exports.
"""

from __future__ import annotations

from typing import Literal

Strategy = Literal["self_consumption", "time_of_use", "peak_shaving"]
STRATEGIES: tuple[Strategy, ...] = ("self_consumption", "time_of_use", "peak_shaving")
GRID_MARGIN = 0.9
"""Grid charging keeps a meter's import under this share of its rated power."""
_WEEKDAY_OF_DAY0 = 3  # 1970-01-01, local day 0, was a Thursday (Monday = 0)


def weekday(local_day: int) -> int:
    """Day of the week (Monday 0 .. Sunday 6) of a local day counted from 1970-01-01."""
    return (local_day + _WEEKDAY_OF_DAY0) % 7


class Dispatch:
    """One battery's strategy: interval targets from the surplus and the local time."""

    __slots__ = (
        "_cap_w",
        "_charge_w",
        "_grid_w",
        "_off_end",
        "_off_start",
        "_weekends",
        "strategy",
    )

    def __init__(
        self,
        strategy: Strategy,
        *,
        charge_kw: float,
        rated_power_w: float,
        off_peak: tuple[float, float] = (22.0, 9.0),
        off_peak_weekends: bool = True,
        peak_shaving_kw: float | None = None,
    ) -> None:
        if strategy == "peak_shaving" and (peak_shaving_kw is None or peak_shaving_kw <= 0):
            raise ValueError("peak_shaving needs peak_shaving_kw > 0")
        self.strategy = strategy
        self._charge_w = charge_kw * 1000.0
        self._grid_w = GRID_MARGIN * rated_power_w
        self._off_start, self._off_end = off_peak
        self._weekends = off_peak_weekends
        self._cap_w = (peak_shaving_kw or 0.0) * 1000.0

    def off_peak(self, hour: float, local_day: int) -> bool:
        """Whether the local ``hour`` of ``local_day`` is in the tariff's off-peak hours."""
        if self._weekends and weekday(local_day) >= 5:
            return True
        start, end = self._off_start, self._off_end
        if start <= end:
            return start <= hour < end
        return hour >= start or hour < end  # the window wraps midnight

    def target(self, surplus: int, dt_ms: int, hour: float, local_day: int) -> int:
        """What to ask of the battery over ``dt_ms`` with ``surplus`` mWs (PV - load)."""
        if self.strategy == "self_consumption":
            return surplus
        if self.strategy == "time_of_use":
            if not self.off_peak(hour, local_day):
                return surplus
            # from the grid up to the charge limit, the import kept under the margin
            # (import = charge - surplus), and any PV surplus on top
            room = min(self._charge_w * dt_ms, self._grid_w * dt_ms + surplus)
            return max(surplus, int(room), 0)
        # peak shaving: net import (deficit - discharge + charge) held at the cap
        return int(self._cap_w * dt_ms) + surplus
