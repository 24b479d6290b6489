"""Fixtures of the bridge tests: a database (SQLite or PostgreSQL), an embedded chain."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import sqlalchemy

from oracle.chain.embedded import EmbeddedBackend
from oracle.chain.timesource import ManualTime
from tests.oracle.harness import (
    START,
    Bridge,
    bridge_settings,
    create_tables,
    make_engine,
    open_bridge,
)


@pytest.fixture
def engine(database_url: str) -> Iterator[sqlalchemy.Engine]:
    """The outbox and the worker's tables in an empty database."""
    eng = make_engine(database_url)
    create_tables(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[sqlalchemy.Engine]:
    """The same, on SQLite only (for tests about the chain, not the database)."""
    eng = make_engine(f"sqlite:///{tmp_path / 'bridge.db'}")
    create_tables(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def clock() -> ManualTime:
    """The embedded chain's clock, an hour after START."""
    return ManualTime(START + 3600)


@pytest.fixture
async def embedded(clock: ManualTime) -> AsyncIterator[EmbeddedBackend]:
    """An embedded chain in memory, driven by ``clock``."""
    chain = EmbeddedBackend.open(None, time_source=clock)
    yield chain
    await chain.close()


@pytest.fixture
async def bridge(engine: sqlalchemy.Engine, embedded: EmbeddedBackend, tmp_path: Path) -> Bridge:
    """The oracle initialized on the embedded chain, and a worker over ``engine``."""
    return await open_bridge(engine, embedded, bridge_settings(tmp_path))
