"""The group committer: batches, isolation of a refused or failing job, shutdown."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlmodel import Session

from gateway.db import Database, open_database
from gateway.errors import Refusal
from gateway.groupcommit import GroupCommitter
from oracle.statements import Statement, run, run_many, upsert

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = open_database(database_url, synchronous="normal")
    with db.write_session() as session:
        session.execute(text("CREATE TABLE t (k INTEGER PRIMARY KEY)"))
    yield db
    db.dispose()


def stored(db: Database) -> list[int]:
    with db.read_session() as session:
        return [k for (k,) in session.execute(text("SELECT k FROM t ORDER BY k"))]


def insert(k: int):  # type: ignore[no-untyped-def]
    def job(session: Session) -> int:
        session.execute(text("INSERT INTO t (k) VALUES (:k)"), {"k": k})
        return k

    return job


async def run_blocked(committer: GroupCommitter, jobs: list) -> list[object]:  # type: ignore[type-arg]
    """Hold the writer with one job, queue ``jobs``, release: they form one batch."""
    release = threading.Event()

    def blocker(session: Session) -> None:
        release.wait(10)

    first = asyncio.ensure_future(committer.run(blocker))
    await asyncio.sleep(0.05)
    waiting = [asyncio.ensure_future(committer.run(job)) for job in jobs]
    await asyncio.sleep(0.05)
    release.set()
    await first
    return list(await asyncio.gather(*waiting, return_exceptions=True))


async def test_jobs_waiting_together_commit_together(database: Database) -> None:
    committer = GroupCommitter(database, batch_limit=256)
    committer.start()
    try:
        results = await run_blocked(committer, [insert(k) for k in range(50)])
    finally:
        committer.stop()
    assert results == list(range(50))
    assert stored(database) == list(range(50))
    assert committer.stats.largest_batch == 50 and committer.stats.batches == 2


async def test_batches_are_capped(database: Database) -> None:
    committer = GroupCommitter(database, batch_limit=8)
    committer.start()
    try:
        await run_blocked(committer, [insert(k) for k in range(20)])
    finally:
        committer.stop()
    assert committer.stats.largest_batch == 8 and stored(database) == list(range(20))


async def test_a_refusal_before_writing_leaves_the_batch_alone(database: Database) -> None:
    def refuse(session: Session) -> None:
        session.execute(text("SELECT count(*) FROM t"))
        raise Refusal(404, "no such thing")

    committer = GroupCommitter(database)
    committer.start()
    try:
        results = await run_blocked(committer, [insert(1), refuse, insert(2)])
    finally:
        committer.stop()
    assert results[0] == 1 and results[2] == 2
    assert isinstance(results[1], Refusal) and results[1].status == 404
    assert stored(database) == [1, 2]
    assert committer.stats.retried_batches == 0 and committer.stats.refused == 1


async def test_a_refusal_after_writing_is_rolled_back_alone(database: Database) -> None:
    def write_then_refuse(session: Session) -> None:
        insert(99)(session)
        raise Refusal(409, "changed my mind")

    committer = GroupCommitter(database)
    committer.start()
    try:
        results = await run_blocked(committer, [insert(1), write_then_refuse, insert(2)])
    finally:
        committer.stop()
    assert isinstance(results[1], Refusal) and results[1].status == 409
    assert stored(database) == [1, 2]  # 99 is not there
    assert committer.stats.retried_batches == 1


# Writes no module of ours makes: a job that refuses after any of them must still be
# rolled back, though nothing but the primitive it went through knows it wrote.
_NEW_WRITES: dict[str, Callable[[Session], None]] = {
    "run": lambda s: run(s, Statement("INSERT INTO t (k) VALUES (:k)"), {"k": 99}),
    "run_many": lambda s: run_many(s, Statement("INSERT INTO t (k) VALUES (:k)"), [{"k": 99}]),
    "upsert": lambda s: run_many(s, upsert("t", ("k",), ("k",), update=()), [{"k": 99}]),
    "update": lambda s: run(s, Statement("UPDATE t SET k = 99 WHERE k = 1"), {}),
    "sqlalchemy": lambda s: s.execute(text("DELETE FROM t WHERE k = 1")) and None,
}


@pytest.mark.parametrize("write", sorted(_NEW_WRITES))
async def test_any_new_write_then_a_refusal_rolls_the_batch_back(
    database: Database, write: str
) -> None:
    def write_then_refuse(session: Session) -> None:
        _NEW_WRITES[write](session)
        raise Refusal(409, "changed my mind")

    committer = GroupCommitter(database)
    committer.start()
    try:
        results = await run_blocked(committer, [insert(1), write_then_refuse, insert(2)])
    finally:
        committer.stop()
    assert results[0] == 1 and results[2] == 2
    assert isinstance(results[1], Refusal) and results[1].status == 409
    assert stored(database) == [1, 2]  # no 99, and 1 neither changed nor deleted
    assert committer.stats.retried_batches == 1


class _Base(DeclarativeBase):
    pass


class _T(_Base):
    __tablename__ = "t"
    k: Mapped[int] = mapped_column(primary_key=True)


async def test_an_unflushed_orm_change_then_a_refusal_rolls_the_batch_back(
    database: Database,
) -> None:
    def add_then_refuse(session: Session) -> None:
        session.add(_T(k=99))  # not flushed: no statement has run yet
        raise Refusal(409, "changed my mind")

    committer = GroupCommitter(database)
    committer.start()
    try:
        results = await run_blocked(committer, [insert(1), add_then_refuse, insert(2)])
    finally:
        committer.stop()
    assert isinstance(results[1], Refusal) and stored(database) == [1, 2]
    assert committer.stats.retried_batches == 1


def test_only_the_write_primitive_reaches_the_driver_connection() -> None:
    """A statement run on the DBAPI connection by any other way would go unrecorded."""
    reaching = sorted(
        str(path.relative_to(ROOT))
        for package in ("gateway", "oracle", "gridmirror")
        for path in (ROOT / package).rglob("*.py")
        if "driver_connection" in path.read_text()
    )
    assert reaching == ["oracle/statements.py"]


async def test_a_failing_job_gets_its_error_and_the_others_commit(database: Database) -> None:
    committer = GroupCommitter(database)
    committer.start()
    try:
        # the second insert of 5 violates the primary key
        results = await run_blocked(committer, [insert(5), insert(6), insert(5), insert(7)])
    finally:
        committer.stop()
    assert results[0] == 5 and results[1] == 6 and results[3] == 7
    assert isinstance(results[2], Exception) and not isinstance(results[2], Refusal)
    assert stored(database) == [5, 6, 7]


async def test_stop_finishes_the_queue_and_run_needs_a_writer(database: Database) -> None:
    committer = GroupCommitter(database)
    with pytest.raises(RuntimeError, match="not running"):
        await committer.run(insert(1))
    committer.start()
    pending = [asyncio.ensure_future(committer.run(insert(k))) for k in range(10)]
    await asyncio.sleep(0)
    await asyncio.to_thread(committer.stop)
    assert await asyncio.gather(*pending) == list(range(10))
    assert stored(database) == list(range(10))
    assert committer.run_now(insert(11)) == 11
