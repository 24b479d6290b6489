"""The embedded backend: the chain runs in this process (the default; nothing to set up).

A thin async face over :class:`~oracle.chain.local.LocalChain`. LiteSVM executes in
microseconds, so calls run inline on the event loop; a transaction is final the moment
``send_transaction`` returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from solders.account import Account
from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature

from oracle.chain import lookup_tables
from oracle.chain.backend import (
    AnyTransaction,
    ChainClock,
    ChainError,
    LatestBlockhash,
    Simulation,
    TokenAmount,
    TransactionRejected,
    TxError,
    TxRecord,
    TxStatus,
)
from oracle.chain.ledger import StoredTransaction
from oracle.chain.local import LocalChain
from oracle.chain.spl_token import parse_mint, parse_token_account
from oracle.chain.timesource import TimeSource, system_time


class EmbeddedBackend:
    """A :class:`~oracle.chain.backend.ChainBackend` over a LocalChain in this process."""

    def __init__(self, chain: LocalChain) -> None:
        self.chain = chain

    @classmethod
    def open(
        cls,
        state_dir: Path | None,
        *,
        time_source: TimeSource = system_time,
        slot_seconds: float = 0.4,
        synchronous: str = "normal",
    ) -> EmbeddedBackend:
        """Open (or create) the chain kept in ``state_dir``; None keeps it in memory."""
        if synchronous not in ("normal", "full"):
            raise ChainError(f"unknown state_sync {synchronous!r}")
        chain = LocalChain(
            state_dir,
            time_source=time_source,
            slot_seconds=slot_seconds,
            synchronous="full" if synchronous == "full" else "normal",
        )
        return cls(chain)

    @property
    def name(self) -> str:
        """``embedded:<state dir>`` (or ``embedded:memory``)."""
        return f"embedded:{self.chain.state_dir or 'memory'}"

    async def latest_blockhash(self) -> LatestBlockhash:
        """The current slot's blockhash."""
        blockhash, last_valid = self.chain.latest_blockhash()
        return LatestBlockhash(blockhash, last_valid)

    async def send_transaction(
        self, tx: AnyTransaction, *, skip_preflight: bool = True
    ) -> Signature:
        """Execute and commit; with preflight, a failing transaction is refused instead."""
        if not skip_preflight:
            signature = tx.signatures[0]
            if self.chain.transaction(signature) is None:
                sim = self.chain.simulate(tx)
                if sim.err is not None:
                    raise TransactionRejected(
                        sim.err, sim.logs, f"transaction simulation failed: {sim.err}"
                    )
        return self.chain.execute(tx).signature

    async def simulate_transaction(self, tx: AnyTransaction) -> Simulation:
        """Execute without committing."""
        sim = self.chain.simulate(tx)
        return Simulation(sim.err, tuple(sim.logs), sim.compute_units)

    async def signature_statuses(self, signatures: Sequence[Signature]) -> list[TxStatus | None]:
        """Landed transactions are final at once."""
        return [
            None
            if s is None
            else TxStatus(s[0], None if s[1] is None else TxError(s[1]), "finalized")
            for s in self.chain.statuses(signatures)
        ]

    async def confirm_transaction(
        self, signature: Signature, *, timeout: float | None = None
    ) -> TxStatus | None:
        """Nothing to wait for: a transaction has landed when send returned, or never will."""
        (status,) = await self.signature_statuses([signature])
        return status

    async def get_transaction(self, signature: Signature) -> TxRecord | None:
        """The stored record of a landed transaction."""
        stored = self.chain.transaction(signature)
        return None if stored is None else record_of(stored)

    async def get_account(self, address: Pubkey) -> Account | None:
        """One account."""
        return self.chain.account(address)

    async def get_multiple_accounts(self, addresses: Sequence[Pubkey]) -> list[Account | None]:
        """Several accounts."""
        return [self.chain.account(a) for a in addresses]

    async def get_balance(self, address: Pubkey) -> int:
        """Lamports of an address."""
        return self.chain.balance(address)

    async def get_token_account_balance(self, address: Pubkey) -> TokenAmount:
        """Amount and decimals of an SPL token account."""
        return token_balance(self.chain, address)

    async def minimum_balance_for_rent_exemption(self, data_len: int) -> int:
        """Rent-exempt minimum."""
        return self.chain.minimum_balance(data_len)

    async def request_airdrop(self, address: Pubkey, lamports: int) -> Signature:
        """Fund an address from the chain's faucet."""
        return self.chain.airdrop(address, lamports).signature

    async def clock(self) -> ChainClock:
        """The Clock sysvar, brought up to now."""
        return self.chain.clock()

    async def deploy_program(
        self, program_id: Pubkey, program: bytes, upgrade_authority: Pubkey
    ) -> None:
        """Deploy an sBPF program through the upgradeable loader; kept across restarts."""
        self.chain.deploy(program_id, program, upgrade_authority)

    async def create_lookup_table(self, authority: Keypair, payer: Keypair) -> Pubkey:
        """A new lookup table's address."""
        return await lookup_tables.create(self, authority, payer)

    async def extend_lookup_table(
        self, table: Pubkey, authority: Keypair, payer: Keypair, addresses: Sequence[Pubkey]
    ) -> None:
        """Append addresses; usable as soon as this returns."""
        await lookup_tables.extend(self, table, authority, payer, addresses)

    async def get_lookup_table(self, table: Pubkey) -> AddressLookupTableAccount | None:
        """A table's addresses."""
        return await lookup_tables.get(self, table)

    async def close(self) -> None:
        """Close the state file and release its lock."""
        self.chain.close()


def record_of(stored: StoredTransaction) -> TxRecord:
    """The backend-neutral record of a stored transaction."""
    return TxRecord(
        signature=stored.signature,
        slot=stored.slot,
        block_time=stored.block_time,
        err=None if stored.err is None else TxError(stored.err),
        logs=tuple(stored.logs),
        compute_units=stored.compute_units,
        fee=stored.fee,
        pre_balances=tuple(stored.pre_balances),
        post_balances=tuple(stored.post_balances),
    )


def token_balance(chain: LocalChain, address: Pubkey) -> TokenAmount:
    """An SPL token account's balance, read from the local chain."""
    account = chain.account(address)
    token = None if account is None else parse_token_account(account)
    if token is None:
        raise ChainError(f"{address} is not an SPL token account")
    mint_account = chain.account(token.mint)
    mint = None if mint_account is None else parse_mint(mint_account)
    if mint is None:
        raise ChainError(f"mint {token.mint} of token account {address} is missing")
    return TokenAmount(token.amount, mint.decimals)
