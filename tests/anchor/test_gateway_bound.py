"""What a compromised gateway key can mint: never more than the meter's rating allows.

The gateway key submits every reading, so the program bounds it physically (issue 17.3):
a meter's first reading must be recent (no baseline from the past, which would let the
next reading carry years of energy), each settlement mints at most the meter's rated
energy over the time it covers, and the gateway cannot pick the rating above the admin's
limit (tests/anchor/test_admin.py). The property test plays the gateway as an attacker.
"""

from __future__ import annotations

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from solders.keypair import Keypair

from anchor.abi import ReadingStatus
from anchor.events import MeterSettled, ReadingRejected, ReadingsSubmitted
from anchor.instructions import Reading
from anchor.testbed import GENESIS_TS, Testbed
from tests.anchor.conftest import programs_under_test

INTERVAL = 900
T0 = GENESIS_TS + 100
P = 3_600  # W: 1 Wh per second at full power


def site(tb: Testbed, rated_power_w: int = P) -> tuple[bytes, object, object]:
    owner = Keypair()
    lfdi = bytes([0x42]) * 20
    meter = tb.register_meter(lfdi, owner.pubkey(), rated_power_w)
    return lfdi, meter, tb.create_token_account(owner.pubkey())


def statuses(tb: Testbed, meter: object, *readings: tuple[int, int, int]) -> list[ReadingStatus]:
    result = tb.submit([meter], [Reading(0, ts, imp, exp) for ts, imp, exp in readings])  # type: ignore[list-item]
    assert result.ok, result.logs
    (submitted,) = [e for e in result.events if isinstance(e, ReadingsSubmitted)]
    return list(submitted.statuses)


def test_a_baseline_from_the_past_is_refused(program: bytes) -> None:
    # the drill: a first reading stamped ts=1, then one stamped now carrying 5e10 Wh
    tb = Testbed(program, max_baseline_age_s=300)
    lfdi, meter, _ = site(tb, 100_000)
    tb.set_time(T0)
    result = tb.submit([meter], [Reading(0, 1, 0, 0)])  # type: ignore[list-item]
    assert result.ok
    assert [e.reason for e in result.events if isinstance(e, ReadingRejected)] == [
        ReadingStatus.STALE_BASELINE
    ]
    assert tb.meter_account(lfdi).last_reading_ts == 0  # still no baseline
    # so the next reading is the baseline, and carries nothing to settle
    assert statuses(tb, meter, (T0, 0, 5 * 10**10)) == [ReadingStatus.ACCEPTED]
    m = tb.meter_account(lfdi)
    assert (m.baseline_ts, m.settled_export_wh, m.baseline_export_wh) == (
        T0,
        5 * 10**10,
        5 * 10**10,
    )


def test_a_baseline_may_be_as_old_as_the_admin_allows(program: bytes) -> None:
    tb = Testbed(program, max_baseline_age_s=300)
    _, meter, _ = site(tb)
    tb.set_time(T0 + 1_000)
    assert statuses(tb, meter, (T0 + 699, 0, 0), (T0 + 700, 0, 0)) == [
        ReadingStatus.STALE_BASELINE,
        ReadingStatus.ACCEPTED,
    ]
    # later readings are not baselines: their age is not bounded (a backlog may land late)
    assert statuses(tb, meter, (T0 + 701, 0, 1)) == [ReadingStatus.ACCEPTED]


def test_a_settlement_mints_at_most_the_rated_energy_of_its_time(program: bytes) -> None:
    # each reading may run 2 Wh ahead of the rating (register rounding); a reading every
    # second would otherwise mint 3 Wh/s from a 1 Wh/s meter
    tb = Testbed(program)
    lfdi, meter, token = site(tb, 36)  # 0.01 Wh per second
    tb.set_time(T0 + 200)
    assert statuses(tb, meter, (T0, 0, 0)) == [ReadingStatus.ACCEPTED]
    exported = 0
    for ts in range(T0 + 1, T0 + 201):
        exported += 2  # ceil(0.01 Wh) + 1: exactly what the per-reading check lets through
        assert statuses(tb, meter, (ts, 0, exported)) == [ReadingStatus.ACCEPTED]
    epoch = (T0 + 200 - 1) // INTERVAL
    tb.set_time((epoch + 1) * INTERVAL)
    result = tb.clear(epoch, [(meter, token)])
    assert result.ok, result.logs
    (settled,) = [e for e in result.events if isinstance(e, MeterSettled)]
    cap = 36 * ((epoch + 1) * INTERVAL - T0) // 3600  # 800 s at 0.01 Wh/s: 8 Wh
    assert exported > cap
    assert (settled.minted_wh, settled.withheld_wh) == (cap, exported - cap)
    m = tb.meter_account(lfdi)
    assert (m.minted_wh, m.withheld_wh, m.settlements, m.last_minted_wh) == (
        cap,
        exported - cap,
        1,
        cap,
    )
    assert tb.token_balance(token) == cap
    # the withheld energy is gone for good: the watermark moved past it
    assert m.settled_export_wh == exported


def test_a_settlement_over_several_epochs_has_the_cap_of_all_of_them(program: bytes) -> None:
    tb = Testbed(program)
    lfdi, meter, token = site(tb)
    e0 = T0 // INTERVAL
    tb.set_time(T0)
    assert statuses(tb, meter, (T0, 0, 0)) == [ReadingStatus.ACCEPTED]
    # three epochs at full rated power, then one reading into the next: e0 .. e0+2 pend
    for k in range(1, 4):
        ts = (e0 + k) * INTERVAL
        tb.set_time(ts)
        assert statuses(tb, meter, (ts, 0, P * (ts - T0) // 3600)) == [ReadingStatus.ACCEPTED]
    tb.set_time((e0 + 3) * INTERVAL + 1)
    assert (
        statuses(tb, meter, ((e0 + 3) * INTERVAL + 1, 0, P * ((e0 + 3) * INTERVAL - T0) // 3600))[0]
        == ReadingStatus.ACCEPTED
    )
    result = tb.clear(e0 + 2, [(meter, token)])
    (settled,) = [e for e in result.events if isinstance(e, MeterSettled)]
    whole = P * ((e0 + 3) * INTERVAL - T0) // 3600
    assert (settled.minted_wh, settled.withheld_wh) == (whole, 0)  # honest: nothing withheld
    assert tb.meter_account(lfdi).minted_wh == whole


@st.composite
def an_attack(draw: st.DrawFn) -> list[tuple[int, int, str]]:
    """Steps (clock advance s, reading offset from the clock s, kind) of a hostile gateway."""
    steps = st.tuples(
        st.sampled_from([0, 1, 7, 60, 299, 900, 901, 1_800]),
        st.integers(-(10**9), 120),
        st.sampled_from(["max", "max", "max", "huge", "clear", "clear", "clear_late"]),
    )
    return draw(st.lists(steps, min_size=3, max_size=30))


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(attack=an_attack(), rated=st.sampled_from([1, 999, 3_600, 100_000]))
def test_no_reading_sequence_mints_more_than_the_rating_since_registration(
    attack: list[tuple[int, int, str]], rated: int
) -> None:
    # with a baseline age of 0 every baseline is stamped at or after the clock of its
    # batch, hence after registration: minted <= rating x time since registration
    for _, program in programs_under_test():
        tb = Testbed(program, clearing_interval_s=INTERVAL, max_baseline_age_s=0)
        tb.set_time(T0)
        lfdi, meter, token = site(tb, rated)
        registered = tb.meter_account(lfdi).registered_at
        now = T0
        for advance, offset, kind in attack:
            now += advance
            tb.set_time(now)
            m = tb.meter_account(lfdi)
            if kind.startswith("clear"):
                # the epoch of the last reading (settles it), or the last ended one
                epoch = (m.last_reading_ts - 1) // INTERVAL if kind == "clear" else -1
                epoch = max(epoch, now // INTERVAL - 1)
                if m.last_reading_ts and (epoch + 1) * INTERVAL <= now:
                    assert tb.clear(epoch, [(meter, token)]).ok  # type: ignore[list-item]
                continue
            ts = max(now + offset, m.last_reading_ts + 1, 1)
            elapsed = ts - m.last_reading_ts if m.last_reading_ts else 0
            # the most the per-reading check lets through, or far more
            step = -(-rated * elapsed // 3600) + 1 if kind == "max" else 10**15
            result = tb.submit([meter], [Reading(0, ts, m.import_wh, m.export_wh + step)])  # type: ignore[list-item]
            assert result.ok
        end = tb.meter_account(lfdi)
        event(f"withheld {'some' if end.withheld_wh else 'none'}")
        event(f"minted {'some' if end.minted_wh else 'none'}")
        assert end.minted_wh * 3600 <= rated * (tb.now - registered)
        assert tb.token_balance(token) == end.minted_wh  # type: ignore[arg-type]
        if end.last_cleared_epoch >= 0:
            assert end.settlements >= 1
