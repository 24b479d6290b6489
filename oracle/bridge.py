"""The bridge assembled: chain, oracle, registry, worker and clearing, from settings.

This is what ``gridmirror chain worker`` runs, and what the gateway runs in its lifespan
when ``chain.worker_in_gateway`` is set::

    bridge = await open_bridge(
        database.write, settings.chain, directory, read_engine=database.read
    )
    try:
        await bridge.run(stop)            # until stop is set
    finally:
        await bridge.close()

``engine`` is the database's write engine (``BEGIN IMMEDIATE`` on SQLite); ``directory``
says who owns each meter (the shell builds it from the settings and the campus file).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy import Engine

from oracle.chain import ChainBackend, open_chain
from oracle.chain.timesource import TimeSource, system_time
from oracle.clearing import Clearer
from oracle.deployment import Oracle, open_oracle
from oracle.registry import MeterDirectory, MeterRegistry
from oracle.settings import ChainSettings
from oracle.status import STATS, BridgeStats
from oracle.worker import Worker


@dataclass
class Bridge:
    """A running bridge's parts."""

    chain: ChainBackend
    oracle: Oracle
    registry: MeterRegistry
    clearer: Clearer | None
    worker: Worker
    owns_chain: bool

    async def run(self, stop: asyncio.Event | None = None, *, drain: bool = False) -> None:
        """Drain the outbox (and clear epochs) until ``stop`` is set, or drained."""
        await self.worker.run(stop, drain=drain)

    async def close(self) -> None:
        """Close the chain backend if the bridge opened it."""
        if self.owns_chain:
            await self.chain.close()


async def open_bridge(
    engine: Engine,
    settings: ChainSettings,
    directory: MeterDirectory | None = None,
    *,
    chain: ChainBackend | None = None,
    time_source: TimeSource = system_time,
    worker_id: str | None = None,
    stats: BridgeStats | None = None,
    read_engine: Engine | None = None,
) -> Bridge:
    """Connect to the chain (unless given one), find the oracle, build the worker.

    ``read_engine`` serves the bridge's reads (the gateway's read engine: a plain deferred
    BEGIN on SQLite); ``engine`` its writes. Raises ChainError when the chain cannot be
    opened or the oracle is not initialized.
    """
    owns = chain is None
    chain = chain or open_chain(settings, time_source=time_source)
    try:
        oracle = await open_oracle(chain, settings)
    except BaseException:
        if owns:
            await chain.close()
        raise
    stats = stats if stats is not None else STATS
    directory = directory or MeterDirectory.from_settings(settings)
    registry = MeterRegistry(engine, chain, oracle, directory, read_engine=read_engine)
    clearer = (
        Clearer(engine, chain, oracle, registry, settings, stats=stats, read_engine=read_engine)
        if settings.clearing
        else None
    )
    worker = Worker(
        engine, chain, oracle, registry, settings, worker_id=worker_id, stats=stats,
        clearer=clearer, read_engine=read_engine,
    )  # fmt: skip
    return Bridge(chain, oracle, registry, clearer, worker, owns)
