"""The outbox: energy-register pairs on their way to the chain.

The gateway writes one row per (meter LFDI, timestamp) holding both energy registers in
Wh, in the same database transaction as the readings it stores (a transactional outbox):
once the gateway has answered 201/204, the pair is durable and will reach the chain. The
oracle worker drains the table; its states are below.

This module defines the table and the one write the gateway makes (:data:`ENQUEUE`, run
by :func:`enqueue_pairs`). It takes the caller's session and never commits: the caller's
transaction decides. Once a pair is on chain its row also holds where: the transaction's
signature and slot, the program's batch number, the batch's Merkle root and the pair's
inclusion proof (``oracle.proofs``).

The database's tables are listed (and migrated) in ``gateway.schema``.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Index, UniqueConstraint, text
from sqlmodel import Field, Session, SQLModel

from oracle.statements import run_many, upsert


class OutboxState(StrEnum):
    """Where a register pair is on its way to the chain."""

    PENDING = "pending"  # waiting to be submitted, or to be retried at next_attempt_at
    IN_FLIGHT = "in_flight"  # claimed by a worker and sent in a transaction
    CONFIRMED = "confirmed"  # accepted on chain
    DUPLICATE = "duplicate"  # the chain already had a reading at or after this time
    REJECTED = "rejected"  # the program refused it, with a reason
    DEAD = "dead"  # failed too often; an operator may re-drive it


OPEN_STATES = (OutboxState.PENDING.value, OutboxState.IN_FLIGHT.value, OutboxState.DEAD.value)
"""States of a pair that has not reached a final answer from the chain."""
FINAL_STATES = (
    OutboxState.CONFIRMED.value,
    OutboxState.DUPLICATE.value,
    OutboxState.REJECTED.value,
)

# Rows still on their way: a small index however many confirmed rows pile up behind them.
_OPEN = text("state IN ('pending', 'in_flight', 'dead')")


class OutboxEntry(SQLModel, table=True):
    """One meter's import and export registers at one instant, to be put on chain."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("lfdi", "timestamp", name="uq_outbox_lfdi_timestamp"),
        Index("ix_outbox_state_due", "state", "next_attempt_at"),
        Index(
            "ix_outbox_open_lfdi_time",
            "lfdi",
            "timestamp",
            sqlite_where=_OPEN,
            postgresql_where=_OPEN,
        ),
        Index("ix_outbox_tx", "tx_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    lfdi: str = Field(max_length=40, index=True)
    timestamp: int = Field(sa_type=BigInteger, description="Unix seconds (UTC) of the pair.")
    import_wh: int = Field(sa_type=BigInteger, ge=0)
    export_wh: int = Field(sa_type=BigInteger, ge=0)
    state: str = Field(default=OutboxState.PENDING, max_length=16)
    attempts: int = Field(default=0)
    next_attempt_at: float = Field(default=0.0, description="Unix time of the next try.")
    accepted_at: float = Field(description="Unix time the gateway stored the pair.")
    last_error: str | None = Field(default=None)
    # Set when the pair is put in a transaction (records.ChainTx) and kept once it landed.
    tx_id: int | None = Field(default=None, description="The transaction carrying the pair.")
    tx_position: int | None = Field(default=None, description="Index in the batch.")
    signature: str | None = Field(default=None, max_length=88)
    # Set from the landed transaction's ReadingsSubmitted event.
    slot: int | None = Field(default=None, sa_type=BigInteger)
    batch: int | None = Field(default=None, sa_type=BigInteger, description="Program batch no.")
    chain_status: int | None = Field(default=None, description="anchor.abi.ReadingStatus")
    batch_root: str | None = Field(default=None, max_length=64, description="Merkle root, hex")
    leaf_index: int | None = Field(default=None)
    proof: str | None = Field(default=None, description="Inclusion proof (oracle.proofs JSON)")
    confirmed_at: float | None = Field(default=None, description="Unix time it was confirmed.")


_PENDING_COLUMNS = (
    "lfdi", "timestamp", "import_wh", "export_wh", "state", "attempts", "next_attempt_at",
    "accepted_at",
)  # fmt: skip
ENQUEUE = upsert(
    "outbox",
    _PENDING_COLUMNS,
    ("lfdi", "timestamp"),
    update=("import_wh", "export_wh"),
    where=f"outbox.state = '{OutboxState.PENDING.value}'",
)
"""The outbox's one write from the gateway: a pair in, or corrected while still pending."""


def enqueue(
    session: Session, *, lfdi: str, timestamp: int, import_wh: int, export_wh: int, now: float
) -> None:
    """Add a register pair to the outbox within the caller's transaction.

    The same (lfdi, timestamp) again is an upsert while the pair is still pending (a meter
    that re-posts a reading corrects it before it leaves); once the pair has left for the
    chain it is never changed here, because the chain would treat it as a duplicate.
    """
    enqueue_pairs(session, lfdi, {timestamp: (import_wh, export_wh)}, now)


def enqueue_pairs(
    session: Session, lfdi: str, pairs: Mapping[int, tuple[int, int]], now: float
) -> None:
    """:func:`enqueue` for each (import Wh, export Wh) of ``pairs`` by timestamp, in
    timestamp order."""
    run_many(session, ENQUEUE, [pending_row(lfdi, t, *pairs[t], now) for t in sorted(pairs)])


def pending_row(
    lfdi: str, timestamp: int, import_wh: int, export_wh: int, now: float
) -> dict[str, Any]:
    """The parameters of :data:`ENQUEUE` for one pair."""
    return {
        "lfdi": lfdi,
        "timestamp": timestamp,
        "import_wh": import_wh,
        "export_wh": export_wh,
        "state": OutboxState.PENDING.value,
        "attempts": 0,
        "next_attempt_at": 0.0,
        "accepted_at": now,
    }
