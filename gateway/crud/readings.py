"""Readings and reading sets: the pages the /upt views show (ingest writes them in
gateway.crud.direct).

Readings posted directly in a MirrorMeterReading have no reading set; the views show them
as one synthetic ReadingSet per meter reading (id ``DIRECT_SET_ID``), listed first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, select
from sqlmodel import Session

from gateway.models import ReadingRow, ReadingSetRow, table_of

_R: Any = table_of(ReadingRow)
_RS: Any = table_of(ReadingSetRow)


# --- the /upt views -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DirectSet:
    """The readings posted without a set: their time span and count."""

    start: int
    end: int
    count: int


def direct_set(session: Session, meter_reading_id: int) -> DirectSet | None:
    """The synthetic set of a meter reading's direct readings, if it has any."""
    start, end, count = session.execute(
        select(
            func.min(_R.c.start),
            func.max(_R.c.start + func.coalesce(_R.c.duration, 0)),
            func.count(),
        ).where(_R.c.meter_reading_id == meter_reading_id, _R.c.reading_set_id.is_(None))
    ).one()
    return None if not count else DirectSet(int(start), int(end), int(count))


def reading_set_page(
    session: Session, meter_reading_id: int, after: int | None, offset: int, limit: int
) -> tuple[list[ReadingSetRow], int]:
    """A page of posted reading sets by start descending (after ``after`` if given)."""
    where = [_RS.c.meter_reading_id == meter_reading_id]
    if after is not None:
        where.append(_RS.c.start > after)
    total = session.execute(select(func.count()).select_from(_RS).where(*where)).scalar()
    rows = session.execute(
        select(ReadingSetRow)
        .where(*where)
        .order_by(_RS.c.start.desc(), _RS.c.mrid.desc())
        .offset(offset)
        .limit(limit)
    ).scalars()
    return list(rows), int(total or 0)


def reading_set_by_id(session: Session, meter_reading_id: int, set_id: int) -> ReadingSetRow | None:
    """One posted reading set of a meter reading, or None."""
    row = session.get(ReadingSetRow, set_id)
    return row if row is not None and row.meter_reading_id == meter_reading_id else None


def reading_counts(session: Session, set_ids: Sequence[int]) -> dict[int, int]:
    """How many readings each posted set holds."""
    if not set_ids:
        return {}
    rows = session.execute(
        select(_R.c.reading_set_id, func.count())
        .where(_R.c.reading_set_id.in_(list(set_ids)))
        .group_by(_R.c.reading_set_id)
    )
    return {int(s): int(n) for s, n in rows}


def reading_set_count(session: Session, meter_reading_id: int) -> int:
    """How many sets the views show for a meter reading (posted ones, plus the direct one)."""
    posted = session.execute(
        select(func.count()).select_from(_RS).where(_RS.c.meter_reading_id == meter_reading_id)
    ).scalar()
    return int(posted or 0) + (1 if direct_set(session, meter_reading_id) is not None else 0)


def _in_set(meter_reading_id: int, set_id: int | None) -> Any:
    in_set = _R.c.reading_set_id.is_(None) if set_id is None else _R.c.reading_set_id == set_id
    return and_(_R.c.meter_reading_id == meter_reading_id, in_set)


def reading_page(
    session: Session,
    meter_reading_id: int,
    set_id: int | None,
    after: int | None,
    offset: int,
    limit: int,
) -> tuple[list[ReadingRow], int]:
    """A page of a set's readings (``set_id`` None: the direct ones), newest first."""
    where = [_in_set(meter_reading_id, set_id)]
    if after is not None:
        where.append(_R.c.start > after)
    total = session.execute(select(func.count()).select_from(_R).where(*where)).scalar()
    rows = session.execute(
        select(ReadingRow)
        .where(*where)
        .order_by(
            _R.c.start.desc(),
            _R.c.tou_tier,
            _R.c.consumption_block,
        )
        .offset(offset)
        .limit(limit)
    ).scalars()
    return list(rows), int(total or 0)


def reading_in_set(
    session: Session, meter_reading_id: int, set_id: int | None, reading_id: int
) -> ReadingRow | None:
    """One reading of a set, or None."""
    row = session.get(ReadingRow, reading_id)
    if row is None or row.meter_reading_id != meter_reading_id or row.reading_set_id != set_id:
        return None
    return row


def latest_reading(session: Session, meter_reading_id: int) -> ReadingRow | None:
    """The newest reading of a meter reading, or None."""
    return session.execute(
        select(ReadingRow)
        .where(_R.c.meter_reading_id == meter_reading_id)
        .order_by(_R.c.start.desc(), _R.c.tou_tier, _R.c.consumption_block)
        .limit(1)
    ).scalar_one_or_none()
