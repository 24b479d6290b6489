"""Everything one running gateway shares: settings, database, codec, writer, rules.

The application (gateway.app) reaches it as ``request.app.state.runtime``; routes call
:meth:`GatewayRuntime.read` for queries (a read session on a worker thread, off the event
loop) and :meth:`GatewayRuntime.write` for jobs (the group committer). Other parts of the
process (the DNS-SD advertiser) subscribe to :meth:`on_devices_changed`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from anyio import to_thread
from sqlmodel import Session

from gateway.db import Database
from gateway.groupcommit import GroupCommitter, Job
from gateway.ingest import Ingest, IngestRules
from gateway.peer import PeerResolver
from gateway.profiles import ProfileMemory
from gateway.registration import Registrations
from gateway.settings import GatewaySettings
from sep2 import Codec, Sep2Settings

log = logging.getLogger(__name__)

T = TypeVar("T")
DevicesListener = Callable[[], Awaitable[None]]


class ConfigurationError(Exception):
    """A setting the gateway cannot run with; one line for the CLI."""


class GatewayRuntime:
    """The shared state of one gateway process."""

    def __init__(
        self,
        settings: GatewaySettings,
        sep2_settings: Sep2Settings,
        database: Database,
        codec: Codec,
        peers: PeerResolver,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.sep2 = sep2_settings
        self.database = database
        self.codec = codec
        self.peers = peers
        self.clock = clock
        try:
            self.zone = ZoneInfo(settings.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigurationError(f"unknown time zone {settings.timezone!r}") from None
        self.committer = GroupCommitter(
            database, batch_limit=settings.batch_limit, linger=settings.batch_linger
        )
        self.ingest = Ingest(
            codec,
            IngestRules(
                mirrors_per_device=settings.mirrors_per_device,
                max_future_skew=settings.max_future_skew,
            ),
            clock,
        )
        self.registrations = Registrations(settings, clock)
        self.profiles = ProfileMemory(self.read)
        self._devices_listeners: list[DevicesListener] = []
        self.started = False
        self._schema_checked = False

    async def prepare_database(self) -> None:
        """Create an empty database, or check that its schema is at the code's revision
        (raises gateway.db.DatabaseError, one line, when it is not). Once per process."""
        if not self._schema_checked:
            await to_thread.run_sync(self.database.ensure_schema)
            self._schema_checked = True

    async def start(self) -> None:
        """Prepare the database and start the writer."""
        if self.started:
            return
        await self.prepare_database()
        self.committer.start()
        self.started = True

    async def stop(self) -> None:
        """Finish the queued writes and close the database."""
        if not self.started:
            return
        await to_thread.run_sync(self.committer.stop)
        self.database.dispose()
        self.started = False

    async def read(self, query: Callable[[Session], T]) -> T:
        """Run ``query`` on a read session off the event loop."""

        def run() -> T:
            with self.database.read_session() as session:
                return query(session)

        return await to_thread.run_sync(run)

    async def write(self, job: Job[T]) -> T:
        """Run ``job`` in the next group commit; its result once committed."""
        return await self.committer.run(job)

    def on_devices_changed(self, listener: DevicesListener) -> None:
        """Call ``listener`` after a device registers or unregisters."""
        self._devices_listeners.append(listener)

    async def devices_changed(self) -> None:
        """Tell the listeners that the registered devices changed."""
        for listener in self._devices_listeners:
            try:
                await listener()
            except Exception:  # a listener's trouble must not fail the request
                log.warning("a devices listener failed", exc_info=True)

    def mirroring_open(self) -> bool:
        """True if this server can host mirrors at all (the DNS-SD ``mup`` subtype)."""
        return self.settings.mirrors_per_device > 0
