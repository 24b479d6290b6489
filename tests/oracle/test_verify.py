"""verify: a reading's proof checked against the chain, yes or no with why."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select

from oracle.outbox import OutboxEntry, enqueue
from oracle.verify import BadReference, parse_reference, verify_reading
from tests.oracle.harness import START, Bridge, Fleet, lfdi_of


def test_references() -> None:
    lfdi = lfdi_of(3)
    assert parse_reference(" 42 ") == 42
    assert parse_reference(f"{lfdi.lower()}@{START}") == (lfdi, START)
    iso = datetime.fromtimestamp(START + 15, UTC).isoformat().replace("+00:00", "Z")
    assert parse_reference(f"{lfdi}@{iso}") == (lfdi, START + 15)
    for bad in ("x", f"{lfdi}@yesterday", f"{lfdi}@2026-01-01T00:00:00", "ABC@5"):
        with pytest.raises(BadReference):
            parse_reference(bad)


async def test_yes_for_a_confirmed_reading_no_for_anything_else(bridge: Bridge) -> None:
    fleet = Fleet(3)
    fleet.post(bridge.engine, START + 3000, 20)
    await asyncio.wait_for(bridge.worker.run(drain=True), 60)
    program = bridge.oracle.program
    with Session(bridge.engine) as s:
        rows = list(s.exec(select(OutboxEntry).order_by(OutboxEntry.id)))
    for row in rows[::7]:
        by_id = await verify_reading(bridge.engine, bridge.chain, program, str(row.id))
        assert by_id.ok, by_id.reason
        by_time = await verify_reading(
            bridge.engine, bridge.chain, program, f"{row.lfdi}@{row.timestamp}"
        )
        assert by_time.ok and by_time.facts["signature"] == row.signature

    target = rows[10]

    def tamper(**values: object) -> None:
        with Session(bridge.engine) as s, s.begin():
            r = s.get(OutboxEntry, target.id)
            assert r is not None
            for k, v in values.items():
                setattr(r, k, v)
            s.add(r)

    async def check(reference: str = str(target.id)) -> tuple[bool, str]:
        verdict = await verify_reading(bridge.engine, bridge.chain, program, reference)
        return verdict.ok, verdict.reason

    tamper(export_wh=target.export_wh + 1)  # the database says something the chain did not
    assert await check() == (
        False,
        "the proof does not lead from this reading's leaf to the event's root",
    )
    tamper(export_wh=target.export_wh, proof=rows[11].proof)  # another reading's proof
    assert not (await check())[0]
    tamper(proof=target.proof, tx_position=999)  # a position the batch does not have
    assert await check() == (False, "the batch has no reading at the stored position")
    tamper(tx_position=target.tx_position, signature=rows[-1].signature)  # another batch
    ok, why = await check()
    assert not ok and ("batch" in why or "proof" in why)
    tamper(signature=target.signature)
    assert (await check())[0]

    with Session(bridge.engine) as s, s.begin():
        enqueue(s, lfdi=lfdi_of(9), timestamp=START + 3000, import_wh=1, export_wh=1, now=0.0)
    assert await check(f"{lfdi_of(9)}@{START + 3000}") == (
        False,
        "not on chain: it is waiting to be submitted",
    )
    assert await check("999999") == (False, "no reading 999999 in the database")
