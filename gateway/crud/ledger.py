"""What the REST API lists: register pairs (the outbox), settlements, dead letters and
meters with their latest pair, as keyset pages (stable under concurrent inserts)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlmodel import Session

from gateway.models import EndDeviceRow, MeterOwnerRow, MirrorRow, table_of
from oracle.outbox import OutboxEntry, OutboxState
from oracle.records import ChainMeter, EpochClearing, Settlement

_O: Any = table_of(OutboxEntry)
_S: Any = table_of(Settlement)
_E: Any = table_of(EndDeviceRow)
_M: Any = table_of(MirrorRow)
_C: Any = table_of(ChainMeter)
_W: Any = table_of(MeterOwnerRow)
_EC: Any = table_of(EpochClearing)


def pairs_page(
    session: Session,
    *,
    lfdi: str | None,
    since: int | None,
    until: int | None,
    state: str | None,
    after: tuple[int, int] | None,
    limit: int,
) -> list[OutboxEntry]:
    """Register pairs by (timestamp, id) ascending, after the key ``after``; filters:
    meter, ``since <= timestamp < until``, state."""
    where: list[Any] = []
    if lfdi is not None:
        where.append(_O.c.lfdi == lfdi)
    if since is not None:
        where.append(_O.c.timestamp >= since)
    if until is not None:
        where.append(_O.c.timestamp < until)
    if state is not None:
        where.append(_O.c.state == state)
    if after is not None:
        t, i = after
        where.append(or_(_O.c.timestamp > t, and_(_O.c.timestamp == t, _O.c.id > i)))
    return list(
        session.execute(
            select(OutboxEntry).where(*where).order_by(_O.c.timestamp, _O.c.id).limit(limit)
        ).scalars()
    )


def pair(session: Session, pair_id: int) -> OutboxEntry | None:
    """One register pair by id."""
    return session.get(OutboxEntry, pair_id)


def dead_page(session: Session, after: int | None, limit: int) -> list[OutboxEntry]:
    """Dead letters by id ascending."""
    where = [_O.c.state == OutboxState.DEAD.value]
    if after is not None:
        where.append(_O.c.id > after)
    return list(
        session.execute(select(OutboxEntry).where(*where).order_by(_O.c.id).limit(limit)).scalars()
    )


def settlements_page(
    session: Session,
    *,
    epoch: int | None,
    lfdi: str | None,
    after: int | None,
    limit: int,
) -> list[Settlement]:
    """Settlements by id ascending (the order clearing recorded them)."""
    where: list[Any] = []
    if epoch is not None:
        where.append(_S.c.epoch == epoch)
    if lfdi is not None:
        where.append(_S.c.lfdi == lfdi)
    if after is not None:
        where.append(_S.c.id > after)
    return list(
        session.execute(select(Settlement).where(*where).order_by(_S.c.id).limit(limit)).scalars()
    )


def last_cleared_epoch(session: Session) -> int | None:
    """The newest epoch cleared, or None."""
    found = session.execute(select(func.max(_EC.c.epoch))).scalar()
    return None if found is None else int(found)


@dataclass(frozen=True, slots=True)
class MeterView:
    """A registered device as the API shows a meter."""

    device: EndDeviceRow
    settling_mirror: str | None  # mRID of the mirror whose registers settle it
    latest: tuple[int, int, int] | None  # (timestamp, import Wh, export Wh)
    chain: ChainMeter | None
    chosen_owner: str | None


def meters_page(session: Session, after: str | None, limit: int) -> list[MeterView]:
    """Registered devices by LFDI ascending, after ``after``."""
    where = [] if after is None else [_E.c.lfdi > after]
    devices = list(
        session.execute(
            select(EndDeviceRow).where(*where).order_by(_E.c.lfdi).limit(limit)
        ).scalars()
    )
    return _views(session, devices)


def meter(session: Session, lfdi: str) -> MeterView | None:
    """One registered device as a meter, or None."""
    device = session.execute(select(EndDeviceRow).where(_E.c.lfdi == lfdi)).scalar_one_or_none()
    return None if device is None else _views(session, [device])[0]


def _views(session: Session, devices: Sequence[EndDeviceRow]) -> list[MeterView]:
    lfdis = [d.lfdi for d in devices]
    if not lfdis:
        return []
    mirrors = dict(
        session.execute(
            select(_M.c.device_lfdi, _M.c.mrid).where(
                _M.c.device_lfdi.in_(lfdis), _M.c.settles.is_(True), _M.c.deleted_at.is_(None)
            )
        ).all()
    )
    newest = (
        select(_O.c.lfdi, func.max(_O.c.timestamp).label("t"))
        .where(_O.c.lfdi.in_(lfdis))
        .group_by(_O.c.lfdi)
        .subquery()
    )
    latest = {
        lfdi: (int(t), int(i), int(e))
        for lfdi, t, i, e in session.execute(
            select(_O.c.lfdi, _O.c.timestamp, _O.c.import_wh, _O.c.export_wh).join(
                newest, and_(_O.c.lfdi == newest.c.lfdi, _O.c.timestamp == newest.c.t)
            )
        ).all()
    }
    chain = {
        row.lfdi: row
        for row in session.execute(select(ChainMeter).where(_C.c.lfdi.in_(lfdis))).scalars()
    }
    owners = dict(session.execute(select(_W.c.lfdi, _W.c.wallet).where(_W.c.lfdi.in_(lfdis))).all())
    return [
        MeterView(d, mirrors.get(d.lfdi), latest.get(d.lfdi), chain.get(d.lfdi), owners.get(d.lfdi))
        for d in devices
    ]
