"""Which worker may put which meter's readings on chain: leases per meter.

A meter's readings must reach the chain in timestamp order, and the program takes only
the first of two transactions that carry the same meter out of order (the later reading
would turn the earlier into a "duplicate"). So exactly one worker at a time sends a
meter's readings: the one holding its lease row (key: the LFDI). A lease lasts
``lease_s`` from its last renewal; a crashed worker's meters pass to another one after
that, and the new holder first resolves the transactions the old one left (by signature)
before it sends anything new for them.

Claims are made in short transactions. On PostgreSQL the lease rows are taken with
``FOR UPDATE SKIP LOCKED``, so workers never wait on each other's claims; on SQLite
(one writer at a time, ``BEGIN IMMEDIATE``) the same statements are simply serialized.
Every write that sends a meter's readings off (:func:`hold`) re-checks the lease in the
same database transaction, so a worker that lost its lease while paused cannot send.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from sqlalchemy import Engine, and_, func, or_, select, update
from sqlmodel import Session, col

from oracle.outbox import OPEN_STATES, OutboxEntry, OutboxState
from oracle.records import Lease
from oracle.statements import run_many, upsert

CLEARING_KEY = "clearing"

_ADD_LEASE = upsert("lease", ("key", "holder", "expires_at"), ("key",), update=())


class LeaseLost(Exception):
    """This worker no longer holds a lease it needs; the work goes back for another try."""


def _insert_missing(session: Session, keys: Collection[str]) -> None:
    if not keys:
        return
    # Sorted: two workers inserting overlapping keys take the index locks in one order.
    rows = [{"key": k, "holder": None, "expires_at": 0.0} for k in sorted(set(keys))]
    run_many(session, _ADD_LEASE, rows)


def _take(
    session: Session, worker: str, keys: Sequence[str], now: float, lease_s: float
) -> list[str]:
    """Lock the free (or expired, or own) lease rows among ``keys`` and make them ours."""
    if not keys:
        return []
    free = (
        select(col(Lease.key))
        .where(
            col(Lease.key).in_(keys),
            or_(
                col(Lease.holder).is_(None),
                col(Lease.holder) == worker,
                col(Lease.expires_at) < now,
            ),
        )
        .order_by(Lease.key)
        .with_for_update(skip_locked=True)
    )
    got = list(session.execute(free).scalars())
    if got:
        session.execute(
            update(Lease)
            .where(col(Lease.key).in_(got))
            .values(holder=worker, expires_at=now + lease_s)
        )
    return got


def claim_meters(
    engine: Engine,
    worker: str,
    now: float,
    *,
    lease_s: float,
    limit: int,
    read_engine: Engine | None = None,
) -> list[str]:
    """Claim (or renew) up to ``limit`` meters that have work: LFDIs now held by ``worker``.

    A meter has work when its earliest open row (pending, in flight or dead) is in flight
    (a transaction to resolve) or pending and due. A meter whose earliest open row is dead
    is parked: its later rows wait behind it until an operator re-drives it, because
    sending them first would leave the dead one forever a duplicate on chain.
    """
    heads = (
        select(col(OutboxEntry.lfdi), func.min(OutboxEntry.timestamp).label("ts"))
        .where(col(OutboxEntry.state).in_(OPEN_STATES))
        .group_by(OutboxEntry.lfdi)
        .subquery()
    )
    candidates = (
        select(col(OutboxEntry.lfdi), col(Lease.holder), col(Lease.expires_at))
        .join(
            heads,
            and_(
                col(OutboxEntry.lfdi) == heads.c.lfdi,
                col(OutboxEntry.timestamp) == heads.c.ts,
            ),
        )
        .outerjoin(Lease, col(Lease.key) == col(OutboxEntry.lfdi))
        .where(
            or_(
                col(OutboxEntry.state) == OutboxState.IN_FLIGHT.value,
                and_(
                    col(OutboxEntry.state) == OutboxState.PENDING.value,
                    col(OutboxEntry.next_attempt_at) <= now,
                ),
            ),
            or_(
                col(Lease.key).is_(None),
                col(Lease.holder).is_(None),
                col(Lease.holder) == worker,
                col(Lease.expires_at) < now,
            ),
        )
        # our own meters first (renewals), then the longest waiting
        .order_by((func.coalesce(Lease.holder, "") == worker).desc(), col(OutboxEntry.accepted_at))
        .limit(limit)
    )
    # Looked up without the write lock: when every candidate is ours for a while yet (the
    # steady state of a worker), no write is needed, which matters on SQLite's one writer.
    with Session(read_engine or engine) as session:
        found = session.execute(candidates).all()
    ours = [k for k, holder, until in found if holder == worker and until >= now + lease_s / 2]
    mine = set(ours)
    rest = [k for k, _, _ in found if k not in mine]
    if not rest:
        return ours
    with Session(engine) as session, session.begin():
        _insert_missing(session, rest)
        return ours + _take(session, worker, rest, now, lease_s)


def hold(session: Session, worker: str, keys: Collection[str], now: float, lease_s: float) -> None:
    """Renew leases inside the caller's transaction; LeaseLost unless all are still ours."""
    if not keys:
        return
    result = session.execute(
        update(Lease)
        .where(col(Lease.key).in_(list(keys)), col(Lease.holder) == worker)
        .values(expires_at=now + lease_s)
    )
    if result.rowcount != len(set(keys)):  # type: ignore[attr-defined]
        raise LeaseLost(f"worker {worker} lost a lease among {len(keys)} meters")


def release(engine: Engine, worker: str, keys: Collection[str]) -> None:
    """Give up leases (those still ours), so any worker may take the meters next."""
    if not keys:
        return
    with Session(engine) as session, session.begin():
        session.execute(
            update(Lease)
            .where(col(Lease.key).in_(list(keys)), col(Lease.holder) == worker)
            .values(holder=None, expires_at=0.0)
        )


def release_all(engine: Engine, worker: str) -> None:
    """Give up every lease ``worker`` holds (a clean stop)."""
    with Session(engine) as session, session.begin():
        session.execute(
            update(Lease).where(col(Lease.holder) == worker).values(holder=None, expires_at=0.0)
        )


def reap_local(engine: Engine, host: str, alive: Callable[[int], bool]) -> list[str]:
    """Free the leases of workers on this host whose process is gone; the keys freed.

    Worker ids are ``host:pid:random`` (:func:`oracle.worker.default_worker_id`), so a
    worker restarted after a crash need not wait out its predecessor's leases. A pid that
    was reused by another process looks alive: then the leases simply expire.
    """
    prefix = f"{host}:"
    with Session(engine) as session, session.begin():
        holders = session.execute(
            select(col(Lease.holder)).where(col(Lease.holder).startswith(prefix)).distinct()
        ).scalars()
        gone = []
        for holder in holders:
            assert holder is not None
            pid = holder[len(prefix) :].split(":", 1)[0]
            if pid.isdigit() and not alive(int(pid)):
                gone.append(holder)
        if not gone:
            return []
        keys = list(
            session.execute(select(col(Lease.key)).where(col(Lease.holder).in_(gone))).scalars()
        )
        session.execute(
            update(Lease).where(col(Lease.holder).in_(gone)).values(holder=None, expires_at=0.0)
        )
        return keys


def claim_crank(engine: Engine, worker: str, now: float, *, lease_s: float) -> bool:
    """Claim (or renew) the clearing crank: True if ``worker`` may clear epochs now."""
    with Session(engine) as session, session.begin():
        _insert_missing(session, [CLEARING_KEY])
        return bool(_take(session, worker, [CLEARING_KEY], now, lease_s))
