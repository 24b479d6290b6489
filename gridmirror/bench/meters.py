"""How many emulated meters one CPU core carries at a 15 s postRate, against the gateway.

The target is 10,000 meters on this 2-core machine alongside the gateway. The benchmark
runs N meters in this process against a real gateway in another process (started here
on a free port with its own scratch SQLite database, or one given by ``--server-url``),
so the gateway's work never counts as the meters'. It:

1. makes (or reuses) a scratch PKI with N device certificates;
2. starts the fleet and waits until every meter has set up (registered, created its
   mirror) and posted once: handshakes and registrations are the start-up cost, measured
   apart (``setup``);
3. measures a window of whole post periods in steady state: the process's CPU time
   (user + system, all threads) against what was posted in the window.

Figures: CPU per posted reading (a sample posts six), CPU per meter-second, and from it
meters per core = 1 / (CPU seconds per meter per second). Memory is the process's RSS
growth per meter once all are online (their physics, clients, TLS contexts and
keep-alive connections), with an SSLContext's own share measured apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import multiprocessing
import os
import queue
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

POST_RATE_S = 15
PROGRESS_S = 30.0  # how often the set-up phase says how far it is
HW_TYPE = "1.3.6.1.4.1.32473.1"


@dataclass(frozen=True)
class MetersRun:
    """One measured run."""

    meters: int
    setup_s: float
    setup_cpu_s: float
    window_s: float
    cpu_s: float
    samples: int
    readings: int
    posts: int
    connections: int
    errors: int
    rss_per_meter_kib: float
    context_kib: float
    latencies_s: list[float]

    @property
    def cpu_per_reading_us(self) -> float:
        """CPU microseconds per posted reading."""
        return self.cpu_s / self.readings * 1e6 if self.readings else float("inf")

    @property
    def cpu_per_meter_second(self) -> float:
        """CPU seconds one meter costs per second of running."""
        return self.cpu_s / (self.meters * self.window_s)

    @property
    def meters_per_core(self) -> float:
        """Meters one core carries at this postRate."""
        cost = self.cpu_per_meter_second
        return 1.0 / cost if cost > 0 else float("inf")


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _cpu() -> float:
    """CPU seconds of this process, all threads, user and system (ns resolution)."""
    return time.process_time()


def _serve_gateway(settings_json: str, pki_dir: str, port: Any, stop: Any) -> None:
    """The gateway, in a process of its own (multiprocessing target)."""
    from certs.pki import Pki
    from certs.settings import PkiSettings
    from gateway.heap import settle_heap
    from gateway.launch import Gateway
    from gateway.settings import GatewaySettings
    from sep2 import Sep2Settings

    async def main() -> None:
        gateway = Gateway(
            GatewaySettings.model_validate_json(settings_json),
            Sep2Settings(),
            Pki.open(Path(pki_dir)),
            PkiSettings(),
        )
        await gateway.start()
        settle_heap()  # as `gridmirror gateway` does once it listens
        port.put(gateway.port)
        while not stop.is_set():
            await asyncio.sleep(0.2)
        await gateway.stop()

    asyncio.run(main())


@contextlib.contextmanager
def gateway_process(data_dir: Path, post_rate: int, pids: list[int] | None = None) -> Iterator[str]:
    """The gateway in another process, on a free port with its own SQLite database (the
    default settings otherwise); yields its DeviceCapability URL (and appends the
    process id to ``pids`` if given)."""
    from gateway.settings import GatewaySettings

    settings = GatewaySettings(
        port=0,
        api_enabled=False,
        database_url=f"sqlite:///{data_dir / f'gateway-{time.time_ns()}.db'}",
        post_rate=post_rate,
        mdns=False,
        max_connections_per_peer=0,  # every emulated meter connects from this host
    )
    context = multiprocessing.get_context("spawn")
    port: Any = context.Queue()
    stop = context.Event()
    proc = context.Process(
        target=_serve_gateway,
        args=(settings.model_dump_json(), str(data_dir / "pki"), port, stop),
        daemon=True,
    )
    proc.start()
    if pids is not None and proc.pid is not None:
        pids.append(proc.pid)
    try:
        try:
            yield f"https://127.0.0.1:{port.get(timeout=120)}/dcap"
        except queue.Empty:
            raise RuntimeError("the gateway did not start within 120 s") from None
    finally:
        stop.set()
        proc.join(60)
        if proc.is_alive():
            proc.kill()
            proc.join()


def context_kib(pki_dir: Path, count: int = 200) -> float:
    """RSS of one meter's SSLContext (device chain, key, SERCA), KiB."""
    from certs.pki import Pki
    from certs.tls import client_context

    pki = Pki.open(pki_dir)
    devices = list(pki.devices.values())[:count]
    gc.collect()
    before = _rss()
    contexts = [client_context(d.chain, d.key, pki.serca) for d in devices]
    gc.collect()
    grown = _rss() - before
    del contexts
    return grown / len(devices) / 1024


def run(
    count: int,
    window_s: float,
    scratch: Path,
    server_url: str | None = None,
    echo: Callable[[str], None] = print,
) -> MetersRun:
    """Run ``count`` meters against a gateway and measure a steady-state window."""
    from certs.pki import default_serials, init_pki

    scratch.mkdir(parents=True, exist_ok=True)
    data_dir = scratch / "data"
    pki_dir = data_dir / "pki"
    started = time.perf_counter()
    init_pki(pki_dir, default_serials(count), hw_type=HW_TYPE)
    echo(f"  PKI with {count} meters ready in {time.perf_counter() - started:.1f} s")
    ctx_kib = context_kib(pki_dir)
    if server_url is not None:
        return asyncio.run(_measure(count, window_s, scratch, server_url, ctx_kib, echo))
    with gateway_process(data_dir, POST_RATE_S) as url:
        echo(f"  gateway started at {url} (its own process)")
        return asyncio.run(_measure(count, window_s, scratch, url, ctx_kib, echo))


async def _measure(
    count: int,
    window_s: float,
    scratch: Path,
    url: str,
    ctx_kib: float,
    echo: Callable[[str], None],
) -> MetersRun:
    from certs.pki import Pki
    from devices.campus import fleet_campus
    from devices.fleet import Fleet
    from devices.mirror import Sample
    from devices.settings import FleetSettings
    from devices.stats import FleetObserver, MeterStatus
    from schemas import official_xsd_bytes
    from sep2 import Codec, Schema

    latencies: list[float] = []
    posted: set[str] = set()

    class Watch(FleetObserver):
        def published(self, meter: MeterStatus, samples: list[Sample], seconds: float) -> None:
            latencies.append(seconds)
            posted.add(meter.serial)

    settings = FleetSettings(
        count=count,
        server_url=url,
        start_rate=250,
        setup_concurrency=64,
        request_timeout_s=60,
    )
    codec = Codec(Schema.from_bytes(official_xsd_bytes()))
    state_dir = scratch / f"state-{os.getpid()}-{time.time_ns()}"
    gc.collect()
    rss0 = _rss()
    fleet = Fleet(
        fleet_campus(settings),
        settings,
        Pki.open(scratch / "data" / "pki"),
        codec,
        32473,
        state_dir=state_dir,
        hw_type=HW_TYPE,
    )
    fleet.stats.subscribe(Watch())
    stop = asyncio.Event()
    cpu0, t0 = _cpu(), time.perf_counter()
    runner = asyncio.create_task(fleet.run(stop))
    said = t0
    try:
        while len(posted) < count:
            if time.perf_counter() - said >= PROGRESS_S:  # a large fleet takes minutes
                said = time.perf_counter()
                echo(
                    f"  setting up: {len(posted)} of {count} meters posting after {said - t0:.0f} s"
                )
            if runner.done():
                runner.result()
                raise RuntimeError("the fleet stopped before every meter had posted")
            limit = max(600.0, count * 0.25)  # setting up is the gateway's pace
            if time.perf_counter() - t0 > limit:
                raise RuntimeError(f"only {len(posted)} of {count} meters posted in {limit:.0f} s")
            await asyncio.sleep(0.5)
        setup_s, setup_cpu = time.perf_counter() - t0, _cpu() - cpu0
        echo(f"  all {count} meters set up and posting after {setup_s:.1f} s")
        # A whole period to settle (every meter back on its phase), then the window.
        await asyncio.sleep(POST_RATE_S)
        gc.collect()
        rss1 = _rss()
        stats = fleet.stats
        before = (
            stats.samples_published,
            stats.readings_published,
            stats.posts,
            stats.connections,
            sum(stats.errors.values()),
            len(latencies),
        )
        cpu1, t1 = _cpu(), time.perf_counter()
        await asyncio.sleep(window_s)
        cpu2, t2 = _cpu(), time.perf_counter()
        after = (
            stats.samples_published,
            stats.readings_published,
            stats.posts,
            stats.connections,
            sum(stats.errors.values()),
            len(latencies),
        )
    finally:
        stop.set()
        await runner
    return MetersRun(
        meters=count,
        setup_s=setup_s,
        setup_cpu_s=setup_cpu,
        window_s=t2 - t1,
        cpu_s=cpu2 - cpu1,
        samples=after[0] - before[0],
        readings=after[1] - before[1],
        posts=after[2] - before[2],
        connections=after[3] - before[3],
        errors=after[4] - before[4],
        rss_per_meter_kib=(rss1 - rss0) / count / 1024,
        context_kib=ctx_kib,
        latencies_s=latencies[before[5] : after[5]],
    )


def report(r: MetersRun) -> list[str]:
    """The figures, as lines."""
    lat = sorted(r.latencies_s)
    p50 = statistics.median(lat) * 1e3 if lat else float("nan")
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1e3 if lat else float("nan")
    expected = r.meters * r.window_s / POST_RATE_S
    return [
        f"  setup: {r.setup_s:.1f} s wall, {r.setup_cpu_s:.1f} s CPU "
        f"({r.setup_cpu_s / r.meters * 1e3:.2f} ms CPU per meter: handshake, registration, "
        "mirror)",
        f"  window: {r.window_s:.1f} s, {r.posts:,} posts ({r.posts / expected:.0%} of "
        f"{expected:,.0f} due), {r.samples:,} samples, {r.readings:,} readings, "
        f"{r.connections} new TLS connections, {r.errors} errors",
        f"  CPU: {r.cpu_s:.2f} s = {r.cpu_per_reading_us:.0f} us per posted reading, "
        f"{r.cpu_per_meter_second * 1e6:.1f} us per meter-second",
        f"  => {r.meters_per_core:,.0f} meters per core at a {POST_RATE_S} s postRate "
        f"(target: 10,000 on 2 cores with the gateway)",
        f"  publish latency (POST to 201): p50 {p50:.1f} ms, p99 {p99:.1f} ms",
        f"  memory: {r.rss_per_meter_kib:.1f} KiB RSS per meter once online "
        f"(an SSLContext alone: {r.context_kib:.1f} KiB); "
        f"{r.rss_per_meter_kib * 10_000 / 1024:.0f} MiB for 10,000",
    ]
