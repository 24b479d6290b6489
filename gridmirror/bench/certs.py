"""Bulk certificate issuing: how fast ``certs init`` makes device certificates.

Each run makes a fresh PKI (CAs, server, ``count`` devices with key, certificate, chain
and index) in a scratch directory, once per worker count, so the rates of one and of
several processes are measured side by side on the same machine. Then it runs ``init``
again on the finished directory, which must issue nothing, and times that too.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from certs.pki import default_serials, init_pki


@dataclass(frozen=True)
class CertsRun:
    """The figures of one run."""

    workers: int
    count: int
    seconds: float
    rerun_seconds: float

    @property
    def rate(self) -> float:
        """Device certificates per second."""
        return self.count / self.seconds


def run(
    count: int, workers: Sequence[int], hw_type: str, scratch: Path | None = None
) -> list[CertsRun]:
    """Issue ``count`` device certificates once per worker count; return the figures."""
    runs = []
    base = Path(tempfile.mkdtemp(prefix="gm-bench-certs-", dir=scratch))
    try:
        for n in workers:
            directory = base / f"w{n}"
            serials = default_serials(count)
            start = time.perf_counter()
            report = init_pki(directory, serials, hw_type=hw_type, workers=n)
            seconds = time.perf_counter() - start
            if len(report.new_devices) != count:
                raise RuntimeError(f"issued {len(report.new_devices)} of {count} certificates")
            start = time.perf_counter()
            again = init_pki(directory, serials, hw_type=hw_type, workers=n)
            rerun = time.perf_counter() - start
            if again.changed:
                raise RuntimeError("a second init changed the PKI")
            runs.append(CertsRun(n, count, seconds, rerun))
            shutil.rmtree(directory)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return runs
