"""Group commit: one writer thread, many requests' writes per transaction.

SQLite allows one writer at a time, and a durable commit costs an fsync. So every write of
the 2030.5 server is a *job* (a function of a Session) handed to one writer thread, which
runs all the jobs waiting at that moment in one transaction, commits once, and only then
answers each of them. A 201 therefore still means "committed": the commit just carries
many requests. The writer lingers ``batch_linger`` (5 ms by default) after the first job
of a batch for others to join: under light load a batch is one job that waited those few
milliseconds; under heavy load batches grow (up to ``batch_limit``) and the fsync is
shared.

One job's refusal must not sink the others in its batch. A job refuses by raising
:class:`gateway.errors.Refusal`; if it did so before writing anything (jobs check first,
then write), the batch goes on without it. Any other failure, or a refusal after a write,
rolls the batch back, and its jobs are run again one per transaction, so each gets its own
answer and nothing of a failed job is stored. Whether a job wrote is known exactly and
needs no help from the job: every writing statement is recorded where
``oracle.statements.writes`` reads it, by ``oracle.statements.run``/``run_many`` for the
SQL of the hot path and by a cursor hook here for everything SQLAlchemy runs; an ORM
change a job left unflushed counts as a write too.

A connection the database dropped (a restart, an idle timeout, an administrator's
pg_terminate_backend) surfaces only when the writer next uses it; its transaction rolled
back, so the batch is run once more on a fresh connection before anyone is answered.

The writer thread also keeps the blocking database work off the event loop. Jobs are
plain functions and must be safe to run twice (the retry above): ours are upserts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, event
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from gateway.db import Database
from gateway.errors import Refusal
from oracle.statements import is_write, record_write, writes

log = logging.getLogger(__name__)

T = TypeVar("T")
Job = Callable[[Session], T]

_STOP = object()


@dataclass
class _Pending(Generic[T]):
    job: Job[T]
    future: asyncio.Future[T]
    loop: asyncio.AbstractEventLoop


@dataclass
class CommitStats:
    """What the writer has done, for benchmarks and metrics."""

    batches: int = 0
    jobs: int = 0
    refused: int = 0
    retried_batches: int = 0
    reconnects: int = 0
    largest_batch: int = 0
    commit_seconds: float = 0.0
    sizes: dict[int, int] = field(default_factory=dict)


class GroupCommitter:
    """The single writer of the database (see the module docstring)."""

    def __init__(self, database: Database, *, batch_limit: int = 256, linger: float = 0.0) -> None:
        self._database = database
        self._batch_limit = batch_limit
        self._linger = linger
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._connection: Connection | None = None
        self.stats = CommitStats()
        event.listen(database.write, "before_cursor_execute", self._count_write)

    @staticmethod
    def _count_write(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if is_write(statement):
            record_write(conn.info)

    def start(self) -> None:
        """Start the writer thread."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="gridmirror-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Finish every queued job, then stop the writer thread."""
        if self._thread is None:
            return
        self._queue.put(_STOP)
        self._thread.join()
        self._thread = None

    async def run(self, job: Job[T]) -> T:
        """Run ``job`` in the next batch; its result once that batch is committed."""
        if self._thread is None:
            raise RuntimeError("the writer is not running")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Pending(job, future, loop))
        return await future

    def run_now(self, job: Job[T]) -> T:
        """Run ``job`` in a transaction of its own on the calling thread (CLI, tests)."""
        with self._database.write_session() as session:
            return job(session)

    # --- the writer thread ---------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._serve_queue()
        finally:
            self._drop_connection()

    def _serve_queue(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch = [first]
            stop = False
            if self._linger > 0:
                # Sleep through the linger, then take what came: waiting on the queue
                # instead would wake this thread for every arrival, and each wake-up's GIL
                # hand-off costs the event loop's thread more than the job's own Python.
                time.sleep(self._linger)
            while len(batch) < self._batch_limit:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                batch.append(item)
            self._commit(batch)
            if stop:
                return

    def _writer_connection(self) -> Connection:
        # One connection for the writer's lifetime: checking a connection out of the pool
        # and resetting it on return cost more per batch than a small batch's work.
        if self._connection is None or self._connection.closed:
            self._connection = self._database.write.connect()
        return self._connection

    def _drop_connection(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.close()
            self._connection = None

    def _commit(self, batch: list[_Pending[Any]], *, reconnected: bool = False) -> None:
        started = time.perf_counter()
        outcomes: list[tuple[_Pending[Any], bool, Any]] = []
        try:
            with (
                Session(self._writer_connection(), expire_on_commit=False) as session,
                session.begin(),
            ):
                info = session.connection().info
                for pending in batch:
                    before = writes(info)
                    try:
                        outcomes.append((pending, True, pending.job(session)))
                    except Refusal as refusal:
                        if writes(info) != before or _unflushed(session):
                            raise _DirtyRefusal from refusal
                        outcomes.append((pending, False, refusal))
        except Exception as exc:
            self._drop_connection()  # it may be broken; the next batch gets a fresh one
            if not reconnected and _connection_lost(exc):
                self.stats.reconnects += 1
                log.warning(
                    "database connection lost; retrying on a new one",
                    extra={"error": str(exc).splitlines()[0]},
                )
                self._commit(batch, reconnected=True)
                return
            if len(batch) == 1:
                self._settle(batch[0], False, _cause(exc))
                return
            # Someone's failure spoiled the batch: run each job alone for its own answer.
            self.stats.retried_batches += 1
            log.info("batch rolled back, retrying its jobs one by one", extra={"jobs": len(batch)})
            for pending in batch:
                self._commit([pending])
            return
        stats = self.stats
        stats.batches += 1
        stats.jobs += len(batch)
        stats.largest_batch = max(stats.largest_batch, len(batch))
        stats.sizes[len(batch)] = stats.sizes.get(len(batch), 0) + 1
        stats.commit_seconds += time.perf_counter() - started
        stats.refused += sum(1 for _, ok, _ in outcomes if not ok)
        self._settle_all(outcomes)

    @classmethod
    def _settle(cls, pending: _Pending[Any], ok: bool, value: Any) -> None:
        cls._settle_all([(pending, ok, value)])

    @staticmethod
    def _settle_all(outcomes: list[tuple[_Pending[Any], bool, Any]]) -> None:
        """Answer the jobs, with one wake-up of each event loop for the whole batch."""
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Pending[Any], bool, Any]]] = {}
        for outcome in outcomes:
            by_loop.setdefault(outcome[0].loop, []).append(outcome)

        def settle(group: list[tuple[_Pending[Any], bool, Any]]) -> None:
            for pending, ok, value in group:
                if pending.future.done():  # the request went away; its writes stand
                    continue
                if ok:
                    pending.future.set_result(value)
                else:
                    pending.future.set_exception(value)

        for loop, group in by_loop.items():
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting
                loop.call_soon_threadsafe(settle, group)


class _DirtyRefusal(Exception):
    """A job refused after it had written: the batch must be rolled back."""


def _unflushed(session: Session) -> bool:
    """Whether ``session`` holds ORM changes it has not sent yet (the commit would)."""
    return bool(session.new or session.dirty or session.deleted)


def _connection_lost(exc: BaseException) -> bool:
    """True when ``exc`` says the database connection itself is gone."""
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def _cause(exc: BaseException) -> BaseException:
    if isinstance(exc, _DirtyRefusal) and exc.__cause__ is not None:
        return exc.__cause__
    return exc
