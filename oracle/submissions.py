"""The worker's database side: which rows go next, and what became of them.

Every function here is one short database transaction on the engine it is given (the
gateway's write engine: ``BEGIN IMMEDIATE`` on SQLite). The row lifecycle::

    pending ──record_sent──▶ in_flight ──settle_landed──▶ confirmed | duplicate | rejected
       ▲                        │
       └─────release_tx─────────┘  (the transaction failed or never landed: attempts + 1,
                                    backoff; at max_attempts the row is dead)
    dead ──redrive──▶ pending

A transaction is stored (``chain_tx``, state ``sent``) in the same database transaction
that moves its rows to ``in_flight``, *before* it is sent. Its rows leave ``in_flight``
only with it: when it is known to have landed, or known never to land.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, bindparam, func, update
from sqlalchemy import select as columns
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from anchor.abi import ReadingStatus
from anchor.events import ReadingsSubmitted
from oracle import backoff
from oracle.claims import hold
from oracle.outbox import OPEN_STATES, OutboxEntry, OutboxState
from oracle.proofs import ReadingOutcome, SentReading, proof_to_json
from oracle.records import ChainTx, TxKind, TxState


class RowsChanged(Exception):
    """Rows changed between loading and sending (a pending pair was corrected)."""


class SignatureTaken(Exception):
    """A transaction with this signature is stored already (the same bytes were built)."""


@dataclass(frozen=True)
class OpenRow:
    """An outbox row the worker may send."""

    id: int
    lfdi: str
    timestamp: int
    import_wh: int
    export_wh: int
    accepted_at: float

    @property
    def reading(self) -> SentReading:
        """The reading as a batch carries it."""
        return SentReading(self.lfdi, self.timestamp, self.import_wh, self.export_wh)


@dataclass(frozen=True)
class Retry:
    """How failures are retried."""

    max_attempts: int
    base_s: float
    cap_s: float


def due_runs(
    engine: Engine, lfdis: Collection[str], now: float, *, per_meter: int
) -> dict[str, list[OpenRow]]:
    """Per meter, its due pending rows from the earliest open one on, in timestamp order.

    A run stops at the first row that is not pending and due: rows behind a row that is
    in flight, waiting out a backoff, or dead must wait for it. At most ``per_meter``
    rows of a meter are read (a batch holds fewer than 40 anyway).
    """
    if not lfdis:
        return {}
    number = (
        func.row_number()
        .over(partition_by=col(OutboxEntry.lfdi), order_by=col(OutboxEntry.timestamp))
        .label("n")
    )
    ranked = (
        columns(
            col(OutboxEntry.id),
            col(OutboxEntry.lfdi),
            col(OutboxEntry.timestamp),
            col(OutboxEntry.import_wh),
            col(OutboxEntry.export_wh),
            col(OutboxEntry.accepted_at),
            col(OutboxEntry.state),
            col(OutboxEntry.next_attempt_at),
            number,
        )
        .where(col(OutboxEntry.lfdi).in_(list(lfdis)), col(OutboxEntry.state).in_(OPEN_STATES))
        .subquery()
    )
    query = (
        columns(ranked).where(ranked.c.n <= per_meter).order_by(ranked.c.lfdi, ranked.c.timestamp)
    )
    runs: dict[str, list[OpenRow]] = {}
    stopped: set[str] = set()
    with Session(engine) as session:
        for id_, lfdi, ts, imp, exp, accepted, state, due_at, _ in session.execute(query):
            if lfdi in stopped:
                continue
            if state != OutboxState.PENDING or due_at > now:
                stopped.add(lfdi)
                continue
            runs.setdefault(lfdi, []).append(OpenRow(id_, lfdi, ts, imp, exp, accepted))
    return runs


@dataclass(frozen=True)
class PreparedTx:
    """A signed transaction and the rows it carries, in batch order."""

    kind: TxKind
    signature: str
    raw: bytes
    last_valid_block_height: int
    rows: Sequence[OpenRow] = ()
    epoch: int | None = None


def record_sent(
    engine: Engine,
    worker: str,
    txs: Sequence[PreparedTx],
    now: float,
    *,
    lease_s: float,
    lease_keys: Collection[str],
) -> list[int]:
    """Store signed transactions and move their rows in flight; their ids, in order.

    Renews ``lease_keys`` in the same database transaction (LeaseLost if one is gone), and
    refuses (RowsChanged) if a row is no longer pending with the values the batch carries.
    """
    taken = select(col(ChainTx.signature)).where(
        col(ChainTx.signature).in_([tx.signature for tx in txs])
    )
    with Session(engine) as session, session.begin():
        if session.exec(taken).first() is not None:
            raise SignatureTaken("a transaction with the same signature is stored already")
        hold(session, worker, lease_keys, now, lease_s)
        ids = []
        moves: list[dict[str, Any]] = []
        for tx in txs:
            record = ChainTx(
                kind=tx.kind.value,
                signature=tx.signature,
                raw=tx.raw,
                last_valid_block_height=tx.last_valid_block_height,
                worker=worker,
                created_at=now,
                readings=len(tx.rows),
                epoch=tx.epoch,
            )
            session.add(record)
            session.flush()
            assert record.id is not None
            ids.append(record.id)
            if not tx.rows:
                continue
            wanted = {r.id: r for r in tx.rows}
            current = session.execute(
                select(
                    col(OutboxEntry.id),
                    col(OutboxEntry.state),
                    col(OutboxEntry.import_wh),
                    col(OutboxEntry.export_wh),
                )
                .where(col(OutboxEntry.id).in_(list(wanted)))
                .with_for_update()
            ).all()
            fresh = {
                i
                for i, state, imp, exp in current
                if state == OutboxState.PENDING
                and (imp, exp) == (wanted[i].import_wh, wanted[i].export_wh)
            }
            if fresh != set(wanted):
                raise RowsChanged(f"{len(wanted) - len(fresh)} rows changed before sending")
            moves += [
                {
                    "id": r.id,
                    "state": OutboxState.IN_FLIGHT.value,
                    "tx_id": record.id,
                    "tx_position": position,
                    "signature": tx.signature,
                }
                for position, r in enumerate(tx.rows)
            ]
        _update_by_id(session, moves)
        return ids


def unresolved(
    engine: Engine, *, lfdis: Collection[str] | None = None, kind: TxKind | None = None
) -> list[ChainTx]:
    """Stored transactions whose outcome is not known, oldest first.

    With ``lfdis``: the readings transactions carrying any of those meters' rows.
    """
    with Session(engine) as session:
        query = select(ChainTx).where(col(ChainTx.state) == TxState.SENT.value)
        if kind is not None:
            query = query.where(col(ChainTx.kind) == kind.value)
        if lfdis is not None:
            carrying = (
                select(col(OutboxEntry.tx_id))
                .where(
                    col(OutboxEntry.lfdi).in_(list(lfdis)),
                    col(OutboxEntry.state) == OutboxState.IN_FLIGHT.value,
                )
                .distinct()
            )
            query = query.where(col(ChainTx.id).in_(carrying))
        return list(session.exec(query.order_by(col(ChainTx.id))))


def carried(engine: Engine, tx_id: int) -> list[OpenRow]:
    """The rows a readings transaction carries, in batch order."""
    with Session(engine) as session:
        rows = session.exec(
            select(OutboxEntry)
            .where(col(OutboxEntry.tx_id) == tx_id)
            .order_by(col(OutboxEntry.tx_position))
        )
        return [_open(row) for row in rows]


def _open(row: OutboxEntry) -> OpenRow:
    assert row.id is not None
    return OpenRow(row.id, row.lfdi, row.timestamp, row.import_wh, row.export_wh, row.accepted_at)


def _claim_tx(session: Session, tx_id: int) -> ChainTx | None:
    """The stored transaction, locked, if it is still unresolved."""
    tx = session.exec(select(ChainTx).where(col(ChainTx.id) == tx_id).with_for_update()).first()
    return tx if tx is not None and tx.state == TxState.SENT else None


@dataclass(frozen=True)
class Settled:
    """What recording a landed batch changed: readings per final state, and their lag."""

    counts: dict[str, int]
    lags: list[float]


@dataclass(frozen=True)
class LandedBatch:
    """A landed readings transaction, decoded, with the row updates that record it."""

    tx_id: int
    slot: int
    compute_units: int | None
    event: ReadingsSubmitted
    updates: list[dict[str, Any]]
    settled: Settled


_STATE_OF = {
    ReadingStatus.ACCEPTED: OutboxState.CONFIRMED,
    ReadingStatus.DUPLICATE: OutboxState.DUPLICATE,
}


def landed_batch(
    tx_id: int,
    *,
    slot: int,
    compute_units: int | None,
    event: ReadingsSubmitted,
    rows: Sequence[OpenRow],
    results: Sequence[ReadingOutcome],
    now: float,
) -> LandedBatch:
    """What to write for a landed batch (prepared outside the database transaction, which
    then holds SQLite's write lock only for the writes)."""
    root = event.merkle_root.hex()
    counts: dict[str, int] = {}
    lags: list[float] = []
    updates: list[dict[str, Any]] = []
    for row, outcome in zip(rows, results, strict=True):
        state = _STATE_OF.get(outcome.status, OutboxState.REJECTED)
        counts[state.value] = counts.get(state.value, 0) + 1
        if state == OutboxState.CONFIRMED:
            lags.append(now - row.accepted_at)
        updates.append(
            {
                "id": row.id,
                "state": state.value,
                "chain_status": int(outcome.status),
                "slot": slot,
                "batch": event.batch,
                "batch_root": root,
                "leaf_index": outcome.leaf_index,
                "proof": None if outcome.proof is None else proof_to_json(outcome.proof),
                "confirmed_at": now,
                "last_error": None
                if state != OutboxState.REJECTED
                else f"rejected by the program: {outcome.status.name.lower()}",
            }
        )
    return LandedBatch(tx_id, slot, compute_units, event, updates, Settled(counts, lags))


def settle_landed(engine: Engine, batches: Sequence[LandedBatch], now: float) -> list[bool]:
    """Record landed batches in one database transaction: each row's final state, proof,
    slot and batch root. False for a batch another worker recorded first."""
    table = ChainTx.__table__  # type: ignore[attr-defined]
    done: list[bool] = []
    with Session(engine) as session, session.begin():
        updates: list[dict[str, Any]] = []
        for batch in batches:
            # Only while it is unresolved: whoever resolves it first records it.
            result = session.execute(
                table.update()
                .where(table.c.id == batch.tx_id, table.c.state == TxState.SENT.value)
                .values(
                    state=TxState.LANDED.value,
                    slot=batch.slot,
                    batch=batch.event.batch,
                    merkle_root=batch.event.merkle_root.hex(),
                    compute_units=batch.compute_units,
                    resolved_at=now,
                )
            )
            ours = result.rowcount == 1  # type: ignore[attr-defined]
            done.append(ours)
            if ours:
                updates += batch.updates
        _update_by_id(session, updates)
    return done


def _update_by_id(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """One executemany UPDATE of outbox rows by id; every dict has the same keys."""
    if not rows:
        return
    table = OutboxEntry.__table__  # type: ignore[attr-defined]
    keys = [k for k in rows[0] if k != "id"]
    stmt = (
        table.update()
        .where(table.c.id == bindparam("row_id"))
        .values({k: bindparam(f"new_{k}") for k in keys})
    )
    session.execute(stmt, [{"row_id": r["id"], **{f"new_{k}": r[k] for k in keys}} for r in rows])


def release_tx(
    engine: Engine,
    tx_id: int,
    state: TxState,
    reason: str,
    now: float,
    *,
    retry: Retry,
    rng: random.Random,
    slot: int | None = None,
    dead: bool = False,
) -> dict[str, int] | None:
    """A transaction failed or will never land: its rows go back (or dead) with the reason.

    ``dead`` sends every row straight to the dead-letter state (for what no retry fixes).
    Returns the rows per new state (pending/dead), or None if it was already resolved.
    """
    with Session(engine) as session, session.begin():
        tx = _claim_tx(session, tx_id)
        if tx is None:
            return None
        tx.state, tx.error, tx.resolved_at, tx.slot = state.value, reason, now, slot
        session.add(tx)
        rows = list(
            session.exec(
                select(OutboxEntry).where(
                    col(OutboxEntry.tx_id) == tx_id,
                    col(OutboxEntry.state) == OutboxState.IN_FLIGHT.value,
                )
            )
        )
        counts: dict[str, int] = {}
        for row in rows:
            row.attempts += 1
            gone = dead or row.attempts >= retry.max_attempts
            row.state = OutboxState.DEAD.value if gone else OutboxState.PENDING.value
            row.next_attempt_at = now + backoff.delay(row.attempts, retry.base_s, retry.cap_s, rng)
            row.last_error = reason
            row.tx_id = row.tx_position = row.signature = None
            session.add(row)
            counts[row.state] = counts.get(row.state, 0) + 1
        return counts


def postpone(
    engine: Engine,
    lfdis: Iterable[str],
    rows: Sequence[OpenRow],
    reason: str,
    now: float,
    *,
    retry: Retry,
    rng: random.Random,
) -> dict[str, int]:
    """Rows that could not be sent at all (their meter could not be registered): retry later."""
    ids = [r.id for r in rows if r.lfdi in set(lfdis)]
    counts: dict[str, int] = {}
    if not ids:
        return counts
    with Session(engine) as session, session.begin():
        for row in session.exec(
            select(OutboxEntry).where(
                col(OutboxEntry.id).in_(ids), col(OutboxEntry.state) == OutboxState.PENDING.value
            )
        ):
            row.attempts += 1
            dead = row.attempts >= retry.max_attempts
            row.state = OutboxState.DEAD.value if dead else OutboxState.PENDING.value
            row.next_attempt_at = now + backoff.delay(row.attempts, retry.base_s, retry.cap_s, rng)
            row.last_error = reason
            session.add(row)
            counts[row.state] = counts.get(row.state, 0) + 1
    return counts


def redrive(
    engine: Engine, *, ids: Collection[int] = (), lfdis: Collection[str] = (), every: bool = False
) -> int:
    """Put dead rows back to pending (all, or by id or meter LFDI); how many."""
    if not (every or ids or lfdis):
        return 0
    query = update(OutboxEntry).where(col(OutboxEntry.state) == OutboxState.DEAD.value)
    if not every:
        query = query.where(
            col(OutboxEntry.id).in_(list(ids)) | col(OutboxEntry.lfdi).in_(list(lfdis))
        )
    with Session(engine) as session, session.begin():
        result = session.execute(
            query.values(state=OutboxState.PENDING.value, attempts=0, next_attempt_at=0.0)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


def open_counts(engine: Engine, *, until: int | None = None) -> tuple[int, int]:
    """Rows without a final answer (stamped at or before ``until``): (flowing, held).

    Flowing rows are pending or in flight for a meter without dead letters: a worker is
    on them. Held rows are dead letters and the rows parked behind them, which wait for
    an operator's redrive.
    """
    dead = aliased(OutboxEntry)
    has_dead = (
        select(dead.id)
        .where(dead.lfdi == OutboxEntry.lfdi, dead.state == OutboxState.DEAD.value)
        .exists()
    )
    query = (
        select(has_dead, func.count())
        .select_from(OutboxEntry)
        .where(col(OutboxEntry.state).in_(OPEN_STATES))
        .group_by(has_dead)
    )
    if until is not None:
        query = query.where(col(OutboxEntry.timestamp) <= until)
    with Session(engine) as session:
        rows = session.execute(query).all()
    counts = {bool(held): int(n) for held, n in rows}
    return counts.get(False, 0), counts.get(True, 0)
