"""The database's tables, listed: what the migrations build and what the code expects.

Every table the gateway and the oracle worker share is named here, once. Importing a
model module no longer has to be done "for its side effect" somewhere: this list is the
schema. ``metadata`` holds copies of exactly these tables (and nothing a test or a
plug-in registers in SQLModel's global registry), so the migrations are compared with it
and nothing else.
"""

from __future__ import annotations

from sqlalchemy import MetaData, Table
from sqlmodel import SQLModel

from gateway.models import (
    AuthorityKeyRow,
    DerResourceRow,
    EndDeviceRow,
    MeterOwnerRow,
    MeterReadingRow,
    MirrorRow,
    ReadingRow,
    ReadingSetRow,
    SignedReadingRow,
)
from oracle.outbox import OutboxEntry
from oracle.records import ChainMeter, ChainTx, EpochClearing, Lease, LookupTableRecord, Settlement

MODELS: tuple[type[SQLModel], ...] = (
    # the 2030.5 server's
    EndDeviceRow,
    DerResourceRow,
    MirrorRow,
    MeterReadingRow,
    ReadingSetRow,
    ReadingRow,
    # the REST API's
    AuthorityKeyRow,
    SignedReadingRow,
    MeterOwnerRow,
    # the oracle's
    OutboxEntry,
    ChainTx,
    Lease,
    ChainMeter,
    LookupTableRecord,
    Settlement,
    EpochClearing,
)


def _tables() -> tuple[Table, ...]:
    return tuple(model.__table__ for model in MODELS)  # type: ignore[attr-defined]


TABLES: tuple[Table, ...] = _tables()
"""The Core tables, in the order above."""

metadata = MetaData()
for _table in TABLES:
    _table.to_metadata(metadata)
