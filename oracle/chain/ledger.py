"""The embedded chain's durable state: one SQLite file beside LiteSVM's memory.

LiteSVM (solders 0.26) has no snapshot. The chain writes here, in one SQLite transaction
per chain transaction, every account the transaction could have changed, the record of
the transaction itself (for statuses and ``getTransaction``) and the clock. On start it
reads everything back. A crash between LiteSVM executing a transaction and this commit
loses that transaction whole, never half of it: the worker resends, and the program skips
what it has already counted.

Accounts are indexed by owner, which is what ``getProgramAccounts`` asks. Programs loaded
with ``deploy`` are kept as their ELF bytes and loaded again at start.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from solders.account import Account
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from oracle.chain.backend import ChainError

FORMAT = 1
Synchronous = Literal["normal", "full"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS chain (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    format INTEGER NOT NULL,
    genesis_hash BLOB NOT NULL,
    genesis_time REAL NOT NULL,
    slot INTEGER NOT NULL,
    unix_timestamp INTEGER NOT NULL,
    transaction_count INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS accounts (
    pubkey BLOB PRIMARY KEY,
    owner BLOB NOT NULL,
    lamports INTEGER NOT NULL,
    data BLOB NOT NULL,
    executable INTEGER NOT NULL,
    rent_epoch INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS accounts_by_owner ON accounts (owner);
CREATE TABLE IF NOT EXISTS programs (
    program_id BLOB PRIMARY KEY,
    elf BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS transactions (
    signature BLOB PRIMARY KEY,
    position INTEGER NOT NULL,
    slot INTEGER NOT NULL,
    block_time INTEGER,
    err TEXT,
    logs TEXT NOT NULL,
    compute_units INTEGER,
    fee INTEGER NOT NULL,
    pre_balances TEXT NOT NULL,
    post_balances TEXT NOT NULL,
    loaded_addresses TEXT,
    inner_instructions TEXT,
    return_data TEXT,
    tx BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS transactions_by_slot ON transactions (slot);
CREATE TABLE IF NOT EXISTS transaction_addresses (
    address BLOB NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (address, position)
) WITHOUT ROWID;
"""

# PRAGMA user_version: 1 once every transaction's addresses are in transaction_addresses
# (state files written before getSignaturesForAddress are indexed when first opened).
ADDRESSES_INDEXED = 1

_U64 = 1 << 64
_I64_MAX = (1 << 63) - 1


def _to_i64(value: int) -> int:
    """SQLite integers are signed: u64 values above 2^63 (rent_epoch = u64::MAX) wrap."""
    return value - _U64 if value > _I64_MAX else value


def _to_u64(value: int) -> int:
    return value + _U64 if value < 0 else value


class LedgerError(ChainError):
    """The state file cannot be used (unreadable, another format)."""


@dataclass(frozen=True)
class ChainRow:
    """The chain's own facts: who it is and where its clock stands."""

    genesis_hash: bytes
    genesis_time: float
    slot: int
    unix_timestamp: int
    transaction_count: int


@dataclass(frozen=True)
class StoredTransaction:
    """A landed transaction, everything ``getTransaction`` answers with."""

    signature: Signature
    slot: int
    block_time: int | None
    err: Any  # Solana's JSON error form, or None
    logs: list[str]
    compute_units: int | None
    fee: int
    pre_balances: list[int]
    post_balances: list[int]
    loaded_addresses: dict[str, list[str]] | None  # {"writable": [...], "readonly": [...]}
    inner_instructions: list[dict[str, Any]] | None
    return_data: dict[str, Any] | None
    tx: bytes  # the signed transaction in wire format


class Ledger:
    """SQLite storage of accounts, programs, transactions and the clock.

    ``path`` may be ``":memory:"`` for a chain that forgets everything when it stops.
    """

    def __init__(self, path: Path | str, synchronous: Synchronous = "normal") -> None:
        try:
            self._db = sqlite3.connect(str(path), isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={synchronous.upper()}")
            self._db.executescript(_SCHEMA)
            row = self._db.execute("SELECT format FROM chain").fetchone()
        except sqlite3.DatabaseError as exc:
            raise LedgerError(f"cannot open chain state {path}: {exc}") from exc
        if row is not None and row[0] != FORMAT:
            raise LedgerError(f"chain state {path} has format {row[0]}, expected {FORMAT}")
        if self._db.execute("PRAGMA user_version").fetchone()[0] < ADDRESSES_INDEXED:
            self._index_addresses()

    def _index_addresses(self) -> None:
        with self._transaction() as db:
            rows = db.execute("SELECT position, tx, loaded_addresses FROM transactions").fetchall()
            for position, raw, loaded in rows:
                addresses = transaction_addresses(bytes(raw), _json_or_none(loaded))
                db.executemany(
                    "INSERT OR IGNORE INTO transaction_addresses VALUES (?, ?)",
                    [(bytes(a), position) for a in addresses],
                )
            db.execute(f"PRAGMA user_version = {ADDRESSES_INDEXED}")

    def close(self) -> None:
        """Close the file."""
        self._db.close()

    # -- the chain row ---------------------------------------------------------------

    def chain_row(self) -> ChainRow | None:
        """The chain's facts, or None before genesis."""
        row = self._db.execute(
            "SELECT genesis_hash, genesis_time, slot, unix_timestamp, transaction_count FROM chain"
        ).fetchone()
        return ChainRow(*row) if row is not None else None

    def create_genesis(
        self, genesis_hash: bytes, genesis_time: float, accounts: Sequence[tuple[Pubkey, Account]]
    ) -> None:
        """Write the first state of a new chain (its genesis accounts included)."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO chain VALUES (1, ?, ?, ?, 0, ?, 0)",
                (FORMAT, genesis_hash, genesis_time, int(genesis_time)),
            )
            self._put_accounts(db, [(k, a) for k, a in accounts])

    # -- writes ----------------------------------------------------------------------

    def record(
        self,
        tx: StoredTransaction,
        accounts: Sequence[tuple[Pubkey, Account | None]],
        *,
        position: int,
        slot: int,
        unix_timestamp: int,
    ) -> None:
        """Store one landed transaction, the accounts it left behind and the clock.

        ``position`` numbers landed transactions from 1 (it becomes the transaction
        count). All of it in one SQLite transaction: after a crash either all is there
        or none. An account given as None was closed.
        """
        with self._transaction() as db:
            db.execute(
                "INSERT INTO transactions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    bytes(tx.signature),
                    position,
                    tx.slot,
                    tx.block_time,
                    None if tx.err is None else json.dumps(tx.err),
                    json.dumps(tx.logs),
                    tx.compute_units,
                    tx.fee,
                    json.dumps(tx.pre_balances),
                    json.dumps(tx.post_balances),
                    None if tx.loaded_addresses is None else json.dumps(tx.loaded_addresses),
                    None if tx.inner_instructions is None else json.dumps(tx.inner_instructions),
                    None if tx.return_data is None else json.dumps(tx.return_data),
                    tx.tx,
                ),
            )
            db.executemany(
                "INSERT OR IGNORE INTO transaction_addresses VALUES (?, ?)",
                [(bytes(a), position) for a in transaction_addresses(tx.tx, tx.loaded_addresses)],
            )
            db.execute(
                "UPDATE chain SET slot = ?, unix_timestamp = ?, transaction_count = ?",
                (slot, unix_timestamp, position),
            )
            self._put_accounts(db, accounts)

    def put_program(
        self, program_id: Pubkey, elf: bytes, accounts: Sequence[tuple[Pubkey, Account]]
    ) -> None:
        """Keep a deployed program (its ELF and its loader's accounts) for the next start."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO programs VALUES (?, ?)"
                " ON CONFLICT (program_id) DO UPDATE SET elf = excluded.elf",
                (bytes(program_id), elf),
            )
            self._put_accounts(db, accounts)

    def _transaction(self) -> _Tx:
        return _Tx(self._db)

    @staticmethod
    def _put_accounts(
        db: sqlite3.Connection, accounts: Sequence[tuple[Pubkey, Account | None]]
    ) -> None:
        gone = [(bytes(k),) for k, a in accounts if a is None]
        kept = [
            (
                bytes(k),
                bytes(a.owner),
                _to_i64(a.lamports),
                bytes(a.data),
                int(a.executable),
                _to_i64(a.rent_epoch),
            )
            for k, a in accounts
            if a is not None
        ]
        if gone:
            db.executemany("DELETE FROM accounts WHERE pubkey = ?", gone)
        if kept:
            db.executemany(
                "INSERT INTO accounts VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (pubkey) DO UPDATE"
                " SET owner = excluded.owner, lamports = excluded.lamports,"
                " data = excluded.data, executable = excluded.executable,"
                " rent_epoch = excluded.rent_epoch",
                kept,
            )

    # -- reads -----------------------------------------------------------------------

    def accounts(self) -> Iterator[tuple[Pubkey, Account]]:
        """Every stored account (to restore LiteSVM at start)."""
        for row in self._db.execute("SELECT * FROM accounts"):
            yield _account_row(row)

    def accounts_owned_by(self, owner: Pubkey) -> list[tuple[Pubkey, Account]]:
        """The accounts a program owns, through the owner index."""
        rows = self._db.execute("SELECT * FROM accounts WHERE owner = ?", (bytes(owner),))
        return [_account_row(r) for r in rows]

    def programs(self) -> Iterator[tuple[Pubkey, bytes]]:
        """Every deployed program's id and ELF."""
        for pid, elf in self._db.execute("SELECT program_id, elf FROM programs"):
            yield Pubkey.from_bytes(pid), bytes(elf)

    def program(self, program_id: Pubkey) -> bytes | None:
        """The ELF deployed at ``program_id``, if any."""
        row = self._db.execute(
            "SELECT elf FROM programs WHERE program_id = ?", (bytes(program_id),)
        ).fetchone()
        return bytes(row[0]) if row else None

    def knows(self, signature: Signature) -> bool:
        """Whether a transaction with this signature has landed."""
        row = self._db.execute(
            "SELECT 1 FROM transactions WHERE signature = ?", (bytes(signature),)
        ).fetchone()
        return row is not None

    def statuses(self, signatures: Sequence[Signature]) -> list[tuple[int, Any] | None]:
        """(slot, error JSON or None) for each signature; None for an unknown one."""
        out: list[tuple[int, Any] | None] = []
        for sig in signatures:
            row = self._db.execute(
                "SELECT slot, err FROM transactions WHERE signature = ?", (bytes(sig),)
            ).fetchone()
            out.append(None if row is None else (row[0], _json_or_none(row[1])))
        return out

    def position(self, signature: Signature) -> int | None:
        """Where a landed transaction stands in the chain's order (from 1)."""
        row = self._db.execute(
            "SELECT position FROM transactions WHERE signature = ?", (bytes(signature),)
        ).fetchone()
        return None if row is None else int(row[0])

    def transactions_of(
        self, address: Pubkey, *, before: int | None, until: int | None, limit: int
    ) -> list[StoredTransaction]:
        """Transactions that name ``address``, newest first, strictly between the positions
        ``until`` and ``before`` (either may be None)."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM transactions t JOIN transaction_addresses a"  # noqa: S608
            " ON a.position = t.position WHERE a.address = ? AND a.position < ?"
            " AND a.position > ? ORDER BY a.position DESC LIMIT ?",
            (
                bytes(address),
                _I64_MAX if before is None else before,
                0 if until is None else until,
                limit,
            ),
        ).fetchall()
        return [_transaction_row(r) for r in rows]

    def transactions_since(self, slot: int) -> list[StoredTransaction]:
        """Transactions of ``slot`` and later, oldest first."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM transactions WHERE slot >= ? ORDER BY position",  # noqa: S608
            (slot,),
        ).fetchall()
        return [_transaction_row(r) for r in rows]

    def transaction(self, signature: Signature) -> StoredTransaction | None:
        """The full record of a landed transaction."""
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM transactions WHERE signature = ?",  # noqa: S608
            (bytes(signature),),
        ).fetchone()
        return None if row is None else _transaction_row(row)


# A constant (never input): the f-strings above only splice in this column list.
_COLUMNS = (
    "signature, slot, block_time, err, logs, compute_units, fee, pre_balances,"
    " post_balances, loaded_addresses, inner_instructions, return_data, tx"
)


def _transaction_row(row: tuple[Any, ...]) -> StoredTransaction:
    return StoredTransaction(
        signature=Signature.from_bytes(row[0]),
        slot=row[1],
        block_time=row[2],
        err=_json_or_none(row[3]),
        logs=json.loads(row[4]),
        compute_units=row[5],
        fee=row[6],
        pre_balances=json.loads(row[7]),
        post_balances=json.loads(row[8]),
        loaded_addresses=_json_or_none(row[9]),
        inner_instructions=_json_or_none(row[10]),
        return_data=_json_or_none(row[11]),
        tx=bytes(row[12]),
    )


def transaction_addresses(raw: bytes, loaded: dict[str, list[str]] | None) -> set[Pubkey]:
    """Every address a wire-format transaction names: its static keys and the ones its
    lookup tables loaded (what getSignaturesForAddress searches)."""
    keys = set(VersionedTransaction.from_bytes(raw).message.account_keys)
    for texts in (loaded or {}).values():
        keys.update(Pubkey.from_string(t) for t in texts)
    return keys


class _Tx:
    """``with`` block around BEGIN IMMEDIATE ... COMMIT, rolled back on any error."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> sqlite3.Connection:
        self._db.execute("BEGIN IMMEDIATE")
        return self._db

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self._db.execute("COMMIT")
        else:
            self._db.execute("ROLLBACK")


def _account_row(row: tuple[bytes, bytes, int, bytes, int, int]) -> tuple[Pubkey, Account]:
    key, owner, lamports, data, executable, rent_epoch = row
    account = Account(
        _to_u64(lamports),
        bytes(data),
        Pubkey.from_bytes(owner),
        bool(executable),
        _to_u64(rent_epoch),
    )
    return Pubkey.from_bytes(key), account


def _json_or_none(text: str | None) -> Any:
    return None if text is None else json.loads(text)
