"""submit_readings: acceptance rules, statuses, events, the Merkle root, refusals."""

from __future__ import annotations

import struct

import pytest
from solders.account import Account
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from anchor import instructions as ix
from anchor.abi import PROGRAM_ID, OracleError, ReadingStatus, instruction_discriminator
from anchor.events import ReadingRejected, ReadingsSubmitted
from anchor.instructions import Reading
from anchor.merkle import EMPTY_ROOT, leaf_hash, merkle_root
from anchor.pda import meter_address
from anchor.testbed import GENESIS_TS, Testbed
from tests.anchor.test_admin import fails_with, replace_account

T0 = GENESIS_TS + 60  # a reading time inside the first epoch of the testbed
S = ReadingStatus


def fleet(tb: Testbed, n: int, rated_power_w: int = 10_000) -> tuple[list[bytes], list[Pubkey]]:
    lfdis = [bytes([i + 1]) * 20 for i in range(n)]
    owner = Keypair().pubkey()
    return lfdis, [tb.register_meter(lfdi, owner, rated_power_w) for lfdi in lfdis]


def batch_event(result: object) -> ReadingsSubmitted:
    events = [e for e in result.events if isinstance(e, ReadingsSubmitted)]  # type: ignore[attr-defined]
    assert len(events) == 1
    return events[0]


def test_a_first_reading_sets_the_baseline(tb: Testbed) -> None:
    lfdis, meters = fleet(tb, 1)
    tb.set_time(T0)
    result = tb.submit(meters, [Reading(0, T0, 123_456, 7_890)])
    assert result.ok, result.logs
    m = tb.meter_account(lfdis[0])
    assert (m.import_wh, m.export_wh, m.last_reading_ts) == (123_456, 7_890, T0)
    assert (m.settled_import_wh, m.settled_export_wh) == (123_456, 7_890)
    assert (m.snapshot_epoch, m.last_cleared_epoch, m.readings_accepted) == (-1, -1, 1)
    event = batch_event(result)
    assert (event.batch, event.unix_timestamp, event.accepted) == (1, T0, 1)
    assert event.statuses == (S.ACCEPTED,)
    assert event.merkle_root == merkle_root([leaf_hash(lfdis[0], T0, 123_456, 7_890)])


def test_statuses_counts_and_root_of_a_mixed_batch(tb: Testbed) -> None:
    lfdis, meters = fleet(tb, 3, rated_power_w=3_600)  # 1 Wh per second
    tb.set_time(T0)
    assert tb.submit(meters, [Reading(i, T0, 1_000, 500) for i in range(3)]).ok
    t = T0 + 100
    tb.set_time(t)
    readings = [
        Reading(0, t, 1_050, 550),  # accepted: 100 Wh in 100 s (limit 100 + 1)
        Reading(1, T0, 1_000, 500),  # duplicate: same time
        Reading(2, t, 999, 600),  # register decreased
        Reading(1, t + 61, 1_001, 500),  # future: now + 60 s skew is the limit
        Reading(1, t + 60, 1_001, 500),  # accepted: exactly at the limit
        Reading(2, t, 1_060, 541),  # accepted: 101 Wh in 100 s; 100 + 1 of quantisation
        Reading(0, t + 1, 1_052, 550),  # accepted: 2 Wh in 1 s (limit 1 + 1)
        Reading(0, t + 2, 1_055, 550),  # exceeds rated power: 3 Wh in 1 s
        Reading(0, 0, 0, 0),  # bad timestamp
        Reading(0, -5, 0, 0),  # bad timestamp
        Reading(0, t - 1, 1_052, 550),  # duplicate: before the last one
    ]
    result = tb.submit(meters, readings)
    assert result.ok, result.logs
    event = batch_event(result)
    expected = (
        S.ACCEPTED,
        S.DUPLICATE,
        S.REGISTER_DECREASED,
        S.FUTURE,
        S.ACCEPTED,
        S.ACCEPTED,
        S.ACCEPTED,
        S.EXCEEDS_RATED_POWER,
        S.BAD_TIMESTAMP,
        S.BAD_TIMESTAMP,
        S.DUPLICATE,
    )
    assert event.statuses == expected
    assert (event.accepted, event.duplicates, event.rejected) == (4, 2, 5)
    accepted = [r for r, s in zip(readings, expected, strict=True) if s == S.ACCEPTED]
    leaves = [
        leaf_hash(lfdis[r.meter_index], r.timestamp, r.import_wh, r.export_wh) for r in accepted
    ]
    assert event.merkle_root == merkle_root(leaves)

    rejected = [e for e in result.events if isinstance(e, ReadingRejected)]
    assert [(e.index, e.reason) for e in rejected] == [
        (2, S.REGISTER_DECREASED),
        (3, S.FUTURE),
        (7, S.EXCEEDS_RATED_POWER),
        (8, S.BAD_TIMESTAMP),
        (9, S.BAD_TIMESTAMP),
    ]
    assert rejected[0] == ReadingRejected(2, 2, lfdis[2], t, 999, 600, S.REGISTER_DECREASED)

    m0, m1, m2 = (tb.meter_account(lfdi) for lfdi in lfdis)
    assert (m0.import_wh, m0.export_wh, m0.last_reading_ts) == (1_052, 550, t + 1)
    assert (m1.import_wh, m1.last_reading_ts) == (1_001, t + 60)
    assert (m2.import_wh, m2.export_wh, m2.last_reading_ts) == (1_060, 541, t)
    assert (m0.readings_accepted, m0.readings_rejected, m0.readings_duplicate) == (3, 3, 1)
    assert (m1.readings_accepted, m1.readings_rejected, m1.readings_duplicate) == (2, 1, 1)
    assert (m2.readings_accepted, m2.readings_rejected) == (2, 1)
    c = tb.config_account()
    assert (c.readings_accepted, c.readings_duplicate, c.readings_rejected, c.batches) == (
        7,
        2,
        5,
        2,
    )


def test_a_batch_sent_twice_changes_no_register(tb: Testbed) -> None:
    lfdis, meters = fleet(tb, 4)
    tb.set_time(T0 + 30)
    readings = [Reading(i, T0 + i, 100 * i, 10 * i) for i in range(4)]
    readings += [Reading(i, T0 + 15 + i, 100 * i + 1, 10 * i + 1) for i in range(4)]
    first = tb.submit(meters, readings)
    assert first.ok and batch_event(first).accepted == 8
    state = [tb.meter_account(lfdi) for lfdi in lfdis]
    second = tb.submit(meters, readings)
    assert second.ok
    event = batch_event(second)
    assert event.statuses == (S.DUPLICATE,) * 8
    assert (event.accepted, event.duplicates, event.merkle_root) == (0, 8, EMPTY_ROOT)
    for before, lfdi in zip(state, lfdis, strict=True):
        after = tb.meter_account(lfdi)
        assert (after.import_wh, after.export_wh, after.last_reading_ts) == (
            before.import_wh,
            before.export_wh,
            before.last_reading_ts,
        )
        assert (after.settled_import_wh, after.snapshot_epoch) == (
            before.settled_import_wh,
            before.snapshot_epoch,
        )
        assert after.readings_duplicate == before.readings_duplicate + 2


def test_crossing_an_epoch_end_keeps_a_snapshot(tb: Testbed) -> None:
    lfdis, meters = fleet(tb, 1, rated_power_w=100_000)
    end0 = GENESIS_TS + 900  # the end of the testbed's first epoch
    e0 = (end0 - 1) // 900
    tb.set_time(end0 - 100)
    steps = [
        (end0 - 100, 10, 0),
        (end0, 20, 5),  # exactly at the end: still closes epoch e0
        (end0 + 1, 21, 5),  # the first reading of e0 + 1: snapshot = registers at end0
        (end0 + 900, 30, 9),  # closes e0 + 1: no new snapshot
        (end0 + 901, 31, 9),  # into e0 + 2: snapshot of e0 + 1
    ]
    snapshots = []
    for ts, imp, exp in steps:
        tb.set_time(max(tb.now, ts))
        assert batch_event(tb.submit(meters, [Reading(0, ts, imp, exp)])).accepted == 1
        m = tb.meter_account(lfdis[0])
        snapshots.append((m.snapshot_epoch, m.snapshot_import_wh, m.snapshot_export_wh))
    assert snapshots == [
        (-1, 0, 0),
        (-1, 0, 0),
        (e0, 20, 5),
        (e0, 20, 5),
        (e0 + 1, 30, 9),
    ]


def test_rated_power_limit_saturates_instead_of_overflowing(tb: Testbed) -> None:
    # only the admin may rate a meter this high
    lfdi = bytes([1]) * 20
    register = ix.register_meter(tb.admin.pubkey(), tb.admin.pubkey(), lfdi, Keypair().pubkey(),
                                 2**63)  # fmt: skip
    assert tb.send([register], [tb.admin]).ok
    lfdis, meters = [lfdi], [meter_address(lfdi)[0]]
    tb.set_time(T0)
    assert tb.submit(meters, [Reading(0, T0, 0, 0)]).ok
    tb.set_time(T0 + 10**6)
    big = tb.submit(meters, [Reading(0, T0 + 10**6, 2**63, 2**63 - 1)])
    assert batch_event(big).statuses == (S.ACCEPTED,)
    assert tb.meter_account(lfdis[0]).import_wh == 2**63


# --------------------------------------------------------------------------- refusals


def test_only_the_gateway_submits(tb: Testbed) -> None:
    _, meters = fleet(tb, 1)
    tb.set_time(T0)
    as_admin = ix.submit_readings(tb.admin.pubkey(), meters, [Reading(0, T0, 1, 1)])
    assert fails_with(tb.send([as_admin], [tb.admin]), OracleError.UNAUTHORIZED)
    unsigned = replace_account(
        ix.submit_readings(tb.gateway.pubkey(), meters, [Reading(0, T0, 1, 1)]),
        0,
        AccountMeta(tb.gateway.pubkey(), False, False),
    )
    assert fails_with(tb.send([unsigned], [tb.payer]), OracleError.MISSING_SIGNATURE)
    # a replaced gateway key is refused at once
    assert tb.send([ix.set_gateway(tb.admin.pubkey(), tb.admin.pubkey())], [tb.admin]).ok
    assert fails_with(tb.submit(meters, [Reading(0, T0, 1, 1)]), OracleError.UNAUTHORIZED)


def test_a_paused_oracle_takes_no_readings(tb: Testbed) -> None:
    lfdis, meters = fleet(tb, 1)
    assert tb.send([ix.set_active(tb.admin.pubkey(), False)], [tb.admin]).ok
    tb.set_time(T0)
    assert fails_with(tb.submit(meters, [Reading(0, T0, 1, 1)]), OracleError.ORACLE_INACTIVE)
    assert tb.meter_account(lfdis[0]).last_reading_ts == 0


def test_a_fake_meter_fails_the_batch(tb: Testbed) -> None:
    lfdis, meters = fleet(tb, 2)
    fake = Pubkey.new_unique()
    data = tb.account_data(meters[1])
    tb.svm.set_account(fake, Account(10**9, data, Pubkey.new_unique(), False, 0))
    tb.set_time(T0)
    result = tb.submit([meters[0], fake], [Reading(0, T0, 1, 1), Reading(1, T0, 1, 1)])
    assert fails_with(result, OracleError.WRONG_ACCOUNT_OWNER)
    assert tb.meter_account(lfdis[0]).last_reading_ts == 0  # nothing applied half-way


def test_the_config_in_place_of_a_meter_fails(tb: Testbed) -> None:
    _, meters = fleet(tb, 1)
    tb.set_time(T0)
    result = tb.submit([meters[0], tb.config], [Reading(0, T0, 1, 1)])
    assert fails_with(result, OracleError.WRONG_ACCOUNT_TYPE)


def test_a_read_only_meter_fails(tb: Testbed) -> None:
    _, meters = fleet(tb, 1)
    tb.set_time(T0)
    good = ix.submit_readings(tb.gateway.pubkey(), meters, [Reading(0, T0, 1, 1)])
    bad = replace_account(good, 2, AccountMeta(meters[0], False, False))
    assert fails_with(tb.send([bad], [tb.gateway]), OracleError.ACCOUNT_NOT_WRITABLE)


def test_a_meter_index_past_the_accounts_fails_the_batch(tb: Testbed) -> None:
    lfdis, meters = fleet(tb, 2)
    tb.set_time(T0)
    result = tb.submit(meters, [Reading(0, T0, 1, 1), Reading(2, T0, 1, 1)])
    assert fails_with(result, OracleError.METER_INDEX_OUT_OF_RANGE)
    assert tb.meter_account(lfdis[0]).last_reading_ts == 0
    assert fails_with(tb.submit([], [Reading(0, T0, 1, 1)]), OracleError.NOT_ENOUGH_ACCOUNTS)


def raw_submit(tb: Testbed, meters: list[Pubkey], body: bytes) -> Instruction:
    accounts = [
        AccountMeta(tb.gateway.pubkey(), True, False),
        AccountMeta(tb.config, False, True),
        *(AccountMeta(m, False, True) for m in meters),
    ]
    return Instruction(PROGRAM_ID, instruction_discriminator("submit_readings") + body, accounts)


def test_malformed_batches_fail(tb: Testbed) -> None:
    _, meters = fleet(tb, 1)
    tb.set_time(T0)
    one = Reading(0, T0, 1, 1).encode()
    cases = [
        (struct.pack("<I", 0), OracleError.EMPTY_BATCH),
        (struct.pack("<I", 257) + one, OracleError.TOO_MANY_READINGS),
        (struct.pack("<I", 2) + one, OracleError.INVALID_INSTRUCTION_DATA),
        (struct.pack("<I", 1) + one + b"\0", OracleError.INVALID_INSTRUCTION_DATA),
        (b"\x01\x00", OracleError.INVALID_INSTRUCTION_DATA),
    ]
    for body, error in cases:
        assert fails_with(tb.send([raw_submit(tb, meters, body)], [tb.gateway]), error)


def test_compute_units_per_reading_stay_within_budget(tb: Testbed) -> None:
    # Compute units are deterministic (not a timing): a regression guard for the target.
    _, meters = fleet(tb, 24)
    tb.set_time(T0 + 900)
    assert tb.submit(meters, [Reading(i, T0, 1_000, 1_000) for i in range(24)]).ok
    result = tb.submit(meters, [Reading(i, T0 + 900, 1_900, 1_500) for i in range(24)])
    assert batch_event(result).accepted == 24
    assert result.compute_units / 24 <= 1_500


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 13])
def test_the_root_matches_the_reference_for_any_count(tb: Testbed, n: int) -> None:
    lfdis, meters = fleet(tb, n)
    tb.set_time(T0)
    readings = [Reading(i, T0 - i, 7 * i, 3 * i + 1) for i in range(n)]
    event = batch_event(tb.submit(meters, readings))
    leaves = [
        leaf_hash(lfdis[r.meter_index], r.timestamp, r.import_wh, r.export_wh) for r in readings
    ]
    assert event.merkle_root == merkle_root(leaves)
