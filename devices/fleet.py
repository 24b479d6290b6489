"""Running a fleet of meters in one asyncio process: the 25 campus meters or thousands.

:class:`Fleet` puts together what the meters share and what each owns:

- shared: one DNS-SD browse (or the configured URL), one aiohttp session whose connector
  keeps one keep-alive connection per meter (aiohttp pools connections by TLS context,
  and each meter has its own), the codec and its XSD shape check, the timeline, the
  statistics, the site (one sky for the whole campus);
- per meter: its physics (devices.meter.MeterModel), its TLS context (an SSLContext
  holds the client certificate, so it cannot be shared; about 20 KiB each, see
  ``gridmirror bench meters``), its buffer and its conversation (devices.client).

Meters start staggered (``start_rate`` per second) and at most ``setup_concurrency``
set up at once, so 10,000 TLS handshakes and registrations do not land on the gateway
in the same second. Every ``state_every_s`` and on stop the meters' registers and unsent
samples are saved (devices.state), so a restarted fleet carries on where it stopped.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from yarl import URL

from certs.pki import DeviceIdentity, Pki
from certs.tls import client_context, tls_read_buffer
from devices.campus import Campus
from devices.client import GatewayLink, MeterClient
from devices.discovery import discover
from devices.faults import MeterFaults, fleet_faults
from devices.meter import MeterModel
from devices.metrics import observe_fleet
from devices.mirror import Sample, ShapeCheck
from devices.settings import FleetSettings
from devices.site import Site
from devices.spec import MeterSpec
from devices.state import SavedMeter, load_state, save_state
from devices.stats import FleetStats, MeterStatus
from devices.timeline import Timeline
from sep2 import Codec

log = logging.getLogger(__name__)

FOREIGN_PKI_DIR = "foreign-pki"
FAILURE_SUMMARY_S = 30.0


class FleetError(Exception):
    """The fleet cannot start; the message is one line."""


def missing_certificates(pki: Pki, serials: Sequence[str]) -> list[str]:
    """The serials that have no device certificate in ``pki``."""
    return [serial for serial in serials if serial not in pki.devices]


def raise_file_limit(needed: int) -> int:
    """Raise this process's open-file limit towards ``needed`` (one socket per meter);
    returns the limit now in force, which a warning names if it is still too low."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    if soft != resource.RLIM_INFINITY and soft < needed:
        log.warning(
            f"the open-file limit is {soft}, below the {needed} this fleet needs "
            "(one connection per meter): raise `ulimit -n`"
        )
    return int(soft)


def dcap_url_of(server_url: str) -> URL:
    """The DeviceCapability URL of a configured server URL (``/dcap`` if it has no path)."""
    url = URL(server_url)
    if url.scheme != "https" or not url.host:
        raise FleetError(f"meters.server_url {server_url!r}: give https://host:port[/dcap]")
    if url.path in ("", "/"):
        url = url.with_path("/dcap")
    return url


@dataclass
class FleetParts:
    """What a fleet is made of, before it runs (exposed for tests and benchmarks)."""

    clients: list[MeterClient]
    link: GatewayLink


class Fleet:
    """The meters of a campus (or a synthetic fleet), talking to one gateway."""

    def __init__(
        self,
        campus: Campus,
        settings: FleetSettings,
        pki: Pki,
        codec: Codec,
        pen: int,
        *,
        state_dir: Path,
        hw_type: str,
        timeline: Timeline | None = None,
        stats: FleetStats | None = None,
    ) -> None:
        self.campus = campus
        self.settings = settings
        self.pki = pki
        self.codec = codec
        self.pen = pen
        self.state_dir = state_dir
        self.hw_type = hw_type
        self.timeline = timeline or Timeline(settings.replay_hours * 3600.0, settings.speed)
        self.stats = stats or FleetStats()
        observe_fleet(self.stats)  # Prometheus' simulator_* metrics (devices.metrics)
        self.shapes = ShapeCheck(settings.xsd_sample_rate)
        self.clients: list[MeterClient] = []
        self.dcap_url: URL | None = None
        serials = [m.serial for m in campus.meters]
        missing = missing_certificates(pki, serials)
        if missing:
            raise FleetError(
                f"no device certificate for {len(missing)} of {len(serials)} meters "
                f"(first: {missing[0]}) in {pki.dir}"
            )
        self.faults = fleet_faults(settings.faults, serials, settings.seed)

    # --- building ------------------------------------------------------------------------

    async def locate_gateway(self) -> URL:
        """The DeviceCapability URL: configured, or found by one DNS-SD browse."""
        if self.settings.server_url:
            return dcap_url_of(self.settings.server_url)
        found = await discover(
            self.settings.discovery_timeout_s,
            self.settings.discovery_instance,
            site=self.settings.discovery_site,
            site_interfaces=self.settings.discovery_site_interfaces,
        )
        return URL(found.dcap_url)

    def _contexts(self) -> dict[str, ssl.SSLContext]:
        foreign = [s for s, f in self.faults.items() if f.foreign_cert]
        foreign_ids: dict[str, DeviceIdentity] = {}
        if foreign:
            from certs.foreign import foreign_pki

            report = foreign_pki(self.state_dir / FOREIGN_PKI_DIR, foreign, hw_type=self.hw_type)
            foreign_ids = dict(report.pki.devices)
        contexts = {}
        for spec in self.campus.meters:
            device = foreign_ids.get(spec.serial) or self.pki.device(spec.serial)
            contexts[spec.serial] = client_context(
                device.chain,
                device.key,
                self.pki.serca,
                check_hostname=self.settings.check_hostname,
            )
        return contexts

    def build(self, session: aiohttp.ClientSession, dcap_url: URL) -> FleetParts:
        """The meters, ready to run against ``dcap_url`` over ``session``."""
        settings = self.settings
        link = GatewayLink(
            session=session,
            dcap_url=dcap_url,
            codec=self.codec,
            shapes=self.shapes,
            timeout=aiohttp.ClientTimeout(total=settings.request_timeout_s),
            setup_gate=asyncio.Semaphore(settings.setup_concurrency),
        )
        saved = load_state(self.state_dir, settings.seed)
        site = Site(self.campus.site, settings.seed)
        contexts = self._contexts()
        start = self.timeline.start
        clients = []
        for spec in self.campus.meters:
            device = self.pki.device(spec.serial)
            memory = saved.get(spec.serial)
            model, pending = _model(spec.serial, memory, spec, site, start)
            status = MeterStatus(spec.serial, device.lfdi, device.sfdi)
            self.stats.add_meter(status)
            faults = self.faults.get(spec.serial, MeterFaults())
            if faults.any:
                log.info(
                    f"{spec.serial}: faults {', '.join(faults.kinds())}",
                    extra={"serial": spec.serial},
                )
            clients.append(
                MeterClient(
                    model,
                    status,
                    contexts[spec.serial],
                    link,
                    settings,
                    self.pen,
                    self.timeline,
                    self.stats,
                    faults,
                    pending,
                    memory.post_rate if memory is not None else None,
                )
            )
        self.clients = clients
        return FleetParts(clients, link)

    # --- running -------------------------------------------------------------------------

    def save(self) -> None:
        """Save every meter's registers and unsent samples."""
        if self.clients:
            save_state(
                self.state_dir, self.settings.seed, {c.serial: c.state() for c in self.clients}
            )

    async def run(
        self,
        stop: asyncio.Event | None = None,
        *,
        on_ready: Callable[[URL], None] | None = None,
    ) -> FleetStats:
        """Run the meters until ``stop`` is set (or forever); save their state at the end."""
        stop = stop or asyncio.Event()
        raise_file_limit(len(self.campus.meters) + 256)
        self.dcap_url = await self.locate_gateway()
        if on_ready is not None:
            on_ready(self.dcap_url)
        connector = aiohttp.TCPConnector(
            limit=0,  # one connection per meter, however many meters
            # Kept open between posts (the gateway decides how long it keeps them).
            keepalive_timeout=max(60.0, 2.0 * (self.settings.proposed_post_rate or 15)),
            enable_cleanup_closed=True,
        )
        session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            trace_configs=[self._connection_counter()],
        )
        tasks: list[asyncio.Task[None]] = []
        with tls_read_buffer(self.settings.tls_read_buffer_kib):
            await self._run(session, stop, tasks)
        return self.stats

    async def _run(
        self, session: aiohttp.ClientSession, stop: asyncio.Event, tasks: list[asyncio.Task[None]]
    ) -> None:
        assert self.dcap_url is not None
        try:
            parts = self.build(session, self.dcap_url)
            saver = asyncio.create_task(self._save_every(stop))
            watcher = asyncio.create_task(self._watch_failures(stop))
            starter = asyncio.create_task(self._start(parts.clients, tasks, stop))
            await stop.wait()
            for helper in (starter, saver, watcher):
                helper.cancel()
            await asyncio.gather(starter, saver, watcher, return_exceptions=True)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.save()
            await session.close()

    def _connection_counter(self) -> aiohttp.TraceConfig:
        trace = aiohttp.TraceConfig()
        stats = self.stats

        async def opened(*_: object) -> None:
            stats.connections += 1

        trace.on_connection_create_end.append(opened)
        return trace

    async def _start(
        self, clients: list[MeterClient], tasks: list[asyncio.Task[None]], stop: asyncio.Event
    ) -> None:
        interval = 1.0 / self.settings.start_rate
        for client in clients:
            if stop.is_set():
                return
            tasks.append(asyncio.create_task(client.run(), name=f"meter {client.serial}"))
            await asyncio.sleep(interval)

    async def _watch_failures(self, stop: asyncio.Event) -> None:
        """One WARNING line every FAILURE_SUMMARY_S while meters fail (each meter's own
        failures are at INFO: 10,000 meters losing the gateway at once is one event)."""
        stats = self.stats
        errors_before = sum(stats.errors.values())
        troubled = False
        while not stop.is_set():
            await asyncio.sleep(FAILURE_SUMMARY_S)
            phases = stats.by_phase()
            failing = [m for m in stats.meters.values() if m.phase.value in ("retrying", "refused")]
            errors = sum(stats.errors.values())
            if failing:
                example = failing[0]
                kinds = ", ".join(f"{k.value} {n}" for k, n in stats.errors.items() if n)
                log.warning(
                    f"{phases['retrying']} of {len(stats.meters)} meters retrying, "
                    f"{phases['refused']} refused; {errors - errors_before} failed requests "
                    f"in the last {FAILURE_SUMMARY_S:.0f} s (in all: {kinds}); e.g. "
                    f"{example.serial}: {example.last_error}"
                )
                troubled = True
            elif troubled:
                log.warning(f"all {len(stats.meters)} meters are posting again")
                troubled = False
            errors_before = errors

    async def _save_every(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.sleep(self.settings.state_every_s)
            try:
                # Serialising 10,000 meters takes a few tens of ms: acceptable on the loop.
                self.save()
            except OSError as exc:
                log.error(f"cannot save the meters' state in {self.state_dir}: {exc}")


def _model(
    serial: str, saved: SavedMeter | None, spec: MeterSpec, site: Site, start: float
) -> tuple[MeterModel, list[Sample]]:
    """A meter's physics: resumed from its saved state, or new at ``start``."""
    if saved is not None:
        try:
            return MeterModel.restore(spec, site, saved.snapshot), saved.pending
        except ValueError as exc:
            log.warning(f"{serial}: saved state unusable ({exc}); starting afresh")
    return MeterModel(spec, site, int(start)), []
