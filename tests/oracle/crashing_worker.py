"""A chain worker that kills itself with SIGKILL at a chosen point (run as a subprocess).

    python -m tests.oracle.crashing_worker DATA_DIR (after-send|before-send) N

Builds the bridge exactly as ``gridmirror chain worker`` does (same settings, database
and embedded chain in DATA_DIR), but its chain backend sends SIGKILL to its own process
at the N-th ``submit_readings`` transaction: right after the chain has executed (and
persisted) it, before the worker has recorded anything (``after-send``); or right after
the worker stored it and moved its rows in flight, before it reaches the chain
(``before-send``).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

from gateway.db import open_database
from gridmirror.config import load_settings
from oracle.bridge import open_bridge
from oracle.chain import open_chain


class Crashing:
    """Delegates to the real backend; dies at the chosen send."""

    def __init__(self, inner: Any, when: str, at: int) -> None:
        self.inner, self.when, self.at, self.count = inner, when, at, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def send_transaction(self, tx: Any, *, skip_preflight: bool = True) -> Any:
        readings = skip_preflight  # the worker sends readings without preflight
        if readings:
            self.count += 1
        if readings and self.count == self.at and self.when == "before-send":
            os.kill(os.getpid(), signal.SIGKILL)
        signature = await self.inner.send_transaction(tx, skip_preflight=skip_preflight)
        if readings and self.count == self.at and self.when == "after-send":
            os.kill(os.getpid(), signal.SIGKILL)
        return signature


async def main(data: Path, when: str, at: int) -> None:
    settings = load_settings(data_dir=data)
    assert settings.gateway.database_url is not None
    database = open_database(settings.gateway.database_url)
    chain = Crashing(open_chain(settings.chain), when, at)
    bridge = await open_bridge(database.write, settings.chain, chain=chain)  # type: ignore[arg-type]
    await bridge.run(drain=True)
    sys.exit(3)  # it was meant to die before draining


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])))
