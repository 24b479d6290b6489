"""Whether a stored transaction landed: by its signature, and by re-sending its bytes.

A transaction whose outcome is unknown (the worker crashed after storing it, or sending
or confirming it timed out) is never rebuilt while it could still land. Its signature is
asked for first; if the chain does not know it and its blockhash has not expired, the
very same bytes are sent again (the chain runs a signature at most once), so whichever
copy lands is the one whose events are recorded. Only when the chain does not know the
signature and its blockhash has expired (or the chain refused the bytes outright) is the
transaction *gone*: it never landed and never can, and its rows may ride in a new one.
"""

from __future__ import annotations

from dataclasses import dataclass

from solders.signature import Signature
from solders.transaction import VersionedTransaction

from oracle.chain.backend import (
    COMMITMENT_RANK,
    ChainBackend,
    Commitment,
    LatestBlockhash,
    TransactionRejected,
    TxStatus,
)
from oracle.records import ChainTx
from oracle.transact import describe

# A blockhash is accepted up to 150 blocks after its own (Solana's MAX_PROCESSING_AGE);
# ``latest_blockhash`` reports the current block height plus that.
MAX_PROCESSING_AGE = 150


@dataclass(frozen=True)
class Landed:
    """The transaction landed (perhaps with an error: see ``status.err``)."""

    status: TxStatus


@dataclass(frozen=True)
class Gone:
    """The transaction never landed and never will."""

    reason: str


def expired(last_valid_block_height: int, latest: LatestBlockhash) -> bool:
    """Whether the chain is past the last block a transaction could land in."""
    return latest.last_valid_block_height - MAX_PROCESSING_AGE > last_valid_block_height


async def fate(
    chain: ChainBackend,
    tx: ChainTx,
    *,
    commitment: Commitment,
    confirm_timeout: float,
) -> Landed | Gone | None:
    """What became of a stored transaction; None while that is still unknown."""
    signature = Signature.from_string(tx.signature)
    want = COMMITMENT_RANK[commitment]
    (status,) = await chain.signature_statuses([signature])
    if status is not None:
        if COMMITMENT_RANK[status.confirmation] >= want:
            return Landed(status)
        confirmed = await chain.confirm_transaction(signature, timeout=confirm_timeout)
        return None if confirmed is None else Landed(confirmed)
    latest = await chain.latest_blockhash()
    if expired(tx.last_valid_block_height, latest):
        (status,) = await chain.signature_statuses([signature])  # it may just have landed
        return Gone("expired without landing") if status is None else None
    try:
        await chain.send_transaction(VersionedTransaction.from_bytes(tx.raw))
    except TransactionRejected as exc:
        (status,) = await chain.signature_statuses([signature])
        return Gone(f"refused: {describe(exc.err)}") if status is None else None
    confirmed = await chain.confirm_transaction(signature, timeout=confirm_timeout)
    return None if confirmed is None else Landed(confirmed)
