"""Fleet power over time, by 15-minute epoch, computed in SQL (SQLite and PostgreSQL).

What the dashboard's history chart draws, from the database rather than from the page's
lifetime, so that a replayed day is drawn as soon as its readings are stored:

- *import* and *export*: the mean power of the fleet's import and export registers over
  each epoch (Wh of the epoch x 4). A register's value at an epoch's end is its largest
  reading in ``(start, end]`` (a reading at the boundary closes the epoch before it);
  the epoch's energy is that minus the same register's value at the end of the epoch
  before (``LAG`` over the register's epochs). A meter's first epoch in the window has
  no epoch before it and adds nothing; an epoch a meter skipped is counted in the next
  one it reported.
- *PV* and *battery*: DER mirrors (roleFlags isDER) post mean powers (uom W, kind power;
  flowDirection reverse: PV output, forward: battery, + charging): each mirror's mean
  over the epoch, summed over the mirrors.

Two grouped queries over the window's readings; no writes, nothing per meter in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypedDict

from sqlalchemy import func, select
from sqlmodel import Session

from gateway.models import MeterReadingRow, MirrorRow, ReadingRow, table_of
from sep2 import RoleFlags

EPOCH_SECONDS = 900
_HOURS_PER_EPOCH = Decimal(EPOCH_SECONDS) / 3600
_W, _POWER = 38, 37  # sep2 Uom.W, Kind.POWER
_FORWARD, _REVERSE = 1, 19

_R: Any = table_of(ReadingRow)
_MR: Any = table_of(MeterReadingRow)
_M: Any = table_of(MirrorRow)


class EpochPower(TypedDict):
    """The fleet's mean powers over one epoch, W."""

    epoch: int
    start: int
    """Unix time of the epoch's start."""
    import_w: float
    export_w: float
    pv_w: float | None
    """None: no DER mirror reported PV in the epoch."""
    battery_w: float | None
    """+ charging, - discharging; None: no DER mirror reported a battery."""


@dataclass(frozen=True)
class Window:
    """The epochs ``[first, last]`` (epoch numbers: Unix time // 900)."""

    first: int
    last: int

    @classmethod
    def ending(cls, now: float, hours: float) -> Window:
        """The epochs of the last ``hours`` up to the one ``now`` is in."""
        last = int(now) // EPOCH_SECONDS
        return cls(last - int(hours * 3600) // EPOCH_SECONDS, last)


def _epoch_of_start() -> Any:
    # (start - 1) // 900: a reading at an epoch's end closes that epoch
    return ((_R.c.start - 1) // EPOCH_SECONDS).label("epoch")


def _in(window: Window, *, before: int = 0) -> Any:
    low = (window.first - before) * EPOCH_SECONDS + 1
    high = (window.last + 1) * EPOCH_SECONDS
    return _R.c.start.between(low, high)


def fleet_history(session: Session, window: Window) -> list[EpochPower]:
    """The fleet's power in each epoch of ``window`` that has readings, oldest first."""
    run = session.execute
    epoch = _epoch_of_start()
    # the registers at each epoch's end, per meter (one epoch before the window: its base)
    ends = (
        select(
            _R.c.device_lfdi.label("lfdi"),
            _R.c.energy_register.label("register"),
            epoch,
            func.max(_R.c.wh).label("wh"),
        )
        .where(_R.c.energy_register.is_not(None), _in(window, before=1))
        .group_by(_R.c.device_lfdi, _R.c.energy_register, epoch)
        .subquery("ends")
    )
    before = func.lag(ends.c.wh).over(
        partition_by=(ends.c.lfdi, ends.c.register), order_by=ends.c.epoch
    )
    deltas = select(ends.c.epoch, ends.c.register, (ends.c.wh - before).label("wh")).subquery(
        "deltas"
    )
    energy: dict[int, dict[str, int]] = {}
    for e, register, wh in run(
        select(deltas.c.epoch, deltas.c.register, func.sum(deltas.c.wh))
        .where(deltas.c.wh.is_not(None), deltas.c.epoch >= window.first)
        .group_by(deltas.c.epoch, deltas.c.register)
    ):
        energy.setdefault(int(e), {})[register] = int(wh)

    # DER mirrors' mean powers: per mirror and epoch, then summed over the mirrors
    per_mirror = (
        select(
            epoch,
            _MR.c.flow_direction.label("flow"),
            _R.c.power_of_ten.label("p"),
            func.avg(_R.c.value).label("mean"),
        )
        .select_from(_R)
        .join(_MR, _MR.c.id == _R.c.meter_reading_id)
        .join(_M, _M.c.id == _R.c.mirror_id)
        .where(
            _M.c.role_flags.op("&")(int(RoleFlags.IS_DER)) != 0,
            _MR.c.uom == _W,
            _MR.c.kind == _POWER,
            _MR.c.flow_direction.in_((_FORWARD, _REVERSE)),
            _in(window),
        )
        .group_by(epoch, _R.c.mirror_id, _MR.c.flow_direction, _R.c.power_of_ten)
        .subquery("per_mirror")
    )
    der: dict[int, dict[int, float]] = {}
    for e, flow, p, total in run(
        select(per_mirror.c.epoch, per_mirror.c.flow, per_mirror.c.p, func.sum(per_mirror.c.mean))
        .where(per_mirror.c.epoch >= window.first)
        .group_by(per_mirror.c.epoch, per_mirror.c.flow, per_mirror.c.p)
    ):
        flows = der.setdefault(int(e), {})
        flows[int(flow)] = flows.get(int(flow), 0.0) + float(total) * 10.0 ** int(p)

    out: list[EpochPower] = []
    for e in sorted(set(energy) | set(der)):
        registers, flows = energy.get(e, {}), der.get(e, {})
        out.append(
            {
                "epoch": e,
                "start": e * EPOCH_SECONDS,
                "import_w": float(registers.get("import", 0) / _HOURS_PER_EPOCH),
                "export_w": float(registers.get("export", 0) / _HOURS_PER_EPOCH),
                "pv_w": flows.get(_REVERSE),
                "battery_w": flows.get(_FORWARD),
            }
        )
    return out
