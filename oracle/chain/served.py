"""The embedded chain shared by the process that holds it: JSON-RPC beside it, and a file
naming the URL.

Only one process may open an embedded chain's state directory (it holds ``chain.lock``).
A long-running holder (the gateway, the demo, ``chain worker``, ``chain serve``) therefore
also serves the chain over local JSON-RPC and writes ``rpc.json`` beside the lock, naming
the URL and its own pid. Another process that finds the directory locked reads the file
and talks to the holder over RPC instead of failing (:func:`served_url`), so the CLI's read
commands work beside a running gateway.

The file is trusted only while it names the pid the lock file names: a holder killed
with SIGKILL leaves its file behind, but also drops its lock, so the next process opens
the chain itself, and a one-shot holder that does not serve (``chain init``) is not taken
for the dead server.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path

from oracle.chain.backend import ChainBackend
from oracle.chain.embedded import EmbeddedBackend
from oracle.chain.local import LOCK_FILE, LocalChain
from oracle.chain.server import RpcServer

log = logging.getLogger(__name__)

SERVED_FILE = "rpc.json"


def _pid_in(path: Path) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        return int(path.read_text().strip())
    return None


def served_url(state_dir: Path) -> str | None:
    """The URL the process holding ``state_dir`` serves its chain on, or None when the
    holder serves none (or nobody holds it)."""
    try:
        doc = json.loads((state_dir / SERVED_FILE).read_text())
        url, pid = str(doc["url"]), int(doc["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return url if pid == _pid_in(state_dir / LOCK_FILE) else None


def _write(state_dir: Path, url: str) -> None:
    """Atomically, so a reader never sees half a file."""
    path = state_dir / SERVED_FILE
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps({"url": url, "pid": os.getpid()}))
    partial.replace(path)


class ServedChain:
    """An embedded chain served on ``host`` (an ephemeral port by default) and announced in
    its state directory; ``await start()``, then ``await stop()`` before closing the chain.
    """

    def __init__(self, chain: LocalChain, host: str = "127.0.0.1", port: int = 0) -> None:
        self.chain = chain
        self.server = RpcServer(chain, host, port)

    @property
    def url(self) -> str:
        """The server's URL (after start)."""
        return self.server.url

    @property
    def pubsub_url(self) -> str:
        """The PubSub websocket's URL (after start)."""
        return self.server.pubsub_url

    async def start(self) -> None:
        """Listen, then name the URL in the state directory (if the chain has one)."""
        await self.server.start()
        state_dir = self.chain.state_dir
        if state_dir is not None:
            _write(state_dir, self.url)
        log.info("embedded chain served", extra={"url": self.url, "state_dir": str(state_dir)})

    async def stop(self) -> None:
        """Withdraw the file first, so no new client picks a closing server."""
        state_dir = self.chain.state_dir
        if state_dir is not None and served_url(state_dir) == self.url:
            with contextlib.suppress(FileNotFoundError):
                (state_dir / SERVED_FILE).unlink()
        await self.server.stop()


@contextlib.asynccontextmanager
async def serving(backend: ChainBackend) -> AsyncIterator[str | None]:
    """While in the block, serve ``backend`` beside this process if it is an embedded
    chain kept on disk (else do nothing); yields the URL, or None."""
    if not isinstance(backend, EmbeddedBackend) or backend.chain.state_dir is None:
        yield None
        return
    served = ServedChain(backend.chain)
    try:
        await served.start()
    except OSError as exc:  # no loopback port: the chain still works, only not shared
        log.warning("embedded chain not served", extra={"error": str(exc)})
        yield None
        return
    try:
        yield served.url
    finally:
        await served.stop()
