"""initialize, register_meter and the admin's instructions, with their error paths."""

from __future__ import annotations

import os

import pytest
from solders.account import Account
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.rent import Rent
from spl.token.instructions import AuthorityType, SetAuthorityParams, set_authority

from anchor import instructions as ix
from anchor.abi import (
    CONFIG_SIZE,
    DEFAULT_MAX_RATED_POWER_W,
    MAX_BASELINE_AGE_S,
    MAX_RATED_POWER_W,
    METER_SIZE,
    PROGRAM_ID,
    SYSTEM_PROGRAM_ID,
    TOKEN_PROGRAM_ID,
    OracleError,
    account_discriminator,
)
from anchor.accounts import ConfigAccount
from anchor.events import MeterRegistered
from anchor.pda import config_address, meter_address, mint_authority_address
from anchor.testbed import GENESIS_TS, Testbed, TxResult, install_upgradeable


def fails_with(result: TxResult, error: OracleError) -> bool:
    assert not result.ok, "the transaction succeeded"
    assert result.custom_error == int(error), (result.error, result.logs)
    return True


def lfdi() -> bytes:
    return os.urandom(20)


def replace_account(instruction: Instruction, index: int, meta: AccountMeta) -> Instruction:
    accounts = list(instruction.accounts)
    accounts[index] = meta
    return Instruction(instruction.program_id, instruction.data, accounts)


# --------------------------------------------------------------------------- initialize


def test_initialize_writes_the_config(program: bytes) -> None:
    tb = Testbed(program, clearing_interval_s=900, max_future_skew_s=30)
    c = tb.config_account()
    assert c.admin == tb.admin.pubkey()
    assert c.gateway == tb.gateway.pubkey()
    assert c.mint == tb.mint
    assert (c.clearing_interval_s, c.max_future_skew_s, c.active) == (900, 30, True)
    assert c.bump == config_address()[1]
    assert c.mint_authority_bump == mint_authority_address()[1]
    assert (c.readings_accepted, c.batches, c.meters_registered, c.minted_wh) == (0, 0, 0, 0)
    account = tb.svm.get_account(tb.config)
    assert account is not None and account.owner == PROGRAM_ID
    assert len(account.data) == CONFIG_SIZE
    assert account.lamports == tb.svm.minimum_balance_for_rent_exemption(CONFIG_SIZE)


def uninitialized(program: bytes) -> Testbed:
    return Testbed(program, initialize=False)


def init_ix(tb: Testbed, **kw: object) -> Instruction:
    args: dict[str, object] = {
        "admin": tb.admin.pubkey(),
        "mint": tb.mint,
        "gateway": tb.gateway.pubkey(),
        "clearing_interval_s": 900,
        "limits": ix.Limits(60),
    }
    args.update(kw)
    return ix.initialize(**args)  # type: ignore[arg-type]


def test_only_the_upgrade_authority_initializes(program: bytes) -> None:
    # Otherwise anyone could initialize a freshly deployed oracle first, as its admin.
    tb = uninitialized(program)
    squatter = Keypair()
    tb.svm.airdrop(squatter.pubkey(), 10**10)
    first = tb.send([init_ix(tb, admin=squatter.pubkey())], [squatter])
    assert fails_with(first, OracleError.UNAUTHORIZED)
    assert tb.account_data(tb.config) == b""
    assert tb.send([init_ix(tb)], [tb.admin]).ok


def test_initialize_checks_the_program_and_its_program_data(program: bytes) -> None:
    tb = uninitialized(program)
    stray = AccountMeta(tb.mint, False, False)
    assert fails_with(tb.send([replace_account(init_ix(tb), 5, stray)], [tb.admin]),
                      OracleError.WRONG_ADDRESS)  # fmt: skip
    assert fails_with(tb.send([replace_account(init_ix(tb), 6, stray)], [tb.admin]),
                      OracleError.WRONG_ADDRESS)  # fmt: skip


def test_a_frozen_program_cannot_be_initialized(program: bytes) -> None:
    tb = uninitialized(program)
    install_upgradeable(tb.svm, PROGRAM_ID, program, None)  # upgrade authority dropped
    assert fails_with(tb.send([init_ix(tb)], [tb.admin]), OracleError.UNAUTHORIZED)


def test_a_program_without_an_upgrade_authority_to_ask_cannot_be_initialized(
    program: bytes,
) -> None:
    # LiteSVM's add_program uses the old, non-upgradeable loader: no authority exists, so
    # nobody (not even the key that loaded it) may become admin
    tb = Testbed(program, initialize=False, upgradeable=False)
    anyone = Keypair()
    tb.svm.airdrop(anyone.pubkey(), 10**10)
    for admin in (anyone, tb.admin):
        result = tb.send([init_ix(tb, admin=admin.pubkey(), program_data=PROGRAM_ID)], [admin])
        assert fails_with(result, OracleError.UNAUTHORIZED)
    assert tb.account_data(tb.config) == b""


def test_initialize_twice_fails(tb: Testbed) -> None:
    assert fails_with(tb.send([init_ix(tb)], [tb.admin]), OracleError.ALREADY_INITIALIZED)


@pytest.mark.parametrize(
    ("interval", "limits"),
    [
        (0, ix.Limits()),
        (-900, ix.Limits()),
        (86_401, ix.Limits()),
        (900, ix.Limits(max_future_skew_s=-1)),
        (900, ix.Limits(max_future_skew_s=86_401)),
        (900, ix.Limits(max_rated_power_w=0)),
        (900, ix.Limits(max_rated_power_w=MAX_RATED_POWER_W + 1)),
        (900, ix.Limits(max_baseline_age_s=-1)),
        (900, ix.Limits(max_baseline_age_s=MAX_BASELINE_AGE_S + 1)),
    ],
)
def test_initialize_refuses_limits_out_of_range(
    program: bytes, interval: int, limits: ix.Limits
) -> None:
    tb = uninitialized(program)
    result = tb.send([init_ix(tb, clearing_interval_s=interval, limits=limits)], [tb.admin])
    assert fails_with(result, OracleError.INVALID_LIMITS)


@pytest.mark.parametrize(
    "case", ["decimals", "authority", "freeze", "supply", "not_a_mint", "not_token_owned"]
)
def test_initialize_checks_the_mint(program: bytes, case: str) -> None:
    tb = uninitialized(program)
    authority = tb.mint_authority
    if case == "decimals":
        mint = tb.create_mint(authority, decimals=6)
    elif case == "authority":
        mint = tb.create_mint(tb.admin.pubkey())
    elif case == "freeze":
        mint = tb.create_mint(authority, freeze=tb.admin.pubkey())
    elif case == "supply":
        # minted by a human first, then handed to the PDA: refused, supply must be 0
        mint = tb.create_mint(tb.admin.pubkey())
        holder = tb.create_token_account(tb.admin.pubkey(), mint)
        mint_to = Instruction(
            TOKEN_PROGRAM_ID,
            bytes([7]) + (5).to_bytes(8, "little"),
            [
                AccountMeta(mint, False, True),
                AccountMeta(holder, False, True),
                AccountMeta(tb.admin.pubkey(), True, False),
            ],
        )
        handover = set_authority(
            SetAuthorityParams(
                program_id=TOKEN_PROGRAM_ID,
                account=mint,
                authority=AuthorityType.MINT_TOKENS,
                current_authority=tb.admin.pubkey(),
                new_authority=authority,
            )
        )
        assert tb.send([mint_to, handover], [tb.admin]).ok
    elif case == "not_a_mint":
        mint = tb.create_token_account(tb.admin.pubkey())  # token-owned, but an account
    else:
        mint = tb.gateway.pubkey()  # a wallet: owned by the System Program
    expected = (
        OracleError.WRONG_ACCOUNT_OWNER if case == "not_token_owned" else OracleError.INVALID_MINT
    )
    assert fails_with(tb.send([init_ix(tb, mint=mint)], [tb.admin]), expected)


def test_initialize_refuses_a_config_or_authority_off_their_pdas(program: bytes) -> None:
    tb = uninitialized(program)
    stray = Keypair()
    wrong_config = replace_account(init_ix(tb), 1, AccountMeta(stray.pubkey(), True, True))
    assert fails_with(tb.send([wrong_config], [tb.admin, stray]), OracleError.WRONG_ADDRESS)
    wrong_authority = replace_account(init_ix(tb), 3, AccountMeta(stray.pubkey(), False, False))
    assert fails_with(tb.send([wrong_authority], [tb.admin]), OracleError.WRONG_ADDRESS)


def test_initialize_refuses_a_fake_system_program(program: bytes) -> None:
    tb = uninitialized(program)
    fake = replace_account(init_ix(tb), 4, AccountMeta(tb.mint, False, False))
    assert fails_with(tb.send([fake], [tb.admin]), OracleError.WRONG_PROGRAM)


def test_initialize_needs_the_admin_signature(program: bytes) -> None:
    tb = uninitialized(program)
    unsigned = replace_account(init_ix(tb), 0, AccountMeta(tb.admin.pubkey(), False, True))
    assert fails_with(tb.send([unsigned], [tb.payer]), OracleError.MISSING_SIGNATURE)


def test_initialize_with_short_data_or_accounts_fails(program: bytes) -> None:
    tb = uninitialized(program)
    good = init_ix(tb)
    short = Instruction(PROGRAM_ID, bytes(good.data)[:-1], list(good.accounts))
    assert fails_with(tb.send([short], [tb.admin]), OracleError.INVALID_INSTRUCTION_DATA)
    few = Instruction(PROGRAM_ID, bytes(good.data), list(good.accounts)[:4])
    assert fails_with(tb.send([few], [tb.admin]), OracleError.NOT_ENOUGH_ACCOUNTS)


def test_initialize_funds_a_config_address_someone_prefunded(program: bytes) -> None:
    tb = uninitialized(program)
    tb.svm.airdrop(tb.config, 1_000)  # griefing attempt: CreateAccount would fail
    assert tb.send([init_ix(tb)], [tb.admin]).ok
    assert tb.config_account().admin == tb.admin.pubkey()
    account = tb.svm.get_account(tb.config)
    assert account is not None
    assert account.lamports == tb.svm.minimum_balance_for_rent_exemption(CONFIG_SIZE)


def test_unknown_instruction_and_empty_data_fail(tb: Testbed) -> None:
    for data in (b"", b"\x01\x02\x03", bytes(8)):
        bad = Instruction(PROGRAM_ID, data, [AccountMeta(tb.config, False, True)])
        assert fails_with(tb.send([bad], [tb.payer]), OracleError.INVALID_INSTRUCTION)


# --------------------------------------------------------------------------- register_meter


def test_the_gateway_registers_a_meter(tb: Testbed) -> None:
    id_ = lfdi()
    owner = Keypair().pubkey()
    tb.set_time(GENESIS_TS + 77)
    result = tb.send(
        [ix.register_meter(tb.gateway.pubkey(), tb.payer.pubkey(), id_, owner, 7_000)],
        [tb.payer, tb.gateway],
    )
    assert result.ok, result.logs
    m = tb.meter_account(id_)
    assert (m.owner, m.lfdi, m.rated_power_w) == (owner, id_, 7_000)
    assert m.bump == meter_address(id_)[1]
    assert (m.last_reading_ts, m.snapshot_epoch, m.last_cleared_epoch) == (0, -1, -1)
    assert (m.import_wh, m.export_wh, m.minted_wh, m.registered_at) == (0, 0, 0, GENESIS_TS + 77)
    account = tb.svm.get_account(meter_address(id_)[0])
    assert account is not None and len(account.data) == METER_SIZE
    assert tb.config_account().meters_registered == 1
    assert result.events == [MeterRegistered(meter_address(id_)[0], id_, owner, 7_000)]


def test_the_admin_may_register_too(tb: Testbed) -> None:
    id_ = lfdi()
    result = tb.send(
        [ix.register_meter(tb.admin.pubkey(), tb.admin.pubkey(), id_, Pubkey.default(), 1)],
        [tb.admin],
    )
    assert result.ok and tb.meter_account(id_).rated_power_w == 1


def test_the_gateway_rates_a_meter_at_most_at_the_admins_limit(tb: Testbed) -> None:
    # the rating bounds all a meter can mint: a gateway key must not pick it at will
    limit = tb.config_account().max_rated_power_w
    assert limit == DEFAULT_MAX_RATED_POWER_W
    at, above = lfdi(), lfdi()
    tb.register_meter(at, Pubkey.default(), limit)
    over = ix.register_meter(tb.gateway.pubkey(), tb.payer.pubkey(), above, Pubkey.default(),
                             limit + 1)  # fmt: skip
    assert fails_with(tb.send([over], [tb.payer, tb.gateway]), OracleError.RATED_POWER_ABOVE_LIMIT)
    assert tb.account_data(meter_address(above)[0]) == b""
    # the admin may rate a meter above the limit (it sets the limit anyway)
    big = ix.register_meter(tb.admin.pubkey(), tb.admin.pubkey(), above, Pubkey.default(),
                            10 * limit)  # fmt: skip
    assert tb.send([big], [tb.admin]).ok
    assert tb.meter_account(above).rated_power_w == 10 * limit
    # and lowering the limit binds the gateway's next registration
    lower = ix.Limits(60, 1_000, 900)
    assert tb.send([ix.update_limits(tb.admin.pubkey(), lower)], [tb.admin]).ok
    third = ix.register_meter(tb.gateway.pubkey(), tb.payer.pubkey(), lfdi(), Pubkey.default(),
                              1_001)  # fmt: skip
    assert fails_with(tb.send([third], [tb.payer, tb.gateway]),
                      OracleError.RATED_POWER_ABOVE_LIMIT)  # fmt: skip


def test_a_stranger_cannot_register(tb: Testbed) -> None:
    stranger = Keypair()
    tb.svm.airdrop(stranger.pubkey(), 10**9)
    result = tb.send(
        [ix.register_meter(stranger.pubkey(), stranger.pubkey(), lfdi(), Pubkey.default(), 5)],
        [stranger],
    )
    assert fails_with(result, OracleError.UNAUTHORIZED)


def test_register_refuses_zero_rated_power_and_a_second_registration(tb: Testbed) -> None:
    id_ = lfdi()
    zero = ix.register_meter(tb.gateway.pubkey(), tb.payer.pubkey(), id_, Pubkey.default(), 0)
    assert fails_with(tb.send([zero], [tb.payer, tb.gateway]), OracleError.INVALID_RATED_POWER)
    tb.register_meter(id_, Pubkey.default(), 5)
    again = ix.register_meter(tb.gateway.pubkey(), tb.payer.pubkey(), id_, Pubkey.default(), 9)
    assert fails_with(tb.send([again], [tb.payer, tb.gateway]), OracleError.ALREADY_INITIALIZED)
    assert tb.meter_account(id_).rated_power_w == 5


def test_register_refuses_a_meter_account_of_another_lfdi(tb: Testbed) -> None:
    good = ix.register_meter(tb.gateway.pubkey(), tb.payer.pubkey(), lfdi(), Pubkey.default(), 5)
    other = meter_address(lfdi())[0]
    bad = replace_account(good, 3, AccountMeta(other, False, True))
    assert fails_with(tb.send([bad], [tb.payer, tb.gateway]), OracleError.WRONG_ADDRESS)


def test_register_refuses_a_fake_config(tb: Testbed) -> None:
    # a copy of the real Config's bytes in an account this program does not own
    fake = Keypair()
    tb.svm.airdrop(fake.pubkey(), 10**9)
    data = tb.account_data(tb.config)
    tb.svm.set_account(fake.pubkey(), Account(10**9, data, Pubkey.new_unique(), False, 0))
    good = ix.register_meter(tb.gateway.pubkey(), tb.payer.pubkey(), lfdi(), Pubkey.default(), 5)
    bad = replace_account(good, 2, AccountMeta(fake.pubkey(), False, True))
    assert fails_with(tb.send([bad], [tb.payer, tb.gateway]), OracleError.WRONG_ACCOUNT_OWNER)


def test_register_refuses_a_meter_in_place_of_the_config(tb: Testbed) -> None:
    first = lfdi()
    meter = tb.register_meter(first, Pubkey.default(), 5)
    good = ix.register_meter(tb.gateway.pubkey(), tb.payer.pubkey(), lfdi(), Pubkey.default(), 5)
    bad = replace_account(good, 2, AccountMeta(meter, False, True))
    assert fails_with(tb.send([bad], [tb.payer, tb.gateway]), OracleError.WRONG_ACCOUNT_TYPE)


def test_register_works_on_a_prefunded_meter_address(tb: Testbed) -> None:
    id_ = lfdi()
    address = meter_address(id_)[0]
    tb.svm.airdrop(address, 10**10)  # more than rent: no top-up, only allocate and assign
    tb.register_meter(id_, Pubkey.default(), 5)
    account = tb.svm.get_account(address)
    assert account is not None and account.owner == PROGRAM_ID and account.lamports == 10**10
    assert bytes(account.data)[:8] == account_discriminator("Meter")


# --------------------------------------------------------------------------- admin setters


def test_set_active_pauses_and_resumes(tb: Testbed) -> None:
    assert tb.send([ix.set_active(tb.admin.pubkey(), False)], [tb.admin]).ok
    assert tb.config_account().active is False
    assert tb.send([ix.set_active(tb.admin.pubkey(), True)], [tb.admin]).ok
    assert tb.config_account().active is True


def test_set_active_refuses_a_bool_that_is_not_0_or_1(tb: Testbed) -> None:
    good = ix.set_active(tb.admin.pubkey(), True)
    bad = Instruction(PROGRAM_ID, bytes(good.data)[:-1] + b"\x02", list(good.accounts))
    assert fails_with(tb.send([bad], [tb.admin]), OracleError.INVALID_INSTRUCTION_DATA)


def test_set_gateway(tb: Testbed) -> None:
    new = Keypair().pubkey()
    assert tb.send([ix.set_gateway(tb.admin.pubkey(), new)], [tb.admin]).ok
    assert tb.config_account().gateway == new


def test_set_admin_needs_both_signatures(tb: Testbed) -> None:
    new = Keypair()
    tb.svm.airdrop(new.pubkey(), 10**9)
    unsigned = ix.set_admin(tb.admin.pubkey(), new.pubkey())
    unsigned = replace_account(unsigned, 2, AccountMeta(new.pubkey(), False, False))
    assert fails_with(tb.send([unsigned], [tb.admin]), OracleError.MISSING_SIGNATURE)
    assert tb.send([ix.set_admin(tb.admin.pubkey(), new.pubkey())], [tb.admin, new]).ok
    assert tb.config_account().admin == new.pubkey()
    # the old admin has lost the role
    old = tb.send([ix.set_active(tb.admin.pubkey(), False)], [tb.admin])
    assert fails_with(old, OracleError.UNAUTHORIZED)


def test_update_limits(tb: Testbed) -> None:
    good = ix.Limits(300, 250_000, 3_600)
    assert tb.send([ix.update_limits(tb.admin.pubkey(), good)], [tb.admin]).ok
    c = tb.config_account()
    assert (c.max_future_skew_s, c.max_rated_power_w, c.max_baseline_age_s) == (300, 250_000, 3_600)
    for bad in (
        ix.Limits(-1),
        ix.Limits(86_401),
        ix.Limits(60, 0),
        ix.Limits(60, MAX_RATED_POWER_W + 1),
        ix.Limits(60, 1, -1),
        ix.Limits(60, 1, MAX_BASELINE_AGE_S + 1),
    ):
        result = tb.send([ix.update_limits(tb.admin.pubkey(), bad)], [tb.admin])
        assert fails_with(result, OracleError.INVALID_LIMITS)
    assert tb.config_account() == c


@pytest.mark.parametrize("who", ["gateway", "stranger"])
def test_only_the_admin_steers(tb: Testbed, who: str) -> None:
    signer = tb.gateway if who == "gateway" else Keypair()
    tb.svm.airdrop(signer.pubkey(), 10**9)
    before = tb.account_data(tb.config)
    for instruction in (
        ix.set_active(signer.pubkey(), False),
        ix.set_gateway(signer.pubkey(), signer.pubkey()),
        ix.update_limits(signer.pubkey(), ix.Limits(5, MAX_RATED_POWER_W, MAX_BASELINE_AGE_S)),
        ix.set_admin(signer.pubkey(), signer.pubkey()),
    ):
        assert fails_with(tb.send([instruction], [signer]), OracleError.UNAUTHORIZED)
    assert tb.account_data(tb.config) == before


def test_admin_instructions_need_a_signature_and_a_writable_config(tb: Testbed) -> None:
    good = ix.set_active(tb.admin.pubkey(), False)
    unsigned = replace_account(good, 0, AccountMeta(tb.admin.pubkey(), False, False))
    assert fails_with(tb.send([unsigned], [tb.payer]), OracleError.MISSING_SIGNATURE)
    readonly = replace_account(good, 1, AccountMeta(tb.config, False, False))
    assert fails_with(tb.send([readonly], [tb.admin]), OracleError.ACCOUNT_NOT_WRITABLE)
    assert tb.config_account().active is True


def test_a_copy_of_the_config_owned_by_someone_else_steers_nothing(tb: Testbed) -> None:
    copy = Pubkey.new_unique()
    data = tb.account_data(tb.config)
    tb.svm.set_account(copy, Account(10**9, data, SYSTEM_PROGRAM_ID, False, 0))
    good = ix.set_active(tb.admin.pubkey(), False)
    impostor = replace_account(good, 1, AccountMeta(copy, False, True))
    assert fails_with(tb.send([impostor], [tb.admin]), OracleError.WRONG_ACCOUNT_OWNER)
    assert ConfigAccount.decode(tb.account_data(tb.config)).active is True


# --------------------------------------------------------------------------- edges


@pytest.mark.parametrize("threshold", [2.0, 1.0, 1.5, 0.37, 3.1415926])
def test_rent_exemption_is_computed_exactly_for_any_threshold(
    program: bytes, threshold: float
) -> None:
    # The program reads the f64 threshold with integer arithmetic; it must ask for no
    # less than the runtime's own figure (else the account is not rent-exempt) and at
    # most one lamport more.
    tb = uninitialized(program)
    tb.svm.set_rent(Rent(3_480, threshold, 50))
    assert tb.send([init_ix(tb)], [tb.admin]).ok
    account = tb.svm.get_account(tb.config)
    assert account is not None
    expected = tb.svm.minimum_balance_for_rent_exemption(CONFIG_SIZE)
    assert expected <= account.lamports <= expected + 1


def test_a_rent_threshold_that_is_not_a_number_is_refused(program: bytes) -> None:
    tb = uninitialized(program)
    tb.svm.set_rent(Rent(3_480, float("inf"), 50))
    assert fails_with(tb.send([init_ix(tb)], [tb.admin]), OracleError.ARITHMETIC_OVERFLOW)


def test_more_than_128_accounts_are_refused(tb: Testbed) -> None:
    # 129 metas naming a handful of accounts (duplicates are cheap in a transaction)
    good = ix.set_active(tb.admin.pubkey(), False)
    metas = list(good.accounts) + [AccountMeta(tb.config, False, True)] * 127
    bad = Instruction(PROGRAM_ID, bytes(good.data), metas)
    assert fails_with(tb.send([bad], [tb.admin]), OracleError.TOO_MANY_ACCOUNTS)
    ok = Instruction(PROGRAM_ID, bytes(good.data), metas[:128])
    assert tb.send([ok], [tb.admin]).ok
