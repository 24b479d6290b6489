"""The gateway's memory through a storm of idle connections (issue 17.4).

A gateway in its own process (default settings but no per-peer cap, since every
connection comes from this host); this process opens ``count`` mutual-TLS connections
with one meter's certificate, completes each handshake, sends nothing, and holds them.
The gateway's RSS is read from /proc before, while they are held, and a few seconds
after they are closed. Connections held longer than ``gateway.header_timeout_s`` are
closed by the gateway itself; the run holds them for less than that.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from certs.pki import init_pki
from certs.tls import client_context
from gridmirror.bench.meters import gateway_process


@dataclass(frozen=True)
class StormFigures:
    """The gateway's RSS (MiB) and how many connections were held."""

    before_mib: float
    during_mib: float
    after_mib: float
    held: int
    refused: int


def rss_mib(pid: int) -> float:
    """Resident set size of process ``pid``, MiB."""
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


async def _storm(port: int, ctx: ssl.SSLContext, count: int, pid: int) -> tuple[float, int, int]:
    gate = asyncio.Semaphore(64)
    writers: list[asyncio.StreamWriter] = []
    refused = 0

    async def one() -> None:
        nonlocal refused
        async with gate:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx)
            except (OSError, ssl.SSLError):
                refused += 1
                return
            writers.append(writer)

    await asyncio.gather(*(one() for _ in range(count)))
    await asyncio.sleep(1.0)
    during = rss_mib(pid)
    for writer in writers:
        writer.close()
    return during, len(writers), refused


def run(count: int, settle_s: float = 5.0) -> StormFigures:
    """Open ``count`` idle connections to a fresh gateway; its RSS before, during, after."""
    with tempfile.TemporaryDirectory(prefix="gm-bench-storm-") as scratch:
        data_dir = Path(scratch)
        pki = init_pki(data_dir / "pki", ["GM-STORM-1"], hw_type="1.3.6.1.4.1.32473.1").pki
        device = pki.device("GM-STORM-1")
        ctx = client_context(device.chain, device.key, pki.serca, check_hostname=False)
        pids: list[int] = []
        with gateway_process(data_dir, 60, pids) as url:
            port = int(url.rsplit(":", 1)[1].split("/", 1)[0])
            time.sleep(1.0)
            before = rss_mib(pids[0])
            during, held, refused = asyncio.run(_storm(port, ctx, count, pids[0]))
            time.sleep(settle_s)
            after = rss_mib(pids[0])
    return StormFigures(before, during, after, held, refused)
