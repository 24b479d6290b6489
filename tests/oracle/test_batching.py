"""Packing readings into transactions: the size model is exact, the packing keeps order."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.compute_budget import set_compute_unit_limit
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from anchor.abi import MAX_READINGS
from anchor.instructions import Reading
from oracle.batching import MAX_METERS, PACKET_DATA_SIZE, Batch, MeterRun, pack, tx_size
from oracle.program import OracleProgram

PROGRAM = OracleProgram()
GATEWAY = Keypair()
TABLE_KEYS = [Pubkey.new_unique() for _ in range(4)]


def compiled_size(batch: Batch[int], meters: dict[str, Pubkey], tables: list[list[Pubkey]]) -> int:
    """The real wire size of the batch, built as the worker builds it."""
    readings, keys = [], []
    for index, run in enumerate(batch.runs):
        keys.append(meters[run.lfdi])
        readings += [Reading(index, 1_700_000_000 + r, r, r) for r in run.rows]
    ixs = [
        set_compute_unit_limit(1_234_567),
        PROGRAM.submit_readings(GATEWAY.pubkey(), keys, readings),
    ]
    alts = [AddressLookupTableAccount(t, tables[TABLE_KEYS.index(t)]) for t in batch.tables]
    message = MessageV0.try_compile(GATEWAY.pubkey(), ixs, alts, Hash.default())
    return len(bytes(VersionedTransaction(message, [GATEWAY])))


@st.composite
def fleets(draw: st.DrawFn) -> tuple[list[MeterRun[int]], dict[str, Pubkey], list[list[Pubkey]]]:
    """Meters placed in up to 4 tables (or none), each with a run of 1..60 rows."""
    n_tables = draw(st.integers(0, 4))
    n_meters = draw(st.integers(1, 90))
    tables: list[list[Pubkey]] = [[PROGRAM.config] for _ in range(n_tables)]
    meters: dict[str, Pubkey] = {}
    runs: list[MeterRun[int]] = []
    for i in range(n_meters):
        lfdi = f"{i:040X}"
        meters[lfdi] = Pubkey.new_unique()
        where = draw(st.integers(-1, n_tables - 1)) if n_tables else -1
        if where >= 0:
            tables[where] += [meters[lfdi], Pubkey.new_unique()]
        rows = list(range(draw(st.integers(1, 60))))
        runs.append(MeterRun(lfdi, TABLE_KEYS[where] if where >= 0 else None, rows))
    return runs, meters, tables


@settings(max_examples=60, deadline=None)
@given(fleets(), st.integers(1, 6))
def test_packing_fills_transactions_in_order(
    fleet: tuple[list[MeterRun[int]], dict[str, Pubkey], list[list[Pubkey]]], max_batches: int
) -> None:
    runs, meters, tables = fleet
    batches = pack(runs, max_batches=max_batches)
    assert 1 <= len(batches) <= max_batches
    seen: set[str] = set()
    order = [r.lfdi for r in runs]
    for b, batch in enumerate(batches):
        size = batch.size()
        assert size == compiled_size(batch, meters, tables) <= PACKET_DATA_SIZE
        assert batch.readings <= MAX_READINGS and len(batch.runs) <= MAX_METERS
        for run in batch.runs:
            # a meter is in one batch per round, with a prefix of its run
            assert run.lfdi not in seen
            seen.add(run.lfdi)
            whole = runs[order.index(run.lfdi)]
            assert list(run.rows) == list(whole.rows[: len(run.rows)])
            if len(run.rows) < len(whole.rows):  # cut short: not one more reading fit
                assert batch.size(MeterRun(run.lfdi, run.table, []), 1) > PACKET_DATA_SIZE or (
                    batch.readings == MAX_READINGS
                )
        if b + 1 < len(batches):  # closed only when the next meter's first reading did not fit
            nxt = batches[b + 1].runs[0]
            assert (
                batch.size(nxt, 1) > PACKET_DATA_SIZE
                or batch.readings == MAX_READINGS
                or len(batch.runs) == MAX_METERS
            )
    # meters are taken in the order given: what is left out is a suffix of the meters
    packed = [r.lfdi for batch in batches for r in batch.runs]
    assert packed == order[: len(packed)]


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 200),
    st.integers(0, 5),
    st.lists(st.integers(0, 30), max_size=3),
)
def test_the_size_model_is_exact(readings: int, static: int, per_table: list[int]) -> None:
    tables = [[PROGRAM.config] for _ in per_table]
    meters: dict[str, Pubkey] = {}
    runs: list[MeterRun[int]] = []
    for t, count in enumerate(
        [-1] * static + [i for i, n in enumerate(per_table) for _ in range(n)]
    ):
        lfdi = f"{len(meters):040X}"
        meters[lfdi] = Pubkey.new_unique()
        if count >= 0:
            tables[count].append(meters[lfdi])
        runs.append(MeterRun(lfdi, TABLE_KEYS[count] if count >= 0 else None, []))
        del t
    if not runs:
        return
    # spread the readings over the meters
    rows: dict[str, list[int]] = {r.lfdi: [] for r in runs}
    for i in range(max(readings, len(runs))):
        rows[runs[i % len(runs)].lfdi].append(i)
    batch = Batch([MeterRun(r.lfdi, r.table, rows[r.lfdi]) for r in runs])
    used = [n for n in per_table if n]
    assert batch.size() == tx_size(batch.readings, static, used)
    assert batch.size() == compiled_size(batch, meters, tables)


def test_a_full_batch_holds_at_least_the_target_readings() -> None:
    # one table, one reading per meter: the chain benchmark's shape, with the CU limit
    runs = [MeterRun(f"{i:040X}", TABLE_KEYS[0], [0]) for i in range(100)]
    (spread, *_) = pack(runs, max_batches=1)
    assert spread.readings == 35 and spread.size() <= PACKET_DATA_SIZE
    # one meter with a backlog: more readings still, its meter named once
    (backlog,) = pack([MeterRun("A" * 40, TABLE_KEYS[0], list(range(100)))], max_batches=1)
    assert backlog.readings == 38 and backlog.size() <= PACKET_DATA_SIZE
