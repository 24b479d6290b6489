"""Accounting: readings posted over REST move the meter's registers by exactly their
energies, in the same tables the 2030.5 readings use."""

from __future__ import annotations

import itertools
import time
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.registration import pre_register
from tests.gateway.api.conftest import EPOCH, ApiHarness, payload

kwh = st.decimals(min_value=0, max_value=Decimal("50"), places=6, allow_nan=False)
_serial = itertools.count(1)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(st.tuples(kwh, kwh, st.integers(1, 900)), min_size=1, max_size=8),
    st.booleans(),
)
def test_rest_readings_move_registers_exactly(
    sqlite_api: ApiHarness, steps: list[tuple[Decimal, Decimal, int]], as_batch: bool
) -> None:
    api = sqlite_api
    lfdi = f"{next(_serial):040X}"
    with api.runtime.database.write_session() as session:
        pre_register(session, lfdi, 111115, int(time.time()))
    when = EPOCH
    bodies = []
    for generated, consumed, gap in steps:
        when += gap
        bodies.append(payload(api.key, lfdi, when, generated, consumed))
    if as_batch:
        response = api.client.post(
            "/api/v1/meters/readings/batch", json={"readings": bodies}, headers=api.headers()
        )
        assert response.status_code == 201, response.text
    else:
        for body in bodies:
            response = api.client.post("/api/v1/meters/readings", json=body, headers=api.headers())
            assert response.status_code == 201, response.text
    imported = exported = 0
    expected_pairs = []
    for (generated, consumed, _), body in zip(steps, bodies, strict=True):
        imported += int(consumed * 1_000_000)
        exported += int(generated * 1_000_000)
        expected_pairs.append((body["timestamp"], imported // 1000, exported // 1000))
    assert (
        api.sql(
            "SELECT timestamp, import_wh, export_wh FROM outbox WHERE lfdi = :l ORDER BY timestamp",
            l=lfdi,
        )
        == expected_pairs
    )
    registers = api.sql(
        "SELECT energy_register, value FROM reading WHERE device_lfdi = :l "
        "AND start = :t ORDER BY energy_register",
        l=lfdi,
        t=when,
    )
    assert registers == [("export", exported), ("import", imported)]
    # The signed rows keep each interval's energies exactly.
    kept = api.sql(
        "SELECT energy_generated_kwh, energy_consumed_kwh FROM signed_reading WHERE lfdi = :l "
        "ORDER BY timestamp",
        l=lfdi,
    )
    assert [(Decimal(g), Decimal(c)) for g, c in kept] == [(g, c) for g, c, _ in steps]
