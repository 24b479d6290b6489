"""Reading SPL Token mints and token accounts (Token and Token-2022 base layouts).

What the chain layer needs to answer ``getTokenAccountBalance`` and ``jsonParsed``
account queries itself: the fixed layouts of spl-token's ``Mint`` (82 bytes) and
``Account`` (165 bytes), which Token-2022 keeps as the prefix of its extended accounts.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from solders.account import Account
from solders.pubkey import Pubkey

TOKEN_PROGRAM_ID = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
TOKEN_2022_PROGRAM_ID = Pubkey.from_string("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb")
TOKEN_PROGRAMS = (TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID)
NATIVE_MINT = Pubkey.from_string("So11111111111111111111111111111111111111112")

MINT_LEN = 82
ACCOUNT_LEN = 165
# Token-2022 appends extensions after the base account; byte 165 then says which it is.
_ACCOUNT_TYPE_MINT = 1
_ACCOUNT_TYPE_ACCOUNT = 2
_STATES = {0: "uninitialized", 1: "initialized", 2: "frozen"}


@dataclass(frozen=True)
class Mint:
    """An SPL token mint."""

    mint_authority: Pubkey | None
    supply: int
    decimals: int
    is_initialized: bool
    freeze_authority: Pubkey | None


@dataclass(frozen=True)
class TokenAccount:
    """An SPL token account."""

    mint: Pubkey
    owner: Pubkey
    amount: int
    delegate: Pubkey | None
    state: str
    is_native: int | None  # the rent-exempt reserve of a wrapped-SOL account
    delegated_amount: int
    close_authority: Pubkey | None


def _option_key(data: bytes, at: int) -> Pubkey | None:
    (tag,) = struct.unpack_from("<I", data, at)
    return Pubkey.from_bytes(data[at + 4 : at + 36]) if tag == 1 else None


def _kind(account: Account) -> int | None:
    if account.owner not in TOKEN_PROGRAMS:
        return None
    n = len(account.data)
    if n == MINT_LEN:
        return _ACCOUNT_TYPE_MINT
    if n == ACCOUNT_LEN:
        return _ACCOUNT_TYPE_ACCOUNT
    if n > ACCOUNT_LEN and account.owner == TOKEN_2022_PROGRAM_ID:
        return account.data[ACCOUNT_LEN]
    return None


def parse_mint(account: Account) -> Mint | None:
    """The mint held in ``account``, or None if it is not an initialised mint."""
    if _kind(account) != _ACCOUNT_TYPE_MINT:
        return None
    d = bytes(account.data)
    supply, decimals, initialised = struct.unpack_from("<QBB", d, 36)
    if not initialised:
        return None
    return Mint(_option_key(d, 0), supply, decimals, True, _option_key(d, 46))


def parse_token_account(account: Account) -> TokenAccount | None:
    """The token account held in ``account``, or None if it is not an initialised one."""
    if _kind(account) != _ACCOUNT_TYPE_ACCOUNT:
        return None
    d = bytes(account.data)
    state = d[108]
    if state == 0:
        return None
    (amount,) = struct.unpack_from("<Q", d, 64)
    (native_tag,) = struct.unpack_from("<I", d, 109)
    (native,) = struct.unpack_from("<Q", d, 113)
    (delegated,) = struct.unpack_from("<Q", d, 121)
    return TokenAccount(
        mint=Pubkey.from_bytes(d[0:32]),
        owner=Pubkey.from_bytes(d[32:64]),
        amount=amount,
        delegate=_option_key(d, 72),
        state=_STATES.get(state, "uninitialized"),
        is_native=native if native_tag == 1 else None,
        delegated_amount=delegated,
        close_authority=_option_key(d, 129),
    )


def ui_amount(amount: int, decimals: int) -> dict[str, Any]:
    """The ``UiTokenAmount`` JSON Solana's RPC gives for a base-unit amount."""
    exact = Decimal(amount).scaleb(-decimals)
    text = format(exact, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return {
        "amount": str(amount),
        "decimals": decimals,
        "uiAmount": float(exact),
        "uiAmountString": text,
    }


def parsed_json(account: Account, decimals_of: dict[Pubkey, int]) -> dict[str, Any] | None:
    """The ``jsonParsed`` form of a mint or token account, or None if it is neither.

    ``decimals_of`` gives the decimals of the token account's mint (looked up by the
    caller, who has the accounts).
    """
    program = "spl-token" if account.owner == TOKEN_PROGRAM_ID else "spl-token-2022"
    mint = parse_mint(account)
    if mint is not None:
        info: dict[str, Any] = {
            "decimals": mint.decimals,
            "freezeAuthority": str(mint.freeze_authority) if mint.freeze_authority else None,
            "isInitialized": True,
            "mintAuthority": str(mint.mint_authority) if mint.mint_authority else None,
            "supply": str(mint.supply),
        }
        kind = "mint"
    else:
        token = parse_token_account(account)
        if token is None or token.mint not in decimals_of:
            return None
        decimals = decimals_of[token.mint]
        info = {
            "isNative": token.is_native is not None,
            "mint": str(token.mint),
            "owner": str(token.owner),
            "state": token.state,
            "tokenAmount": ui_amount(token.amount, decimals),
        }
        if token.delegate is not None:
            info["delegate"] = str(token.delegate)
            info["delegatedAmount"] = ui_amount(token.delegated_amount, decimals)
        if token.close_authority is not None:
            info["closeAuthority"] = str(token.close_authority)
        if token.is_native is not None:
            info["rentExemptReserve"] = ui_amount(token.is_native, decimals)
        kind = "account"
    return {
        "program": program,
        "parsed": {"info": info, "type": kind},
        "space": len(account.data),
    }
