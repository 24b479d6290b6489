"""Solana JSON-RPC methods answered from a LocalChain, in the shapes agave gives.

Each method takes the request's positional ``params`` and returns the JSON ``result``, or
raises :class:`RpcError` with Solana's code: -32602 for bad parameters, -32002 for a
transaction refused at preflight (with the simulation's logs), -32003 for a bad
signature, -32015 for a v0 transaction asked for without ``maxSupportedTransactionVersion``.
What is served is what solana-py, anchorpy and the solana CLI use (see :data:`METHODS`).

Everything is final at once on this chain: all commitments answer alike and
``confirmationStatus`` is always ``finalized``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from collections.abc import Callable
from typing import Any

import based58
from solders.account import Account
from solders.hash import Hash
from solders.message import MessageV0, from_bytes_versioned
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from oracle.chain.backend import TransactionRejected, TxError
from oracle.chain.ledger import StoredTransaction
from oracle.chain.local import SOLANA_CORE_VERSION, LocalChain, LocalSimulation
from oracle.chain.spl_token import (
    TOKEN_PROGRAMS,
    parse_mint,
    parse_token_account,
    parsed_json,
    ui_amount,
)

# JSON-RPC 2.0 and Solana's own error codes.
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
PREFLIGHT_FAILURE = -32002
SIGNATURE_VERIFICATION_FAILURE = -32003
NODE_UNHEALTHY = -32005
UNSUPPORTED_TRANSACTION_VERSION = -32015

MAX_MULTIPLE_ACCOUNTS = 100
MAX_SIGNATURE_STATUSES = 256
MAX_BASE58_ACCOUNT_BYTES = 128
MAX_FILTERS = 4
MAX_SIGNATURES_FOR_ADDRESS = 1000
MAX_PRIORITIZATION_FEE_ACCOUNTS = 128
PRIORITIZATION_FEE_SLOTS = 150  # agave's prioritization-fee cache holds this many blocks

MEMO_PROGRAMS = (
    Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr"),
    Pubkey.from_string("Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo"),
)
COMPUTE_BUDGET_PROGRAM = Pubkey.from_string("ComputeBudget111111111111111111111111111111")
SET_COMPUTE_UNIT_PRICE = 3  # ComputeBudgetInstruction's tag; a u64 of micro-lamports follows

# A validator's getVersion names its feature set by a u32 taken from a hash of the active
# feature ids. This chain's features are LiteSVM's defaults for the agave release below, so
# its id is taken the same way from that release's name: stable, and not any validator's.
FEATURE_SET_ID = int.from_bytes(
    hashlib.sha256(f"litesvm agave {SOLANA_CORE_VERSION}".encode()).digest()[:4], "little"
)


class RpcError(Exception):
    """A JSON-RPC error object: code, message and optional data."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_json(self) -> dict[str, Any]:
        """The ``error`` member of a response."""
        doc: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            doc["data"] = self.data
        return doc


def invalid(message: str) -> RpcError:
    """An invalid-params error."""
    return RpcError(INVALID_PARAMS, message)


# -- parameter parsing -----------------------------------------------------------------------


def _arg(params: list[Any], i: int, what: str) -> Any:
    if len(params) <= i:
        raise invalid(f"`params` should have at least {i + 1} argument(s): missing {what}")
    return params[i]


def config_param(params: list[Any], i: int) -> dict[str, Any]:
    """The configuration object at position ``i`` ({} when absent)."""
    if len(params) <= i or params[i] is None:
        return {}
    if not isinstance(params[i], dict):
        raise invalid(f"Invalid params: expected a configuration object at position {i}")
    config: dict[str, Any] = params[i]
    return config


def pubkey_param(value: Any) -> Pubkey:
    """A base-58 public key parameter."""
    if not isinstance(value, str):
        raise invalid("Invalid param: expected a base-58 public key string")
    try:
        return Pubkey.from_string(value)
    except ValueError:
        raise invalid(f"Invalid param: Invalid public key {value!r}") from None


def signature_param(value: Any) -> Signature:
    """A base-58 signature parameter."""
    if not isinstance(value, str):
        raise invalid("Invalid param: expected a base-58 signature string")
    try:
        return Signature.from_string(value)
    except ValueError:
        raise invalid(f"Invalid param: Invalid signature {value!r}") from None


def _hash(value: Any) -> Hash:
    if not isinstance(value, str):
        raise invalid("Invalid param: expected a base-58 blockhash string")
    try:
        return Hash.from_string(value)
    except ValueError:
        raise invalid(f"Invalid param: Invalid blockhash {value!r}") from None


def _uint(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise invalid(f"Invalid param: {what} must be a non-negative integer")
    return value


def _decode(data: Any, encoding: str) -> bytes:
    if not isinstance(data, str):
        raise invalid("Invalid params: expected an encoded string")
    try:
        if encoding == "base64":
            return base64.b64decode(data, validate=True)
        if encoding == "base58":
            return bytes(based58.b58decode(data.encode()))
    except (binascii.Error, ValueError) as exc:
        raise invalid(f"invalid {encoding} encoding: {exc}") from None
    raise invalid(f"unsupported encoding: {encoding}. Supported encodings: base58, base64")


def _transaction(params: list[Any], config: dict[str, Any]) -> VersionedTransaction:
    raw = _decode(_arg(params, 0, "transaction"), config.get("encoding", "base58"))
    try:
        tx = VersionedTransaction.from_bytes(raw)
    except ValueError as exc:
        raise invalid(
            f"failed to deserialize solana_transaction::versioned::VersionedTransaction: {exc}"
        ) from None
    try:
        tx.sanitize()
    except Exception as exc:  # solders raises its own SanitizeError type
        raise invalid(f"invalid transaction: {exc}") from None
    return tx


# -- JSON shapes -----------------------------------------------------------------------------


def error_text(err: TxError) -> str:
    """A transaction error in words, as agave's messages phrase it."""
    d = err.detail
    if isinstance(d, dict) and "InstructionError" in d:
        index, inner = d["InstructionError"]
        if isinstance(inner, dict) and "Custom" in inner:
            what = f"custom program error: {inner['Custom']:#x}"
        else:
            what = _words(inner if isinstance(inner, str) else next(iter(inner)))
        return f"Error processing Instruction {index}: {what}"
    return _words(d if isinstance(d, str) else next(iter(d)))


def _words(variant: str) -> str:
    words = re.sub(r"(?<!^)(?=[A-Z])", " ", variant).lower()
    return words[:1].upper() + words[1:]


def _status(err: Any) -> dict[str, Any]:
    return {"Ok": None} if err is None else {"Err": err}


def _simulation_json(sim: LocalSimulation, accounts: list[Any] | None = None) -> dict[str, Any]:
    return {
        "err": None if sim.err is None else sim.err.detail,
        "logs": sim.logs,
        "accounts": accounts,
        "unitsConsumed": sim.compute_units,
        "returnData": sim.return_data,
        "innerInstructions": None,
        "replacementBlockhash": None,
    }


class RpcMethods:
    """The JSON-RPC methods of one LocalChain."""

    def __init__(self, chain: LocalChain) -> None:
        self.chain = chain
        self.table: dict[str, Callable[[list[Any]], Any]] = {
            name: getattr(self, "rpc_" + name) for name in METHODS
        }

    def call(self, method: str, params: list[Any]) -> Any:
        """Run one method; RpcError for anything the caller got wrong."""
        handler = self.table.get(method)
        if handler is None:
            raise RpcError(METHOD_NOT_FOUND, "Method not found")
        return handler(params)

    def _context(self) -> dict[str, Any]:
        return {"apiVersion": SOLANA_CORE_VERSION, "slot": self.chain.slot}

    def _with_context(self, value: Any) -> dict[str, Any]:
        return {"context": self._context(), "value": value}

    # -- accounts ------------------------------------------------------------------------

    def _decimals(self, accounts: list[Account | None]) -> dict[Pubkey, int]:
        """Decimals of the mints of the token accounts among ``accounts``."""
        out: dict[Pubkey, int] = {}
        for account in accounts:
            token = None if account is None else parse_token_account(account)
            if token is not None and token.mint not in out:
                mint_account = self.chain.account(token.mint)
                mint = None if mint_account is None else parse_mint(mint_account)
                if mint is not None:
                    out[token.mint] = mint.decimals
        return out

    def ui_account(
        self,
        account: Account | None,
        config: dict[str, Any],
        decimals: dict[Pubkey, int] | None = None,
    ) -> dict[str, Any] | None:
        """An account in the encoding ``config`` asks for (agave's UiAccount)."""
        if account is None:
            return None
        encoding = config.get("encoding", "binary")
        data = bytes(account.data)
        window = config.get("dataSlice")
        if window is not None:
            if not isinstance(window, dict):
                raise invalid("Invalid param: dataSlice must be {offset, length}")
            offset = _uint(window.get("offset"), "dataSlice.offset")
            length = _uint(window.get("length"), "dataSlice.length")
            data = data[offset : offset + length]
        ui_data: Any
        if encoding == "jsonParsed" and window is None:
            parsed = parsed_json(account, decimals or self._decimals([account]))
            ui_data = parsed if parsed is not None else [base64.b64encode(data).decode(), "base64"]
        elif encoding in ("base64", "jsonParsed"):
            ui_data = [base64.b64encode(data).decode(), "base64"]
        elif encoding == "base64+zstd":
            # agave answers plain base64 when it does not compress; clients follow the tag.
            ui_data = [base64.b64encode(data).decode(), "base64"]
        elif encoding in ("base58", "binary"):
            if len(data) > MAX_BASE58_ACCOUNT_BYTES:
                raise RpcError(
                    INVALID_REQUEST,
                    "Encoded binary (base 58) data should be less than 128 bytes, please use"
                    " Base64 encoding.",
                )
            text = based58.b58encode(data).decode()
            ui_data = text if encoding == "binary" else [text, "base58"]
        else:
            raise invalid(f"Invalid param: unknown encoding {encoding!r}")
        return {
            "data": ui_data,
            "executable": account.executable,
            "lamports": account.lamports,
            "owner": str(account.owner),
            "rentEpoch": account.rent_epoch,
            "space": len(account.data),
        }

    def rpc_getAccountInfo(self, params: list[Any]) -> Any:
        key = pubkey_param(_arg(params, 0, "pubkey"))
        config = config_param(params, 1)
        return self._with_context(self.ui_account(self.chain.account(key), config))

    def rpc_getMultipleAccounts(self, params: list[Any]) -> Any:
        keys = _arg(params, 0, "pubkeys")
        if not isinstance(keys, list):
            raise invalid("Invalid param: expected a list of public keys")
        if len(keys) > MAX_MULTIPLE_ACCOUNTS:
            raise invalid(f"Too many inputs provided; max {MAX_MULTIPLE_ACCOUNTS}")
        config = config_param(params, 1)
        accounts = [self.chain.account(pubkey_param(k)) for k in keys]
        decimals = self._decimals(accounts) if config.get("encoding") == "jsonParsed" else None
        return self._with_context([self.ui_account(a, config, decimals) for a in accounts])

    def rpc_getBalance(self, params: list[Any]) -> Any:
        key = pubkey_param(_arg(params, 0, "pubkey"))
        return self._with_context(self.chain.balance(key))

    def rpc_getTokenAccountBalance(self, params: list[Any]) -> Any:
        key = pubkey_param(_arg(params, 0, "pubkey"))
        account = self.chain.account(key)
        if account is None:
            raise invalid("Invalid param: could not find account")
        token = parse_token_account(account)
        if token is None:
            raise invalid("Invalid param: not a Token account")
        mint_account = self.chain.account(token.mint)
        mint = None if mint_account is None else parse_mint(mint_account)
        if mint is None:
            raise invalid("Invalid param: could not find mint")
        return self._with_context(ui_amount(token.amount, mint.decimals))

    def _mint(self, key: Pubkey) -> Any:
        account = self.chain.account(key)
        if account is None:
            raise invalid("Invalid param: could not find account")
        mint = parse_mint(account)
        if mint is None:
            raise invalid("Invalid param: not a Token mint")
        return mint

    def rpc_getTokenSupply(self, params: list[Any]) -> Any:
        mint = self._mint(pubkey_param(_arg(params, 0, "mint")))
        return self._with_context(ui_amount(mint.supply, mint.decimals))

    def rpc_getTokenAccountsByOwner(self, params: list[Any]) -> Any:
        owner = pubkey_param(_arg(params, 0, "owner"))
        which = _arg(params, 1, "mint or programId filter")
        if not isinstance(which, dict) or len(which) != 1:
            raise invalid("Invalid param: expected {mint} or {programId}")
        wanted_mint: Pubkey | None = None
        if "mint" in which:
            wanted_mint = pubkey_param(which["mint"])
            mint_account = self.chain.account(wanted_mint)
            if mint_account is None or parse_mint(mint_account) is None:
                raise invalid("Invalid param: could not find mint")
            programs = [mint_account.owner]
        elif "programId" in which:
            program = pubkey_param(which["programId"])
            if program not in TOKEN_PROGRAMS:
                raise invalid("Invalid param: unrecognized Token program id")
            programs = [program]
        else:
            raise invalid(f"Invalid param: unsupported filter {next(iter(which))!r}")
        config = config_param(params, 2)
        found = []
        for program in programs:
            for key, account in self.chain.program_accounts(program):
                token = parse_token_account(account)
                if token is None or token.owner != owner:
                    continue
                if wanted_mint is None or token.mint == wanted_mint:
                    found.append((key, account))
        decimals = (
            self._decimals([a for _, a in found])
            if config.get("encoding") == "jsonParsed"
            else None
        )
        return self._with_context(
            [
                {"pubkey": str(key), "account": self.ui_account(account, config, decimals)}
                for key, account in found
            ]
        )

    def rpc_getProgramAccounts(self, params: list[Any]) -> Any:
        owner = pubkey_param(_arg(params, 0, "program id"))
        config = config_param(params, 1)
        tests = _filters(config.get("filters"))
        found = [
            (key, account)
            for key, account in self.chain.program_accounts(owner)
            if all(test(bytes(account.data)) for test in tests)
        ]
        decimals = (
            self._decimals([a for _, a in found])
            if config.get("encoding") == "jsonParsed"
            else None
        )
        value = [
            {"pubkey": str(key), "account": self.ui_account(account, config, decimals)}
            for key, account in found
        ]
        return self._with_context(value) if config.get("withContext") else value

    def rpc_getMinimumBalanceForRentExemption(self, params: list[Any]) -> Any:
        size = _uint(_arg(params, 0, "data length"), "data length")
        return self.chain.minimum_balance(size)

    def rpc_requestAirdrop(self, params: list[Any]) -> Any:
        key = pubkey_param(_arg(params, 0, "pubkey"))
        lamports = _uint(_arg(params, 1, "lamports"), "lamports")
        return str(self.chain.airdrop(key, lamports).signature)

    # -- clock, blocks, cluster ---------------------------------------------------------------

    def rpc_getSlot(self, params: list[Any]) -> Any:
        return self.chain.slot

    def rpc_getBlockHeight(self, params: list[Any]) -> Any:
        return self.chain.slot  # every slot has a block here

    def rpc_getEpochInfo(self, params: list[Any]) -> Any:
        info = self.chain.epoch_info()
        slot = self.chain.slot
        return {
            "absoluteSlot": slot,
            "blockHeight": slot,
            "epoch": info["epoch"],
            "slotIndex": info["slotIndex"],
            "slotsInEpoch": info["slotsInEpoch"],
            "transactionCount": self.chain.transaction_count,
        }

    def rpc_getEpochSchedule(self, params: list[Any]) -> Any:
        slots = self.chain.epoch_info()["slotsInEpoch"]
        return {
            "firstNormalEpoch": 0,
            "firstNormalSlot": 0,
            "leaderScheduleSlotOffset": slots,
            "slotsPerEpoch": slots,
            "warmup": False,
        }

    def rpc_getTransactionCount(self, params: list[Any]) -> Any:
        return self.chain.transaction_count

    def rpc_getHealth(self, params: list[Any]) -> Any:
        if self.chain.broken is not None:
            raise RpcError(NODE_UNHEALTHY, f"Node is unhealthy: {self.chain.broken}")
        return "ok"

    def rpc_getVersion(self, params: list[Any]) -> Any:
        return {"solana-core": SOLANA_CORE_VERSION, "feature-set": FEATURE_SET_ID}

    def rpc_getGenesisHash(self, params: list[Any]) -> Any:
        return str(self.chain.genesis_hash)

    def rpc_getFirstAvailableBlock(self, params: list[Any]) -> Any:
        return 0

    def rpc_minimumLedgerSlot(self, params: list[Any]) -> Any:
        return 0

    def rpc_getLatestBlockhash(self, params: list[Any]) -> Any:
        blockhash, last_valid = self.chain.latest_blockhash()
        return self._with_context({"blockhash": str(blockhash), "lastValidBlockHeight": last_valid})

    def rpc_isBlockhashValid(self, params: list[Any]) -> Any:
        blockhash = _hash(_arg(params, 0, "blockhash"))
        return self._with_context(self.chain.is_blockhash_valid(blockhash))

    def rpc_getFeeForMessage(self, params: list[Any]) -> Any:
        raw = _decode(_arg(params, 0, "message"), "base64")
        try:
            message = from_bytes_versioned(raw)
        except ValueError as exc:
            raise invalid(f"invalid message: {exc}") from None
        return self._with_context(self.chain.fee_for_message(message))

    # -- transactions ------------------------------------------------------------------------

    def rpc_sendTransaction(self, params: list[Any]) -> Any:
        config = config_param(params, 1)
        tx = _transaction(params, config)
        signature = tx.signatures[0]
        if self.chain.transaction(signature) is not None:
            return str(signature)  # landed before: a resend changes nothing
        if not config.get("skipPreflight", False):
            if not all(tx.verify_with_results()):
                raise RpcError(
                    SIGNATURE_VERIFICATION_FAILURE, "Transaction signature verification failure"
                )
            sim = self.chain.simulate(tx)
            if sim.err is not None:
                raise RpcError(
                    PREFLIGHT_FAILURE,
                    f"Transaction simulation failed: {error_text(sim.err)}",
                    _simulation_json(sim),
                )
        try:
            record = self.chain.execute(tx)
        except TransactionRejected as exc:
            sim = LocalSimulation(exc.err, list(exc.logs), 0, None, None, {})
            raise RpcError(
                PREFLIGHT_FAILURE,
                f"Transaction rejected: {error_text(exc.err)}",
                _simulation_json(sim),
            ) from None
        return str(record.signature)

    def rpc_simulateTransaction(self, params: list[Any]) -> Any:
        config = config_param(params, 1)
        tx = _transaction(params, config)
        sig_verify = bool(config.get("sigVerify", False))
        replace = bool(config.get("replaceRecentBlockhash", False))
        if sig_verify and replace:
            raise invalid("sigVerify may not be used with replaceRecentBlockhash")
        sim = self.chain.simulate(tx, sig_verify=sig_verify, replace_blockhash=replace)
        accounts = None
        wanted = config.get("accounts")
        if wanted is not None:
            if not isinstance(wanted, dict) or not isinstance(wanted.get("addresses"), list):
                raise invalid("Invalid param: accounts must be {addresses, encoding}")
            account_config = {"encoding": wanted.get("encoding", "base64")}
            accounts = []
            for text in wanted["addresses"]:
                key = pubkey_param(text)
                if sim.err is None and key in sim.post_accounts:
                    after: Account | None = sim.post_accounts[key]
                    account = after if after is not None and after.lamports > 0 else None
                else:
                    account = self.chain.account(key)
                accounts.append(self.ui_account(account, account_config))
        value = _simulation_json(sim, accounts)
        if config.get("innerInstructions"):
            value["innerInstructions"] = sim.inner_instructions or []
        if replace:
            blockhash, last_valid = self.chain.latest_blockhash()
            value["replacementBlockhash"] = {
                "blockhash": str(blockhash),
                "lastValidBlockHeight": last_valid,
            }
        return self._with_context(value)

    def rpc_getSignatureStatuses(self, params: list[Any]) -> Any:
        texts = _arg(params, 0, "signatures")
        if not isinstance(texts, list):
            raise invalid("Invalid param: expected a list of signatures")
        if len(texts) > MAX_SIGNATURE_STATUSES:
            raise invalid(f"Too many inputs provided; max {MAX_SIGNATURE_STATUSES}")
        signatures = [signature_param(t) for t in texts]
        value = [
            None
            if s is None
            else {
                "slot": s[0],
                "confirmations": None,
                "err": s[1],
                "status": _status(s[1]),
                "confirmationStatus": "finalized",
            }
            for s in self.chain.statuses(signatures)
        ]
        return self._with_context(value)

    def rpc_getSignaturesForAddress(self, params: list[Any]) -> Any:
        address = pubkey_param(_arg(params, 0, "address"))
        config = config_param(params, 1)
        limit = config.get("limit")
        limit = MAX_SIGNATURES_FOR_ADDRESS if limit is None else _uint(limit, "limit")
        if not 1 <= limit <= MAX_SIGNATURES_FOR_ADDRESS:
            raise invalid(f"Invalid limit; max {MAX_SIGNATURES_FOR_ADDRESS}")
        before = config.get("before")
        until = config.get("until")
        found = self.chain.transactions_of(
            address,
            before=None if before is None else signature_param(before),
            until=None if until is None else signature_param(until),
            limit=limit,
        )
        return [
            {
                "signature": str(t.signature),
                "slot": t.slot,
                "err": t.err,
                "memo": _memo(VersionedTransaction.from_bytes(t.tx)),
                "blockTime": t.block_time,
                "confirmationStatus": "finalized",
            }
            for t in found
        ]

    def rpc_getRecentPrioritizationFees(self, params: list[Any]) -> Any:
        texts = params[0] if params else []
        if not isinstance(texts, list):
            raise invalid("Invalid param: expected a list of account addresses")
        if len(texts) > MAX_PRIORITIZATION_FEE_ACCOUNTS:
            raise invalid(f"Too many inputs provided; max {MAX_PRIORITIZATION_FEE_ACCOUNTS}")
        accounts = {pubkey_param(t) for t in texts}
        slot = self.chain.slot
        first = max(0, slot - PRIORITIZATION_FEE_SLOTS + 1)
        # Per slot: the lowest price any transaction paid, and per written account the
        # lowest price paid by a transaction writing it (how agave's fee cache keeps them).
        block_min: dict[int, int] = {}
        account_min: dict[tuple[int, Pubkey], int] = {}
        for stored in self.chain.recent_transactions(PRIORITIZATION_FEE_SLOTS):
            tx = VersionedTransaction.from_bytes(stored.tx)
            price = _compute_unit_price(tx)
            block_min[stored.slot] = min(price, block_min.get(stored.slot, price))
            for key in _written(tx, stored) & accounts:
                at = (stored.slot, key)
                account_min[at] = min(price, account_min.get(at, price))
        return [
            {
                "slot": s,
                "prioritizationFee": max(
                    [block_min.get(s, 0)] + [account_min.get((s, k), 0) for k in accounts]
                ),
            }
            for s in range(first, slot + 1)
        ]

    def rpc_getTransaction(self, params: list[Any]) -> Any:
        signature = signature_param(_arg(params, 0, "signature"))
        second = params[1] if len(params) > 1 else None
        # The old form passes the encoding alone.
        config = {"encoding": second} if isinstance(second, str) else config_param(params, 1)
        if config.get("commitment") == "processed":
            raise invalid("Method does not support commitment below `confirmed`")
        encoding = config.get("encoding", "json")
        if encoding not in ("json", "base64", "base58"):
            raise invalid(
                f"Invalid param: unsupported encoding {encoding!r} (json, base64, base58)"
            )
        max_version = config.get("maxSupportedTransactionVersion")
        if max_version is not None and max_version != 0:
            raise invalid("Invalid param: maxSupportedTransactionVersion must be 0")
        stored = self.chain.transaction(signature)
        if stored is None:
            return None
        tx = VersionedTransaction.from_bytes(stored.tx)
        is_v0 = isinstance(tx.message, MessageV0)
        if is_v0 and max_version is None:
            raise RpcError(
                UNSUPPORTED_TRANSACTION_VERSION,
                "Transaction version (0) is not supported by the requesting client. Please try"
                " the request again with the following configuration parameter:"
                ' "maxSupportedTransactionVersion": 0',
            )
        if encoding == "json":
            body: Any = _transaction_json(tx)
        elif encoding == "base64":
            body = [base64.b64encode(stored.tx).decode(), "base64"]
        else:
            body = [based58.b58encode(stored.tx).decode(), "base58"]
        doc: dict[str, Any] = {
            "slot": stored.slot,
            "blockTime": stored.block_time,
            "meta": _meta_json(stored),
            "transaction": body,
        }
        if max_version is not None:
            doc["version"] = 0 if is_v0 else "legacy"
        return doc


def _filters(raw: Any) -> list[Callable[[bytes], bool]]:
    """getProgramAccounts filters (dataSize, memcmp) as predicates over account data."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise invalid("Invalid param: filters must be a list")
    if len(raw) > MAX_FILTERS:
        raise invalid(f"Too many filters provided; max {MAX_FILTERS}")
    tests: list[Callable[[bytes], bool]] = []
    for f in raw:
        if not isinstance(f, dict) or len(f) != 1:
            raise invalid("Invalid param: each filter is {dataSize} or {memcmp}")
        if "dataSize" in f:
            tests.append(_size_is(_uint(f["dataSize"], "dataSize")))
        elif "memcmp" in f:
            m = f["memcmp"]
            if not isinstance(m, dict):
                raise invalid("Invalid param: memcmp must be {offset, bytes}")
            offset = _uint(m.get("offset"), "memcmp.offset")
            encoding = m.get("encoding", "base58")
            if encoding not in ("base58", "base64"):
                raise invalid(f"Invalid param: memcmp encoding {encoding!r} (base58, base64)")
            text = m.get("bytes")
            if isinstance(text, str) and encoding == "base58" and len(text) > 175:
                raise invalid("Invalid param: memcmp bytes too long")
            tests.append(_bytes_at(offset, _decode(text, encoding)))
        else:
            raise invalid(f"Invalid param: unsupported filter {next(iter(f))!r}")
    return tests


def _memo(tx: VersionedTransaction) -> str | None:
    """The transaction's memos as agave lists them: "[length] text", joined by "; "."""
    keys = tx.message.account_keys
    memos = [
        bytes(ix.data)
        for ix in tx.message.instructions
        if ix.program_id_index < len(keys) and keys[ix.program_id_index] in MEMO_PROGRAMS
    ]
    if not memos:
        return None
    return "; ".join(f"[{len(m)}] {m.decode('utf-8', 'replace')}" for m in memos)


def _compute_unit_price(tx: VersionedTransaction) -> int:
    """The micro-lamports per compute unit a transaction offers (0 when it sets none)."""
    keys = tx.message.account_keys
    for ix in tx.message.instructions:
        data = bytes(ix.data)
        if (
            ix.program_id_index < len(keys)
            and keys[ix.program_id_index] == COMPUTE_BUDGET_PROGRAM
            and len(data) == 9
            and data[0] == SET_COMPUTE_UNIT_PRICE
        ):
            return int(struct.unpack_from("<Q", data, 1)[0])
    return 0


def _written(tx: VersionedTransaction, stored: StoredTransaction) -> set[Pubkey]:
    """The accounts a landed transaction locked for writing."""
    keys = list(tx.message.account_keys)
    h = tx.message.header
    signed = h.num_required_signatures
    written = {
        k
        for i, k in enumerate(keys)
        if i < signed - h.num_readonly_signed_accounts
        or signed <= i < len(keys) - h.num_readonly_unsigned_accounts
    }
    loaded = stored.loaded_addresses or {}
    written.update(Pubkey.from_string(t) for t in loaded.get("writable", []))
    return written


def _size_is(size: int) -> Callable[[bytes], bool]:
    return lambda data: len(data) == size


def _bytes_at(offset: int, want: bytes) -> Callable[[bytes], bool]:
    return lambda data: data[offset : offset + len(want)] == want


def _transaction_json(tx: VersionedTransaction) -> dict[str, Any]:
    message = tx.message
    h = message.header
    body: dict[str, Any] = {
        "accountKeys": [str(k) for k in message.account_keys],
        "header": {
            "numReadonlySignedAccounts": h.num_readonly_signed_accounts,
            "numReadonlyUnsignedAccounts": h.num_readonly_unsigned_accounts,
            "numRequiredSignatures": h.num_required_signatures,
        },
        "instructions": [
            {
                "accounts": list(ix.accounts),
                "data": based58.b58encode(bytes(ix.data)).decode(),
                "programIdIndex": ix.program_id_index,
                "stackHeight": None,
            }
            for ix in message.instructions
        ],
        "recentBlockhash": str(message.recent_blockhash),
    }
    if isinstance(message, MessageV0):
        body["addressTableLookups"] = [
            {
                "accountKey": str(lookup.account_key),
                "readonlyIndexes": list(lookup.readonly_indexes),
                "writableIndexes": list(lookup.writable_indexes),
            }
            for lookup in message.address_table_lookups
        ]
    return {"message": body, "signatures": [str(s) for s in tx.signatures]}


def _meta_json(stored: StoredTransaction) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "computeUnitsConsumed": stored.compute_units,
        "err": stored.err,
        "fee": stored.fee,
        "innerInstructions": stored.inner_instructions or [],
        "loadedAddresses": stored.loaded_addresses or {"readonly": [], "writable": []},
        "logMessages": stored.logs,
        "postBalances": stored.post_balances,
        "postTokenBalances": [],
        "preBalances": stored.pre_balances,
        "preTokenBalances": [],
        "rewards": [],
        "status": _status(stored.err),
    }
    if stored.return_data is not None:
        meta["returnData"] = stored.return_data
    return meta


METHODS = (
    "getAccountInfo",
    "getBalance",
    "getBlockHeight",
    "getEpochInfo",
    "getEpochSchedule",
    "getFeeForMessage",
    "getFirstAvailableBlock",
    "getGenesisHash",
    "getHealth",
    "getLatestBlockhash",
    "getMinimumBalanceForRentExemption",
    "getMultipleAccounts",
    "getProgramAccounts",
    "getRecentPrioritizationFees",
    "getSignatureStatuses",
    "getSignaturesForAddress",
    "getSlot",
    "getTokenAccountBalance",
    "getTokenAccountsByOwner",
    "getTokenSupply",
    "getTransaction",
    "getTransactionCount",
    "getVersion",
    "isBlockhashValid",
    "minimumLedgerSlot",
    "requestAirdrop",
    "sendTransaction",
    "simulateTransaction",
)
