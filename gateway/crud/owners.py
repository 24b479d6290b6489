"""Owner wallets chosen for meters through the API (``meter_owner``)."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from gateway.models import MeterOwnerRow
from oracle.records import ChainMeter


def every(session: Session) -> dict[str, str]:
    """Each meter's chosen wallet, by LFDI."""
    return {row.lfdi: row.wallet for row in session.execute(select(MeterOwnerRow)).scalars()}


def chosen(session: Session, lfdi: str) -> str | None:
    """The wallet chosen for ``lfdi``, or None."""
    row = session.get(MeterOwnerRow, lfdi)
    return None if row is None else row.wallet


def on_chain(session: Session, lfdi: str) -> ChainMeter | None:
    """The meter as registered on chain (by the oracle worker), or None."""
    return session.get(ChainMeter, lfdi)


def choose(session: Session, lfdi: str, wallet: str, now: float) -> None:
    """Set the wallet for ``lfdi``."""
    row = session.get(MeterOwnerRow, lfdi) or MeterOwnerRow(lfdi=lfdi, wallet=wallet, set_at=now)
    row.wallet, row.set_at = wallet, now
    session.add(row)
    session.flush()
