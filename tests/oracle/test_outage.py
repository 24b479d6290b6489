"""A chain that is down, loses requests or answers, or is slow to confirm: nothing lost,
nothing counted twice, and every proof from the transaction that actually landed."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest
import sqlalchemy
from sqlmodel import Session, select

from oracle.chain.backend import AnyTransaction, ChainUnavailable, TxStatus
from oracle.chain.embedded import EmbeddedBackend
from oracle.chain.timesource import ManualTime
from oracle.records import ChainTx, TxState
from tests.oracle.harness import START, Bridge, Fleet, check_converged, open_bridge, state_counts

pytestmark = pytest.mark.timeout(120)


class FlakyChain:
    """The embedded chain behind a network that fails in the ways a test asks for."""

    def __init__(self, inner: EmbeddedBackend) -> None:
        self.inner = inner
        self.down = False
        self.lose_answers = 0  # sends that execute, but whose answer never comes back
        self.lose_requests = 0  # sends that never reach the chain
        self.slow_confirms = 0  # confirmations that time out although the tx landed
        self.sent: list[str] = []

    @property
    def name(self) -> str:
        return f"flaky:{self.inner.name}"

    def __getattr__(self, attr: str) -> Any:
        target = getattr(self.inner, attr)
        if not callable(target):
            return target

        async def call(*args: Any, **kwargs: Any) -> Any:
            if self.down:
                raise ChainUnavailable("connection refused (test outage)")
            return await target(*args, **kwargs)

        return call

    async def send_transaction(self, tx: AnyTransaction, *, skip_preflight: bool = True) -> Any:
        if self.down:
            raise ChainUnavailable("connection refused (test outage)")
        if self.lose_requests:
            self.lose_requests -= 1
            raise ChainUnavailable("request lost (test)")
        signature = await self.inner.send_transaction(tx, skip_preflight=skip_preflight)
        self.sent.append(str(signature))
        if self.lose_answers:
            self.lose_answers -= 1
            raise ChainUnavailable("answer lost (test)")
        return signature

    async def confirm_transaction(
        self, signature: Any, *, timeout: float | None = None
    ) -> TxStatus | None:
        if self.down:
            raise ChainUnavailable("connection refused (test outage)")
        if self.slow_confirms:
            self.slow_confirms -= 1
            return None
        return await self.inner.confirm_transaction(signature, timeout=timeout)

    async def signature_statuses(self, signatures: Sequence[Any]) -> Any:
        if self.down:
            raise ChainUnavailable("connection refused (test outage)")
        return await self.inner.signature_statuses(signatures)


@pytest.fixture
async def flaky(
    sqlite_engine: sqlalchemy.Engine, embedded: EmbeddedBackend, tmp_path: Any
) -> tuple[Bridge, FlakyChain]:
    from tests.oracle.harness import bridge_settings

    chain = FlakyChain(embedded)
    bridge = await open_bridge(sqlite_engine, chain, bridge_settings(tmp_path))  # type: ignore[arg-type]
    return bridge, chain


def txs(engine: sqlalchemy.Engine) -> list[ChainTx]:
    with Session(engine) as s:
        return list(s.exec(select(ChainTx).order_by(ChainTx.id)))


async def test_an_outage_is_waited_out_without_charging_the_rows(
    flaky: tuple[Bridge, FlakyChain],
) -> None:
    bridge, chain = flaky
    fleet = Fleet(4)
    posted = fleet.post(bridge.engine, START + 3000, 20)
    await bridge.worker.step()  # registers the meters, sends a first round
    chain.down = True
    posted += fleet.post(bridge.engine, START + 3300, 20)
    for _ in range(5):
        report = await bridge.worker.step()
        assert report.unavailable
    assert bridge.stats.errors["unavailable"] >= 5
    # a worker that cannot reach the chain neither counts attempts nor dead-letters rows
    counts = state_counts(bridge.engine)
    assert "dead" not in counts and counts.get("pending", 0) >= 80
    chain.down = False
    await asyncio.wait_for(bridge.worker.run(drain=True), 60)
    assert await check_converged(bridge) == {"confirmed": posted}
    assert all(t.state == TxState.LANDED for t in txs(bridge.engine))


async def test_lost_answers_are_resolved_by_signature_not_resent(
    flaky: tuple[Bridge, FlakyChain],
) -> None:
    bridge, chain = flaky
    fleet = Fleet(3)
    posted = fleet.post(bridge.engine, START + 3000, 30)
    assert await bridge.registry.ensure(fleet.lfdis) == {}
    chain.lose_answers = 2  # the chain ran both, the worker heard nothing
    await asyncio.wait_for(bridge.worker.run(drain=True), 60)
    assert await check_converged(bridge) == {"confirmed": posted}
    stored = txs(bridge.engine)
    # no transaction was rebuilt or re-sent: the status by signature told what happened
    assert [t.state for t in stored] == [TxState.LANDED] * len(stored)
    assert sorted(chain.sent[-len(stored) :]) == sorted(t.signature for t in stored)


async def test_lost_requests_resend_the_same_bytes(flaky: tuple[Bridge, FlakyChain]) -> None:
    bridge, chain = flaky
    fleet = Fleet(3)
    posted = fleet.post(bridge.engine, START + 3000, 30)
    assert await bridge.registry.ensure(fleet.lfdis) == {}
    chain.lose_requests = 2
    await asyncio.wait_for(bridge.worker.run(drain=True), 60)
    assert await check_converged(bridge) == {"confirmed": posted}
    stored = txs(bridge.engine)
    # the lost ones were sent again as they were (same signature), not rebuilt
    assert [t.state for t in stored] == [TxState.LANDED] * len(stored)
    assert sorted(chain.sent[-len(stored) :]) == sorted(t.signature for t in stored)


async def test_a_transaction_that_can_no_longer_land_gives_its_rows_back(
    flaky: tuple[Bridge, FlakyChain], clock: ManualTime
) -> None:
    bridge, chain = flaky
    fleet = Fleet(2)
    posted = fleet.post(bridge.engine, START + 3000, 10)
    assert await bridge.registry.ensure(fleet.lfdis) == {}
    chain.lose_requests = 1
    await bridge.worker.step()
    (lost,) = [t for t in txs(bridge.engine) if t.state == TxState.SENT]
    clock.advance(90)  # past its blockhash's last valid slot (150 slots of 0.4 s)
    await asyncio.wait_for(bridge.worker.run(drain=True), 60)
    assert await check_converged(bridge) == {"confirmed": posted}
    stored = {t.signature: t for t in txs(bridge.engine)}
    assert stored[lost.signature].state == TxState.DROPPED
    assert stored[lost.signature].error == "expired without landing"
    assert bridge.stats.submissions["dropped"] == 1


async def test_slow_confirmations_are_picked_up_later(flaky: tuple[Bridge, FlakyChain]) -> None:
    bridge, chain = flaky
    fleet = Fleet(3)
    posted = fleet.post(bridge.engine, START + 3000, 30)
    assert await bridge.registry.ensure(fleet.lfdis) == {}
    chain.slow_confirms = 3
    await asyncio.wait_for(bridge.worker.run(drain=True), 60)
    assert await check_converged(bridge) == {"confirmed": posted}
    assert bridge.stats.errors["timeout"] == 3


# A SQLite file has no server connection to drop: PostgreSQL only.
@pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
async def test_dropped_database_connections_are_waited_out(
    database_url: str, embedded: EmbeddedBackend, tmp_path: Any
) -> None:
    """The database drops the worker's connections mid-run (a restart): the round reports
    the database unavailable instead of crashing, and the next rounds converge."""
    import uuid

    from tests.conftest import PG_URL
    from tests.oracle.harness import bridge_settings, create_tables, make_engine

    name = f"gm-outage-{uuid.uuid4().hex[:12]}"
    engine = make_engine(f"{database_url}&application_name={name}")
    create_tables(engine)
    admin = sqlalchemy.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        bridge = await open_bridge(engine, embedded, bridge_settings(tmp_path))
        fleet = Fleet(4)
        posted = fleet.post(engine, START + 3000, 20)
        await bridge.worker.step()
        posted += fleet.post(engine, START + 3300, 20)
        with admin.connect() as conn:
            dropped = conn.execute(
                sqlalchemy.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE application_name = :name"
                ),
                {"name": name},
            ).scalar()
        assert dropped and dropped >= 1
        report = await bridge.worker.step()
        assert report.unavailable and bridge.stats.errors["database"] == 1
        await asyncio.wait_for(bridge.worker.run(drain=True), 60)
        assert await check_converged(bridge) == {"confirmed": posted}
    finally:
        admin.dispose()
        engine.dispose()
