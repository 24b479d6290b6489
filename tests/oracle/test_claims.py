"""Leases per meter: one worker per meter, expiry, fencing, parked meters, the crank."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy
from sqlmodel import Session, select

from oracle import claims
from oracle.outbox import OutboxEntry, OutboxState, enqueue
from tests.oracle.harness import lfdi_of


def post(engine: sqlalchemy.Engine, meters: range, times: range, now: float = 1.0) -> None:
    with Session(engine) as s, s.begin():
        for m in meters:
            for t in times:
                enqueue(s, lfdi=lfdi_of(m), timestamp=t, import_wh=t, export_wh=t, now=now + m)


def set_state(engine: sqlalchemy.Engine, lfdi: str, timestamp: int, state: OutboxState) -> None:
    with Session(engine) as s, s.begin():
        row = s.exec(
            select(OutboxEntry).where(OutboxEntry.lfdi == lfdi, OutboxEntry.timestamp == timestamp)
        ).one()
        row.state = state.value
        s.add(row)


def test_workers_split_the_meters_and_leases_expire(engine: sqlalchemy.Engine) -> None:
    post(engine, range(10), range(100, 103))
    a = claims.claim_meters(engine, "a", 10.0, lease_s=30, limit=4)
    b = claims.claim_meters(engine, "b", 10.0, lease_s=30, limit=100)
    assert len(a) == 4 and len(b) == 6 and not set(a) & set(b)
    assert a == [lfdi_of(m) for m in range(4)]  # the longest waiting first
    assert claims.claim_meters(engine, "c", 39.0, lease_s=30, limit=100) == []
    # a worker gets its own meters back first; with half the lease left, nothing is written
    assert claims.claim_meters(engine, "a", 20.0, lease_s=30, limit=2) == a[:2]
    # past half of it, they are renewed
    assert claims.claim_meters(engine, "a", 26.0, lease_s=30, limit=2) == a[:2]
    # a worker that went quiet loses what it did not renew
    taken = claims.claim_meters(engine, "c", 45.0, lease_s=30, limit=100)
    assert sorted(taken) == sorted(a[2:] + b)
    with Session(engine) as s, pytest.raises(claims.LeaseLost), s.begin():
        claims.hold(s, "b", b, 46.0, 30)
    with Session(engine) as s, s.begin():
        claims.hold(s, "c", taken, 46.0, 30)  # still all ours
    claims.release(engine, "c", taken)
    assert sorted(claims.claim_meters(engine, "b", 47.0, lease_s=30, limit=100)) == sorted(taken)


def test_only_meters_with_work_are_claimed(engine: sqlalchemy.Engine) -> None:
    post(engine, range(4), range(100, 103))
    # meter 0: all confirmed; 1: head in flight (to resolve); 2: head dead (parked);
    # 3: head waiting out a backoff
    for t in range(100, 103):
        set_state(engine, lfdi_of(0), t, OutboxState.CONFIRMED)
    set_state(engine, lfdi_of(1), 100, OutboxState.IN_FLIGHT)
    set_state(engine, lfdi_of(2), 100, OutboxState.DEAD)
    with Session(engine) as s, s.begin():
        row = s.exec(
            select(OutboxEntry).where(OutboxEntry.lfdi == lfdi_of(3), OutboxEntry.timestamp == 100)
        ).one()
        row.next_attempt_at = 50.0
        s.add(row)
    assert claims.claim_meters(engine, "w", 10.0, lease_s=30, limit=10) == [lfdi_of(1)]
    assert lfdi_of(3) in claims.claim_meters(engine, "w", 60.0, lease_s=30, limit=10)


def test_one_cranker_at_a_time(engine: sqlalchemy.Engine) -> None:
    assert claims.claim_crank(engine, "a", 0.0, lease_s=10)
    assert not claims.claim_crank(engine, "b", 5.0, lease_s=10)
    assert claims.claim_crank(engine, "a", 5.0, lease_s=10)
    assert claims.claim_crank(engine, "b", 16.0, lease_s=10)
    claims.release_all(engine, "b")
    assert claims.claim_crank(engine, "a", 16.5, lease_s=10)


def test_concurrent_claims_never_overlap(engine: sqlalchemy.Engine) -> None:
    post(engine, range(40), range(100, 102))
    got: dict[str, list[str]] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def claim(worker: str) -> None:
        try:
            barrier.wait()
            mine: list[str] = []
            for _ in range(5):
                mine += claims.claim_meters(engine, worker, 10.0, lease_s=30, limit=3)
            got[worker] = mine
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    everyone = [lfdi for mine in got.values() for lfdi in set(mine)]
    assert len(everyone) == len(set(everyone))  # no meter held by two workers


def test_a_crashed_local_workers_leases_are_freed(engine: sqlalchemy.Engine) -> None:
    post(engine, range(3), range(100, 101))
    dead = claims.claim_meters(engine, "box:4242:aa", 10.0, lease_s=300, limit=2)
    live = claims.claim_meters(engine, "box:77:bb", 10.0, lease_s=300, limit=5)
    other = claims.claim_crank(engine, "elsewhere:4242:cc", 10.0, lease_s=300)
    assert len(dead) == 2 and len(live) == 1 and other
    freed = claims.reap_local(engine, "box", lambda pid: pid != 4242)
    assert sorted(freed) == sorted(dead)  # the other host's lease is not ours to judge
    assert sorted(claims.claim_meters(engine, "box:99:dd", 11.0, lease_s=30, limit=5)) == sorted(
        dead
    )
