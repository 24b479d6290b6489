"""The small codecs of the chain layer: SPL layouts, token amounts, errors, u64 columns."""

from __future__ import annotations

import struct
from decimal import Decimal
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from solders.account import Account
from solders.pubkey import Pubkey

from oracle.chain.backend import TxError
from oracle.chain.ledger import Ledger, _to_i64, _to_u64
from oracle.chain.rpc_methods import error_text
from oracle.chain.spl_token import (
    TOKEN_2022_PROGRAM_ID,
    TOKEN_PROGRAM_ID,
    parse_mint,
    parse_token_account,
    ui_amount,
)

u64 = st.integers(0, 2**64 - 1)
keys = st.binary(min_size=32, max_size=32).map(Pubkey.from_bytes)
maybe_key = st.none() | keys


def _option(key: Pubkey | None) -> bytes:
    return struct.pack("<I", 1) + bytes(key) if key else bytes(36)


@given(u64, st.integers(0, 18))
def test_ui_amount_is_exact(amount: int, decimals: int) -> None:
    ui = ui_amount(amount, decimals)
    assert ui["amount"] == str(amount)
    text = ui["uiAmountString"]
    assert Decimal(text).scaleb(decimals) == amount
    assert "." not in text or not text.endswith(("0", "."))


@given(keys, keys, u64, maybe_key, u64, maybe_key, st.sampled_from([1, 2]), st.none() | u64)
def test_token_account_layout(
    mint: Pubkey,
    owner: Pubkey,
    amount: int,
    delegate: Pubkey | None,
    delegated: int,
    close: Pubkey | None,
    state: int,
    native: int | None,
) -> None:
    data = (
        bytes(mint)
        + bytes(owner)
        + struct.pack("<Q", amount)
        + _option(delegate)
        + bytes([state])
        + (struct.pack("<IQ", 1, native) if native is not None else bytes(12))
        + struct.pack("<Q", delegated)
        + _option(close)
    )
    assert len(data) == 165
    parsed = parse_token_account(Account(2_039_280, data, TOKEN_PROGRAM_ID))
    assert parsed is not None
    assert (parsed.mint, parsed.owner, parsed.amount) == (mint, owner, amount)
    assert (parsed.delegate, parsed.delegated_amount, parsed.close_authority) == (
        delegate,
        delegated,
        close,
    )
    assert parsed.state == {1: "initialized", 2: "frozen"}[state]
    assert parsed.is_native == native
    assert parse_mint(Account(1, data, TOKEN_PROGRAM_ID)) is None
    # the same bytes under another owner are nobody's token account
    assert parse_token_account(Account(1, data, Pubkey.default())) is None


@given(maybe_key, u64, st.integers(0, 255), maybe_key)
def test_mint_layout(
    authority: Pubkey | None, supply: int, decimals: int, freeze: Pubkey | None
) -> None:
    data = _option(authority) + struct.pack("<QBB", supply, decimals, 1) + _option(freeze)
    mint = parse_mint(Account(1_461_600, data, TOKEN_PROGRAM_ID))
    assert mint is not None
    assert (mint.mint_authority, mint.supply, mint.decimals, mint.freeze_authority) == (
        authority,
        supply,
        decimals,
        freeze,
    )
    # Token-2022 extends the mint: padded to 165 bytes, then the account type (1 = mint)
    extended = data + bytes(165 - 82) + bytes([1]) + bytes(20)
    assert parse_mint(Account(1, extended, TOKEN_2022_PROGRAM_ID)) == mint
    uninitialised = data[:45] + b"\x00" + data[46:]
    assert parse_mint(Account(1, uninitialised, TOKEN_PROGRAM_ID)) is None


@given(u64)
def test_u64_columns_survive_sqlite(value: int) -> None:
    assert _to_u64(_to_i64(value)) == value
    assert -(2**63) <= _to_i64(value) < 2**63


def test_accounts_round_trip_through_the_ledger(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.sqlite3")
    big = Account(2**63 + 5, b"\x00\x01", TOKEN_PROGRAM_ID, False, 2**64 - 1)
    key = Pubkey.new_unique()
    ledger.create_genesis(b"g" * 32, 1.0, [(key, big)])
    assert dict(ledger.accounts())[key] == big
    assert ledger.accounts_owned_by(TOKEN_PROGRAM_ID) == [(key, big)]
    ledger.close()


ERRORS = [
    "BlockhashNotFound",
    "AlreadyProcessed",
    {"InstructionError": [0, {"Custom": 6001}]},
    {"InstructionError": [2, "InvalidAccountData"]},
    {"InstructionError": [1, {"BorshIoError": "Unknown"}]},
    {"InsufficientFundsForRent": {"account_index": 3}},
    {"DuplicateInstruction": 4},
]


def test_transaction_errors_round_trip_through_solders() -> None:
    for detail in ERRORS:
        err = TxError(detail)
        assert TxError.from_solders(err.to_solders()) == err


def test_transaction_error_accessors_and_words() -> None:
    custom = TxError({"InstructionError": [3, {"Custom": 6001}]})
    assert (custom.instruction_index, custom.custom_code) == (3, 6001)
    assert error_text(custom) == "Error processing Instruction 3: custom program error: 0x1771"
    builtin = TxError({"InstructionError": [0, "InvalidAccountData"]})
    assert (builtin.instruction_index, builtin.custom_code) == (0, None)
    assert error_text(builtin) == "Error processing Instruction 0: Invalid account data"
    assert error_text(TxError("BlockhashNotFound")) == "Blockhash not found"
    assert TxError("BlockhashNotFound").instruction_index is None
    assert str(custom) == '{"InstructionError": [3, {"Custom": 6001}]}'
