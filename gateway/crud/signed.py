"""Readings accepted over the REST API (``signed_reading``) and a meter's latest pair."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import insert, select
from sqlmodel import Session

from gateway.models import EndDeviceRow, SignedReadingRow, table_of
from oracle.outbox import OutboxEntry

_S: Any = table_of(SignedReadingRow)
_E: Any = table_of(EndDeviceRow)
_O: Any = table_of(OutboxEntry)


def lock_meter(session: Session, lfdi: str) -> EndDeviceRow | None:
    """The registered device ``lfdi``, locked until the transaction ends (PostgreSQL's
    FOR UPDATE; SQLite's single writer needs none): two gateway processes adding to one
    meter's registers take turns, so neither adds to a stale total."""
    return session.execute(  # type: ignore[no-any-return]
        select(EndDeviceRow).where(_E.c.lfdi == lfdi).with_for_update()
    ).scalar_one_or_none()


def by_signature(session: Session, signature: str) -> SignedReadingRow | None:
    """The accepted reading carrying this signature, or None."""
    return session.execute(  # type: ignore[no-any-return]
        select(SignedReadingRow).where(_S.c.signature == signature)
    ).scalar_one_or_none()


def latest_pair(session: Session, lfdi: str) -> tuple[int, int, int] | None:
    """The newest register pair of ``lfdi`` in the outbox: (timestamp, import, export) Wh."""
    row = session.execute(
        select(_O.c.timestamp, _O.c.import_wh, _O.c.export_wh)
        .where(_O.c.lfdi == lfdi)
        .order_by(_O.c.timestamp.desc())
        .limit(1)
    ).first()
    return None if row is None else (int(row[0]), int(row[1]), int(row[2]))


def latest(session: Session, lfdi: str) -> tuple[int, int, int] | None:
    """The newest accepted REST reading of ``lfdi``: (timestamp, import mWh, export mWh)."""
    row = session.execute(
        select(_S.c.timestamp, _S.c.import_mwh, _S.c.export_mwh)
        .where(_S.c.lfdi == lfdi)
        .order_by(_S.c.timestamp.desc())
        .limit(1)
    ).first()
    return None if row is None else (int(row[0]), int(row[1]), int(row[2]))


def add(session: Session, values: Mapping[str, Any]) -> None:
    """Record an accepted reading (within the caller's transaction)."""
    session.execute(insert(_S).values(**values))


def of_meter(session: Session, lfdi: str, timestamps: list[int]) -> dict[int, SignedReadingRow]:
    """The signed readings of ``lfdi`` at ``timestamps``, by timestamp."""
    if not timestamps:
        return {}
    rows = session.execute(
        select(SignedReadingRow).where(_S.c.lfdi == lfdi, _S.c.timestamp.in_(timestamps))
    ).scalars()
    return {row.timestamp: row for row in rows}
