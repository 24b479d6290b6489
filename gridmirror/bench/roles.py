"""The server and load subprocesses of the HTTP benchmarks (`bench gateway`, `bench api`).

A benchmark runs its server and its load in processes of their own, each started as
``python -m <module> server|load ...``. The server prints ``PORT <n>`` once it listens
and runs until its stdin closes. The load prints marker lines (``...-START``, ``...-END``)
around what it measures, so the orchestrator can read the server's CPU time at those
moments, and its figures as JSON on its last line.
"""

from __future__ import annotations

import contextlib
import json
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from typing import Any


@contextlib.contextmanager
def server_process(module: str, *args: str) -> Iterator[tuple[int, int]]:
    """Run ``python -m module server *args``; yields its port and pid, stops it after."""
    proc = subprocess.Popen(  # noqa: S603  (our own interpreter and module)
        [sys.executable, "-m", module, "server", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        line = proc.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError(f"the server ({module} {' '.join(args)}) did not start")
        yield int(line.split()[1]), proc.pid
        proc.stdin.close()
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()


def load_process(module: str, *args: str, on_marker: Callable[[str], None]) -> dict[str, Any]:
    """Run ``python -m module load *args``; ``on_marker`` gets each marker line as it
    comes; returns the figures of its last line (RuntimeError if it failed)."""
    # stderr goes to a file, not a pipe: a load that logs a lot would otherwise block on
    # a full pipe that is only read once the load has ended.
    with tempfile.TemporaryFile("w+") as errors:
        proc = subprocess.Popen(  # noqa: S603  (our own interpreter and module)
            [sys.executable, "-m", module, "load", *args],
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
        assert proc.stdout is not None
        last = ""
        for line in proc.stdout:
            if line.endswith(("-START\n", "-END\n")):
                on_marker(line.strip())
            elif line.strip():
                last = line
        proc.wait()
        errors.seek(0)
        err = errors.read()
    if proc.returncode != 0 or not last:
        raise RuntimeError(f"the load process failed: {first_error(err)}")
    figures: dict[str, Any] = json.loads(last)
    return figures


def first_error(stderr: str) -> str:
    """The line of ``stderr`` that names the exception, not aiohttp's warnings after it."""
    for line in stderr.splitlines():
        if re.match(r"^[A-Za-z_.]+(Error|Exception|Timeout)\b", line):
            return line
    return stderr.strip()[-500:]
