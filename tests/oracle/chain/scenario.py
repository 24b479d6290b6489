"""One scenario every backend must pass, and the check that it survived a restart.

Airdrop, a transfer, an SPL mint with a token account and mint_to, an address lookup
table created, extended and used by a v0 transaction paying 24 accounts through it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import CreateAccountParams, TransferParams, create_account, transfer
from solders.transaction import VersionedTransaction
from spl.token.constants import TOKEN_PROGRAM_ID
from spl.token.instructions import (
    InitializeMintParams,
    MintToParams,
    create_associated_token_account,
    get_associated_token_address,
    initialize_mint,
    mint_to,
)

from oracle.chain.backend import ChainBackend
from tests.oracle.chain.conftest import signed, transfer_tx

BATCH = 24
AIRDROP = 100 * 10**9


@dataclass
class Outcome:
    """What the scenario left on the chain, to be found again after a restart."""

    payer: Keypair
    recipient: Pubkey
    token_account: Pubkey
    mint: Pubkey
    table: Pubkey
    batch: list[Pubkey]
    balances: dict[Pubkey, int] = field(default_factory=dict)
    signatures: list[Signature] = field(default_factory=list)


async def _land(chain: ChainBackend, tx: VersionedTransaction) -> Signature:
    signature = await chain.send_transaction(tx)
    status = await chain.confirm_transaction(signature, timeout=10)
    assert status is not None, f"{signature} did not land"
    assert status.err is None, f"{signature} failed: {status.err}"
    return signature


async def run_scenario(chain: ChainBackend) -> Outcome:
    """Drive the whole scenario through ``chain``; what it left behind."""
    payer = Keypair()
    airdrop = await chain.request_airdrop(payer.pubkey(), AIRDROP)
    landed = await chain.confirm_transaction(airdrop, timeout=10)
    assert landed is not None and landed.ok
    assert await chain.get_balance(payer.pubkey()) == AIRDROP

    recipient = Keypair().pubkey()
    latest = await chain.latest_blockhash()
    sent = await _land(chain, transfer_tx(payer, recipient, 7_000_000, latest.blockhash))
    record = await chain.get_transaction(sent)
    assert record is not None
    assert record.err is None and record.fee == 5_000 and record.compute_units == 150
    assert record.pre_balances[0] - record.post_balances[0] == 7_000_000 + 5_000

    # SPL Token: a mint (3 decimals), the owner's associated account, 1.5 tokens minted
    mint, owner = Keypair(), Keypair().pubkey()
    rent = await chain.minimum_balance_for_rent_exemption(82)
    token_account = get_associated_token_address(owner, mint.pubkey())
    ixs = [
        create_account(
            CreateAccountParams(
                from_pubkey=payer.pubkey(),
                to_pubkey=mint.pubkey(),
                lamports=rent,
                space=82,
                owner=TOKEN_PROGRAM_ID,
            )
        ),
        initialize_mint(
            InitializeMintParams(
                decimals=3,
                mint=mint.pubkey(),
                mint_authority=payer.pubkey(),
                program_id=TOKEN_PROGRAM_ID,
            )
        ),
        create_associated_token_account(payer.pubkey(), owner, mint.pubkey()),
        mint_to(
            MintToParams(
                program_id=TOKEN_PROGRAM_ID,
                mint=mint.pubkey(),
                dest=token_account,
                mint_authority=payer.pubkey(),
                amount=1_500,
            )
        ),
    ]
    latest = await chain.latest_blockhash()
    minted = await _land(chain, signed(payer, ixs, latest.blockhash, mint))
    balance = await chain.get_token_account_balance(token_account)
    assert (balance.amount, balance.decimals) == (1_500, 3)

    # An address lookup table naming 24 accounts, used by one v0 transaction
    table = await chain.create_lookup_table(payer, payer)
    batch = [Keypair().pubkey() for _ in range(BATCH)]
    await chain.extend_lookup_table(table, payer, payer, batch)
    alt = await chain.get_lookup_table(table)
    assert alt is not None and list(alt.addresses) == batch
    latest = await chain.latest_blockhash()
    pays = [
        transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=r, lamports=1_000_000 + i))
        for i, r in enumerate(batch)
    ]
    message = MessageV0.try_compile(payer.pubkey(), pays, [alt], latest.blockhash)
    assert len(message.address_table_lookups[0].writable_indexes) == BATCH
    assert len(message.account_keys) == 2  # the payer and the System program
    paid = await _land(chain, VersionedTransaction(message, [payer]))
    record = await chain.get_transaction(paid)
    assert record is not None and len(record.post_balances) == 2 + BATCH
    # loaded accounts come after the static ones, in the lookup's index order
    order = message.address_table_lookups[0].writable_indexes
    assert record.post_balances[2:] == tuple(1_000_000 + i for i in order)

    outcome = Outcome(payer, recipient, token_account, mint.pubkey(), table, batch)
    addresses = [payer.pubkey(), recipient, *batch]
    for address, account in zip(
        addresses, await chain.get_multiple_accounts(addresses), strict=True
    ):
        assert account is not None
        outcome.balances[address] = account.lamports
    outcome.signatures = [airdrop, sent, minted, paid]
    return outcome


async def check_survived(chain: ChainBackend, outcome: Outcome) -> None:
    """Everything the scenario did is still there, and the table still works."""
    for address, lamports in outcome.balances.items():
        assert await chain.get_balance(address) == lamports
    balance = await chain.get_token_account_balance(outcome.token_account)
    assert (balance.amount, balance.decimals) == (1_500, 3)
    statuses = await chain.signature_statuses(outcome.signatures)
    assert all(s is not None and s.ok for s in statuses)
    for signature in outcome.signatures:
        record = await chain.get_transaction(signature)
        assert record is not None and record.logs
    alt = await chain.get_lookup_table(outcome.table)
    assert alt is not None and list(alt.addresses) == outcome.batch
    latest = await chain.latest_blockhash()
    pays = [
        transfer(TransferParams(from_pubkey=outcome.payer.pubkey(), to_pubkey=r, lamports=1))
        for r in outcome.batch
    ]
    message = MessageV0.try_compile(outcome.payer.pubkey(), pays, [alt], latest.blockhash)
    await _land(chain, VersionedTransaction(message, [outcome.payer]))
    assert await chain.get_balance(outcome.batch[0]) == outcome.balances[outcome.batch[0]] + 1
