"""Clearing: every ended epoch settled, in order, and what it minted recorded.

The program lets anyone crank ``clear_epoch`` (docs/chain-abi.md, "Anyone may crank
it"); gridmirror's worker does it for its meters, one worker at a time (the ``clearing``
lease), paying with the gateway's key. Epoch ``e`` is ``(e·I, (e+1)·I]``.

When: epoch ``e`` is cleared once the chain's clock is ``clearing_delay_s`` past its end
(so the readings stamped at its end have arrived) **and** every outbox row stamped in or
before it has its final answer from the chain. Rows of a meter held up by a dead letter
stop waiting ``clearing_grace_s`` after the epoch's end (a dead letter must not stop
settlement for everyone; its energy goes to a later epoch by the attribution rule);
rows the worker is still on (a backlog after downtime) are always waited for, so that
energy is attributed to its own epoch whenever the chain can know it.

**The delivery rule.** No epoch is closed while a registered meter that is still
delivering has not yet delivered past its end: a meter catching up after an outage, or
replaying a past day, gets its energy settled in the epochs it was produced in, not all
in the first one cleared after it arrives. "Still delivering" means the gateway stored
the meter's newest reading (its latest timestamp, not merely some reading) within the
last ``clearing_silence_s``: the bound is that **a meter silent, or not moving forward,
for longer than ``clearing_silence_s`` no longer holds any epoch back**. A meter whose
clock is stuck therefore stops holding at once; one that lags behind by a constant
delays clearing by that lag (its energy still lands in the right epochs). Epochs are taken
in order from the one after the last cleared (at first, the epoch of the earliest
confirmed reading), so a worker that was down catches up on every epoch it missed.

Which meters: every registered meter whose registers settle at ``e``
(:func:`settlement_status` is the program's own rule, computed from the Meter accounts
first) and moved since its last settlement, so an epoch where nothing happened costs no
transaction. A meter whose owner has
closed their token account is left out (its energy waits, safe, in its registers).

Clearing transactions are stored before they are sent, like readings, and resolved by
signature after a crash, so every MeterSettled event lands in ``settlement``; before each
round the Meter accounts are read and settlements someone else cranked are recorded
from them (oracle/settled.py), so ``settlement`` and ``epoch_clearing`` follow the chain.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Sequence

from solders.compute_budget import set_compute_unit_limit
from solders.message import MessageV0
from solders.signature import Signature
from solders.transaction import VersionedTransaction
from sqlalchemy import Engine, func
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from anchor.abi import NO_EPOCH, SettlementStatus
from anchor.accounts import MeterAccount
from anchor.events import EpochCleared, MeterSettled
from oracle.batching import PACKET_DATA_SIZE
from oracle.chain.backend import ChainBackend, ChainError, TransactionRejected
from oracle.chain.spl_token import parse_token_account
from oracle.claims import CLEARING_KEY
from oracle.deployment import Oracle
from oracle.events import EventMissing, clearing_events
from oracle.landing import Gone, Landed, fate
from oracle.outbox import OutboxEntry, OutboxState
from oracle.reconcile import meter_accounts
from oracle.records import (
    ChainMeter,
    ChainTx,
    EpochClearing,
    Settlement,
    SettlementSource,
    TxKind,
    TxState,
    add_settlements,
)
from oracle.registry import MeterRegistry, RegisteredMeter
from oracle.settings import ChainSettings
from oracle.settled import follow
from oracle.status import STATS, BridgeStats
from oracle.submissions import (
    PreparedTx,
    Retry,
    open_counts,
    record_sent,
    release_tx,
    unresolved,
)
from oracle.transact import describe

log = logging.getLogger(__name__)

# Pairs per clear_epoch transaction: 6 static keys, the Config and 2 accounts per meter
# stay within the 64 accounts a transaction may lock; ~6,500 CU per meter with its mint.
CLEAR_CHUNK = 24
CLEAR_CU_BASE = 30_000
CLEAR_CU_PER_METER = 9_000

# A stale frontier holds or frees an epoch at most this much later than a fresh one would.
FRONTIER_TTL_S = 5.0


def settlement_status(meter: MeterAccount, epoch: int, interval: int) -> SettlementStatus:
    """What clear_epoch(epoch) would do with this meter (the program's rule)."""
    if meter.last_reading_ts == 0:
        return SettlementStatus.NO_READINGS
    if meter.last_cleared_epoch != NO_EPOCH and epoch <= meter.last_cleared_epoch:
        return SettlementStatus.ALREADY_CLEARED
    if (meter.last_reading_ts - 1) // interval <= epoch:
        return SettlementStatus.SETTLED
    if meter.snapshot_epoch != NO_EPOCH and meter.snapshot_epoch <= epoch:
        return SettlementStatus.SETTLED
    return SettlementStatus.PENDING


def settled_registers(meter: MeterAccount, epoch: int, interval: int) -> tuple[int, int]:
    """The registers clear_epoch(epoch) settles a SETTLED meter to (import, export)."""
    if (meter.last_reading_ts - 1) // interval <= epoch:
        return meter.import_wh, meter.export_wh
    return meter.snapshot_import_wh, meter.snapshot_export_wh


# ---------------------------------------------------------------------------- database


def next_epoch(engine: Engine, interval: int) -> int | None:
    """The first epoch not cleared yet; None before any reading is confirmed."""
    with Session(engine) as session:
        last = session.execute(select(func.max(EpochClearing.epoch))).scalar_one_or_none()
        if last is not None:
            return int(last) + 1
        first = session.execute(
            select(func.min(OutboxEntry.timestamp)).where(
                col(OutboxEntry.state) == OutboxState.CONFIRMED.value
            )
        ).scalar_one_or_none()
    return None if first is None else (int(first) - 1) // interval


def delivery_frontier(engine: Engine, *, since: float) -> int | None:
    """The earliest of the latest timestamps of the registered meters still delivering:
    whose newest reading the gateway stored at or after ``since``; None if none is."""
    newest = aliased(OutboxEntry)
    recent = (
        select(
            col(OutboxEntry.lfdi).label("lfdi"),
            func.max(OutboxEntry.timestamp).label("latest"),
        )
        .where(col(OutboxEntry.accepted_at) >= since)
        .where(col(OutboxEntry.lfdi).in_(select(col(ChainMeter.lfdi))))
        .group_by(col(OutboxEntry.lfdi))
        .subquery()
    )
    # the meter's newest reading overall must be among the recent ones: a meter that
    # only re-sends old timestamps is not moving forward (uq_outbox_lfdi_timestamp index)
    overall = (
        select(func.max(newest.timestamp))
        .where(col(newest.lfdi) == recent.c.lfdi)
        .scalar_subquery()
    )
    with Session(engine) as session:
        frontier = session.execute(
            select(func.min(recent.c.latest)).where(recent.c.latest >= overall)
        ).scalar_one_or_none()
    return None if frontier is None else int(frontier)


def record_clearing(
    engine: Engine,
    tx_id: int,
    *,
    slot: int,
    signature: str,
    cleared: EpochCleared,
    settled: Sequence[MeterSettled],
    now: float,
) -> int | None:
    """Record a landed clear_epoch and its settlements; Wh minted, or None if already done."""
    with Session(engine) as session, session.begin():
        tx = session.exec(select(ChainTx).where(col(ChainTx.id) == tx_id).with_for_update()).first()
        if tx is None or tx.state != TxState.SENT:
            return None
        tx.state, tx.slot, tx.resolved_at = TxState.LANDED.value, slot, now
        session.add(tx)
        rows = [
            {
                "epoch": e.epoch,
                "lfdi": e.lfdi.hex().upper(),
                "owner": str(e.owner),
                "import_wh": e.import_wh,
                "export_wh": e.export_wh,
                "import_delta_wh": e.import_delta_wh,
                "export_delta_wh": e.export_delta_wh,
                "net_export_wh": e.export_delta_wh - e.import_delta_wh,
                "minted_wh": e.minted_wh,
                "withheld_wh": e.withheld_wh,
                "settlements": 1,
                "source": SettlementSource.EVENT.value,
                "signature": signature,
                "slot": slot,
                "recorded_at": now,
            }
            for e in settled
        ]
        add_settlements(session, rows)
        return cleared.minted_wh


def record_epoch(
    engine: Engine, epoch: int, *, transactions: int, forced: bool, now: float
) -> None:
    """Mark an epoch cleared, with the totals of its settlements."""
    with Session(engine) as session, session.begin():
        settled, minted = session.execute(
            select(func.count(), func.coalesce(func.sum(Settlement.minted_wh), 0)).where(
                col(Settlement.epoch) == epoch
            )
        ).one()
        session.merge(
            EpochClearing(
                epoch=epoch,
                settled=int(settled),
                minted_wh=int(minted),
                transactions=transactions,
                forced=forced,
                cleared_at=now,
            )
        )


# ---------------------------------------------------------------------------- the crank


class Clearer:
    """Clears ended epochs for the gateway's meters."""

    def __init__(
        self,
        engine: Engine,
        chain: ChainBackend,
        oracle: Oracle,
        registry: MeterRegistry,
        settings: ChainSettings,
        *,
        stats: BridgeStats | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        read_engine: Engine | None = None,
    ) -> None:
        self.engine = engine
        self.reader = read_engine or engine
        self.chain = chain
        self.oracle = oracle
        self.registry = registry
        self.settings = settings
        self.stats = stats if stats is not None else STATS
        self.clock = clock
        self.rng = rng or random.Random()
        self.retry = Retry(settings.max_attempts, settings.backoff_base_s, settings.backoff_cap_s)
        self._frontier_read: tuple[float, int | None] | None = None  # (when, frontier)

    async def crank(self, worker: str) -> list[int]:
        """Clear every epoch that is ready, in order; the epochs cleared."""
        if not await self._resolve():
            return []
        interval = self.oracle.config.clearing_interval_s
        now = (await self.chain.clock()).unix_timestamp
        last = int((now - self.settings.clearing_delay_s) // interval) - 1
        first = await asyncio.to_thread(next_epoch, self.reader, interval)
        cleared: list[int] = []
        if first is None or first > last:
            return cleared
        await self.follow()
        frontier = await self._frontier()
        for epoch in range(first, last + 1):
            end = (epoch + 1) * interval
            if frontier is not None and frontier < end:
                break  # a meter still delivering has not reached this epoch's end
            flowing, held = await asyncio.to_thread(open_counts, self.reader, until=end)
            if flowing or (held and now < end + self.settings.clearing_grace_s):
                break
            if held:
                log.warning(
                    "clearing past dead letters",
                    extra={"epoch": epoch, "held_readings": held},
                )
            if not await self._clear(worker, epoch, forced=bool(held)):
                break
            cleared.append(epoch)
            self.stats.epochs_cleared += 1
        return cleared

    async def follow(self) -> int:
        """Record the settlements the Meter accounts show and the database lacks (someone
        else cranked); how many rows were added."""
        accounts = await meter_accounts(self.chain, self.oracle, self.registry)
        states = [(lfdi, m) for lfdi, m in accounts if m is not None]
        added = await asyncio.to_thread(follow, self.engine, states, now=self.clock())
        if added:
            log.info("settlements recorded from the chain", extra={"rows": added})
        return added

    async def _frontier(self) -> int | None:
        """delivery_frontier, read at most every FRONTIER_TTL_S: while an epoch is held the
        worker cranks every second, and the query scans the outbox."""
        now = self.clock()
        if self._frontier_read is None or now - self._frontier_read[0] >= FRONTIER_TTL_S:
            since = now - self.settings.clearing_silence_s
            self._frontier_read = (
                now,
                await asyncio.to_thread(delivery_frontier, self.reader, since=since),
            )
        return self._frontier_read[1]

    async def _resolve(self) -> bool:
        """Settle clear transactions left unresolved; False while one is still unknown."""
        for tx in await asyncio.to_thread(unresolved, self.reader, kind=TxKind.CLEAR):
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
                await self._drop(tx.id, TxState.DROPPED, outcome.reason)
                continue
            assert isinstance(outcome, Landed)
            if not await self._landed(tx.id, Signature.from_string(tx.signature), outcome):
                return False
        return True

    async def _drop(self, tx_id: int, state: TxState, reason: str, slot: int | None = None) -> None:
        self.stats.error("clearing", reason)
        await asyncio.to_thread(
            release_tx, self.engine, tx_id, state, reason, self.clock(), retry=self.retry,
            rng=self.rng, slot=slot,
        )  # fmt: skip

    async def _landed(self, tx_id: int, signature: Signature, landed: Landed) -> bool:
        if landed.status.err is not None:
            await self._drop(tx_id, TxState.FAILED, describe(landed.status.err), landed.status.slot)
            return True
        record = await self.chain.get_transaction(signature)
        if record is None:
            return False
        try:
            events = clearing_events(self.oracle.program, record)
        except EventMissing as exc:
            await self._drop(tx_id, TxState.LANDED, str(exc), record.slot)
            return True
        minted = await asyncio.to_thread(
            record_clearing, self.engine, tx_id, slot=record.slot, signature=str(signature),
            cleared=events.cleared, settled=events.settled, now=self.clock(),
        )  # fmt: skip
        if minted is not None:
            self.stats.minted_wh += minted
        return True

    async def _settling(self, epoch: int) -> list[RegisteredMeter]:
        """Registered meters that clear_epoch(epoch) would settle, with a usable token account."""
        meters = await self.registry.load()
        if not meters:
            return []
        interval = self.oracle.config.clearing_interval_s
        accounts = await self.chain.get_multiple_accounts(
            [m.address for m in meters] + [m.token_account for m in meters]
        )
        out = []
        for i, m in enumerate(meters):
            account, token = accounts[i], accounts[len(meters) + i]
            if account is None:
                continue
            state = self.oracle.program.decode_meter(bytes(account.data))
            if settlement_status(state, epoch, interval) != SettlementStatus.SETTLED:
                continue
            if settled_registers(state, epoch, interval) == (
                state.settled_import_wh,
                state.settled_export_wh,
            ):
                continue  # nothing moved since its last settlement: no transaction for it
            parsed = None if token is None else parse_token_account(token)
            if (
                parsed is None
                or parsed.mint != self.oracle.mint
                or parsed.owner != state.owner
                or parsed.state != "initialized"
            ):
                self.stats.error("clearing", f"{m.lfdi}: owner's token account unusable")
                log.warning("meter left out of clearing", extra={"lfdi": m.lfdi, "epoch": epoch})
                continue
            out.append(m)
        return out

    def _build(
        self, epoch: int, chunk: Sequence[RegisteredMeter], blockhash: object
    ) -> VersionedTransaction:
        gateway, program = self.oracle.gateway, self.oracle.program
        ixs = [
            # the random addend keeps a rebuilt transaction from repeating a signature
            set_compute_unit_limit(
                CLEAR_CU_BASE + CLEAR_CU_PER_METER * len(chunk) + self.rng.randrange(1 << 16)
            ),
            program.clear_epoch(
                epoch, self.oracle.mint, [(m.address, m.token_account) for m in chunk]
            ),
        ]
        tables = [
            self.registry.table(t)
            for t in dict.fromkeys(m.table for m in chunk if m.table is not None)
        ]
        message = MessageV0.try_compile(gateway.pubkey(), ixs, tables, blockhash)  # type: ignore[arg-type]
        return VersionedTransaction(message, [gateway])

    async def _clear(self, worker: str, epoch: int, *, forced: bool) -> bool:
        """Clear one epoch; False if it must be tried again later."""
        settling = await self._settling(epoch)
        transactions = 0
        chunks = [settling[i : i + CLEAR_CHUNK] for i in range(0, len(settling), CLEAR_CHUNK)]
        while chunks:
            chunk = chunks.pop(0)
            latest = await self.chain.latest_blockhash()
            tx = self._build(epoch, chunk, latest.blockhash)
            if len(bytes(tx)) > PACKET_DATA_SIZE:  # meters outside lookup tables: halve
                half = len(chunk) // 2
                chunks[:0] = [chunk[:half], chunk[half:]]
                continue
            prepared = PreparedTx(
                TxKind.CLEAR, str(tx.signatures[0]), bytes(tx), latest.last_valid_block_height,
                epoch=epoch,
            )  # fmt: skip
            (tx_id,) = await asyncio.to_thread(
                record_sent, self.engine, worker, [prepared], self.clock(),
                lease_s=self.settings.lease_s, lease_keys=[CLEARING_KEY],
            )  # fmt: skip
            try:
                signature = await self.chain.send_transaction(tx)
            except TransactionRejected as exc:
                await self._drop(tx_id, TxState.DROPPED, f"refused: {describe(exc.err)}")
                return False
            status = await self.chain.confirm_transaction(signature)
            if status is None:
                return False
            if status.err is not None:
                await self._drop(tx_id, TxState.FAILED, describe(status.err), status.slot)
                raise ChainError(f"clear_epoch({epoch}) failed: {describe(status.err)}")
            if not await self._landed(tx_id, signature, Landed(status)):
                return False
            transactions += 1
        await asyncio.to_thread(
            record_epoch, self.engine, epoch, transactions=transactions, forced=forced,
            now=self.clock(),
        )  # fmt: skip
        log.info("epoch cleared", extra={"epoch": epoch, "meters": len(settling)})
        return True
