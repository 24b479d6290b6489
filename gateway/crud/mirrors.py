"""Mirrors (``mirror_usage_point``) and their meter readings: look-ups and pages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from gateway.models import MeterReadingRow, MirrorRow, table_of

_MR: Any = table_of(MeterReadingRow)
_M: Any = table_of(MirrorRow)


def live(session: Session, mirror_id: int) -> MirrorRow | None:
    """The mirror with this id, unless it is deleted."""
    row = session.get(MirrorRow, mirror_id)
    return row if row is not None and row.deleted_at is None else None


@dataclass(frozen=True, slots=True)
class MirrorFacts:
    """What ingest needs of a live mirror, read without the ORM (the hot path)."""

    id: int
    owner_lfdi: str
    device_lfdi: str
    role_flags: int
    settles: bool


def count_for_device(session: Session, device_lfdi: str) -> int:
    """How many live mirrors mirror ``device_lfdi``."""
    total = session.execute(
        select(func.count())
        .select_from(MirrorRow)
        .where(_M.c.device_lfdi == device_lfdi, _M.c.deleted_at.is_(None))
    ).scalar()
    return int(total or 0)


def count_for_owner(session: Session, owner: str | None) -> int:
    """How many live mirrors ``owner`` sees (all of them for None)."""
    where = [_M.c.deleted_at.is_(None)]
    if owner is not None:
        where.append(_M.c.owner_lfdi == owner)
    total = session.execute(select(func.count()).select_from(MirrorRow).where(*where)).scalar()
    return int(total or 0)


def settling_for_device(session: Session, device_lfdi: str) -> list[MirrorRow]:
    """The live mirrors whose registers settle ``device_lfdi`` on chain."""
    return list(
        session.execute(
            select(MirrorRow).where(
                _M.c.device_lfdi == device_lfdi,
                _M.c.settles.is_(True),
                _M.c.deleted_at.is_(None),
            )
        ).scalars()
    )


def page(
    session: Session, owner: str | None, offset: int, limit: int
) -> tuple[list[MirrorRow], int]:
    """A page of live mirrors by mRID descending (``owner``'s only if given), and the total."""
    where = [_M.c.deleted_at.is_(None)]
    if owner is not None:
        where.append(_M.c.owner_lfdi == owner)
    total = session.execute(select(func.count()).select_from(MirrorRow).where(*where)).scalar()
    rows = session.execute(
        select(MirrorRow)
        .where(*where)
        .order_by(_M.c.mrid.desc(), _M.c.id.desc())
        .offset(offset)
        .limit(limit)
    ).scalars()
    return list(rows), int(total or 0)


def current_meter_readings(session: Session, mirror_id: int) -> list[MeterReadingRow]:
    """The current (not superseded) meter readings of a mirror, by mRID descending."""
    return list(
        session.execute(
            select(MeterReadingRow)
            .where(
                _MR.c.mirror_id == mirror_id,
                _MR.c.superseded_at.is_(None),
            )
            .order_by(_MR.c.mrid.desc())
        ).scalars()
    )


def current_meter_readings_of(
    session: Session, mirror_ids: Sequence[int]
) -> dict[int, list[MeterReadingRow]]:
    """The current meter readings of several mirrors, by mirror id."""
    found: dict[int, list[MeterReadingRow]] = {m: [] for m in mirror_ids}
    if not mirror_ids:
        return found
    rows = session.execute(
        select(MeterReadingRow)
        .where(
            _MR.c.mirror_id.in_(mirror_ids),
            _MR.c.superseded_at.is_(None),
        )
        .order_by(_MR.c.mrid.desc())
    ).scalars()
    for row in rows:
        found[row.mirror_id].append(row)
    return found


def current_meter_reading(session: Session, mirror_id: int, mr_id: int) -> MeterReadingRow | None:
    """One current meter reading of a mirror, or None."""
    row = session.get(MeterReadingRow, mr_id)
    if row is None or row.mirror_id != mirror_id or row.superseded_at is not None:
        return None
    return row


def meter_reading_by_mrid(session: Session, mrid: str) -> MeterReadingRow | None:
    """The current meter reading with this mRID in any mirror, or None."""
    return session.execute(
        select(MeterReadingRow).where(
            _MR.c.mrid == mrid,
            _MR.c.superseded_at.is_(None),
        )
    ).scalar_one_or_none()


def live_of_device(session: Session, lfdi: str) -> list[MirrorRow]:
    """The live mirrors that mirror ``lfdi`` or that ``lfdi`` owns."""
    return list(
        session.execute(
            select(MirrorRow).where(
                (_M.c.device_lfdi == lfdi) | (_M.c.owner_lfdi == lfdi), _M.c.deleted_at.is_(None)
            )
        ).scalars()
    )


def live_parties(session: Session, lfdis: Sequence[str] | None) -> list[tuple[str, str]]:
    """(deviceLFDI, owner LFDI) of every live mirror that mirrors or is owned by one of
    ``lfdis`` (of every live mirror for None): what their postRates depend on."""
    where = [_M.c.deleted_at.is_(None)]
    if lfdis is not None:
        where.append(_M.c.device_lfdi.in_(lfdis) | _M.c.owner_lfdi.in_(lfdis))
    rows = session.execute(select(_M.c.device_lfdi, _M.c.owner_lfdi).where(*where))
    return [(str(device), str(owner)) for device, owner in rows]
