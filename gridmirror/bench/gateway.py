"""Benchmark of the gateway's ingest: MirrorMeterReadingList POSTs over keep-alive mutual TLS.

Two servers on the same stack (gateway.server: uvicorn, our TLS 1.2 CCM8 context, the
client certificate put into the ASGI scope, FastAPI), each in a process of its own, under
the same load from a separate client process:

- ``bare``: a route of the same kind as the gateway's that reads the body and answers
  201, nothing else;
- ``gateway``: the 2030.5 server: peer identity, hardened parse and XSD check, ownership,
  readings upserted and the register pair put in the outbox, committed durably (SQLite,
  WAL, synchronous FULL unless told otherwise) before the 201.

The load (closed loop): ``connections`` meters, each on its own keep-alive TLS connection
with its own certificate, each posting its next MirrorMeterReadingList (import and export
registers and average power, one Reading each, 15 s apart) as soon as the last was
answered. Figures: requests per second, p50 and p99 latency; the ratio gateway/bare is
the target (>= 60 %). Then an open-loop run: requests sent on a fixed schedule at
``rate`` per second (667/s is 10,000 meters at a 15 s postRate), latency measured from
the scheduled send time, so a stalled server cannot hide its queue.

Run ``gridmirror bench gateway``; the roles run as ``python -m gridmirror.bench.gateway
server|load ...`` subprocesses.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import ssl
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gridmirror.bench.roles import load_process, server_process
from gridmirror.bench.sampling import percentile, process_cpu_seconds, process_rss_mib

if TYPE_CHECKING:
    from sep2 import Codec

MODES = ("bare", "gateway")
TARGET_RATIO = 0.60
OPEN_LOOP_RATE = 667.0
PEN = 32473
HW_TYPE = "1.3.6.1.4.1.32473.1"
SEP2_HEADERS = {"Content-Type": "application/sep+xml", "Accept": "application/sep+xml"}
_TEMPLATE_TIME = "1111111111"


@dataclass(frozen=True)
class LoadResult:
    """What one load run measured."""

    mode: str
    kind: str  # closed | open
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    server_cpu_s: float = 0.0
    connections: int = 0
    server_rss_mib: float = 0.0  # at the end of the measured window

    @property
    def rate(self) -> float:
        """Answered requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def server_us_per_request(self) -> float:
        """Server CPU time per request, in microseconds."""
        return 1e6 * self.server_cpu_s / self.requests if self.requests else 0.0


# --- documents --------------------------------------------------------------------------


@functools.cache
def _codec() -> Codec:
    """One codec for all the meters' documents (building one reads the XSD)."""
    from schemas import official_xsd_bytes
    from sep2 import Codec, Schema

    return Codec(Schema.from_bytes(official_xsd_bytes()))


def reading_template(lfdi: str) -> bytes:
    """A meter's MirrorMeterReadingList with a placeholder for the time."""
    from sep2 import (
        DateTimeInterval,
        MirrorMeterReading,
        MirrorMeterReadingList,
        Reading,
        mrid_for,
    )

    codec = _codec()

    def mmr(name: str, value: int) -> MirrorMeterReading:
        period = DateTimeInterval(duration=15, start=int(_TEMPLATE_TIME))
        return MirrorMeterReading(
            mrid=mrid_for(PEN, lfdi, "site", name),
            reading=Reading(quality_flags=1, time_period=period, value=value),
        )

    document = MirrorMeterReadingList(
        items=(mmr("import", 123_456), mmr("export", 7_890), mmr("power", 1_500))
    )
    return codec.serialise(document)


def mirror_document(lfdi: str) -> bytes:
    """The meter's MirrorUsagePoint: import and export registers and average power."""
    from dataclasses import replace

    from sep2 import (
        FlowDirection,
        MirrorMeterReading,
        MirrorUsagePoint,
        ReadingType,
        mrid_for,
    )

    codec = _codec()
    register = ReadingType(
        accumulation_behaviour=9, commodity=1, kind=12, power_of_ten_multiplier=0, uom=72
    )
    types = {
        "import": replace(register, flow_direction=FlowDirection.FORWARD),
        "export": replace(register, flow_direction=FlowDirection.REVERSE),
        "power": ReadingType(data_qualifier=2, flow_direction=1, kind=37, uom=38),
    }
    return codec.serialise(
        MirrorUsagePoint(
            mrid=mrid_for(PEN, lfdi, "site"),
            role_flags=0x03,
            service_category_kind=0,
            status=1,
            device_lfdi=lfdi,
            mirror_meter_readings=tuple(
                MirrorMeterReading(mrid=mrid_for(PEN, lfdi, "site", k), reading_type=t)
                for k, t in types.items()
            ),
        )
    )


# --- the server process -------------------------------------------------------------------


def serve(mode: str, directory: Path, synchronous: str) -> None:
    """Run one server until stdin closes; print its port first, its stats last (JSON)."""
    from certs.pki import Pki
    from certs.settings import PkiSettings
    from certs.tls import gateway_context
    from gateway.heap import settle_heap

    pki = Pki.open(directory / "pki")

    async def main() -> None:
        stats: dict[str, Any] = {}
        if mode == "gateway":
            from gateway.launch import Gateway
            from gateway.settings import GatewaySettings
            from sep2 import Sep2Settings

            settings = GatewaySettings(
                port=0,
                api_enabled=False,
                database_url=f"sqlite:///{directory / 'bench.db'}",
                mdns=False,
                sqlite_synchronous=synchronous,  # type: ignore[arg-type]
            )
            server = Gateway(settings, Sep2Settings(), pki, PkiSettings())
            await server.start()
            port, stop = server.port, server.stop
        else:
            from gateway.server import HttpsServer

            bare = HttpsServer(
                bare_app(),
                host="127.0.0.1",
                port=0,
                ssl_context=gateway_context(pki, PkiSettings()),
                lifespan="off",
            )
            port, stop = await bare.start(), bare.stop
            server = None
        settle_heap()  # both servers, as `gridmirror gateway` does once it listens
        print(f"PORT {port}", flush=True)
        await asyncio.to_thread(sys.stdin.read)  # until the parent closes our stdin
        if server is not None:
            s = server.runtime.committer.stats
            stats = {"batches": s.batches, "jobs": s.jobs, "largest_batch": s.largest_batch}
        await stop()
        print(f"STATS {json.dumps(stats)}", flush=True)

    asyncio.run(main())


def bare_app() -> Any:
    """The bare server: read the body, answer 201 (with a Location, as the gateway does).

    A FastAPI application with a plain Starlette route, which is how the gateway serves
    its 2030.5 resources (gateway.routes.common), so both pay the same framework cost.
    """

    async def readings(request: Request) -> Response:
        await request.body()
        return Response(
            status_code=201, headers={"Location": f"/upt/{request.path_params['m']}/mr"}
        )

    app = FastAPI()
    app.router.routes.append(Route("/mup/{m}", readings, methods=["POST"]))
    return app


# --- the load process ---------------------------------------------------------------------


async def _meter_sessions(
    url: str, directory: Path, serials: list[str], setup: bool
) -> list[tuple[Any, str, bytes]]:
    """One keep-alive session per meter; (session, mirror path, reading template)."""
    import aiohttp

    from certs.pki import Pki
    from certs.settings import PkiSettings
    from certs.tls import meter_context

    pki = Pki.open(directory / "pki")
    sessions = []
    for serial in serials:
        device = pki.device(serial)
        ctx: ssl.SSLContext = meter_context(pki, serial, PkiSettings())
        session = aiohttp.ClientSession(
            base_url=url,
            # Kept for 50 s, not aiohttp's 15 s: setting up thousands of meters takes
            # minutes, and a reconnection storm in the measured window would be measured
            # instead of the posts. Under the servers' 60 s, so that it is the client
            # that closes an idle connection, never the server one a POST is going into.
            connector=aiohttp.TCPConnector(
                ssl=ctx, limit=1, force_close=False, keepalive_timeout=50
            ),
        )
        path = "/mup/1"
        if setup:
            from sep2 import EndDevice

            edev = _codec().serialise(EndDevice(sfdi=device.sfdi, changed_time=0))
            async with session.post("/edev", data=edev, headers=SEP2_HEADERS) as answer:
                if answer.status not in (201, 409):
                    raise RuntimeError(f"registration of {serial}: HTTP {answer.status}")
            async with session.post(
                "/mup", data=mirror_document(device.lfdi), headers=SEP2_HEADERS
            ) as answer:
                if answer.status not in (201, 204):
                    raise RuntimeError(f"mirror of {serial}: HTTP {answer.status}")
                path = answer.headers["Location"]
        template = reading_template(device.lfdi)
        if not setup:
            # Connect before the measured window, as the gateway's meters do in set-up, so
            # that neither server is measured doing handshakes.
            async with session.post(path, data=template, headers=SEP2_HEADERS) as answer:
                await answer.read()
        sessions.append((session, path, template))
    return sessions


def load(
    url: str,
    directory: Path,
    serials: list[str],
    *,
    setup: bool,
    kind: str,
    seconds: float,
    rate: float,
    warmup: float,
    epoch: int,
) -> dict[str, Any]:
    """Drive the server and return what was measured (see the module docstring)."""

    async def main() -> dict[str, Any]:
        sessions = await _meter_sessions(url, directory, serials, setup)
        latencies: list[float] = []
        errors = 0
        counter = [0] * len(sessions)
        begin = time.perf_counter()
        start_measure = begin + warmup
        end = start_measure + seconds

        async def post(i: int) -> float:
            nonlocal errors
            session, path, template = sessions[i]
            stamp = epoch + 15 * counter[i]
            counter[i] += 1
            body = template.replace(_TEMPLATE_TIME.encode(), str(stamp).encode())
            async with session.post(path, data=body, headers=SEP2_HEADERS) as answer:
                await answer.read()
                if answer.status != 201:
                    errors += 1
            return time.perf_counter()

        async def closed(i: int) -> None:
            while (now := time.perf_counter()) < end:
                done = await post(i)
                if now >= start_measure:
                    latencies.append(done - now)

        async def open_loop(i: int) -> None:
            interval = len(sessions) / rate
            due = begin + i * interval / len(sessions)
            while due < end:
                now = time.perf_counter()
                if due > now:
                    await asyncio.sleep(due - now)
                done = await post(i)
                if due >= start_measure:
                    latencies.append(done - due)  # from the scheduled time
                due += interval

        async def markers() -> None:
            # The orchestrator reads the server's CPU time at these two lines.
            await asyncio.sleep(max(0.0, start_measure - time.perf_counter()))
            print("MEASURE-START", flush=True)
            await asyncio.sleep(max(0.0, end - time.perf_counter()))
            print("MEASURE-END", flush=True)

        runner = closed if kind == "closed" else open_loop
        await asyncio.gather(markers(), *(runner(i) for i in range(len(sessions))))
        for session, _, _ in sessions:
            await session.close()
        return {
            "requests": len(latencies),
            "errors": errors,
            "seconds": seconds,
            "p50_ms": 1000 * percentile(latencies, 0.50),
            "p99_ms": 1000 * percentile(latencies, 0.99),
            "max_ms": 1000 * max(latencies, default=0.0),
        }

    return asyncio.run(main())


# --- the orchestrator -----------------------------------------------------------------------


def _load_process(
    port: int, directory: Path, meters: int, server_pid: int, **options: Any
) -> tuple[dict[str, Any], float, float]:
    """Run a load process of the first ``meters`` meters; what it measured, the server's
    CPU seconds meanwhile and its RSS (MiB) at the end of the window."""
    marks: dict[str, float] = {}

    def on_marker(marker: str) -> None:
        marks[marker] = process_cpu_seconds(server_pid)
        if marker == "MEASURE-END":
            marks["rss"] = process_rss_mib(server_pid)

    measured = load_process(
        "gridmirror.bench.gateway", f"https://127.0.0.1:{port}", str(directory), str(meters),
        json.dumps(options), on_marker=on_marker,
    )  # fmt: skip
    cpu = marks.get("MEASURE-END", 0.0) - marks.get("MEASURE-START", 0.0)
    return measured, cpu, marks.get("rss", 0.0)


def run(
    *,
    connections: int,
    seconds: float,
    rate: float,
    rounds: int,
    synchronous: str,
    echo: Callable[[str], None],
    scratch: Path | None = None,
    open_connections: int | None = None,
    warmup: float = 1.0,
) -> list[LoadResult]:
    """Closed-loop rounds alternating bare and gateway, then one open-loop run of each
    (on ``open_connections`` meters, by default as many as the closed loop), each measured
    after ``warmup`` seconds of load; print the figures and return them."""
    from certs.pki import default_serials, init_pki

    open_connections = open_connections or connections
    results: list[LoadResult] = []
    with tempfile.TemporaryDirectory(dir=scratch) as tmp:
        directory = Path(tmp)
        serials = default_serials(max(connections, open_connections))
        if len(serials) > 1000:
            echo(f"  making {len(serials)} device certificates")
        init_pki(directory / "pki", serials, hw_type=HW_TYPE)
        epoch = int(time.time()) - 60 * 86_400  # readings in the past, 15 s apart
        plan = [("closed", mode, connections) for _ in range(rounds) for mode in MODES]
        plan += [("open", mode, open_connections) for mode in MODES]
        for n, (kind, mode, meters) in enumerate(plan):
            with server_process("gridmirror.bench.gateway", mode, str(directory), synchronous) as (
                port,
                pid,
            ):
                measured, cpu, rss = _load_process(
                    port, directory, meters, pid, setup=mode == "gateway", kind=kind,
                    seconds=seconds, rate=rate, warmup=warmup, epoch=epoch + 100_000 * n,
                )  # fmt: skip
            result = LoadResult(
                mode=mode, kind=kind, server_cpu_s=cpu, connections=meters,
                server_rss_mib=rss, **measured,
            )  # fmt: skip
            results.append(result)
            echo(_line(result))
            if mode == "gateway":
                for suffix in ("", "-wal", "-shm"):
                    (directory / f"bench.db{suffix}").unlink(missing_ok=True)
    for line in summary(results):
        echo(line)
    return results


def summary(results: list[LoadResult]) -> list[str]:
    """The ratios: of throughput (median of the rounds) and of server CPU per request."""
    closed = [r for r in results if r.kind == "closed"]
    pairs = list(zip(closed[0::2], closed[1::2], strict=True))
    ratios = sorted(g.rate / b.rate for b, g in pairs if b.rate)
    median = ratios[len(ratios) // 2] if ratios else 0.0
    cpu = {
        m: statistics.median(r.server_us_per_request for r in closed if r.mode == m) for m in MODES
    }
    capacity = cpu["bare"] / cpu["gateway"] if cpu["gateway"] else 0.0
    verdict = "met" if median >= TARGET_RATIO else "NOT met"
    return [
        f"  throughput ratio gateway/bare: median {median:.2f} over {len(ratios)} round(s) "
        f"({', '.join(f'{x:.2f}' for x in ratios)}); target {TARGET_RATIO:.2f}: {verdict}",
        f"  server CPU per request: bare {cpu['bare']:.0f} µs, gateway {cpu['gateway']:.0f} µs "
        f"(one core's capacity ratio {capacity:.2f})",
    ]


def _line(r: LoadResult) -> str:
    return (
        f"  {r.kind:6} {r.mode:7} {r.connections:5} conn {r.rate:6.0f} req/s  "
        f"p50 {r.p50_ms:6.1f} ms  p99 {r.p99_ms:6.1f} ms  max {r.max_ms:6.1f} ms  "
        f"server CPU {r.server_us_per_request:5.0f} µs/req  RSS {r.server_rss_mib:5.0f} MiB  "
        f"errors {r.errors}"
    )


def main(argv: list[str] | None = None) -> None:
    """Subprocess roles: ``server MODE DIR SYNC`` and ``load URL DIR METERS OPTIONS``."""
    parser = argparse.ArgumentParser(prog="gridmirror.bench.gateway")
    parser.add_argument("role", choices=("server", "load"))
    parser.add_argument("rest", nargs="*")
    args = parser.parse_args(argv)
    if args.role == "server":
        mode, directory, synchronous = args.rest
        serve(mode, Path(directory), synchronous)
    else:
        from certs.pki import default_serials

        url, directory, meters, options = args.rest
        serials = default_serials(int(meters))
        measured = load(url, Path(directory), serials, **json.loads(options))
        print(json.dumps(measured))


if __name__ == "__main__":
    main()
