"""Sending the bridge's set-up transactions and waiting for them to land.

Set-up work (deploying, initializing, registering meters, lookup tables) is rare and
repeatable: its transactions are sent with a preflight simulation, so a program error
comes back at once with its logs, and a failure is an error with the program's name for
it. Readings and clearing, which must survive crashes, go through the worker's stored
transactions instead (``oracle.worker``).
"""

from __future__ import annotations

from collections.abc import Sequence

from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from oracle.chain.backend import ChainBackend, ChainError, TransactionRejected, TxError
from oracle.program import error_name


def describe(err: TxError) -> str:
    """A transaction error in words, with the Oracle's name for a custom code."""
    name = error_name(err.custom_code)
    return f"{err} ({name})" if name else str(err)


async def land(
    chain: ChainBackend,
    payer: Keypair,
    instructions: Sequence[Instruction],
    signers: Sequence[Keypair] = (),
    lookup_tables: Sequence[AddressLookupTableAccount] = (),
    *,
    what: str = "transaction",
) -> Signature:
    """Send one v0 transaction paid by ``payer`` and wait until it has landed without error.

    Raises ChainError (ChainUnavailable when the chain cannot be reached) saying ``what``
    failed and why.
    """
    latest = await chain.latest_blockhash()
    message = MessageV0.try_compile(
        payer.pubkey(), list(instructions), list(lookup_tables), latest.blockhash
    )
    keys = list(dict.fromkeys([payer, *signers]))
    tx = VersionedTransaction(message, keys)
    try:
        signature = await chain.send_transaction(tx, skip_preflight=False)
    except TransactionRejected as exc:
        raise ChainError(f"{what} refused: {describe(exc.err)}") from exc
    status = await chain.confirm_transaction(signature)
    if status is None:
        raise ChainError(f"{what} {signature} did not land in time")
    if status.err is not None:
        raise ChainError(f"{what} {signature} failed: {describe(status.err)}")
    return signature
