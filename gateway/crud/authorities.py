"""Engineering-authority keys (``authority_key``): registration and look-ups."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from gateway.models import AuthorityKeyRow, table_of

_K: Any = table_of(AuthorityKeyRow)


def active(session: Session) -> list[AuthorityKeyRow]:
    """The keys that may sign readings (not revoked), oldest first."""
    return list(
        session.execute(
            select(AuthorityKeyRow).where(_K.c.revoked_at.is_(None)).order_by(_K.c.id)
        ).scalars()
    )


def every(session: Session) -> list[AuthorityKeyRow]:
    """Every key, revoked ones too, oldest first."""
    return list(session.execute(select(AuthorityKeyRow).order_by(_K.c.id)).scalars())


def by_name(session: Session, name: str) -> AuthorityKeyRow | None:
    """The key registered under ``name``, or None."""
    return session.execute(  # type: ignore[no-any-return]
        select(AuthorityKeyRow).where(_K.c.name == name)
    ).scalar_one_or_none()


def by_public_key(session: Session, public_key: str) -> AuthorityKeyRow | None:
    """The key with these base64 bytes, or None."""
    return session.execute(  # type: ignore[no-any-return]
        select(AuthorityKeyRow).where(_K.c.public_key == public_key)
    ).scalar_one_or_none()


def add(session: Session, name: str, public_key: str, now: float) -> AuthorityKeyRow:
    """Register a key (the caller checked that neither name nor key is taken)."""
    row = AuthorityKeyRow(name=name, public_key=public_key, created_at=now)
    session.add(row)
    session.flush()
    return row


def revoke(session: Session, key_id: int, now: float) -> AuthorityKeyRow | None:
    """Revoke a key: readings it signed stay, new ones are refused; None if no such key."""
    row = session.get(AuthorityKeyRow, key_id)
    if row is None:
        return None
    if row.revoked_at is None:
        row.revoked_at = now
        session.add(row)
        session.flush()
    return row
