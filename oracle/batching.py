"""Packing meters' readings into ``submit_readings`` transactions that fill a packet.

A Solana transaction holds at most 1,232 bytes. A batch is one v0 transaction signed by
the gateway: a ComputeBudget instruction setting the compute-unit limit, then
``submit_readings``, naming the gateway and the two programs as static keys and the
Config and the meters through the gateway's address lookup tables (each table starts
with the Config, then meter and token-account pairs). Each reading costs 25 bytes of
instruction data, each meter one account index in the instruction and one in its
table's lookup, each table used 34 bytes; :func:`tx_size` is the exact wire size of
such a transaction (tested against solders' compiler), so packing needs no trial
compilation.

Packing rules (:func:`pack`):

- a meter's readings go in timestamp order and in **one** batch per round: batches of a
  round are in flight together and may land in any order, and a meter's later reading
  landing first would make its earlier one a duplicate;
- a meter's readings are a prefix of its due run: what does not fit waits for the next
  round, never jumping ahead of the rest;
- a batch is closed only when not even one more reading of the next meter fits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from solders.pubkey import Pubkey

from anchor.abi import MAX_READINGS, READING_SIZE

PACKET_DATA_SIZE = 1_232
# Accounts a transaction may lock: the runtime's limit is 64 (128 with a later feature);
# gateway, program and Config leave 61; a full batch has fewer meters than that anyway.
MAX_METERS = 60
SIGNATURE_SIZE = 64
KEY_SIZE = 32
DISCRIMINATOR_AND_LENGTH = 8 + 4  # instruction discriminator, borsh Vec length
# SetComputeUnitLimit: program index, no accounts, 5 data bytes.
COMPUTE_LIMIT_SIZE = 1 + 1 + 1 + 5

T = TypeVar("T")


def compact_len(n: int) -> int:
    """Bytes of Solana's compact-u16 encoding of ``n``."""
    return 1 if n < 0x80 else 2 if n < 0x4000 else 3


def tx_size(readings: int, static_meters: int, table_meters: Sequence[int]) -> int:
    """Wire size of a one-signature v0 transaction: compute limit, submit_readings.

    ``table_meters``: meters loaded from each lookup table used, in the order the tables
    are passed (the first one also supplies the Config). ``static_meters``: meters named
    by their full key because no table holds them.
    """
    tables = len(table_meters)
    # gateway, Oracle, ComputeBudget (+ Config)
    static = 3 + static_meters + (0 if tables else 1)
    meters = static_meters + sum(table_meters)
    accounts = 2 + meters  # instruction accounts: gateway, Config, meters
    data = DISCRIMINATOR_AND_LENGTH + READING_SIZE * readings
    size = compact_len(1) + SIGNATURE_SIZE  # signatures
    size += 1 + 3  # version prefix, header
    size += compact_len(static) + KEY_SIZE * static
    size += KEY_SIZE  # recent blockhash
    size += compact_len(2) + 1 + compact_len(accounts) + accounts + compact_len(data) + data
    size += COMPUTE_LIMIT_SIZE
    size += compact_len(tables)
    for i, n in enumerate(table_meters):
        writable = n + (1 if i == 0 else 0)
        size += KEY_SIZE + compact_len(writable) + writable + compact_len(0)
    return size


@dataclass(frozen=True)
class MeterRun(Generic[T]):
    """A meter's due readings in timestamp order, and the lookup table that names it."""

    lfdi: str
    table: Pubkey | None
    rows: Sequence[T]


@dataclass
class Batch(Generic[T]):
    """The readings of one transaction: meters in order, each with its rows."""

    runs: list[MeterRun[T]] = field(default_factory=list)

    @property
    def readings(self) -> int:
        """Readings in the batch."""
        return sum(len(r.rows) for r in self.runs)

    @property
    def tables(self) -> list[Pubkey]:
        """Lookup tables used, in order of first use."""
        return list(dict.fromkeys(r.table for r in self.runs if r.table is not None))

    def size(self, extra: MeterRun[T] | None = None, extra_rows: int = 0) -> int:
        """Wire size, optionally with ``extra_rows`` readings of one more meter."""
        runs = [*self.runs, extra] if extra is not None else self.runs
        counts: dict[Pubkey, int] = {}
        static = 0
        for run in runs:
            if run.table is None:
                static += 1
            else:
                counts[run.table] = counts.get(run.table, 0) + 1
        return tx_size(self.readings + extra_rows, static, list(counts.values()))


def _fit(batch: Batch[T], run: MeterRun[T], limit: int) -> int:
    """How many of ``run``'s rows fit in ``batch`` (0 if not even one)."""
    if len(batch.runs) >= MAX_METERS:
        return 0
    n = min(len(run.rows), MAX_READINGS - batch.readings)
    while n > 0 and batch.size(run, n) > limit:
        n -= 1
    return n


def pack(
    runs: Sequence[MeterRun[T]], *, max_batches: int, limit: int = PACKET_DATA_SIZE
) -> list[Batch[T]]:
    """Batches for one round, at most ``max_batches``; rows left out wait for the next."""
    batches: list[Batch[T]] = []
    current: Batch[T] = Batch()
    for run in runs:
        if not run.rows:
            continue
        n = _fit(current, run, limit)
        if n == 0:
            if current.runs:
                batches.append(current)
                if len(batches) == max_batches:
                    return batches
            current = Batch()
            n = _fit(current, run, limit)
            if n == 0:
                raise ValueError(f"one reading of {run.lfdi} does not fit a transaction")
        current.runs.append(MeterRun(run.lfdi, run.table, list(run.rows[:n])))
    if current.runs:
        batches.append(current)
    return batches[:max_batches]
