"""The submission worker: outbox rows to confirmed, provable readings on chain.

One round (:meth:`Worker.step`):

1. claim meters with work (``oracle.claims``; leases, so one worker per meter);
2. resolve the transactions those meters have in flight from before (``oracle.landing``:
   by signature, or by re-sending the same bytes; a meter with one still unknown sends
   nothing new this round);
3. load each meter's due run of pending rows in timestamp order (``oracle.submissions``),
   holding back rows stamped further ahead than the program's future skew allows;
4. make sure every meter is registered and in a lookup table (``oracle.registry``);
5. pack the runs into full transactions (``oracle.batching``), sign them with the
   gateway's key, store them and move their rows in flight, in one database transaction;
6. send them all at once, wait for confirmation, decode each one's ReadingsSubmitted
   event and record every reading's status, slot, batch root and Merkle proof;
7. release the meters, and crank clearing when this worker holds the crank.

What "never submit twice" means here: no reading is ever carried by two different
transactions that could both land. A new transaction for a row is built only after the
one carrying it before is known to have failed, or known never to land (refused, or its
blockhash expired unseen); until then the *same signed bytes* may be re-sent, which the
chain executes at most once. A crash between sending and recording can therefore cost a
re-send of identical bytes, never a second execution, and the program's duplicate rule
is only the last line of defence.

Failures: an unreachable chain backs the whole worker off (capped exponential backoff
with jitter) without charging any row, since nothing went wrong with the rows; a
transaction that failed or never landed charges each of its rows one attempt and puts
them back with backoff, or into the dead-letter state after ``max_attempts``. A database
that goes away (a restart, dropped connections) is waited out the same way: the round's
database transactions rolled back, which is the state a killed worker leaves, so the
next round starts from what is stored, with the registry's cache dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import ParamSpec, TypeVar

from solders.compute_budget import set_compute_unit_limit
from solders.message import MessageV0
from solders.signature import Signature
from solders.transaction import VersionedTransaction
from sqlalchemy import Engine
from sqlalchemy.exc import InterfaceError, OperationalError

from anchor.instructions import Reading
from oracle import backoff, claims
from oracle.batching import PACKET_DATA_SIZE, Batch, MeterRun, pack
from oracle.chain.backend import (
    ChainBackend,
    ChainError,
    ChainUnavailable,
    TransactionRejected,
    TxStatus,
)
from oracle.claims import LeaseLost
from oracle.clearing import Clearer
from oracle.deployment import Oracle
from oracle.events import EventMissing, batch_event
from oracle.landing import Gone, Landed, fate
from oracle.proofs import ProofError, outcomes
from oracle.reconcile import reconcile
from oracle.records import ChainTx, TxKind, TxState
from oracle.registry import MeterRegistry
from oracle.settings import ChainSettings
from oracle.status import STATS, BridgeStats
from oracle.submissions import (
    LandedBatch,
    OpenRow,
    PreparedTx,
    Retry,
    RowsChanged,
    SignatureTaken,
    carried,
    due_runs,
    landed_batch,
    open_counts,
    postpone,
    record_sent,
    release_tx,
    settle_landed,
    unresolved,
)
from oracle.transact import describe

log = logging.getLogger(__name__)

CU_BASE = 20_000
CU_PER_READING = 1_500  # ~490 measured (docs/chain-abi.md); rejections log events
CU_NONCE = 1 << 16
PER_METER = 40  # rows of a meter read per round: more than one transaction holds

P = ParamSpec("P")
R = TypeVar("R")


def host_name() -> str:
    """This host's name as worker ids carry it."""
    return socket.gethostname()[:32]


def default_worker_id() -> str:
    """host:pid:random, unique among the workers sharing a database."""
    return f"{host_name()}:{os.getpid()}:{random.getrandbits(24):06x}"


def process_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class StepReport:
    """What one round did."""

    meters: int = 0
    sent: int = 0  # transactions sent
    readings: int = 0  # readings in them
    resolved: int = 0  # earlier transactions resolved
    unavailable: bool = False
    cleared: list[int] = field(default_factory=list)

    @property
    def busy(self) -> bool:
        """Whether the round found anything to do."""
        return bool(self.sent or self.resolved or self.cleared)


@dataclass(frozen=True)
class _Outgoing:
    tx: VersionedTransaction
    batch: Batch[OpenRow]
    rows: list[OpenRow]
    tx_id: int = 0


class Worker:
    """Drains the outbox into ``submit_readings`` transactions; several may share a DB."""

    def __init__(
        self,
        engine: Engine,
        chain: ChainBackend,
        oracle: Oracle,
        registry: MeterRegistry,
        settings: ChainSettings,
        *,
        worker_id: str | None = None,
        stats: BridgeStats | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        clearer: Clearer | None = None,
        clearing_every_s: float = 1.0,
        read_engine: Engine | None = None,
    ) -> None:
        self.engine = engine
        # Reads go to their own engine: on SQLite the write engine's BEGIN IMMEDIATE would
        # make every read wait for (and hold) the one write lock.
        self.reader = read_engine or engine
        self.chain = chain
        self.oracle = oracle
        self.registry = registry
        self.settings = settings
        self.id = worker_id or default_worker_id()
        self.stats = stats if stats is not None else STATS
        self.clock = clock
        self.rng = rng or random.Random()
        self.retry = Retry(settings.max_attempts, settings.backoff_base_s, settings.backoff_cap_s)
        self.clearer = clearer
        self.clearing_every_s = clearing_every_s
        self._next_clearing = 0.0
        self._next_reconcile = 0.0  # at start, then every settings.reconcile_every_s
        self._outages = 0

    async def _db(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run a blocking database call off the event loop (the chain stays on it)."""
        return await asyncio.to_thread(fn, *args, **kwargs)

    # ------------------------------------------------------------------ the loop

    async def run(self, stop: asyncio.Event | None = None, *, drain: bool = False) -> None:
        """Work until ``stop`` is set (or, with ``drain``, until no row is left that a
        worker could send: dead letters and the rows parked behind them wait for a
        redrive); an unreachable chain is waited out with backoff."""
        stop = stop or asyncio.Event()
        freed = await self._db(claims.reap_local, self.engine, host_name(), process_alive)
        if freed:
            log.info("freed the leases of a crashed worker", extra={"meters": len(freed)})
        try:
            while not stop.is_set():
                report = await self.step()
                if report.unavailable:
                    self._outages += 1
                    pause = backoff.delay(
                        self._outages, self.settings.backoff_base_s, self.settings.backoff_cap_s,
                        self.rng,
                    )  # fmt: skip
                elif report.busy:
                    self._outages = 0
                    continue
                else:
                    self._outages = 0
                    if drain and (await self._db(open_counts, self.reader))[0] == 0:
                        return
                    pause = self.settings.idle_poll_s
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=pause)
        finally:
            try:
                await self._db(claims.release_all, self.engine, self.id)
            except (OperationalError, InterfaceError):
                # The leases lapse by themselves; another worker waits lease_s at most.
                log.warning("could not give the leases back: the database is unavailable")

    async def step(self) -> StepReport:
        """One round; see the module's description."""
        report = StepReport()
        try:
            await self._step(report)
        except ChainUnavailable as exc:
            report.unavailable = True
            self.stats.error("unavailable", str(exc))
            log.warning("chain unavailable", extra={"chain": self.chain.name, "error": str(exc)})
        except (OperationalError, InterfaceError) as exc:
            report.unavailable = True
            first_line = str(exc).splitlines()[0]
            self.stats.error("database", first_line)
            self.registry.forget()  # it may hold what a rolled-back transaction recorded
            log.warning("database unavailable", extra={"error": first_line})
        if self.clearer is not None and not report.unavailable:
            report.cleared = await self._maybe_clear(report)
            await self._maybe_reconcile(report)
        return report

    async def _maybe_reconcile(self, report: StepReport) -> None:
        """At start and every reconcile_every_s (by the clearing crank's holder): follow
        the chain's settlements, then prove the database agrees with it; each difference
        is logged and counted."""
        assert self.clearer is not None
        now = self.clock()
        if now < self._next_reconcile or self._next_reconcile < 0:
            return
        every = self.settings.reconcile_every_s
        self._next_reconcile = now + every if every > 0 else -1.0
        try:
            await self.clearer.follow()
            found = await reconcile(self.engine, self.chain, self.oracle, self.registry)
        except ChainUnavailable as exc:
            report.unavailable = True
            self.stats.error("unavailable", str(exc))
            self._next_reconcile = 0.0  # try again next round
            return
        except ChainError as exc:
            self.stats.error("reconcile", str(exc))
            return
        for line in found.differences:
            self.stats.error("reconcile", line)
            log.warning("chain and database disagree", extra={"difference": line})
        if found.agrees:
            log.info("reconciled", extra={"meters": found.meters, "minted_wh": found.minted_wh})

    async def _maybe_clear(self, report: StepReport) -> list[int]:
        assert self.clearer is not None
        now = self.clock()
        if now < self._next_clearing:
            return []
        self._next_clearing = now + self.clearing_every_s
        held = await self._db(
            claims.claim_crank, self.engine, self.id, now, lease_s=self.settings.lease_s
        )
        if not held:
            return []
        try:
            return await self.clearer.crank(self.id)
        except ChainUnavailable as exc:
            report.unavailable = True
            self.stats.error("unavailable", str(exc))
            return []
        except ChainError as exc:
            self.stats.error("clearing", str(exc))
            log.error("clearing failed", extra={"error": str(exc)})
            return []

    async def _step(self, report: StepReport) -> None:
        s = self.settings
        now = self.clock()
        held = await self._db(
            claims.claim_meters, self.engine, self.id, now, lease_s=s.lease_s,
            limit=s.claim_meters, read_engine=self.reader,
        )  # fmt: skip
        report.meters = len(held)
        if not held:
            return
        # Leases are kept between rounds (renewed while a meter has work, else they lapse),
        # so a busy meter costs no claim churn; a clean stop gives them all back.
        blocked: set[str] = set()
        for tx in await self._db(unresolved, self.reader, lfdis=held, kind=TxKind.READINGS):
            done = await self._resolve(tx)
            report.resolved += int(done)
            if not done:
                blocked |= {r.lfdi for r in await self._db(carried, self.reader, tx.id or 0)}
        await self._send_round([lfdi for lfdi in held if lfdi not in blocked], report)

    # ------------------------------------------------------------------ sending

    async def _send_round(self, lfdis: list[str], report: StepReport) -> None:
        s = self.settings
        now = self.clock()
        runs = await self._db(due_runs, self.reader, lfdis, now, per_meter=PER_METER)
        if not runs:
            return
        horizon = (await self.chain.clock()).unix_timestamp + self.oracle.config.max_future_skew_s
        runs = {lfdi: run[: _prefix(run, horizon)] for lfdi, run in runs.items()}
        runs = {lfdi: run for lfdi, run in runs.items() if run}
        if not runs:
            return
        failed = await self.registry.ensure(runs)
        for lfdi, reason in failed.items():
            self.stats.error("registration", f"{lfdi}: {reason}")
            log.error("meter not ready", extra={"lfdi": lfdi, "error": reason})
            rows = runs.pop(lfdi)
            counts = await self._db(
                postpone, self.engine, [lfdi], rows, reason, self.clock(), retry=self.retry,
                rng=self.rng,
            )  # fmt: skip
            self.stats.readings["dead"] += counts.get("dead", 0)
        ordered = sorted(runs.values(), key=lambda run: run[0].accepted_at)
        meter_runs = []
        for run in ordered:
            meter = self.registry.meter(run[0].lfdi)
            assert meter is not None
            meter_runs.append(MeterRun(run[0].lfdi, meter.table, run))
        batches = pack(meter_runs, max_batches=s.concurrent_batches)
        if not batches:
            return
        latest = await self.chain.latest_blockhash()
        signed = [self._sign(batch, latest.blockhash) for batch in batches]
        outgoing = [o for o in signed if o is not None]
        if len(outgoing) < len(signed):
            # A table changed under us (another worker extended it): look again next round.
            self.registry.forget()
        if not outgoing:
            return
        prepared = [
            PreparedTx(
                TxKind.READINGS,
                str(o.tx.signatures[0]),
                bytes(o.tx),
                latest.last_valid_block_height,
                o.rows,
            )
            for o in outgoing
        ]
        keys = {r.lfdi for o in outgoing for r in o.rows}
        try:
            ids = await self._db(
                record_sent, self.engine, self.id, prepared, self.clock(), lease_s=s.lease_s,
                lease_keys=keys,
            )  # fmt: skip
        except (LeaseLost, RowsChanged, SignatureTaken) as exc:
            self.stats.error("lease", str(exc))
            log.info("round abandoned", extra={"reason": str(exc)})
            return
        outgoing = [_Outgoing(o.tx, o.batch, o.rows, i) for o, i in zip(outgoing, ids, strict=True)]
        report.sent += len(outgoing)
        report.readings += sum(len(o.rows) for o in outgoing)
        results = await asyncio.gather(*(self._send(o) for o in outgoing), return_exceptions=True)
        landed: list[tuple[LandedBatch, float | None]] = []
        unavailable = False
        for result in results:
            if isinstance(result, ChainUnavailable):
                unavailable = True
            elif isinstance(result, BaseException):
                raise result
            elif result is not None:
                landed.append(result)
        await self._record(landed)
        report.unavailable = report.unavailable or unavailable

    def _sign(self, batch: Batch[OpenRow], blockhash: object) -> _Outgoing | None:
        gateway = self.oracle.gateway
        meters, readings, rows = [], [], []
        for index, run in enumerate(batch.runs):
            meter = self.registry.meter(run.lfdi)
            assert meter is not None
            meters.append(meter.address)
            for row in run.rows:
                readings.append(Reading(index, row.timestamp, row.import_wh, row.export_wh))
                rows.append(row)
        ixs = [
            set_compute_unit_limit(compute_limit(len(readings), self.rng)),
            self.oracle.program.submit_readings(gateway.pubkey(), meters, readings),
        ]
        tables = [self.registry.table(t) for t in batch.tables]
        message = MessageV0.try_compile(gateway.pubkey(), ixs, tables, blockhash)  # type: ignore[arg-type]
        tx = VersionedTransaction(message, [gateway])
        size = len(bytes(tx))
        if size > PACKET_DATA_SIZE:
            # The size model is exact for the tables as cached; a meter the cached table
            # lacks is named by its full key instead. Leave the batch for the next round.
            self.stats.error("batching", f"batch of {len(rows)} readings is {size} bytes")
            log.warning("batch too large", extra={"readings": len(rows), "bytes": size})
            return None
        return _Outgoing(tx, batch, rows)

    async def _send(self, out: _Outgoing) -> tuple[LandedBatch, float | None] | None:
        """Send one stored transaction and see it land; what to record, if anything yet."""
        started = time.monotonic()
        signature = out.tx.signatures[0]
        try:
            await self.chain.send_transaction(out.tx)
        except TransactionRejected as exc:
            # Refused before landing (this send was the only one): its rows go back.
            await self._release(out.tx_id, TxState.DROPPED, f"refused: {describe(exc.err)}")
            self.stats.submissions["dropped"] += 1
            self.stats.error("refused", describe(exc.err))
            return None
        except ChainUnavailable:
            self.stats.submissions["unknown"] += 1
            raise
        except ChainError as exc:
            self.stats.submissions["unknown"] += 1
            self.stats.error("unknown", str(exc))
            return None
        status = await self.chain.confirm_transaction(signature)
        if status is None:
            self.stats.submissions["unknown"] += 1
            self.stats.error("timeout", f"{signature} not confirmed in time")
            return None
        seconds = time.monotonic() - started
        outcome = await self._examine(out.tx_id, signature, status, out.rows)
        return (outcome, seconds) if isinstance(outcome, LandedBatch) else None

    # ------------------------------------------------------------------ outcomes

    async def _resolve(self, tx: ChainTx) -> bool:
        """Settle a transaction left unresolved; False while its outcome is still unknown."""
        assert tx.id is not None
        outcome = await fate(
            self.chain,
            tx,
            commitment=self.settings.commitment,
            confirm_timeout=self.settings.confirm_timeout,
        )
        if outcome is None:
            return False
        if isinstance(outcome, Gone):
            self.stats.submissions["dropped"] += 1
            self.stats.error("expired", f"{tx.signature}: {outcome.reason}")
            await self._release(tx.id, TxState.DROPPED, outcome.reason)
            return True
        assert isinstance(outcome, Landed)
        examined = await self._examine(
            tx.id, Signature.from_string(tx.signature), outcome.status, None
        )
        if isinstance(examined, LandedBatch):
            await self._record([(examined, None)])
            return True
        return examined

    async def _examine(
        self,
        tx_id: int,
        signature: Signature,
        status: TxStatus,
        rows: Sequence[OpenRow] | None,
    ) -> LandedBatch | bool:
        """A landed transaction decoded for recording; True if it was dealt with otherwise
        (it failed: rows back), False if its record cannot be had yet."""
        if status.err is not None:
            reason = f"transaction failed: {describe(status.err)}"
            self.stats.submissions["failed"] += 1
            self.stats.error("failed", reason)
            await self._release(tx_id, TxState.FAILED, reason, slot=status.slot)
            return True
        record = await self.chain.get_transaction(signature)
        if record is None:
            return False  # an RPC node may lag behind its own status; ask again later
        if rows is None:
            rows = await self._db(carried, self.reader, tx_id)
        try:
            event = batch_event(self.oracle.program, record)
            results = outcomes([r.reading for r in rows], event)
        except (EventMissing, ProofError) as exc:
            # Cannot happen with our program; if it does, no proof can be given: say so.
            self.stats.error("event", str(exc))
            log.error("landed batch cannot be recorded", extra={"error": str(exc)})
            await self._release(
                tx_id, TxState.LANDED, f"landed, but {exc}", slot=status.slot, dead=True
            )
            return True
        return landed_batch(
            tx_id, slot=record.slot, compute_units=record.compute_units, event=event,
            rows=rows, results=results, now=self.clock(),
        )  # fmt: skip

    async def _record(self, landed: Sequence[tuple[LandedBatch, float | None]]) -> None:
        """Record landed batches in one database transaction, and count them."""
        if not landed:
            return
        settled = await self._db(
            settle_landed, self.engine, [batch for batch, _ in landed], self.clock()
        )
        for (batch, seconds), ours in zip(landed, settled, strict=True):
            if not ours:
                continue
            self.stats.submissions["landed"] += 1
            self.stats.readings_sent += len(batch.updates)
            if seconds is not None:
                self.stats.submission_seconds.observe(seconds)
            for state, n in batch.settled.counts.items():
                self.stats.readings[state] += n
            for lag in batch.settled.lags:
                self.stats.lag_seconds.observe(lag)

    async def _release(
        self,
        tx_id: int,
        state: TxState,
        reason: str,
        *,
        slot: int | None = None,
        dead: bool = False,
    ) -> None:
        counts = await self._db(
            release_tx, self.engine, tx_id, state, reason, self.clock(), retry=self.retry,
            rng=self.rng, slot=slot, dead=dead,
        )  # fmt: skip
        if counts:
            self.stats.readings["dead"] += counts.get("dead", 0)


def compute_limit(readings: int, rng: random.Random) -> int:
    """The compute-unit limit a batch asks for: ample, and a little different every time.

    A transaction rebuilt from the same rows with the same blockhash would otherwise have
    the same bytes, hence the same signature as the one that failed, and the chain would
    answer with the old failure instead of running it. A random addend makes each build
    its own transaction (and a collision is caught when it is stored).
    """
    return CU_BASE + CU_PER_READING * readings + rng.randrange(CU_NONCE)


def _prefix(run: Sequence[OpenRow], horizon: int) -> int:
    """Length of the run's prefix stamped no later than ``horizon``."""
    for i, row in enumerate(run):
        if row.timestamp > horizon:
            return i
    return len(run)
