from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from devices.registers import MWS_PER_WH, EnergyLedger

flows = st.tuples(*[st.integers(0, 10**12)] * 4)


@given(st.lists(flows, max_size=100))
def test_books_balance_and_registers_never_go_back(
    entries: list[tuple[int, int, int, int]],
) -> None:
    ledger = EnergyLedger()
    last = (0, 0)
    for load, pv, charged, discharged in entries:
        net = ledger.book(load, pv, charged, discharged, 0)
        assert net == load - pv + charged - discharged
        assert ledger.imported - ledger.exported == (
            ledger.load - ledger.pv + ledger.charged - ledger.discharged
        )
        assert ledger.import_wh == ledger.imported // MWS_PER_WH
        assert ledger.export_wh == ledger.exported // MWS_PER_WH
        assert (ledger.import_wh, ledger.export_wh) >= last
        assert ledger.import_wh >= last[0] and ledger.export_wh >= last[1]
        last = (ledger.import_wh, ledger.export_wh)


def test_remainders_are_kept_not_lost() -> None:
    """A thousand 0.9 Wh steps make 900 Wh, not 0 (per-step rounding would lose it all)."""
    ledger = EnergyLedger()
    for _ in range(1000):
        ledger.book(MWS_PER_WH * 9 // 10, 0, 0, 0, 0)
    assert ledger.import_wh == 900
    copy = ledger.copy()
    copy.book(MWS_PER_WH, 0, 0, 0, 0)
    assert ledger.import_wh == 900 and copy.import_wh == 901
