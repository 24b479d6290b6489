"""The bridge assembled: chain, oracle, registry, worker and clearing, from settings.

This is what ``gridmirror chain worker`` runs, and what the gateway runs in its lifespan
(:func:`bridge_lifespan`) when ``chain.worker_in_gateway`` is set::

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
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from oracle import backoff
from oracle.chain import ChainBackend, ChainError, open_chain
from oracle.chain.served import serving
from oracle.chain.timesource import TimeSource, system_time
from oracle.clearing import Clearer
from oracle.deployment import Oracle, open_oracle
from oracle.registry import MeterDirectory, MeterRegistry
from oracle.settings import ChainSettings
from oracle.status import STATS, BridgeStats
from oracle.worker import Worker

log = logging.getLogger(__name__)


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


Engines = Callable[[Any], tuple[Engine, Engine]]
"""Given the application, its database's (write, read) engines."""


def bridge_lifespan(
    settings: ChainSettings, directory: MeterDirectory | None, engines: Engines
) -> Callable[[Any], AbstractAsyncContextManager[None]]:
    """A lifespan that runs the bridge beside the gateway (``chain.worker_in_gateway``).

    For ``gateway.launch.Gateway(..., lifespans=[...])``, with ``engines`` reading the
    database off the application, e.g. ``lambda app: (app.state.runtime.database.write,
    app.state.runtime.database.read)``. If the oracle cannot be reached or is not set up,
    the gateway serves anyway (the outbox keeps every reading) and the bridge retries.
    While a bridge runs it is ``app.state.bridge`` (None otherwise), for the REST API's
    chain actions.
    """

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        write, read = engines(app)
        stop = asyncio.Event()

        def publish(bridge: Bridge | None) -> None:
            state = getattr(app, "state", None)  # an application has one; tests pass any
            if state is not None:
                state.bridge = bridge

        publish(None)
        task = asyncio.create_task(_supervise(write, read, settings, directory, stop, publish))
        try:
            yield
        finally:
            stop.set()
            await task
            publish(None)

    return lifespan


async def _supervise(
    write: Engine,
    read: Engine,
    settings: ChainSettings,
    directory: MeterDirectory | None,
    stop: asyncio.Event,
    publish: Callable[[Bridge | None], None] = lambda _: None,
) -> None:
    """Open and run the bridge until ``stop``; on failure, say why and try again later.
    ``publish`` is told the running bridge, and None when it stops."""
    attempt = 0
    said = ""
    # The chain is opened once and kept for the gateway's lifetime (the bridge may
    # restart over it): an embedded chain is served beside the gateway for the CLI.
    chain: ChainBackend | None = None
    async with contextlib.AsyncExitStack() as held:
        while not stop.is_set():
            try:
                if chain is None:
                    opened = open_chain(settings)
                    held.push_async_callback(opened.close)
                    await held.enter_async_context(serving(opened))
                    chain = opened
                bridge = await open_bridge(
                    write, settings, directory, chain=chain, read_engine=read
                )
            except ChainError as exc:
                attempt += 1
                # Said once per cause (e.g. "run `gridmirror chain init`"), not at every retry.
                level = logging.WARNING if str(exc) != said else logging.DEBUG
                log.log(level, "bridge not running", extra={"error": str(exc), "attempt": attempt})
                said = str(exc)
            else:
                attempt = 0
                publish(bridge)
                try:
                    await bridge.run(stop)
                except Exception:  # a bug must not take the gateway down; the outbox keeps all
                    log.exception("bridge stopped; restarting it")
                    attempt += 1
                finally:
                    publish(None)
                    await bridge.close()
            if not stop.is_set():
                pause = backoff.delay(
                    max(attempt, 1), settings.backoff_base_s, settings.backoff_cap_s
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=pause)
