"""The worker's own tables: transactions sent, claims, meters on chain, settlements.

- ``chain_tx``: every transaction the worker builds for readings or clearing, stored
  signed *before* it is sent. A transaction whose outcome is unknown (a crash or a timeout
  after sending) is resolved by its signature, or re-sent byte for byte, never rebuilt:
  that is what keeps a reading from riding in two transactions that could both land.
- ``lease``: who holds a meter (key = its LFDI) or the clearing crank (key ``clearing``)
  and until when. Only the holder puts a meter's readings in a transaction.
- ``chain_meter`` and ``lookup_table``: meters registered on chain, with their owner's
  token account and the address lookup table that names them.
- ``settlement`` and ``epoch_clearing``: what clearing settled and minted, per epoch and
  meter, from the program's events when the worker cranked, from the Meter accounts when
  someone else did (oracle/settled.py): the database follows the chain, not its sends.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, Session, SQLModel

from oracle.statements import run_many, upsert


class TxKind(StrEnum):
    """What a stored transaction does."""

    READINGS = "readings"
    CLEAR = "clear"


class TxState(StrEnum):
    """Where a stored transaction is."""

    SENT = "sent"  # stored and (perhaps) sent: its outcome is not known yet
    LANDED = "landed"  # executed without error; its events are recorded
    FAILED = "failed"  # executed with an error: changed nothing but the fee
    DROPPED = "dropped"  # never landed and never can (refused, or its blockhash expired)


class ChainTx(SQLModel, table=True):
    """A signed transaction of the worker's, from before it is sent until it is resolved."""

    __tablename__ = "chain_tx"
    __table_args__ = (Index("ix_chain_tx_state", "state", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    signature: str = Field(max_length=88, unique=True)
    raw: bytes = Field(sa_type=LargeBinary, description="The signed transaction's wire bytes.")
    last_valid_block_height: int = Field(sa_type=BigInteger)
    state: str = Field(default=TxState.SENT, max_length=16)
    worker: str = Field(max_length=64)
    created_at: float
    resolved_at: float | None = Field(default=None)
    readings: int = Field(default=0, description="Readings carried (readings transactions).")
    epoch: int | None = Field(default=None, sa_type=BigInteger, description="Epoch cleared.")
    slot: int | None = Field(default=None, sa_type=BigInteger)
    batch: int | None = Field(default=None, sa_type=BigInteger)
    merkle_root: str | None = Field(default=None, max_length=64)
    compute_units: int | None = Field(default=None, sa_type=BigInteger)
    error: str | None = Field(default=None)


class Lease(SQLModel, table=True):
    """A worker's claim on a meter (key: its LFDI) or on the clearing crank."""

    __tablename__ = "lease"

    key: str = Field(primary_key=True, max_length=40)
    holder: str | None = Field(default=None, max_length=64)
    expires_at: float = Field(default=0.0)


class ChainMeter(SQLModel, table=True):
    """A meter registered on chain, as the worker uses it."""

    __tablename__ = "chain_meter"

    lfdi: str = Field(primary_key=True, max_length=40)
    address: str = Field(max_length=44, description="The Meter PDA.")
    owner: str = Field(max_length=44)
    token_account: str = Field(max_length=44, description="The owner's energy token account.")
    rated_power_w: int = Field(sa_type=BigInteger)
    lookup_table: str | None = Field(default=None, max_length=44)
    owner_source: str = Field(max_length=16, description="config, campus, generated or chain")
    registered_at: float


class LookupTableRecord(SQLModel, table=True):
    """An address lookup table of the gateway's (the Config, then meter/token pairs)."""

    __tablename__ = "lookup_table"

    address: str = Field(primary_key=True, max_length=44)
    created_at: float


class SettlementSource(StrEnum):
    """Where a settlement row was read from."""

    EVENT = "event"  # the MeterSettled event of a clear_epoch the worker sent
    ACCOUNT = "account"  # the Meter account's last settlement (someone else cranked)


class Settlement(SQLModel, table=True):
    """One meter settled for one epoch (a MeterSettled event, or the Meter account's
    record of its last settlement)."""

    __tablename__ = "settlement"
    __table_args__ = (
        UniqueConstraint("epoch", "lfdi", name="uq_settlement_epoch_lfdi"),
        Index("ix_settlement_lfdi", "lfdi", "epoch"),
    )

    id: int | None = Field(default=None, primary_key=True)
    epoch: int = Field(sa_type=BigInteger)
    lfdi: str = Field(max_length=40)
    owner: str = Field(max_length=44)
    import_wh: int = Field(sa_type=BigInteger, description="Import register settled to.")
    export_wh: int = Field(sa_type=BigInteger, description="Export register settled to.")
    import_delta_wh: int = Field(sa_type=BigInteger)
    export_delta_wh: int = Field(sa_type=BigInteger)
    net_export_wh: int = Field(sa_type=BigInteger, description="export - import deltas.")
    minted_wh: int = Field(sa_type=BigInteger)
    withheld_wh: int = Field(
        default=0,
        sa_type=BigInteger,
        description="Positive net export above the meter's mint cap (rated energy), not minted.",
    )
    settlements: int = Field(
        default=1,
        description="On-chain settlements this row stands for: more than 1 when several "
        "happened unseen between two looks at the Meter account (merged into the last).",
    )
    source: str = Field(default=SettlementSource.EVENT, max_length=16)
    signature: str | None = Field(
        default=None, max_length=88, description="The clear_epoch transaction (event rows)."
    )
    slot: int | None = Field(default=None, sa_type=BigInteger)
    recorded_at: float


_SETTLEMENT_COLUMNS = (
    "epoch", "lfdi", "owner", "import_wh", "export_wh", "import_delta_wh", "export_delta_wh",
    "net_export_wh", "minted_wh", "withheld_wh", "settlements", "source", "signature", "slot",
    "recorded_at",
)  # fmt: skip
_ADD_SETTLEMENT = upsert("settlement", _SETTLEMENT_COLUMNS, ("epoch", "lfdi"), update=())


def add_settlements(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Store settlement rows (every column but the id), keeping a row already there for
    the same (epoch, lfdi): the first record of a settlement stands."""
    run_many(session, _ADD_SETTLEMENT, [{c: r[c] for c in _SETTLEMENT_COLUMNS} for r in rows])


class EpochClearing(SQLModel, table=True):
    """An epoch the worker has cleared (or found nothing to settle in)."""

    __tablename__ = "epoch_clearing"

    epoch: int = Field(primary_key=True, sa_type=BigInteger)
    settled: int = Field(default=0)
    minted_wh: int = Field(default=0, sa_type=BigInteger)
    transactions: int = Field(default=0)
    forced: bool = Field(
        default=False, description="Cleared at the grace limit with readings still open."
    )
    cleared_at: float
