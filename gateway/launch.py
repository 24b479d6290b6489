"""A whole gateway from its settings: runtime, application, HTTPS server, DNS-SD.

``Gateway`` is what ``gridmirror gateway`` runs and what tests and the demo start in
process::

    gateway = Gateway(settings.gateway, settings.sep2, Pki.open(pki_dir), settings.pki)
    await gateway.start()          # listening, advertised
    ...
    await gateway.stop()           # withdrawn from DNS-SD, drained, writer flushed

Other parts of the product hang their routers and lifespans on it (``routers=``,
``lifespans=``: see gateway.app). The one application is served by two listeners (see
gateway.listeners): the 2030.5 port (mutual TLS) and, unless ``api_enabled`` is off, the API
port (``api_url``: REST, /docs, /metrics, the dashboard; plain HTTP unless ``api_tls``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Awaitable, Callable, Sequence

from fastapi import APIRouter

from certs.pki import Pki
from certs.settings import PkiSettings
from certs.tls import gateway_context, tls_read_buffer, web_server_context
from gateway.app import Lifespan, create_app
from gateway.clienttest import ClientTestMode
from gateway.connections import ConnectionLimits
from gateway.crud import devices
from gateway.db import open_database
from gateway.discovery import Advertiser, advertised_addresses, default_instance_name, subtypes_for
from gateway.listeners import api_listener, sep2_listener
from gateway.peer import PeerResolver
from gateway.runtime import ConfigurationError, GatewayRuntime
from gateway.server import HttpsServer
from gateway.settings import GatewaySettings
from schemas import official_xsd_bytes
from sep2 import Codec, Schema, Sep2Settings

log = logging.getLogger(__name__)

SUBTYPE_REFRESH_SECONDS = 30.0  # how soon an out-of-band registration reaches DNS-SD


class Gateway:
    """One configured gateway process (see the module docstring)."""

    def __init__(
        self,
        settings: GatewaySettings,
        sep2_settings: Sep2Settings,
        pki: Pki,
        pki_settings: PkiSettings,
        *,
        routers: Sequence[APIRouter] = (),
        lifespans: Sequence[Lifespan] = (),
        clock: Callable[[], float] = time.time,
        codec: Codec | None = None,
        client_test: ClientTestMode | None = None,
    ) -> None:
        if settings.database_url is None:
            raise ConfigurationError("gateway.database_url is not set")
        self.settings = settings
        self.pki = pki
        database = open_database(settings.database_url, synchronous=settings.sqlite_synchronous)
        codec = codec or Codec(Schema.from_bytes(official_xsd_bytes()), sep2_settings)
        peers = PeerResolver(
            settings, serca=pki.serca_certificate(), intermediates=pki.intermediates()
        )
        self.runtime = GatewayRuntime(settings, sep2_settings, database, codec, peers, clock=clock)
        self.app = create_app(self.runtime, routers=routers, lifespans=lifespans)
        # The client-test mode (conformance runs) wraps the 2030.5 listener; an ordinary
        # gateway serves it unwrapped, so recording costs nothing when it is off.
        self.client_test = client_test
        listener = (
            sep2_listener(self.app)
            if client_test is None
            else client_test.install(self.runtime, self.app)
        )
        self.server = HttpsServer(
            listener,
            host=settings.host,
            port=settings.port,
            ssl_context=None if settings.proxy_mode else gateway_context(pki, pki_settings),
            keep_alive=settings.keep_alive,
            drain_timeout=settings.drain_timeout,
            server_cert_pem=pki.server.cert.read_text(),
            handshake_timeout=settings.handshake_timeout_s,
            limits=ConnectionLimits(
                header_timeout_s=settings.header_timeout_s,
                body_timeout_s=settings.body_timeout_s,
                max_connections=settings.max_connections,
                max_connections_per_peer=settings.max_connections_per_peer,
            ),
        )
        self.api_server: HttpsServer | None = None
        if settings.api_enabled:
            self.api_server = HttpsServer(
                api_listener(self.app),
                host=settings.api_host,
                port=settings.api_port,
                ssl_context=web_server_context(pki.server.chain, pki.server.key)
                if settings.api_tls
                else None,
                keep_alive=settings.keep_alive,
                drain_timeout=settings.drain_timeout,
                lifespan="off",  # the 2030.5 server runs the application's one lifespan
            )
        self.advertiser: Advertiser | None = None
        self._refresher: asyncio.Task[None] | None = None
        self._read_buffer = contextlib.ExitStack()

    @property
    def port(self) -> int:
        """The port the server listens on (known once started)."""
        return self.server.port

    @property
    def url(self) -> str:
        """The base URL, e.g. ``https://127.0.0.1:8443``."""
        scheme = "http" if self.settings.proxy_mode else "https"
        host = self.settings.host
        host = f"[{host}]" if ":" in host else host
        return f"{scheme}://{host}:{self.port}"

    @property
    def api_port(self) -> int | None:
        """The API listener's port (known once started); None when it is off."""
        return self.api_server.port if self.api_server is not None else None

    @property
    def api_url(self) -> str | None:
        """The API listener's base URL, e.g. ``http://127.0.0.1:8080``; None when off."""
        if self.api_server is None:
            return None
        scheme = "https" if self.settings.api_tls else "http"
        host = self.settings.api_host
        host = f"[{host}]" if ":" in host else host
        return f"{scheme}://{host}:{self.api_server.port}"

    async def start(self) -> None:
        """Listen (schema created, writer started), then advertise over DNS-SD.

        A database behind the code's schema revision raises gateway.db.DatabaseError
        before anything listens (not from inside the server's lifespan, as a traceback).
        """
        await self.runtime.prepare_database()
        # A connection keeps the read buffer it was opened with, so this comes first.
        self._read_buffer.enter_context(tls_read_buffer(self.settings.tls_read_buffer_kib))
        try:
            await self.server.start()
        except BaseException:
            self._read_buffer.close()
            raise
        if self.api_server is not None:
            try:
                await self.api_server.start()
            except BaseException:
                await self.server.stop()
                self._read_buffer.close()
                raise
        if self.settings.mdns:
            self.advertiser = Advertiser(
                instance=self.settings.mdns_name
                or default_instance_name(self.settings.host, self.port),
                port=self.port,
                addresses=advertised_addresses(self.settings.host),
                interfaces=self.settings.mdns_interfaces,
                site=self.settings.xmdns,
            )
            await self.advertiser.start(await self._subtypes())
            self.runtime.on_devices_changed(self._refresh_subtypes)
            self._refresher = asyncio.create_task(self._refresh_periodically())
        log.info("gateway listening", extra={"url": self.url, "api_url": self.api_url})

    async def _subtypes(self) -> list[str]:
        sfdis = await self.runtime.read(devices.registered_sfdis)
        return subtypes_for(sfdis, mirroring=self.runtime.mirroring_open())

    async def _refresh_subtypes(self) -> None:
        if self.advertiser is not None:
            await self.advertiser.set_subtypes(await self._subtypes())

    async def _refresh_periodically(self) -> None:
        # Registrations made out of band (another process) reach DNS-SD this way.
        while True:
            await asyncio.sleep(SUBTYPE_REFRESH_SECONDS)
            try:
                await self._refresh_subtypes()
            except Exception:  # the database may be away for a moment; try again later
                log.warning("could not refresh the DNS-SD subtypes", exc_info=True)

    async def stop(self) -> None:
        """Withdraw the DNS-SD records, then drain and stop the server."""
        if self._refresher is not None:
            self._refresher.cancel()
            self._refresher = None
        if self.advertiser is not None:
            await self.advertiser.stop()
            self.advertiser = None
        self.app.state.closing.set()  # ends the dashboard's event streams before the drain
        if self.api_server is not None:
            await self.api_server.stop()
        await self.server.stop()
        self._read_buffer.close()

    async def run_until_signalled(
        self, on_started: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        """Start, serve until SIGINT or SIGTERM, then stop cleanly."""
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await self.start()
            if on_started is not None:
                await on_started()
            waiter = asyncio.create_task(stop.wait())
            served = asyncio.create_task(self.server.wait())
            await asyncio.wait({waiter, served}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            log.info("stopping: draining requests in flight")
        finally:
            await self.stop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
