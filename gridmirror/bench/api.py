"""Benchmark of the REST API's ingest: signed readings POSTed to /api/v1 (docs/rest-api.md).

The server is the gateway as ``gridmirror gateway`` builds it (gateway.launch.Gateway
with gridmirror.extensions.gateway_extensions: the REST API on its own listener, no
bridge), in a process of its own, on free ports, with its own database (SQLite with
``synchronous=FULL`` in a scratch directory, or a scratch schema of a PostgreSQL).
Before the clock starts, an engineering-authority key and ``clients`` meters are
registered out of band (by LFDI), as ``gridmirror auth add-key`` and ``gridmirror
gateway register-device`` do.

The load, from a separate process: ``clients`` aiohttp clients, each with an operator
token on one keep-alive connection, each posting its own meter's readings (signed with
Ed25519 as the authority does, 15 s apart from a start ten years back, so none is
refused for its time):

- singles: one reading per request, the next as soon as the last was answered; after
  1 s of warm-up (the first reading of a meter creates its mirror) the requests started
  within ``seconds`` count: readings/s and latency p50/p95/p99;
- batches: ``batch`` readings per request (one transaction, all or nothing), closed
  loop for ``seconds``; readings/s over the phase until the last answer.

The server's CPU time (user + system, from /proc) is read at the edges of each measured
window. Afterwards the database is counted: every reading the API accepted must have
its ``signed_reading`` row and its register pair in the outbox, so the figures are for
stored readings, not answers. A refused reading, or a count that differs, fails the run.

Run ``gridmirror bench api``; the roles run as ``python -m gridmirror.bench.api
server|load ...`` subprocesses.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gridmirror.bench.roles import load_process, server_process
from gridmirror.bench.sampling import percentile, process_cpu_seconds

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from gateway.settings import GatewaySettings

STEP_S = 15  # seconds between a meter's readings
HISTORY_S = 3_650 * 86_400  # the first reading's age: later ones stay in the past
WARMUP_S = 1.0
PIN = 111_115
KEY_FILE = "authority.pem"
JWT_KEY_FILE = "api-jwt.key"
SUBJECT = "bench-api"


@dataclass(frozen=True)
class Phase:
    """What one measured phase (singles or batches) of a round gave."""

    name: str
    requests: int
    readings: int
    refused: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    server_cpu_s: float = 0.0

    @property
    def rate(self) -> float:
        """Readings accepted per second."""
        return self.readings / self.seconds if self.seconds else 0.0

    @property
    def server_us_per_reading(self) -> float:
        """The server's CPU time per accepted reading, in microseconds."""
        return 1e6 * self.server_cpu_s / self.readings if self.readings else 0.0


@dataclass(frozen=True)
class Round:
    """One round: both phases, and what the database holds afterwards."""

    singles: Phase
    batches: Phase
    accepted: int  # readings answered 201 in the round, warm-up and tails included
    refused: int
    first_problem: str | None
    signed_rows: int
    outbox_pairs: int

    @property
    def consistent(self) -> bool:
        """Every accepted reading is stored with its pair, and nothing else is."""
        return self.accepted == self.signed_rows == self.outbox_pairs


def meter_lfdis(count: int) -> list[str]:
    """Synthetic LFDIs (40 upper-case hex digits), the same for the same ``count``."""
    return [hashlib.sha256(f"gridmirror-bench-api-{i}".encode()).hexdigest()[:40].upper()
            for i in range(count)]  # fmt: skip


def gateway_settings(directory: Path, database_url: str | None = None) -> GatewaySettings:
    """The gateway's settings: free ports, no DNS-SD, the JWT key in ``directory``."""
    from gateway.settings import GatewaySettings

    return GatewaySettings(
        port=0,
        api_port=0,
        database_url=database_url,
        mdns=False,
        sqlite_synchronous="full",
        api_jwt_secret_file=directory / JWT_KEY_FILE,
    )


# --- before the clock: key and meters out of band -------------------------------------------


def prepare(directory: Path, database_url: str, lfdis: list[str]) -> None:
    """Register the authority's key (made once per directory) and the meters."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
    )

    from gateway.api.admin import register_key
    from gateway.api.signatures import public_key_text
    from gateway.db import open_database
    from gateway.registration import pre_register

    path = directory / KEY_FILE
    if not path.exists():
        key = Ed25519PrivateKey.generate()
        path.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
        path.chmod(0o600)
    key = _private_key(path)
    database = open_database(database_url, synchronous="full")
    try:
        database.ensure_schema()
        with database.write_session() as session:
            register_key(session, "bench-authority", public_key_text(key.public_key()), time.time())
            for lfdi in lfdis:
                pre_register(session, lfdi, PIN, int(time.time()))
    finally:
        database.dispose()


def stored_counts(database_url: str, lfdis: list[str]) -> tuple[int, int]:
    """The ``signed_reading`` rows and the outbox pairs of the meters."""
    from sqlalchemy import func
    from sqlmodel import col, select

    from gateway.db import open_database
    from gateway.models import SignedReadingRow
    from oracle.outbox import OutboxEntry

    database = open_database(database_url, synchronous="full")
    try:
        with database.read_session() as session:
            signed = session.exec(
                select(func.count()).where(col(SignedReadingRow.lfdi).in_(lfdis))
            ).one()
            pairs = session.exec(select(func.count()).where(col(OutboxEntry.lfdi).in_(lfdis))).one()
    finally:
        database.dispose()
    return int(signed), int(pairs)


def _private_key(path: Path) -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    key = load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return key


# --- the server process -------------------------------------------------------------------


def serve(directory: Path, database_url: str) -> None:
    """Run the gateway until stdin closes; print its API port first, its stats last."""
    from certs.pki import Pki
    from certs.settings import PkiSettings
    from gateway.launch import Gateway
    from gridmirror.extensions import gateway_extensions
    from oracle.settings import ChainSettings
    from sep2 import Sep2Settings

    settings = gateway_settings(directory, database_url)
    extensions = gateway_extensions(settings, ChainSettings(), None)  # no bridge
    server = Gateway(
        settings,
        Sep2Settings(),
        Pki.open(directory / "pki"),
        PkiSettings(),
        routers=extensions.routers,
        lifespans=extensions.lifespans,
    )

    async def main() -> None:
        await server.start()
        print(f"PORT {server.api_port}", flush=True)
        await asyncio.to_thread(sys.stdin.read)  # until the parent closes our stdin
        s = server.runtime.committer.stats
        stats = {"batches": s.batches, "jobs": s.jobs, "largest_batch": s.largest_batch}
        await server.stop()
        print(f"STATS {json.dumps(stats)}", flush=True)

    asyncio.run(main())


# --- the load process ---------------------------------------------------------------------


class Meter:
    """One meter's signed readings, 15 s apart, built as the authority would."""

    def __init__(self, lfdi: str, key: Ed25519PrivateKey, start: int) -> None:
        self.lfdi = lfdi
        self._key = key
        self._next = start
        self._n = 0

    def reading(self) -> dict[str, Any]:
        """The next reading, signed, as a JSON-ready object."""
        from gateway.api.signatures import SignedFields, sign

        self._n += 1
        # Wh resolution, varying, so registers move by distinct amounts.
        generated = Decimal(self._n % 97) / 1000
        consumed = Decimal(self._n % 41 + 1) / 1000
        irradiance = Decimal(self._n % 900)
        temperature = Decimal(300 + self._n % 50) / 10
        metadata = {"device_type": "smart_meter", "site": "bench"}
        fields = SignedFields(
            self.lfdi, self._next, generated, consumed, irradiance, temperature, metadata
        )
        body = {
            "meter_id": self.lfdi,
            "timestamp": self._next,
            "energy_generated": float(generated),  # at most 3 places: a float carries them
            "energy_consumed": float(consumed),
            "solar_irradiance": int(irradiance),
            "temperature": float(temperature),
            "metadata": metadata,
            "engineering_authority_signature": sign(self._key, fields),
        }
        self._next += STEP_S
        return body


def load(
    url: str, directory: Path, lfdis: list[str], *, seconds: float, batch: int, start: int
) -> dict[str, Any]:
    """Drive the API through both phases and return what was measured."""
    import aiohttp

    from gateway.api import authority_of
    from gateway.api.tokens import Role

    token = authority_of(gateway_settings(directory)).issue(Role.OPERATOR, SUBJECT, 24 * 3600)
    key = _private_key(directory / KEY_FILE)
    meters = [Meter(lfdi, key, start) for lfdi in lfdis]
    headers = {"Authorization": f"Bearer {token}"}

    async def main() -> dict[str, Any]:
        sessions = [
            aiohttp.ClientSession(
                base_url=url,
                headers=headers,
                connector=aiohttp.TCPConnector(limit=1, force_close=False),
                timeout=aiohttp.ClientTimeout(total=600),
            )
            for _ in meters
        ]
        accepted = refused = 0
        problems: list[str] = []

        async def post(i: int, path: str, body: dict[str, Any], count: int) -> bool:
            nonlocal accepted, refused
            async with sessions[i].post(path, json=body) as answer:
                text = await answer.text()
                if answer.status == 201:
                    accepted += count
                    return True
                refused += count
                problems.append(f"HTTP {answer.status}: {text[:300]}")
                return False

        # Singles: closed loop; requests started inside the window count.
        latencies: list[float] = []
        window = [0, 0]  # requests and readings accepted in the window
        begin = time.perf_counter()
        measure_from = begin + WARMUP_S
        until = measure_from + seconds

        async def single(i: int) -> None:
            while (now := time.perf_counter()) < until:
                ok = await post(i, "/api/v1/meters/readings", meters[i].reading(), 1)
                if now >= measure_from:
                    latencies.append(time.perf_counter() - now)
                    window[0] += 1
                    window[1] += ok

        async def markers(start_mark: str, end_mark: str) -> None:
            # The orchestrator reads the server's CPU time at these lines.
            await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
            print(start_mark, flush=True)
            await asyncio.sleep(max(0.0, until - time.perf_counter()))
            print(end_mark, flush=True)

        await asyncio.gather(
            markers("SINGLES-START", "SINGLES-END"), *(single(i) for i in range(len(meters)))
        )
        singles = {
            "name": "singles",
            "requests": window[0],
            "readings": window[1],
            "seconds": seconds,
            "p50_ms": 1000 * percentile(latencies, 0.50),
            "p95_ms": 1000 * percentile(latencies, 0.95),
            "p99_ms": 1000 * percentile(latencies, 0.99),
        }
        refused_singles = refused

        # Batches: closed loop for `seconds`, measured until the last answer.
        batch_latencies: list[float] = []
        batch_readings = [0, 0]  # requests, readings accepted
        print("BATCHES-START", flush=True)
        batch_begin = time.perf_counter()
        batch_until = batch_begin + seconds

        async def batches(i: int) -> None:
            while time.perf_counter() < batch_until:
                body = {"readings": [meters[i].reading() for _ in range(batch)]}
                sent = time.perf_counter()
                ok = await post(i, "/api/v1/meters/readings/batch", body, batch)
                batch_latencies.append(time.perf_counter() - sent)
                batch_readings[0] += 1
                batch_readings[1] += batch if ok else 0

        await asyncio.gather(*(batches(i) for i in range(len(meters))))
        batch_seconds = time.perf_counter() - batch_begin
        print("BATCHES-END", flush=True)
        for session in sessions:
            await session.close()
        return {
            "singles": {**singles, "refused": refused_singles},
            "batches": {
                "name": "batches",
                "requests": batch_readings[0],
                "readings": batch_readings[1],
                "refused": refused - refused_singles,
                "seconds": batch_seconds,
                "p50_ms": 1000 * percentile(batch_latencies, 0.50),
                "p95_ms": 1000 * percentile(batch_latencies, 0.95),
                "p99_ms": 1000 * percentile(batch_latencies, 0.99),
            },
            "accepted": accepted,
            "refused": refused,
            "first_problem": problems[0] if problems else None,
        }

    return asyncio.run(main())


# --- the orchestrator -----------------------------------------------------------------------


def _load_process(
    port: int, directory: Path, lfdis: list[str], server_pid: int, **options: Any
) -> tuple[dict[str, Any], dict[str, float]]:
    """Run the load process; what it measured, and the server's CPU seconds per phase."""
    marks: dict[str, float] = {}

    def on_marker(marker: str) -> None:
        marks[marker] = process_cpu_seconds(server_pid)

    result = load_process(
        "gridmirror.bench.api", f"http://127.0.0.1:{port}", str(directory), ",".join(lfdis),
        json.dumps(options), on_marker=on_marker,
    )  # fmt: skip
    cpu = {
        phase: marks.get(f"{phase.upper()}-END", 0.0) - marks.get(f"{phase.upper()}-START", 0.0)
        for phase in ("singles", "batches")
    }
    return result, cpu


@contextlib.contextmanager
def _database(url: str | None, directory: Path) -> Iterator[str]:
    if url is None:
        for suffix in ("", "-wal", "-shm"):
            (directory / f"bench.db{suffix}").unlink(missing_ok=True)
        yield f"sqlite:///{directory / 'bench.db'}"
        return
    from gridmirror.bench.worker import scratch_database

    with scratch_database(url, directory) as scratch_url:
        yield scratch_url


def run(
    *,
    clients: int,
    seconds: float,
    batch: int,
    rounds: int,
    database_url: str | None,
    echo: Callable[[str], None],
    scratch: Path | None = None,
) -> list[Round]:
    """``rounds`` rounds, each on a fresh gateway and database; print the figures and
    return them (the caller fails the run on a refusal or a count that differs)."""
    from certs.pki import init_pki
    from gridmirror.bench.gateway import HW_TYPE

    lfdis = meter_lfdis(clients)
    results: list[Round] = []
    with tempfile.TemporaryDirectory(dir=scratch, prefix="gm-bench-api-") as tmp:
        directory = Path(tmp)
        init_pki(directory / "pki", [], hw_type=HW_TYPE)  # the server's certificate only
        for n in range(1, rounds + 1):
            with _database(database_url, directory) as url:
                prepare(directory, url, lfdis)
                with server_process("gridmirror.bench.api", str(directory), url) as (
                    port,
                    pid,
                ):
                    measured, cpu = _load_process(
                        port, directory, lfdis, pid, seconds=seconds, batch=batch,
                        start=int(time.time()) - HISTORY_S,
                    )  # fmt: skip
                signed, pairs = stored_counts(url, lfdis)
            result = Round(
                singles=Phase(**measured["singles"], server_cpu_s=cpu["singles"]),
                batches=Phase(**measured["batches"], server_cpu_s=cpu["batches"]),
                accepted=measured["accepted"],
                refused=measured["refused"],
                first_problem=measured["first_problem"],
                signed_rows=signed,
                outbox_pairs=pairs,
            )
            results.append(result)
            for line in round_lines(n, result, batch):
                echo(line)
    for line in summary(results):
        echo(line)
    return results


def round_lines(n: int, r: Round, batch: int) -> list[str]:
    """A round's figures, one line per phase and one for the database."""
    s, b = r.singles, r.batches
    verdict = "match" if r.consistent else "DIFFER"
    lines = [
        f"  round {n} singles {s.rate:8.0f} readings/s  p50 {s.p50_ms:6.1f} ms  "
        f"p95 {s.p95_ms:6.1f} ms  p99 {s.p99_ms:6.1f} ms  server CPU "
        f"{s.server_us_per_reading:5.0f} µs/reading  refused {s.refused}",
        f"  round {n} batches {b.rate:8.0f} readings/s  ({b.requests} x {batch} in "
        f"{b.seconds:.1f} s, p50 {b.p50_ms:.0f} ms)  server CPU "
        f"{b.server_us_per_reading:5.0f} µs/reading  refused {b.refused}",
        f"  round {n} stored: {r.accepted} accepted, {r.signed_rows} signed rows, "
        f"{r.outbox_pairs} outbox pairs: {verdict}",
    ]
    if r.first_problem is not None:
        lines.append(f"  round {n} first refusal: {r.first_problem}")
    return lines


def summary(results: list[Round]) -> list[str]:
    """The medians over the rounds."""

    def median(values: list[float]) -> float:
        return statistics.median(values) if values else 0.0

    consistent = all(r.consistent for r in results)
    singles = [r.singles for r in results]
    batches = [r.batches for r in results]
    return [
        f"  median of {len(results)} round(s): singles {median([p.rate for p in singles]):.0f} "
        f"readings/s (p50 {median([p.p50_ms for p in singles]):.1f} ms, "
        f"p99 {median([p.p99_ms for p in singles]):.1f} ms, "
        f"{median([p.server_us_per_reading for p in singles]):.0f} µs CPU/reading); "
        f"batches {median([p.rate for p in batches]):.0f} readings/s "
        f"({median([p.server_us_per_reading for p in batches]):.0f} µs CPU/reading)",
        f"  refused {sum(r.refused for r in results)}; stored readings and outbox pairs "
        f"{'match the accepted in every round' if consistent else 'DIFFER from the accepted'}",
    ]


def main(argv: list[str] | None = None) -> None:
    """Subprocess roles: ``server DIR DB_URL`` and ``load URL DIR LFDIS OPTIONS``."""
    parser = argparse.ArgumentParser(prog="gridmirror.bench.api")
    parser.add_argument("role", choices=("server", "load"))
    parser.add_argument("rest", nargs="*")
    args = parser.parse_args(argv)
    if args.role == "server":
        directory, database_url = args.rest
        serve(Path(directory), database_url)
    else:
        url, directory, lfdis, options = args.rest
        measured = load(url, Path(directory), lfdis.split(","), **json.loads(options))
        print(json.dumps(measured))


if __name__ == "__main__":
    main()
