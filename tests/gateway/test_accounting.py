"""Register accounting, checked against a model: whatever the order, the grouping into
requests, the retries and the corrections, the outbox holds exactly one row per time at
which both registers exist, with their latest values, and a pair that has left for the
chain never changes."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from gateway.db import Database, open_database
from gateway.errors import Refusal
from gateway.ingest import Ingest, IngestRules
from gateway.peer import Peer, Role
from sep2 import Codec, MirrorMeterReadingList
from tests.gateway.conftest import mrids, reading, site_mup

T0 = 1_767_225_600
TIMES = (T0, T0 + 15, T0 + 30)
OPERATOR = Peer("F" * 40, 0, Role.OPERATOR)
_lfdis = (f"{n:040X}" for n in itertools.count(1))


@dataclass(frozen=True)
class Post:
    readings: tuple[tuple[str, int, int], ...]  # (register, time, value)


@dataclass(frozen=True)
class Confirm:
    pass


registers = st.tuples(
    st.sampled_from(("import", "export")), st.sampled_from(TIMES), st.integers(0, 10**6)
)
steps = st.lists(
    st.one_of(
        st.builds(Post, st.lists(registers, min_size=1, max_size=5).map(tuple)), st.just(Confirm())
    ),
    min_size=1,
    max_size=12,
)


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = open_database(database_url, synchronous="normal")
    db.ensure_schema()
    yield db
    db.dispose()


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=steps)
def test_outbox_matches_the_model(
    database: Database, codec: Codec, steps: list[Post | Confirm]
) -> None:
    lfdi = next(_lfdis)
    ids = mrids(lfdi)
    ingest = Ingest(codec, IngestRules(mirrors_per_device=4, max_future_skew=300), time.time)

    def run(job):  # type: ignore[no-untyped-def]
        with database.write_session() as session:
            return job(session)

    mirror_id = run(ingest.mirror_job(OPERATOR, site_mup(lfdi))).mirror_id
    model_readings: dict[tuple[str, int], int] = {}
    model_outbox: dict[int, tuple[int, int, str]] = {}
    for step in steps:
        if isinstance(step, Confirm):
            with database.write_session() as session:
                session.execute(
                    text("UPDATE outbox SET state = 'confirmed' WHERE lfdi = :l"), {"l": lfdi}
                )
            model_outbox = {t: (i, e, "confirmed") for t, (i, e, _) in model_outbox.items()}
            continue
        tentative = dict(model_readings)
        for register, t, value in step.readings:
            tentative[(register, t)] = value
        touched = {t for _, t, _ in step.readings}
        pairs = {
            t: (tentative[("import", t)], tentative[("export", t)])
            for t in touched
            if ("import", t) in tentative and ("export", t) in tentative
        }
        refused = any(
            t in model_outbox and model_outbox[t][2] == "confirmed" and model_outbox[t][:2] != pair
            for t, pair in pairs.items()
        )
        document = MirrorMeterReadingList(
            items=tuple(reading(ids[register], t, value) for register, t, value in step.readings)
        )
        try:
            run(ingest.readings_job(OPERATOR, mirror_id, document))
        except Refusal as exc:
            assert refused and exc.status == 409
        else:
            assert not refused
            model_readings = tentative
            for t, pair in pairs.items():
                if t not in model_outbox or model_outbox[t][2] == "pending":
                    model_outbox[t] = (*pair, "pending")
        with database.read_session() as session:
            outbox = {
                t: (i, e, s)
                for t, i, e, s in session.execute(
                    text(
                        "SELECT timestamp, import_wh, export_wh, state FROM outbox WHERE lfdi = :l"
                    ),
                    {"l": lfdi},
                )
            }
            stored = {
                (r, t): v
                for r, t, v in session.execute(
                    text(
                        "SELECT energy_register, start, value FROM reading WHERE device_lfdi = :l"
                    ),
                    {"l": lfdi},
                )
            }
        assert outbox == model_outbox
        assert stored == model_readings
