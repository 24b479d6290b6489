"""Address lookup tables through any backend: create, extend, read.

The worker puts many meter accounts into one ``submit_readings`` transaction by naming
them through a lookup table. The steps are the same on every chain, built on the
backend's own primitives; only the wait differs: addresses added to a table are usable
from the slot after the one that added them, which the embedded chain and our RPC server
provide at once and a real cluster within a slot or two.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

from solders.address_lookup_table_account import (
    LOOKUP_TABLE_MAX_ADDRESSES,
    AddressLookupTable,
    AddressLookupTableAccount,
)
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.system_program import (
    CreateLookupTableParams,
    ExtendLookupTableParams,
    create_lookup_table,
    extend_lookup_table,
)
from solders.transaction import VersionedTransaction

from oracle.chain.backend import ChainError

if TYPE_CHECKING:
    from oracle.chain.backend import ChainBackend

# One extend instruction must fit a 1232-byte transaction: 20 addresses leave room.
EXTEND_CHUNK = 20


async def _send_and_confirm(
    chain: ChainBackend, signers: Sequence[Keypair], ixs: list[Instruction]
) -> int:
    latest = await chain.latest_blockhash()
    message = MessageV0.try_compile(signers[0].pubkey(), ixs, [], latest.blockhash)
    tx = VersionedTransaction(message, list(signers))
    signature = await chain.send_transaction(tx, skip_preflight=False)
    status = await chain.confirm_transaction(signature)
    if status is None:
        raise ChainError(f"lookup table transaction {signature} was not confirmed in time")
    if status.err is not None:
        raise ChainError(f"lookup table transaction {signature} failed: {status.err}")
    return status.slot


async def _wait_past(chain: ChainBackend, slot: int, poll: float) -> None:
    while (await chain.clock()).slot <= slot:
        await asyncio.sleep(poll)


async def create(
    chain: ChainBackend, authority: Keypair, payer: Keypair, *, poll: float = 0.2
) -> Pubkey:
    """Create an empty table owned by ``authority``; its address."""
    recent_slot = (await chain.clock()).slot
    ix, table = create_lookup_table(
        CreateLookupTableParams(
            authority_address=authority.pubkey(),
            payer_address=payer.pubkey(),
            recent_slot=recent_slot,
        )
    )
    signers = [payer] if payer.pubkey() == authority.pubkey() else [payer, authority]
    slot = await _send_and_confirm(chain, signers, [ix])
    await _wait_past(chain, slot, poll)
    return table


async def extend(
    chain: ChainBackend,
    table: Pubkey,
    authority: Keypair,
    payer: Keypair,
    addresses: Sequence[Pubkey],
    *,
    poll: float = 0.2,
) -> None:
    """Append addresses (in chunks that fit a transaction); returns once all are usable."""
    current = await get(chain, table)
    if current is None:
        raise ChainError(f"lookup table {table} does not exist")
    if len(current.addresses) + len(addresses) > LOOKUP_TABLE_MAX_ADDRESSES:
        raise ChainError(
            f"lookup table {table} would exceed {LOOKUP_TABLE_MAX_ADDRESSES} addresses"
        )
    signers = [payer] if payer.pubkey() == authority.pubkey() else [payer, authority]
    last_slot = -1
    for start in range(0, len(addresses), EXTEND_CHUNK):
        ix = extend_lookup_table(
            ExtendLookupTableParams(
                payer_address=payer.pubkey(),
                lookup_table_address=table,
                authority_address=authority.pubkey(),
                new_addresses=list(addresses[start : start + EXTEND_CHUNK]),
            )
        )
        last_slot = await _send_and_confirm(chain, signers, [ix])
    await _wait_past(chain, last_slot, poll)


async def get(chain: ChainBackend, table: Pubkey) -> AddressLookupTableAccount | None:
    """A table's current addresses, or None if there is no table at ``table``."""
    account = await chain.get_account(table)
    if account is None:
        return None
    try:
        addresses = AddressLookupTable.deserialize(bytes(account.data)).addresses
    except ValueError as exc:
        raise ChainError(f"account {table} is not an address lookup table") from exc
    return AddressLookupTableAccount(table, addresses)
