from __future__ import annotations

import pytest
import sqlalchemy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, SQLModel, create_engine, select

from oracle.outbox import OutboxEntry, OutboxState, enqueue, enqueue_pairs

LFDI = "3E4F45AB31EDFE5B67E343E5E4562E31984E23E5"


@pytest.fixture
def engine(database_url: str) -> sqlalchemy.Engine:
    eng = create_engine(database_url)
    SQLModel.metadata.create_all(eng, tables=[OutboxEntry.__table__])  # type: ignore[list-item]
    yield eng
    eng.dispose()


def rows(engine: sqlalchemy.Engine) -> list[OutboxEntry]:
    with Session(engine) as s:
        return list(s.exec(select(OutboxEntry).order_by(OutboxEntry.timestamp)))


def test_one_row_per_meter_and_time(engine: sqlalchemy.Engine) -> None:
    with Session(engine) as s:
        enqueue(s, lfdi=LFDI, timestamp=100, import_wh=10, export_wh=1, now=1.0)
        enqueue(s, lfdi=LFDI, timestamp=100, import_wh=11, export_wh=2, now=2.0)
        enqueue(s, lfdi=LFDI, timestamp=115, import_wh=12, export_wh=2, now=3.0)
        s.commit()
    got = rows(engine)
    assert [(r.timestamp, r.import_wh, r.export_wh, r.state) for r in got] == [
        (100, 11, 2, OutboxState.PENDING),
        (115, 12, 2, OutboxState.PENDING),
    ]


def test_a_pair_that_left_is_never_rewritten(engine: sqlalchemy.Engine) -> None:
    with Session(engine) as s:
        enqueue(s, lfdi=LFDI, timestamp=100, import_wh=10, export_wh=1, now=1.0)
        s.commit()
        row = s.exec(select(OutboxEntry)).one()
        row.state = OutboxState.CONFIRMED
        s.add(row)
        s.commit()
        enqueue(s, lfdi=LFDI, timestamp=100, import_wh=99, export_wh=99, now=2.0)
        s.commit()
    (row,) = rows(engine)
    assert (row.import_wh, row.export_wh, row.state) == (10, 1, OutboxState.CONFIRMED)


def test_nothing_is_written_when_the_caller_rolls_back(engine: sqlalchemy.Engine) -> None:
    with Session(engine) as s:
        enqueue(s, lfdi=LFDI, timestamp=100, import_wh=10, export_wh=1, now=1.0)
        s.rollback()
    assert rows(engine) == []


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 2**62), st.integers(0, 2**62)),
        max_size=12,
    )
)
def test_last_write_wins_per_time_while_pending(
    tmp_path_factory: pytest.TempPathFactory, writes: list[tuple[int, int, int]]
) -> None:
    eng = create_engine(f"sqlite:///{tmp_path_factory.mktemp('o') / 'o.db'}")
    SQLModel.metadata.create_all(eng, tables=[OutboxEntry.__table__])  # type: ignore[list-item]
    expected: dict[int, tuple[int, int]] = {}
    with Session(eng) as s:
        for ts, imp, exp in writes:
            enqueue(s, lfdi=LFDI, timestamp=ts, import_wh=imp, export_wh=exp, now=0.0)
            expected[ts] = (imp, exp)
        s.commit()
    assert {r.timestamp: (r.import_wh, r.export_wh) for r in rows(eng)} == expected
    eng.dispose()


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 3),  # time
            st.integers(0, 2**62),  # import
            st.integers(0, 2**62),  # export
            st.booleans(),  # through enqueue_pairs (else enqueue)
            st.sampled_from([None, OutboxState.IN_FLIGHT, OutboxState.CONFIRMED]),  # then
        ),
        max_size=10,
    )
)
def test_a_pending_pair_is_corrected_and_one_that_left_is_kept(
    engine: sqlalchemy.Engine, writes: list[tuple[int, int, int, bool, OutboxState | None]]
) -> None:
    with engine.begin() as conn:
        conn.execute(OutboxEntry.__table__.delete())  # type: ignore[attr-defined]
    expected: dict[int, tuple[int, int, str, float]] = {}
    for n, (ts, imp, exp, raw, then) in enumerate(writes):
        with Session(engine) as s:
            if raw:
                enqueue_pairs(s, LFDI, {ts: (imp, exp)}, float(n))
            else:
                enqueue(s, lfdi=LFDI, timestamp=ts, import_wh=imp, export_wh=exp, now=float(n))
            s.commit()
        old = expected.get(ts)
        if old is None:
            expected[ts] = (imp, exp, OutboxState.PENDING.value, float(n))
        elif old[2] == OutboxState.PENDING.value:
            expected[ts] = (imp, exp, old[2], old[3])  # accepted_at stays the first one's
        if then is not None:
            with engine.begin() as conn:
                table = OutboxEntry.__table__  # type: ignore[attr-defined]
                conn.execute(table.update().where(table.c.timestamp == ts).values(state=then))
            imp_, exp_, _, at = expected[ts]
            expected[ts] = (imp_, exp_, then.value, at)
    got = {r.timestamp: (r.import_wh, r.export_wh, r.state, r.accepted_at) for r in rows(engine)}
    assert got == expected
