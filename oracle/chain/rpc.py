"""The JSON-RPC backend: any Solana endpoint through solana-py's AsyncClient.

Devnet, a local validator, or ``gridmirror chain serve`` (which lets several processes
share one embedded chain). Errors come back as the chain layer's own: a refused
transaction as :class:`TransactionRejected` (with the simulation's logs when preflight
failed), an unreachable endpoint as :class:`ChainUnavailable`.
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Awaitable, Sequence
from typing import Any, TypeVar

from solana.exceptions import SolanaRpcException
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Commitment as SolanaCommitment
from solana.rpc.core import RPCException, RPCNoResultException
from solana.rpc.types import TxOpts
from solders.account import Account
from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.rpc.errors import SendTransactionPreflightFailureMessage
from solders.signature import Signature
from solders.sysvar import CLOCK

from oracle.chain import lookup_tables
from oracle.chain.backend import (
    COMMITMENT_RANK,
    AnyTransaction,
    ChainClock,
    ChainError,
    ChainUnavailable,
    Commitment,
    LatestBlockhash,
    Simulation,
    TokenAmount,
    TransactionRejected,
    TxError,
    TxRecord,
    TxStatus,
)

T = TypeVar("T")

# TransactionConfirmationStatus as an int: Processed 0, Confirmed 1, Finalized 2.
_LEVELS: tuple[Commitment, ...] = ("processed", "confirmed", "finalized")
MAX_ACCOUNTS_PER_REQUEST = 100  # getMultipleAccounts' limit
MAX_SIGNATURES_PER_REQUEST = 256  # getSignatureStatuses' limit


class RpcBackend:
    """A :class:`~oracle.chain.backend.ChainBackend` over a JSON-RPC endpoint."""

    def __init__(
        self,
        url: str,
        *,
        commitment: Commitment = "confirmed",
        timeout: float = 10.0,
        confirm_timeout: float = 60.0,
        poll_interval: float = 0.4,
    ) -> None:
        self.url = url
        self.commitment: Commitment = commitment
        self._level = SolanaCommitment(commitment)
        self.confirm_timeout = confirm_timeout
        self.poll_interval = poll_interval
        self.client = AsyncClient(url, commitment=self._level, timeout=timeout)

    @property
    def name(self) -> str:
        """The endpoint's URL."""
        return self.url

    async def _call(self, request: Awaitable[T]) -> T:
        """Await one request, turning transport and RPC errors into the layer's errors."""
        try:
            return await request
        except SolanaRpcException as exc:
            cause = exc.__cause__ or exc
            raise ChainUnavailable(f"{self.url}: {type(cause).__name__}: {cause}") from exc
        except RPCNoResultException as exc:
            raise ChainError(f"{self.url}: {exc}") from exc
        except RPCException as exc:
            detail = exc.args[0] if exc.args else exc
            if isinstance(detail, SendTransactionPreflightFailureMessage):
                data = detail.data
                err = TxError.from_solders(data.err) if data.err is not None else TxError("Unknown")
                raise TransactionRejected(err, data.logs or (), detail.message) from exc
            message = getattr(detail, "message", str(detail))
            raise ChainError(f"{self.url}: {message}") from exc

    async def latest_blockhash(self) -> LatestBlockhash:
        """``getLatestBlockhash`` at the configured commitment."""
        resp = await self._call(self.client.get_latest_blockhash(self._level))
        return LatestBlockhash(resp.value.blockhash, resp.value.last_valid_block_height)

    async def send_transaction(
        self, tx: AnyTransaction, *, skip_preflight: bool = True
    ) -> Signature:
        """``sendTransaction`` (base64)."""
        opts = TxOpts(
            skip_confirmation=True,
            skip_preflight=skip_preflight,
            preflight_commitment=self._level,
        )
        resp = await self._call(self.client.send_raw_transaction(bytes(tx), opts))
        return resp.value

    async def simulate_transaction(self, tx: AnyTransaction) -> Simulation:
        """``simulateTransaction``."""
        resp = await self._call(self.client.simulate_transaction(tx, commitment=self._level))
        v = resp.value
        err = None if v.err is None else TxError.from_solders(v.err)
        return Simulation(err, tuple(v.logs or ()), v.units_consumed)

    async def signature_statuses(self, signatures: Sequence[Signature]) -> list[TxStatus | None]:
        """``getSignatureStatuses`` with the transaction history searched."""
        out: list[TxStatus | None] = []
        for start in range(0, len(signatures), MAX_SIGNATURES_PER_REQUEST):
            chunk = list(signatures[start : start + MAX_SIGNATURES_PER_REQUEST])
            resp = await self._call(
                self.client.get_signature_statuses(chunk, search_transaction_history=True)
            )
            for s in resp.value:
                if s is None:
                    out.append(None)
                    continue
                level = _LEVELS[int(s.confirmation_status or 0)]
                err = None if s.err is None else TxError.from_solders(s.err)
                out.append(TxStatus(s.slot, err, level))
        return out

    async def confirm_transaction(
        self, signature: Signature, *, timeout: float | None = None
    ) -> TxStatus | None:
        """Poll the status until it reaches the configured commitment, or time runs out."""
        deadline = time.monotonic() + (self.confirm_timeout if timeout is None else timeout)
        want = COMMITMENT_RANK[self.commitment]
        while True:
            (status,) = await self.signature_statuses([signature])
            if status is not None and COMMITMENT_RANK[status.confirmation] >= want:
                return status
            if time.monotonic() >= deadline:
                return None
            await asyncio.sleep(self.poll_interval)

    async def get_transaction(self, signature: Signature) -> TxRecord | None:
        """``getTransaction`` (json, v0 allowed)."""
        commitment = SolanaCommitment(
            "finalized" if self.commitment == "finalized" else "confirmed"
        )
        resp = await self._call(
            self.client.get_transaction(
                signature, "json", commitment, max_supported_transaction_version=0
            )
        )
        found = resp.value
        if found is None:
            return None
        meta = found.transaction.meta
        if meta is None:
            raise ChainError(f"{self.url}: transaction {signature} has no status metadata")
        return TxRecord(
            signature=signature,
            slot=found.slot,
            block_time=found.block_time,
            err=None if meta.err is None else TxError.from_solders(meta.err),
            logs=tuple(meta.log_messages or ()),
            compute_units=meta.compute_units_consumed,
            fee=meta.fee,
            pre_balances=tuple(meta.pre_balances),
            post_balances=tuple(meta.post_balances),
        )

    async def get_account(self, address: Pubkey) -> Account | None:
        """``getAccountInfo`` (base64)."""
        resp = await self._call(
            self.client.get_account_info(address, self._level, encoding="base64")
        )
        return _account(resp.value)

    async def get_multiple_accounts(self, addresses: Sequence[Pubkey]) -> list[Account | None]:
        """``getMultipleAccounts`` in requests of at most 100."""
        out: list[Account | None] = []
        for start in range(0, len(addresses), MAX_ACCOUNTS_PER_REQUEST):
            chunk = list(addresses[start : start + MAX_ACCOUNTS_PER_REQUEST])
            resp = await self._call(
                self.client.get_multiple_accounts(chunk, self._level, encoding="base64")
            )
            out += [_account(a) for a in resp.value]
        return out

    async def get_balance(self, address: Pubkey) -> int:
        """``getBalance``."""
        resp = await self._call(self.client.get_balance(address, self._level))
        return int(resp.value)

    async def get_token_account_balance(self, address: Pubkey) -> TokenAmount:
        """``getTokenAccountBalance``."""
        resp = await self._call(self.client.get_token_account_balance(address, self._level))
        return TokenAmount(int(resp.value.amount), resp.value.decimals)

    async def minimum_balance_for_rent_exemption(self, data_len: int) -> int:
        """``getMinimumBalanceForRentExemption``."""
        resp = await self._call(self.client.get_minimum_balance_for_rent_exemption(data_len))
        return int(resp.value)

    async def request_airdrop(self, address: Pubkey, lamports: int) -> Signature:
        """``requestAirdrop`` (local chains and test clusters)."""
        resp = await self._call(self.client.request_airdrop(address, lamports, self._level))
        return resp.value

    async def clock(self) -> ChainClock:
        """The Clock sysvar account, read at the configured commitment."""
        account = await self.get_account(CLOCK)
        if account is None or len(account.data) < 40:
            raise ChainError(f"{self.url}: the Clock sysvar is missing")
        slot, _start, epoch, _leader, timestamp = struct.unpack_from("<QqQQq", bytes(account.data))
        return ChainClock(slot, timestamp, epoch)

    async def deploy_program(
        self, program_id: Pubkey, program: bytes, upgrade_authority: Pubkey
    ) -> None:
        """Not over RPC: deploy on the embedded chain (or its server) instead."""
        raise ChainError(
            f"cannot deploy {program_id} through {self.url}: deploy on the embedded chain"
            " (stop `chain serve`, or pass it --program) "
        )

    async def create_lookup_table(self, authority: Keypair, payer: Keypair) -> Pubkey:
        """A new lookup table's address."""
        return await lookup_tables.create(self, authority, payer, poll=self.poll_interval)

    async def extend_lookup_table(
        self, table: Pubkey, authority: Keypair, payer: Keypair, addresses: Sequence[Pubkey]
    ) -> None:
        """Append addresses; returns once the chain has moved past the extending slot."""
        await lookup_tables.extend(
            self, table, authority, payer, addresses, poll=self.poll_interval
        )

    async def get_lookup_table(self, table: Pubkey) -> AddressLookupTableAccount | None:
        """A table's addresses."""
        return await lookup_tables.get(self, table)

    async def close(self) -> None:
        """Close the HTTP session."""
        await self.client.close()


def _account(value: Any) -> Account | None:
    if value is None:
        return None
    return Account(
        value.lamports, bytes(value.data), value.owner, value.executable, value.rent_epoch
    )
