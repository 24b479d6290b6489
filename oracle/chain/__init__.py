"""Chain access: one async interface over the embedded chain or any JSON-RPC endpoint.

``open_chain(settings)`` gives the :class:`ChainBackend` the settings ask for; callers
use only that interface (see :mod:`oracle.chain.backend`).
"""

from __future__ import annotations

from oracle.chain.backend import (
    ChainBackend,
    ChainClock,
    ChainError,
    ChainUnavailable,
    LatestBlockhash,
    Simulation,
    StateDirLocked,
    TokenAmount,
    TransactionRejected,
    TxError,
    TxRecord,
    TxStatus,
)
from oracle.chain.timesource import ManualTime, TimeSource, system_time
from oracle.settings import ChainSettings

__all__ = [
    "ChainBackend",
    "ChainClock",
    "ChainError",
    "ChainUnavailable",
    "LatestBlockhash",
    "ManualTime",
    "Simulation",
    "StateDirLocked",
    "TimeSource",
    "TokenAmount",
    "TransactionRejected",
    "TxError",
    "TxRecord",
    "TxStatus",
    "open_chain",
]


def open_chain(settings: ChainSettings, *, time_source: TimeSource = system_time) -> ChainBackend:
    """The backend ``settings.backend`` names, ready to use; ``await chain.close()`` after.

    ``time_source`` drives the embedded chain's clock (tests pass a ManualTime). When the
    embedded chain's state directory is held by a process that serves it over JSON-RPC
    (the gateway, ``chain serve``; see :mod:`oracle.chain.served`), the backend talks to
    that server instead.
    """
    if settings.backend == "rpc":
        from oracle.chain.rpc import RpcBackend

        return RpcBackend(
            settings.rpc_url,
            commitment=settings.commitment,
            timeout=settings.rpc_timeout,
            confirm_timeout=settings.confirm_timeout,
            poll_interval=settings.poll_interval,
        )
    from oracle.chain.embedded import EmbeddedBackend

    if settings.state_dir is None:
        raise ChainError("chain.state_dir is not set (the embedded chain keeps its state there)")
    try:
        return EmbeddedBackend.open(
            settings.state_dir,
            time_source=time_source,
            slot_seconds=settings.slot_seconds,
            synchronous=settings.state_sync,
        )
    except StateDirLocked:
        # Another process holds the chain; if it serves it (the gateway does), use that.
        from oracle.chain.served import served_url

        url = served_url(settings.state_dir)
        if url is None:
            raise
        from oracle.chain.rpc import RpcBackend

        return RpcBackend(
            url,
            commitment="confirmed",
            timeout=settings.rpc_timeout,
            confirm_timeout=settings.confirm_timeout,
            poll_interval=settings.poll_interval,
        )
