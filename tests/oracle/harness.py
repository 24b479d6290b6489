"""The bridge assembled for tests: database, chain, oracle, worker; meters; the checks.

Used by the in-process tests and by the scripts the crash tests run as subprocesses.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy
from solders.signature import Signature
from sqlalchemy import event
from sqlmodel import Session, create_engine, func, select

from anchor.abi import ReadingStatus
from gateway import migrations
from oracle.chain.backend import ChainBackend
from oracle.clearing import Clearer
from oracle.deployment import Oracle, init_oracle, open_oracle, read_config
from oracle.events import batch_event
from oracle.outbox import OutboxEntry, OutboxState, enqueue
from oracle.proofs import SentReading, proof_from_json, proves
from oracle.records import ChainTx, Settlement, TxState
from oracle.registry import MeterDirectory, MeterRegistry
from oracle.settings import ChainSettings
from oracle.status import BridgeStats
from oracle.worker import Worker

START = 1_767_225_600  # 2026-01-01T00:00:00Z, an epoch boundary
STEP_S = 15


def make_engine(url: str) -> sqlalchemy.Engine:
    """An engine as the gateway's write engine: SQLite in WAL with BEGIN IMMEDIATE."""
    if not url.startswith("sqlite"):
        return create_engine(url, pool_size=4, max_overflow=4)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def create_tables(engine: sqlalchemy.Engine) -> None:
    """The outbox and the worker's tables."""
    migrations.ensure_current(engine)


def bridge_settings(tmp: Path, **overrides: Any) -> ChainSettings:
    """Chain settings for tests: keys under tmp, quick retries and polls."""
    values: dict[str, Any] = {
        "state_dir": tmp / "chain",
        "keys_dir": tmp / "keys",
        "backoff_base_s": 0.01,
        "backoff_cap_s": 0.05,
        "clearing_delay_s": 20,
        # The chain's clock here is a ManualTime far from the wall clock the outbox's
        # accepted_at is stamped with, so a meter would count as delivering as long as the
        # test runs: tests of waiting for delivering meters opt in with a longer silence.
        "clearing_silence_s": 0.001,
        # and they deliver readings stamped hours behind that clock
        "max_baseline_age_s": 2_592_000,
        "idle_poll_s": 0.01,
        "confirm_timeout": 5.0,
        "poll_interval": 0.02,
    }
    values.update(overrides)
    return ChainSettings(**values)


@dataclass
class Bridge:
    """Everything a worker needs, built like the CLI builds it."""

    engine: sqlalchemy.Engine
    chain: ChainBackend
    settings: ChainSettings
    oracle: Oracle
    registry: MeterRegistry
    clearer: Clearer
    worker: Worker
    stats: BridgeStats

    def another_worker(self, chain: ChainBackend | None = None) -> Worker:
        """A second worker on the same database (and chain, unless given one)."""
        chain = chain or self.chain
        registry = MeterRegistry(self.engine, chain, self.oracle, self.registry.directory)
        clearer = Clearer(
            self.engine, chain, self.oracle, registry, self.settings, stats=self.stats
        )
        return Worker(
            self.engine, chain, self.oracle, registry, self.settings, stats=self.stats,
            clearer=clearer, clearing_every_s=0,
        )  # fmt: skip


async def open_bridge(
    engine: sqlalchemy.Engine,
    chain: ChainBackend,
    settings: ChainSettings,
    *,
    directory: MeterDirectory | None = None,
    init: bool = True,
) -> Bridge:
    """Initialize the oracle (unless told not to) and assemble a worker with clearing."""
    if init:
        await init_oracle(chain, settings)
    oracle = await open_oracle(chain, settings)
    directory = directory or MeterDirectory.from_settings(settings)
    registry = MeterRegistry(engine, chain, oracle, directory)
    stats = BridgeStats()
    clearer = Clearer(engine, chain, oracle, registry, settings, stats=stats)
    worker = Worker(
        engine, chain, oracle, registry, settings, stats=stats, clearer=clearer,
        clearing_every_s=0,
    )  # fmt: skip
    return Bridge(engine, chain, settings, oracle, registry, clearer, worker, stats)


def lfdi_of(i: int) -> str:
    """A made-up LFDI (40 hex digits) for meter ``i``."""
    return f"{0xA000 + i:04X}".ljust(40, "7")


@dataclass
class Fleet:
    """Meters whose registers grow plausibly, posted into the outbox like the gateway."""

    meters: int
    rated_power_w: int = 100_000
    seed: int = 7
    registers: dict[str, list[int]] = field(default_factory=dict)
    next_ts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        for i in range(self.meters):
            self.registers[lfdi_of(i)] = [self.rng.randint(0, 10**6), self.rng.randint(0, 10**6)]

    @property
    def lfdis(self) -> list[str]:
        """The meters' LFDIs."""
        return list(self.registers)

    def readings(self, start: int, steps: int) -> Iterator[tuple[str, int, int, int]]:
        """(lfdi, timestamp, import, export) for ``steps`` steps of 15 s from ``start``."""
        most = self.rated_power_w * STEP_S // 3600
        for step in range(steps):
            ts = start + step * STEP_S
            for n, (lfdi, regs) in enumerate(self.registers.items()):
                first = self.rng.randint(0, most)
                second = self.rng.randint(0, most - first)
                # every other meter is a producer: it exports more than it imports
                imported, exported = (second, first) if n % 2 else (first, second)
                regs[0] += imported
                regs[1] += exported
                self.next_ts[lfdi] = ts + STEP_S
                yield lfdi, ts, regs[0], regs[1]

    def post(
        self,
        engine: sqlalchemy.Engine,
        start: int,
        steps: int,
        now: Callable[[], float] = time.time,
    ) -> int:
        """Enqueue ``steps`` steps of readings; how many rows."""
        n = 0
        with Session(engine) as session, session.begin():
            for lfdi, ts, imp, exp in self.readings(start, steps):
                enqueue(session, lfdi=lfdi, timestamp=ts, import_wh=imp, export_wh=exp, now=now())
                n += 1
        return n


def state_counts(engine: sqlalchemy.Engine) -> dict[str, int]:
    """Outbox rows per state."""
    with Session(engine) as session:
        rows = session.exec(select(OutboxEntry.state, func.count()).group_by(OutboxEntry.state))
        return {state: int(n) for state, n in rows}


async def check_converged(bridge: Bridge, *, duplicates: int = 0) -> dict[str, int]:
    """Every row final; chain registers equal the DB's; proofs verify; nothing twice.

    Returns the outbox's states. ``duplicates`` is how many duplicate rows the test made
    on purpose (the chain's counter must equal it: a re-sent batch is never re-executed).
    """
    engine, chain, program = bridge.engine, bridge.chain, bridge.oracle.program
    with Session(engine) as session:
        rows = list(
            session.exec(select(OutboxEntry).order_by(OutboxEntry.lfdi, OutboxEntry.timestamp))
        )
        txs = {t.id: t for t in session.exec(select(ChainTx))}
    states: dict[str, int] = {}
    for row in rows:
        states[row.state] = states.get(row.state, 0) + 1
    assert not {OutboxState.PENDING, OutboxState.IN_FLIGHT, OutboxState.DEAD} & set(states), states

    # the chain's registers are the last confirmed reading of each meter
    last: dict[str, OutboxEntry] = {}
    for row in rows:
        if row.state == OutboxState.CONFIRMED:
            last[row.lfdi] = row
    accounts = await chain.get_multiple_accounts(
        [program.meter(bytes.fromhex(lfdi)) for lfdi in last]
    )
    for (lfdi, row), account in zip(last.items(), accounts, strict=True):
        assert account is not None, lfdi
        meter = program.decode_meter(bytes(account.data))
        assert (meter.import_wh, meter.export_wh, meter.last_reading_ts) == (
            row.import_wh,
            row.export_wh,
            row.timestamp,
        ), lfdi

    # counted once: the program's counters equal the outbox's
    config = await read_config(chain, program)
    assert config is not None
    confirmed = states.get(OutboxState.CONFIRMED, 0)
    # each row rode in exactly one transaction that landed
    landed = [t for t in txs.values() if t.kind == "readings" and t.state == TxState.LANDED]
    assert sum(t.readings for t in landed) == len(rows)
    assert config.batches == len(landed)
    assert config.readings_accepted == confirmed
    assert config.readings_duplicate == duplicates == states.get(OutboxState.DUPLICATE, 0)
    assert config.readings_rejected == states.get(OutboxState.REJECTED, 0)

    # every confirmed reading's proof leads to the root in its own transaction's event
    events: dict[str, Any] = {}
    for row in rows:
        if row.state != OutboxState.CONFIRMED:
            continue
        assert row.signature and row.proof is not None and row.batch_root
        tx = txs[row.tx_id]
        assert tx.state == TxState.LANDED and tx.signature == row.signature
        if row.signature not in events:
            record = await chain.get_transaction(Signature.from_string(row.signature))
            assert record is not None and record.err is None
            events[row.signature] = batch_event(program, record)
        event = events[row.signature]
        assert event.batch == row.batch and event.merkle_root.hex() == row.batch_root
        assert event.statuses[row.tx_position] == ReadingStatus.ACCEPTED
        reading = SentReading(row.lfdi, row.timestamp, row.import_wh, row.export_wh)
        assert proves(reading, proof_from_json(row.proof), event.merkle_root)
    return states


async def check_settlements(bridge: Bridge) -> list[Settlement]:
    """Minted = positive net export per settlement; totals equal the mint's supply."""
    with Session(bridge.engine) as session:
        settlements = list(session.exec(select(Settlement)))
    for s in settlements:
        assert s.net_export_wh == s.export_delta_wh - s.import_delta_wh
        assert s.minted_wh + s.withheld_wh == max(s.net_export_wh, 0)
    config = await read_config(bridge.chain, bridge.oracle.program)
    assert config is not None
    minted = sum(s.minted_wh for s in settlements)
    assert config.minted_wh == minted
    mint = await bridge.chain.get_account(bridge.oracle.mint)
    assert mint is not None
    from oracle.chain.spl_token import parse_mint

    parsed = parse_mint(mint)
    assert parsed is not None and parsed.supply == minted
    # each owner's token balance is what was minted for its meters
    owed: dict[str, int] = {}
    for s in settlements:
        owed[s.owner] = owed.get(s.owner, 0) + s.minted_wh
    for meter in await bridge.registry.load():
        if str(meter.owner) in owed:
            balance = await bridge.chain.get_token_account_balance(meter.token_account)
            assert balance.amount == owed[str(meter.owner)]
    return settlements
