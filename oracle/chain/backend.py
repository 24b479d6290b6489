"""The one interface every chain backend offers, and the values it speaks in.

The submission worker and ``chain init`` talk to a :class:`ChainBackend` and never to
LiteSVM or an RPC client directly, so the same code runs against the embedded chain, the
local JSON-RPC server over it, a local validator or devnet. Keys, signatures, hashes,
accounts and transactions are solders' types; everything else is a small frozen value here.

Errors: a transaction that fails while executing has *landed* (it has a slot and paid
its fee); its failure is in :attr:`TxStatus.err`. A transaction the chain refused before
executing it (unknown blockhash, bad signature, a preflight failure, no funds for the fee)
raises :class:`TransactionRejected`. An unreachable endpoint raises
:class:`ChainUnavailable`, which the worker retries with backoff.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from solders.account import Account
from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.hash import Hash
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import Transaction, VersionedTransaction
from solders.transaction_status import TransactionErrorType, TransactionStatus

Commitment = Literal["processed", "confirmed", "finalized"]
COMMITMENT_RANK: dict[str, int] = {"processed": 0, "confirmed": 1, "finalized": 2}

AnyTransaction = VersionedTransaction | Transaction


class ChainError(Exception):
    """Something on the chain side failed; the message is one line."""


class ChainUnavailable(ChainError):
    """The chain could not be reached (connection refused, timeout); worth retrying."""


class StateDirLocked(ChainError):
    """Another process holds the embedded chain's state directory."""


@dataclass(frozen=True)
class TxError:
    """Why a transaction failed, in the JSON form Solana's RPC uses.

    ``"BlockhashNotFound"`` or ``{"InstructionError": [0, {"Custom": 6001}]}``.
    """

    detail: Any

    @classmethod
    def from_solders(cls, err: TransactionErrorType) -> TxError:
        """Convert solders' typed error (as LiteSVM and solana-py return it)."""
        status = TransactionStatus(0, None, None, err, None)
        return cls(json.loads(status.to_json())["err"])

    def to_solders(self) -> TransactionErrorType:
        """The same error as solders' typed value."""
        doc = {"slot": 0, "confirmations": None, "status": {"Ok": None}, "err": self.detail}
        err = TransactionStatus.from_json(json.dumps(doc)).err
        assert err is not None
        return err

    @property
    def instruction_index(self) -> int | None:
        """Index of the failing instruction, for an InstructionError."""
        if isinstance(self.detail, dict) and "InstructionError" in self.detail:
            return int(self.detail["InstructionError"][0])
        return None

    @property
    def custom_code(self) -> int | None:
        """The program's own error number (``Custom(n)``), if that is what failed."""
        if isinstance(self.detail, dict) and "InstructionError" in self.detail:
            inner = self.detail["InstructionError"][1]
            if isinstance(inner, dict) and "Custom" in inner:
                return int(inner["Custom"])
        return None

    def __str__(self) -> str:
        return self.detail if isinstance(self.detail, str) else json.dumps(self.detail)


class TransactionRejected(ChainError):
    """The chain refused the transaction before it landed: nothing changed, no fee paid."""

    def __init__(self, err: TxError, logs: Sequence[str] = (), message: str = "") -> None:
        self.err = err
        self.logs = tuple(logs)
        super().__init__(message or f"transaction rejected: {err}")


@dataclass(frozen=True)
class LatestBlockhash:
    """A blockhash to sign with, and the last block height at which it is accepted."""

    blockhash: Hash
    last_valid_block_height: int


@dataclass(frozen=True)
class ChainClock:
    """The Clock sysvar as programs see it."""

    slot: int
    unix_timestamp: int
    epoch: int


@dataclass(frozen=True)
class TxStatus:
    """Where a landed transaction is: its slot, its failure if any, its commitment."""

    slot: int
    err: TxError | None
    confirmation: Commitment

    @property
    def ok(self) -> bool:
        """True when the transaction executed without error."""
        return self.err is None


@dataclass(frozen=True)
class TxRecord:
    """A landed transaction as the event decoder needs it."""

    signature: Signature
    slot: int
    block_time: int | None
    err: TxError | None
    logs: tuple[str, ...]
    compute_units: int | None
    fee: int
    pre_balances: tuple[int, ...] = field(default=())
    post_balances: tuple[int, ...] = field(default=())


@dataclass(frozen=True)
class Simulation:
    """The outcome of running a transaction without committing it."""

    err: TxError | None
    logs: tuple[str, ...]
    compute_units: int | None


@dataclass(frozen=True)
class TokenAmount:
    """An SPL token balance in base units, with the mint's decimals."""

    amount: int
    decimals: int


@runtime_checkable
class ChainBackend(Protocol):
    """What the bridge needs from a chain, whichever chain it is."""

    @property
    def name(self) -> str:
        """A short description for logs and errors (``embedded:/path`` or the URL)."""
        ...

    async def latest_blockhash(self) -> LatestBlockhash:
        """A recent blockhash to sign transactions with."""
        ...

    async def send_transaction(
        self, tx: AnyTransaction, *, skip_preflight: bool = True
    ) -> Signature:
        """Submit a signed transaction; its signature once accepted.

        Sending a transaction that already landed is harmless: it is not executed again
        and its signature is returned. Raises :class:`TransactionRejected` if the chain
        refuses it (with ``skip_preflight=False`` also when a simulation fails).
        """
        ...

    async def simulate_transaction(self, tx: AnyTransaction) -> Simulation:
        """Execute without committing: logs, compute units and the error if any."""
        ...

    async def signature_statuses(self, signatures: Sequence[Signature]) -> list[TxStatus | None]:
        """The status of each signature; None for one the chain does not know."""
        ...

    async def confirm_transaction(
        self, signature: Signature, *, timeout: float | None = None
    ) -> TxStatus | None:
        """Wait until the transaction reaches the configured commitment.

        Returns its status (check :attr:`TxStatus.err`), or None if it has not landed
        within ``timeout`` seconds (the settings' confirm_timeout by default).
        """
        ...

    async def get_transaction(self, signature: Signature) -> TxRecord | None:
        """The landed transaction's slot, logs, compute units, error and fee."""
        ...

    async def get_account(self, address: Pubkey) -> Account | None:
        """One account, or None if it does not exist."""
        ...

    async def get_multiple_accounts(self, addresses: Sequence[Pubkey]) -> list[Account | None]:
        """Several accounts in one request, in the order asked."""
        ...

    async def get_balance(self, address: Pubkey) -> int:
        """Lamports held by an address (0 if it does not exist)."""
        ...

    async def get_token_account_balance(self, address: Pubkey) -> TokenAmount:
        """The balance of an SPL token account; ChainError if it is not one."""
        ...

    async def minimum_balance_for_rent_exemption(self, data_len: int) -> int:
        """Lamports an account of ``data_len`` bytes needs to be rent exempt."""
        ...

    async def request_airdrop(self, address: Pubkey, lamports: int) -> Signature:
        """Fund an address (local chains and test clusters only)."""
        ...

    async def clock(self) -> ChainClock:
        """The chain's clock: slot and unix timestamp as programs see them."""
        ...

    async def deploy_program(
        self, program_id: Pubkey, program: bytes, upgrade_authority: Pubkey
    ) -> None:
        """Deploy an sBPF program at ``program_id`` through the BPF upgradeable loader, with
        ``upgrade_authority`` as its upgrade authority (embedded chain only)."""
        ...

    async def create_lookup_table(self, authority: Keypair, payer: Keypair) -> Pubkey:
        """Create an address lookup table owned by ``authority``; its address."""
        ...

    async def extend_lookup_table(
        self, table: Pubkey, authority: Keypair, payer: Keypair, addresses: Sequence[Pubkey]
    ) -> None:
        """Append addresses to a table; returns once they are usable (a later slot)."""
        ...

    async def get_lookup_table(self, table: Pubkey) -> AddressLookupTableAccount | None:
        """A table's addresses, ready for ``MessageV0.try_compile``."""
        ...

    async def close(self) -> None:
        """Release the backend (files, locks, connections)."""
        ...
