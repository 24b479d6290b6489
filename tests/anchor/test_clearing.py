"""clear_epoch: what is minted, to whom, when; attribution; and every refusal."""

from __future__ import annotations

from dataclasses import dataclass

from solders.account import Account
from solders.instruction import AccountMeta
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from anchor import instructions as ix
from anchor.abi import OracleError, SettlementStatus
from anchor.events import EpochCleared, MeterSettled
from anchor.instructions import Reading
from anchor.testbed import GENESIS_TS, Testbed, TxResult
from tests.anchor.test_admin import fails_with, replace_account

INTERVAL = 900
E0 = GENESIS_TS // INTERVAL  # the testbed's first epoch: (E0*900, (E0+1)*900]
St = SettlementStatus


def end(epoch: int) -> int:
    return (epoch + 1) * INTERVAL


@dataclass
class Site:
    lfdi: bytes
    meter: Pubkey
    owner: Keypair
    token: Pubkey


def site(tb: Testbed, n: int = 1, rated_power_w: int = 1_000_000) -> Site:
    owner = Keypair()
    lfdi = bytes([0xA0 + n]) * 20
    meter = tb.register_meter(lfdi, owner.pubkey(), rated_power_w)
    return Site(lfdi, meter, owner, tb.create_token_account(owner.pubkey()))


def read(tb: Testbed, s: Site, ts: int, imp: int, exp: int) -> None:
    if tb.now < ts:
        tb.set_time(ts)
    result = tb.submit([s.meter], [Reading(0, ts, imp, exp)])
    assert result.ok and result.events[-1].accepted == 1, result.logs  # type: ignore[union-attr]


def clear(tb: Testbed, epoch: int, *sites: Site) -> TxResult:
    if tb.now < end(epoch):
        tb.set_time(end(epoch))
    result = tb.clear(epoch, [(s.meter, s.token) for s in sites])
    assert result.ok, (result.error, result.logs)
    return result


def cleared(result: TxResult) -> EpochCleared:
    events = [e for e in result.events if isinstance(e, EpochCleared)]
    assert len(events) == 1
    return events[0]


def settled(result: TxResult) -> list[MeterSettled]:
    return [e for e in result.events if isinstance(e, MeterSettled)]


def test_net_export_is_minted_to_the_owner(tb: Testbed) -> None:
    s = site(tb)
    read(tb, s, end(E0) - 600, 10_000, 20_000)  # baseline
    read(tb, s, end(E0) - 1, 10_400, 21_000)  # +400 import, +1000 export
    result = clear(tb, E0, s)
    assert tb.token_balance(s.token) == 600
    assert tb.mint_supply() == 600
    assert settled(result) == [
        MeterSettled(E0, s.lfdi, s.owner.pubkey(), 10_400, 21_000, 400, 1_000, 600, 0)
    ]
    assert cleared(result) == EpochCleared(E0, 1, 0, 600, (St.SETTLED,))
    m = tb.meter_account(s.lfdi)
    assert (m.settled_import_wh, m.settled_export_wh, m.last_cleared_epoch) == (10_400, 21_000, E0)
    assert m.minted_wh == 600
    assert tb.config_account().minted_wh == 600


def test_the_epoch_must_have_ended(tb: Testbed) -> None:
    s = site(tb)
    read(tb, s, end(E0) - 600, 0, 0)
    tb.set_time(end(E0) - 1)
    early = tb.clear(E0, [(s.meter, s.token)])
    assert fails_with(early, OracleError.EPOCH_NOT_ENDED)
    for epoch in (E0 + 1, 2**63, 2**64 - 1):
        assert fails_with(tb.clear(epoch, [(s.meter, s.token)]), OracleError.EPOCH_NOT_ENDED)
    tb.set_time(end(E0))  # exactly at the end is allowed
    assert tb.clear(E0, [(s.meter, s.token)]).ok


def test_nothing_is_minted_twice(tb: Testbed) -> None:
    s = site(tb)
    read(tb, s, end(E0) - 600, 0, 0)
    read(tb, s, end(E0) - 300, 0, 250)
    first = clear(tb, E0, s)
    again = clear(tb, E0, s)
    twice_in_one = tb.clear(E0, [(s.meter, s.token), (s.meter, s.token)])
    assert cleared(first).minted_wh == 250
    assert cleared(again) == EpochCleared(E0, 0, 1, 0, (St.ALREADY_CLEARED,))
    assert cleared(twice_in_one).statuses == (St.ALREADY_CLEARED, St.ALREADY_CLEARED)
    # an older epoch than the last cleared one is also refused for this meter
    assert cleared(clear(tb, E0 - 1, s)).statuses == (St.ALREADY_CLEARED,)
    assert tb.token_balance(s.token) == 250


def test_the_same_meter_twice_in_one_clearing_mints_once(tb: Testbed) -> None:
    s = site(tb)
    read(tb, s, end(E0) - 600, 0, 0)
    read(tb, s, end(E0) - 300, 0, 250)
    tb.set_time(end(E0))
    result = tb.clear(E0, [(s.meter, s.token), (s.meter, s.token)])
    assert cleared(result) == EpochCleared(E0, 1, 1, 250, (St.SETTLED, St.ALREADY_CLEARED))
    assert tb.token_balance(s.token) == 250


def test_net_import_mints_nothing_but_moves_the_watermarks(tb: Testbed) -> None:
    s = site(tb)
    read(tb, s, end(E0) - 600, 0, 0)
    read(tb, s, end(E0) - 1, 900, 100)  # a consumer this epoch
    assert settled(clear(tb, E0, s))[0].minted_wh == 0
    read(tb, s, end(E0 + 1) - 1, 950, 400)  # +50 import, +300 export
    assert settled(clear(tb, E0 + 1, s))[0].minted_wh == 250  # the deficit is not carried
    assert tb.token_balance(s.token) == 250


def test_meters_without_registers_for_the_epoch_are_skipped(tb: Testbed) -> None:
    silent, late = site(tb, 1), site(tb, 2)
    read(tb, late, end(E0 + 1) - 10, 0, 0)  # its first reading is in a later epoch
    result = clear(tb, E0, silent, late)
    assert cleared(result) == EpochCleared(E0, 0, 2, 0, (St.NO_READINGS, St.PENDING))
    assert tb.meter_account(late.lfdi).last_cleared_epoch == -1


def test_live_operation_uses_the_snapshot_of_the_epoch_end(tb: Testbed) -> None:
    s = site(tb)
    read(tb, s, end(E0) - 600, 0, 0)
    read(tb, s, end(E0), 0, 100)  # closes E0
    read(tb, s, end(E0) + 15, 0, 130)  # E0+1's readings arrive before E0 is cleared
    e0 = clear(tb, E0, s)
    assert settled(e0)[0].export_wh == 100 and settled(e0)[0].minted_wh == 100
    read(tb, s, end(E0 + 1), 0, 170)
    e1 = clear(tb, E0 + 1, s)
    assert settled(e1)[0].minted_wh == 70
    assert tb.token_balance(s.token) == 170


def test_energy_of_an_epoch_whose_end_is_lost_moves_to_the_next(tb: Testbed) -> None:
    s = site(tb)
    read(tb, s, end(E0) - 600, 0, 0)
    read(tb, s, end(E0) - 10, 0, 50)
    read(tb, s, end(E0 + 1) - 10, 0, 80)  # snapshot: E0 at 50
    read(tb, s, end(E0 + 2) - 10, 0, 120)  # snapshot: E0+1 at 80 (E0's is gone)
    e0 = clear(tb, E0, s)
    assert cleared(e0).statuses == (St.PENDING,)
    e1 = clear(tb, E0 + 1, s)
    assert settled(e1)[0].minted_wh == 80  # E0's 50 and E0+1's 30
    e2 = clear(tb, E0 + 2, s)
    assert settled(e2)[0].minted_wh == 40
    assert tb.token_balance(s.token) == 120 == tb.meter_account(s.lfdi).minted_wh


def test_a_late_reading_of_a_cleared_epoch_is_minted_later(tb: Testbed) -> None:
    s = site(tb)
    read(tb, s, end(E0) - 800, 0, 0)
    assert settled(clear(tb, E0, s))[0].minted_wh == 0
    read(tb, s, end(E0) - 100, 0, 60)  # arrives after E0 was cleared
    e1 = clear(tb, E0 + 1, s)
    assert settled(e1)[0].minted_wh == 60
    assert tb.token_balance(s.token) == 60


def test_a_skipped_epoch_is_settled_by_a_later_clearing(tb: Testbed) -> None:
    s = site(tb)
    read(tb, s, end(E0) - 800, 0, 0)
    read(tb, s, end(E0) - 10, 0, 40)
    read(tb, s, end(E0 + 3) - 10, 0, 90)
    result = clear(tb, E0 + 2, s)  # E0 and E0+1 never cleared: E0+2's uses the snapshot (E0)
    assert settled(result)[0].minted_wh == 40
    assert settled(clear(tb, E0 + 3, s))[0].minted_wh == 50


def test_anyone_may_crank(tb: Testbed) -> None:
    s = site(tb)
    read(tb, s, end(E0) - 600, 0, 0)
    read(tb, s, end(E0) - 300, 0, 10)
    stranger = Keypair()
    tb.svm.airdrop(stranger.pubkey(), 10**9)
    tb.set_time(end(E0))
    result = tb.send([ix.clear_epoch(E0, tb.mint, [(s.meter, s.token)])], [stranger])
    assert result.ok and tb.token_balance(s.token) == 10


# --------------------------------------------------------------------------- refusals


def ready(tb: Testbed) -> Site:
    s = site(tb)
    read(tb, s, end(E0) - 600, 0, 0)
    read(tb, s, end(E0) - 300, 0, 10)
    tb.set_time(end(E0))
    return s


def test_a_token_account_of_someone_else_fails(tb: Testbed) -> None:
    s = ready(tb)
    thief = tb.create_token_account(Keypair().pubkey())
    result = tb.clear(E0, [(s.meter, thief)])
    assert fails_with(result, OracleError.WRONG_TOKEN_ACCOUNT)
    assert tb.token_balance(thief) == 0


def test_a_token_account_of_another_mint_fails(tb: Testbed) -> None:
    s = ready(tb)
    other_mint = tb.create_mint(tb.admin.pubkey())
    other = tb.create_token_account(s.owner.pubkey(), other_mint)
    assert fails_with(tb.clear(E0, [(s.meter, other)]), OracleError.WRONG_TOKEN_ACCOUNT)


def test_a_fake_token_account_fails(tb: Testbed) -> None:
    s = ready(tb)
    fake = Pubkey.new_unique()
    data = tb.account_data(s.token)
    tb.svm.set_account(fake, Account(10**9, data, Pubkey.new_unique(), False, 0))
    assert fails_with(tb.clear(E0, [(s.meter, fake)]), OracleError.WRONG_ACCOUNT_OWNER)


def test_read_only_token_account_or_meter_fails(tb: Testbed) -> None:
    s = ready(tb)
    good = ix.clear_epoch(E0, tb.mint, [(s.meter, s.token)])
    for index, key in ((4, s.meter), (5, s.token)):
        bad = replace_account(good, index, AccountMeta(key, False, False))
        assert fails_with(tb.send([bad], [tb.payer]), OracleError.ACCOUNT_NOT_WRITABLE)


def test_wrong_mint_authority_or_token_program_fail(tb: Testbed) -> None:
    s = ready(tb)
    other_mint = tb.create_mint(tb.mint_authority)
    assert fails_with(
        tb.send([ix.clear_epoch(E0, other_mint, [(s.meter, s.token)])], [tb.payer]),
        OracleError.WRONG_MINT,
    )
    good = ix.clear_epoch(E0, tb.mint, [(s.meter, s.token)])
    stray = AccountMeta(Pubkey.new_unique(), False, False)
    assert fails_with(
        tb.send([replace_account(good, 2, stray)], [tb.payer]), OracleError.WRONG_ADDRESS
    )
    assert fails_with(
        tb.send([replace_account(good, 3, stray)], [tb.payer]), OracleError.WRONG_PROGRAM
    )
    readonly_mint = replace_account(good, 1, AccountMeta(tb.mint, False, False))
    assert fails_with(tb.send([readonly_mint], [tb.payer]), OracleError.ACCOUNT_NOT_WRITABLE)
    assert tb.token_balance(s.token) == 0


def test_fake_meter_or_config_fail(tb: Testbed) -> None:
    s = ready(tb)
    fake = Pubkey.new_unique()
    tb.svm.set_account(
        fake, Account(10**9, tb.account_data(s.meter), Pubkey.new_unique(), False, 0)
    )
    assert fails_with(tb.clear(E0, [(fake, s.token)]), OracleError.WRONG_ACCOUNT_OWNER)
    assert fails_with(tb.clear(E0, [(tb.config, s.token)]), OracleError.WRONG_ACCOUNT_TYPE)
    good = ix.clear_epoch(E0, tb.mint, [(s.meter, s.token)])
    meter_as_config = replace_account(good, 0, AccountMeta(s.meter, False, True))
    assert fails_with(tb.send([meter_as_config], [tb.payer]), OracleError.WRONG_ACCOUNT_TYPE)


def test_incomplete_pairs_fail(tb: Testbed) -> None:
    s = ready(tb)
    good = ix.clear_epoch(E0, tb.mint, [(s.meter, s.token)])
    odd = type(good)(good.program_id, bytes(good.data), list(good.accounts)[:5])
    assert fails_with(tb.send([odd], [tb.payer]), OracleError.NOT_ENOUGH_ACCOUNTS)
    none = type(good)(good.program_id, bytes(good.data), list(good.accounts)[:4])
    assert fails_with(tb.send([none], [tb.payer]), OracleError.NOT_ENOUGH_ACCOUNTS)


def test_a_paused_oracle_mints_nothing(tb: Testbed) -> None:
    s = ready(tb)
    assert tb.send([ix.set_active(tb.admin.pubkey(), False)], [tb.admin]).ok
    assert fails_with(tb.clear(E0, [(s.meter, s.token)]), OracleError.ORACLE_INACTIVE)
    assert tb.mint_supply() == 0


def test_registers_below_the_watermark_are_refused_not_minted(tb: Testbed) -> None:
    # Cannot happen through the program; if an account were ever corrupted so, clearing
    # refuses instead of minting from a wrapped-around difference.
    s = ready(tb)
    account = tb.svm.get_account(s.meter)
    assert account is not None
    data = bytearray(account.data)
    settled_export_offset = 128  # Meter.settled_export_wh (discriminator included)
    data[settled_export_offset : settled_export_offset + 8] = (10**6).to_bytes(8, "little")
    tb.svm.set_account(
        s.meter, Account(account.lamports, bytes(data), account.owner, False, account.rent_epoch)
    )
    assert tb.meter_account(s.lfdi).settled_export_wh == 10**6 > tb.meter_account(s.lfdi).export_wh
    result = tb.clear(E0, [(s.meter, s.token)])
    assert fails_with(result, OracleError.SETTLEMENT_INVARIANT)
    assert tb.mint_supply() == 0
