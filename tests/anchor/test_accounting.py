"""Property: for random readings and clearings the program and a Python model agree.

Registers, statuses and mints match the model after every operation; every settlement
mints max(0, export delta - import delta) up to the meter's mint cap and withholds the
rest; per meter, the tokens received equal
the sum of the positive net exports of its settlements, which equals the meter's
minted_wh; and the energy settled never exceeds what the registers moved since the
baseline (nothing counted twice).
"""

from __future__ import annotations

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from solders.keypair import Keypair

from anchor.events import EpochCleared, MeterSettled, ReadingsSubmitted
from anchor.instructions import Reading
from anchor.testbed import GENESIS_TS, Testbed
from tests.anchor.conftest import programs_under_test
from tests.anchor.model import MeterModel

INTERVAL = 900
SKEW = 60
AGE = 600  # max_baseline_age_s
RATED = [3_600, 36_000, 7_200]  # W: 1, 10 and 2 Wh per second


@st.composite
def a_reading(draw: st.DrawFn, models: list[MeterModel], now: int) -> tuple[int, int, int, int]:
    """(meter, ts, import_wh, export_wh), aimed at every rule's edges."""
    meter = draw(st.integers(0, len(models) - 1))
    m = models[meter]
    if m.last_ts == 0:
        ts = now + draw(st.integers(-AGE - 60, SKEW + 5))
    else:
        ts = m.last_ts + draw(st.one_of(st.integers(-30, 0), st.integers(1, 1_200)))
    if draw(st.integers(0, 30)) == 0:
        ts = draw(st.integers(-(10**12), 0))
    elapsed = max(ts - m.last_ts, 0)
    limit = -(-m.rated_power_w * elapsed // 3600) + 1
    kind = draw(st.sampled_from(["within", "within", "within", "exact", "over", "decrease"]))
    total = {"within": draw(st.integers(0, limit)), "exact": limit, "over": limit + 1}.get(kind, 0)
    d_import = draw(st.integers(0, total))
    imp, exp = m.import_wh + d_import, m.export_wh + total - d_import
    if kind == "decrease" and (m.import_wh or m.export_wh):
        imp, exp = (imp - 1, exp) if m.import_wh else (imp, exp - 1)
    event(f"reading {kind}")
    return meter, ts, imp, exp


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_program_matches_the_model(data: st.DataObject) -> None:
    for _, program in programs_under_test():
        run(program, data)


def run(program: bytes, data: st.DataObject) -> None:
    tb = Testbed(
        program, clearing_interval_s=INTERVAL, max_future_skew_s=SKEW, max_baseline_age_s=AGE
    )
    owner = Keypair()
    token = tb.create_token_account(owner.pubkey())
    lfdis = [bytes([0x10 + i]) * 20 for i in range(len(RATED))]
    meters = [
        tb.register_meter(lfdi, owner.pubkey(), p) for lfdi, p in zip(lfdis, RATED, strict=True)
    ]
    models = [MeterModel(p) for p in RATED]
    now = GENESIS_TS + 450
    settlements: list[list[MeterSettled]] = [[] for _ in RATED]

    for _ in range(data.draw(st.integers(1, 30), label="operations")):
        now += data.draw(st.integers(0, 1_000), label="clock advance")
        tb.set_time(now)
        if data.draw(st.integers(0, 2), label="op") > 0:
            batch: list[Reading] = []
            expected = []
            for _ in range(data.draw(st.integers(1, 6), label="batch size")):
                meter, ts, imp, exp = data.draw(a_reading(models, now))
                batch.append(Reading(meter, ts, imp, exp))
                status = models[meter].submit(ts, imp, exp, now, SKEW, INTERVAL, AGE)
                event(f"status {status.name}")
                expected.append(status)
            result = tb.submit(meters, batch)
            assert result.ok, result.logs
            (submitted,) = [e for e in result.events if isinstance(e, ReadingsSubmitted)]
            assert list(submitted.statuses) == expected
        else:
            epoch = now // INTERVAL - data.draw(st.integers(1, 4), label="epochs back")
            chosen = data.draw(
                st.lists(st.integers(0, len(RATED) - 1), min_size=1, max_size=4), label="meters"
            )
            result = tb.clear(epoch, [(meters[i], token) for i in chosen])
            assert result.ok, result.logs
            (done,) = [e for e in result.events if isinstance(e, EpochCleared)]
            outcomes = [models[i].clear(epoch, INTERVAL) for i in chosen]
            for status, _ in outcomes:
                event(f"settlement {status.name}")
            assert list(done.statuses) == [status for status, _ in outcomes]
            assert done.minted_wh == sum(minted for _, minted in outcomes)
            settled_events = [e for e in result.events if isinstance(e, MeterSettled)]
            settled_meters = [i for i, (s, _) in zip(chosen, outcomes, strict=True) if s == 0]
            assert len(settled_events) == len(settled_meters)
            for i, e in zip(settled_meters, settled_events, strict=True):
                assert e.lfdi == lfdis[i]
                settlements[i].append(e)

    total = 0
    for lfdi, m, events in zip(lfdis, models, settlements, strict=True):
        chain = tb.meter_account(lfdi)
        assert (chain.import_wh, chain.export_wh, chain.last_reading_ts) == (
            m.import_wh,
            m.export_wh,
            m.last_ts,
        )
        assert (chain.settled_import_wh, chain.settled_export_wh) == (
            m.settled_import_wh,
            m.settled_export_wh,
        )
        assert (chain.snapshot_epoch, chain.last_cleared_epoch) == (
            m.snapshot_epoch,
            m.last_cleared_epoch,
        )
        for e in events:
            assert e.minted_wh + e.withheld_wh == max(e.export_delta_wh - e.import_delta_wh, 0)
        assert chain.minted_wh == m.minted_wh == sum(e.minted_wh for e in events)
        assert chain.withheld_wh == m.withheld_wh == sum(e.withheld_wh for e in events)
        assert chain.baseline_ts == m.baseline_ts
        assert chain.settlements == len(events)
        if events:  # the account alone tells what the last settlement did
            last = events[-1]
            assert (chain.last_import_delta_wh, chain.last_export_delta_wh, chain.last_minted_wh) \
                == (last.import_delta_wh, last.export_delta_wh, last.minted_wh)  # fmt: skip
        # never more than the rating allows since registration (less the baseline's age)
        assert chain.minted_wh * 3600 <= chain.rated_power_w * (now - chain.registered_at + AGE)
        # settlements move forward only: their deltas add up to the watermarks' travel
        if events:
            assert sum(e.export_delta_wh for e in events) <= chain.export_wh
            assert events[-1].export_wh == chain.settled_export_wh
        total += chain.minted_wh
    assert tb.token_balance(token) == total == tb.mint_supply()
    assert tb.config_account().minted_wh == total
