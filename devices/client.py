"""One emulated meter's conversation with the gateway, as a 2030.5 client.

A :class:`MeterClient` runs one meter for as long as the fleet runs:

1. **Set up** (and again whenever its mirror is lost): GET DeviceCapability; find its
   EndDevice in the EndDeviceList by sFDI or register by POSTing one (sFDI, lFDI); if the
   meter was given a Registration PIN, compare it with the server's and refuse a server
   whose PIN differs; find its MirrorUsagePoint by mRID in the MirrorUsagePointList or
   create it (POST with the ReadingTypes); read the postRate the server set.
2. **Read** the physics at every postRate of simulated time (on a grid with a per-meter
   phase, so a fleet's posts spread over the period) into a bounded buffer
   (devices.buffer).
3. **Post** the buffered samples in order as MirrorMeterReadingLists, a backlog in
   batches. On a timeout, a refused or dropped connection, a failed TLS handshake or a
   5xx (or 429) it backs off (devices.backoff) and keeps reading into the buffer. On a
   4xx it logs the answer once and does not send those readings again (the registers are
   cumulative: the next pair carries their energy), except 404 (its mirror is gone: set
   up again and re-post) and 413 (split the batch).
4. **Re-read** the MirrorUsagePoint list every pollRate to notice a new postRate (or
   that its mirror is gone).
5. **Report its DER** (a meter with PV or a battery, when the EndDevice links a
   DERList): at setup it walks DERList -> DER and PUTs DERCapability, DERSettings,
   DERStatus and DERAvailability (devices.der); then DERStatus and DERAvailability
   again every EndDevice postRate, and the DERList is re-read at its pollRate. Best
   effort: a refused or failed DER request is logged and tried at the next report, and
   never holds up the readings. A server without a DERListLink is not asked.

Answers are read as a client reads them (``Codec.parse_answer``): extensions in foreign
namespaces (a CSIP-AUS server's ``csipaus:ConnectionPointLink``) are set aside and kept in
``MeterClient.extensions``, the rest is checked against the XSD.

Everything the meter does is reported to :class:`~devices.stats.FleetStats`. The HTTP
session and the codec are shared by the fleet (:class:`GatewayLink`); the TLS context is
the meter's own (its device certificate). A meter never reads the clock itself: time is
the fleet's :class:`~devices.timeline.Timeline`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import aiohttp
from yarl import URL

from devices.backoff import Backoff
from devices.buffer import SampleBuffer
from devices.der import DerReporter, has_der
from devices.faults import MeterFaults
from devices.meter import MeterModel
from devices.mirror import (
    MeterMirror,
    Sample,
    ShapeCheck,
    der_mirror,
    sample_of,
    site_quantities,
)
from devices.registers import EnergyLedger
from devices.servertime import ServerClock
from devices.settings import FleetSettings
from devices.stats import ErrorKind, FleetStats, MeterPhase, MeterStatus
from devices.timeline import Timeline
from sep2 import (
    CONTENT_TYPE,
    Codec,
    Der,
    DerList,
    DeviceCapability,
    EndDevice,
    EndDeviceList,
    Error,
    Extension,
    FunctionSetAssignments,
    FunctionSetAssignmentsList,
    Link,
    MirrorUsagePoint,
    MirrorUsagePointList,
    Registration,
    Sep2Object,
    Sep2ParseError,
    Time,
    UsagePointList,
)

log = logging.getLogger(__name__)

T = TypeVar("T", bound=Sep2Object)
L = TypeVar(
    "L", EndDeviceList, MirrorUsagePointList, FunctionSetAssignmentsList, UsagePointList, DerList
)

DEFAULT_POST_RATE = 900  # the standard's default when a server gives none
DEFAULT_POLL_RATE = 900  # the standard's default pollRate (and Time's)
LIST_LIMIT = 100  # items asked for per page when looking through a list
SAMPLES_PER_TURN = 200  # physics steps before yielding to the other meters
REPLAY_POST_INTERVAL_S = 1.0  # real seconds between a replaying meter's POSTs
_HEADERS = {"Accept": CONTENT_TYPE}
_POST_HEADERS = {"Accept": CONTENT_TYPE, "Content-Type": CONTENT_TYPE}


# --- What can go wrong with a request ------------------------------------------------------


class RequestFailed(Exception):
    """A request failed; ``kind`` says how, ``retry`` whether trying again may help."""

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        status: int | None = None,
        retry: bool = True,
        retry_after: float | None = None,
        location: str | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.retry = retry
        self.retry_after = retry_after
        self.location = location


class MeterRefused(Exception):
    """The meter will not talk to this server (a PIN mismatch, a missing function set)."""


PollKind = Literal["dcap", "edev", "fsa", "tm", "der", "derstatus"]
"""What a meter does again at a rate besides posting readings: reading resources at their
pollRate (the mirror list has its own schedule; ``der`` is the DERList) and, as
``derstatus``, PUTting its DERStatus and DERAvailability at the EndDevice's postRate."""


@dataclass
class Poll:
    """A resource read again every ``every`` seconds (its pollRate), next at ``due``
    (real time)."""

    url: URL
    every: float
    due: float


@dataclass
class Answer:
    """A 2xx answer: its status, Location and body."""

    status: int
    location: str | None
    body: bytes


# --- What the fleet shares -------------------------------------------------------------------


@dataclass
class GatewayLink:
    """The gateway and the means to talk to it, shared by every meter of a fleet."""

    session: aiohttp.ClientSession
    dcap_url: URL
    codec: Codec
    shapes: ShapeCheck
    timeout: aiohttp.ClientTimeout
    setup_gate: asyncio.Semaphore | None = None
    """Bounds how many meters set up at once (each setup is several requests)."""
    extensions_seen: set[str] = field(default_factory=set)
    """Foreign-namespace extensions the server's answers carried (logged once each)."""

    def resolve(self, href: str) -> URL:
        """An href from the server (usually a path) as an absolute URL."""
        return self.dcap_url.join(URL(href))


# --- One meter ---------------------------------------------------------------------------


class MeterClient:
    """One meter: its physics, its identity, its buffer and its conversation."""

    def __init__(
        self,
        model: MeterModel,
        status: MeterStatus,
        ssl_context: ssl.SSLContext,
        link: GatewayLink,
        settings: FleetSettings,
        pen: int,
        timeline: Timeline,
        stats: FleetStats,
        faults: MeterFaults | None = None,
        pending: list[Sample] | None = None,
        post_rate: int | None = None,
    ) -> None:
        self.model = model
        self.status = status
        self.serial = status.serial
        self.ssl = ssl_context
        self.link = link
        self.settings = settings
        self.timeline = timeline
        self.stats = stats
        self.faults = faults or MeterFaults()
        spec = model.spec
        site_flags, der_flags = settings.role_flags()
        self.mirror = MeterMirror(
            status.lfdi,
            pen,
            status.serial,
            quantities=site_quantities(settings.profile, spec.phases),
            role_flags=site_flags,
        )
        self.der = (
            der_mirror(
                status.lfdi,
                pen,
                status.serial,
                battery=spec.battery is not None,
                role_flags=der_flags,
            )
            if settings.mirrors_der() and spec.pv_kwp > 0
            else None
        )
        status.telemetry_readings = len(self.mirror.quantities) - 2
        self.der_url: URL | None = None
        self.der_reporter = DerReporter(spec) if has_der(spec) else None
        self.der_resource: Der | None = None
        """The DER (of the server's DERList) this meter reports to, once found."""
        self._der_post_rate: int | None = None  # the EndDevice's postRate, if it gave one
        self.buffer = SampleBuffer(settings.buffer_samples, settings.buffer_registers)
        for sample in pending or ():
            self.buffer.append(sample)
        self.backoff = Backoff(settings.backoff_base_s, settings.backoff_cap_s)
        # A meter's place in the post period: spreads a fleet's posts evenly.
        digest = hashlib.sha256(f"{status.serial}/phase".encode()).digest()
        self._phase_fraction = int.from_bytes(digest[:8], "big") / 2**64
        # Until the server says otherwise: what it said last time, else our proposal.
        self.post_rate = post_rate or settings.proposed_post_rate or DEFAULT_POST_RATE
        self.poll_s: float = settings.mup_poll_s or DEFAULT_POLL_RATE
        self.mup_url: URL | None = None
        self.mup_list_url: URL | None = None
        self.extensions: dict[str, tuple[Extension, ...]] = {}
        """The extensions the server's last answer at each path carried."""
        self.server_clock = ServerClock(status.serial, settings.clock_tolerance_s)
        self.polls: dict[PollKind, Poll] = {}
        """What is read again at its pollRate (the mirror list has its own schedule)."""
        self._setup_links: tuple[str | None, str | None] = (None, None)
        self.function_sets: dict[str, FunctionSetAssignments] = {}
        """The FunctionSetAssignments the EndDevice links, by href."""
        self.ready = False
        self._fresh_setup = False
        self._retry_at = 0.0  # real time before which no request is made
        self._poll_at = 0.0  # real time of the next MirrorUsagePoint re-read
        self._flush_at = 0.0  # real time before which a replaying meter does not post
        self._shedding = False
        self._batch = settings.samples_per_post
        # CSIP-AUS servers check that readings fall on the minute and that intervals are
        # whole minutes: the grid is then made of minutes, the first interval included.
        self._align = 60 if settings.profile == "csip-aus" else 1
        if self._align > 1 and self.model.time_ms % (self._align * 1000):
            self.model.step_to(-(-self.model.time_ms // (self._align * 1000)) * self._align)
        self._last_time = self.model.time_ms // 1000
        if len(self.buffer):
            self._last_time = max(self._last_time, self.buffer.newest_time() - self.faults.skew_s)
        self._next_due = self._grid_after(self._last_time)
        self._readings_taken = 0

    # --- the loop --------------------------------------------------------------------

    async def run(self) -> None:
        """Read and post until cancelled."""
        try:
            await self._talk()  # learn the postRate before the first reading
            while True:
                self._read_due()
                await self._talk()
                await asyncio.sleep(self._sleep_for())
        finally:
            self.stats.set_phase(self.status, MeterPhase.STOPPED)

    def _server_now(self) -> float:
        """Simulated time on the server's clock: what readings are stamped with."""
        return self.timeline.now() + self.server_clock.offset

    def _sleep_for(self) -> float:
        now = self.timeline.clock()
        wake = self.timeline.real_at(self._next_due - self.server_clock.offset)
        if not self.ready:
            wake = min(wake, max(self._retry_at, now))
        elif self.buffer:
            wake = min(wake, max(self._retry_at, self._flush_at, now))
        if self.ready:
            wake = min(wake, self._poll_at, *(p.due for p in self.polls.values()))
        return max(0.0, wake - now)

    async def _talk(self) -> None:
        """Set up if needed, re-read the mirror if due, post what is buffered."""
        now = self.timeline.clock()
        if now < self._retry_at:
            return
        try:
            if not self.ready:
                await self.setup()
            await self._poll_due()
            if self.ready and self.timeline.clock() >= self._poll_at:
                await self.poll_mirror()
            # While a replay runs, samples come faster than real time: gather them into
            # one POST per REPLAY_POST_INTERVAL_S rather than one POST per sample.
            if now >= self._flush_at or len(self.buffer) >= self._batch:
                if not self.timeline.live():
                    self._flush_at = now + REPLAY_POST_INTERVAL_S
                await self.flush()
        except RequestFailed as exc:
            self._failed(exc)
        except MeterRefused as exc:
            log.warning(f"{self.serial}: {exc}", extra={"serial": self.serial})
            self.status.last_error = str(exc)
            self.stats.set_phase(self.status, MeterPhase.REFUSED)
            self.ready = False
            self._retry_at = self.timeline.clock() + self.settings.backoff_cap_s

    def _failed(self, exc: RequestFailed) -> None:
        self.stats.failed(self.status, exc.kind, 0.0, str(exc))
        if exc.retry:
            delay = self.backoff.failed(exc.retry_after)
            self.stats.set_phase(self.status, MeterPhase.RETRYING)
            # Transient, and thousands of meters see the same outage: each says so at
            # INFO; the fleet sums them up at WARNING (devices.fleet).
            level = logging.INFO
        else:
            # Not transient (a 4xx while setting up): wait as long as the cap allows.
            delay = self.settings.backoff_cap_s
            self.stats.set_phase(self.status, MeterPhase.REFUSED)
            level = logging.WARNING
        self._retry_at = self.timeline.clock() + delay
        log.log(
            level,
            f"{self.serial}: {exc}; next try in {delay:.1f} s",
            extra={"serial": self.serial, "failures": self.backoff.failures},
        )

    # --- reading the physics -----------------------------------------------------------

    def _grid_after(self, t: int) -> int:
        """The first reading time of this meter's grid strictly after ``t``."""
        align = self._align
        rate = -(-self.post_rate // align) * align  # whole minutes under CSIP-AUS
        phase = int(self._phase_fraction * rate) // align * align
        return ((t - phase) // rate + 1) * rate + phase

    def _read_due(self) -> None:
        """Step the physics to every reading time that has come, buffering the samples."""
        now = int(self._server_now())
        if self._next_due > now:
            return
        # After a long absence, skip to the last stretch the buffer can hold: one long
        # step carries the energy of the gap into the next register pair.
        keep = self.settings.buffer_samples + self.settings.buffer_registers
        if (now - self._next_due) // self.post_rate > keep:
            jump_to = self._grid_after(now - keep * self.post_rate)
            if jump_to > self.model.time_ms // 1000:
                self.model.step_to(jump_to)
            log.warning(
                f"{self.serial}: {(jump_to - self._last_time) / 3600:.1f} h behind; "
                "registers stepped over the gap in one step",
                extra={"serial": self.serial},
            )
            self._last_time = jump_to
            self._next_due = self._grid_after(jump_to)
        for _ in range(SAMPLES_PER_TURN):
            if self._next_due > now:
                break
            self._read(self._next_due)
            self._next_due = self._grid_after(self._next_due)

    def _read(self, t: int) -> None:
        self._readings_taken += 1
        since = self.model.time_ms // 1000
        state = self.model.step_to(t)
        sample = sample_of(state, since, t + self.faults.skew_s)
        self._last_time = t
        status = self.status
        status.load_w, status.pv_w, status.battery_w, status.soc = (
            state.load_w,
            state.pv_w,
            state.battery_w,
            state.soc,
        )
        if self.buffer.append(sample) and not self._shedding:
            self._shedding = True
            log.warning(
                f"{self.serial}: buffer full ({len(self.buffer)} samples): shedding the "
                "telemetry of the oldest samples, then the oldest register pairs (later "
                "pairs carry their energy); the total follows when the backlog is sent",
                extra={"serial": self.serial, "since": self.buffer.shed.first_time},
            )
        status.buffered = len(self.buffer)
        self.stats.generated(status, sample)

    # --- setting up ----------------------------------------------------------------------

    async def setup(self) -> None:
        """Find or register the EndDevice, find or create the mirror, read the postRate."""
        gate = self.link.setup_gate
        if gate is None:
            await self._setup()
        else:
            async with gate:
                await self._setup()

    async def _setup(self) -> None:
        self.stats.set_phase(self.status, MeterPhase.STARTING)
        self.polls.clear()
        dcap = await self._get(self.link.dcap_url, DeviceCapability)
        self._schedule("dcap", self.link.dcap_url, dcap.poll_rate)
        self._setup_links = _setup_links(dcap)
        # The server's time first: the EndDevice's changedTime is stamped with it too.
        if dcap.time_link is not None:
            await self._read_time(self.link.resolve(dcap.time_link.href))
        edev = await self._find_or_register(dcap)
        await self._walk_function_sets(edev)
        await self._check_registration(edev)
        mup_list_url = self.mup_list_url = await self._mirror_list_url(dcap)
        self.mup_url, mup = await self._find_or_create_mirror(mup_list_url, self.mirror)
        if self.der is not None:
            self.der_url, _ = await self._find_or_create_mirror(mup_list_url, self.der)
        self._apply_post_rate(mup)
        await self._setup_der(edev)  # after the postRate: it paces the DER's reports
        self.status.mup_href = str(self.mup_url.path)
        self.ready = True
        self._fresh_setup = True
        self._poll_at = self.timeline.clock() + self.poll_s
        self.backoff.succeeded()
        self.stats.set_phase(self.status, MeterPhase.ONLINE)
        log.info(
            f"{self.serial}: mirror {self.status.mup_href} ready, postRate {self.post_rate} s",
            extra={"serial": self.serial, "lfdi": self.status.lfdi},
        )

    async def _find_or_register(self, dcap: DeviceCapability) -> EndDevice:
        if dcap.end_device_list_link is None:
            raise MeterRefused("the server's DeviceCapability has no EndDeviceListLink")
        list_url = self.link.resolve(dcap.end_device_list_link.href)
        pages = await self._list_pages(list_url, EndDeviceList)
        # The list's pollRate paces re-reading our EndDevice (the resource has none).
        poll_rate = pages[0].poll_rate
        for page in pages:
            for item in page.items:
                if item.sfdi == self.status.sfdi or (item.lfdi or "") == self.status.lfdi:
                    if item.href:
                        self._schedule("edev", self.link.resolve(item.href), poll_rate)
                    return item
        body = self.link.shapes.serialise(
            self.link.codec,
            EndDevice(
                sfdi=self.status.sfdi,
                lfdi=self.status.lfdi,
                changed_time=int(self._server_now()),
            ),
        )
        try:
            answer = await self._send("POST", list_url, body)
            location = answer.location
        except RequestFailed as exc:
            # Registered already (out of band, or a list page that did not show it): the
            # server answers 409 with the Location of the existing EndDevice.
            if exc.status != 409 or exc.location is None:
                raise
            location = exc.location
        if location is None:
            raise RequestFailed(ErrorKind.PROTOCOL, "EndDevice created without a Location")
        log.info(f"{self.serial}: registered as {location}", extra={"serial": self.serial})
        url = self.link.resolve(location)
        self._schedule("edev", url, poll_rate)
        return await self._get(url, EndDevice)

    async def _walk_function_sets(self, edev: EndDevice) -> None:
        """Read the FunctionSetAssignments the EndDevice links and follow what they point
        to that a meter uses: a TimeLink (when DeviceCapability had none) and the
        UsagePointList. Other function sets (DER programs, tariffs, messaging...) are
        not a meter's: they are named at DEBUG and left unread."""
        link = edev.function_set_assignments_list_link
        if link is None:
            self.polls.pop("fsa", None)
            return
        url = self.link.resolve(link.href)
        pages = await self._list_pages(url, FunctionSetAssignmentsList)
        self._schedule("fsa", url, pages[0].poll_rate)
        self.function_sets = {f.href or f.mrid: f for p in pages for f in p.items}
        for fsa in self.function_sets.values():
            if fsa.time_link is not None and "tm" not in self.polls:
                await self._read_time(self.link.resolve(fsa.time_link.href))
            if fsa.usage_point_list_link is not None:
                await self._list_pages(
                    self.link.resolve(fsa.usage_point_list_link.href), UsagePointList
                )
            unread = [name for name in _UNREAD_FUNCTION_SETS if getattr(fsa, name) is not None]
            if unread:
                log.debug(
                    f"{self.serial}: FunctionSetAssignments {fsa.href}: not a meter's, "
                    f"left unread: {', '.join(unread)}",
                    extra={"serial": self.serial},
                )

    async def _read_time(self, url: URL) -> None:
        """GET the server's Time, learn its clock's offset, and schedule the next read."""
        sent = self.timeline.clock()
        tm = await self._get(url, Time)
        self.server_clock.observe(tm, sent, self.timeline.clock())
        self._schedule("tm", url, tm.poll_rate)
        if not self._readings_taken and not self.buffer:
            self._start_in_server_time()

    def _start_in_server_time(self) -> None:
        """A meter that has read nothing yet starts at the server's now (on its minute
        under CSIP-AUS), not at ours: no backlog for a server ahead of us, no wait for
        one behind."""
        if self.model.ledger != EnergyLedger():
            return  # resumed from saved state: its registers go on from where they were
        align = self._align
        start = -(-int(self._server_now()) // align) * align
        if start * 1000 != self.model.time_ms:
            self.model.start_at(start)
            self._last_time = start
            self._next_due = self._grid_after(start)

    def _schedule(self, kind: PollKind, url: URL, poll_rate: int | None) -> None:
        every = poll_rate or DEFAULT_POLL_RATE
        self.polls[kind] = Poll(url, every, self.timeline.clock() + every)

    async def _poll_due(self) -> None:
        """Read again what its pollRate says is due (the mirror list aside)."""
        for kind in _POLL_ORDER:
            poll = self.polls.get(kind)
            if not self.ready or poll is None or self.timeline.clock() < poll.due:
                continue
            poll.due = self.timeline.clock() + poll.every  # again even if this one fails
            await _POLL_READERS[kind](self, poll.url)

    async def _poll_dcap(self, url: URL) -> None:
        dcap = await self._get(url, DeviceCapability)
        self._schedule("dcap", url, dcap.poll_rate)
        if _setup_links(dcap) != self._setup_links:
            log.info(
                f"{self.serial}: the server's DeviceCapability links other lists now; "
                "setting up again",
                extra={"serial": self.serial},
            )
            self.ready = False

    async def _poll_edev(self, url: URL) -> None:
        try:
            await self._get(url, EndDevice)
        except RequestFailed as exc:
            if exc.status != 404:
                raise
            log.warning(
                f"{self.serial}: EndDevice {url.path} is gone; registering again",
                extra={"serial": self.serial},
            )
            self.ready = False

    async def _poll_fsa(self, url: URL) -> None:
        pages = await self._list_pages(url, FunctionSetAssignmentsList)
        self._schedule("fsa", url, pages[0].poll_rate)
        self.function_sets = {f.href or f.mrid: f for p in pages for f in p.items}

    async def _poll_tm(self, url: URL) -> None:
        await self._read_time(url)

    async def _setup_der(self, edev: EndDevice) -> None:
        """Find the DER the server lists for this EndDevice and PUT all four of its
        parts; schedule the reports. Skipped quietly without a DER or a DERListLink."""
        self.der_resource = None
        self.polls.pop("der", None)
        self.polls.pop("derstatus", None)
        if self.der_reporter is None or edev.der_list_link is None:
            return
        url = self.link.resolve(edev.der_list_link.href)
        try:
            pages = await self._list_pages(url, DerList)
            self._schedule("der", url, pages[0].poll_rate)
            ders = [d for p in pages for d in p.items]
            if not ders:
                log.info(f"{self.serial}: the server lists no DER", extra={"serial": self.serial})
                return
            der = ders[0]
            if der.der_capability_link is None and der.href:  # a list that shows less
                der = await self._get(self.link.resolve(der.href), Der)
            now = int(self._server_now())
            reporter = self.der_reporter
            await self._put_der(der.der_capability_link, reporter.capability())
            await self._put_der(der.der_settings_link, reporter.settings(now))
        except RequestFailed as exc:
            self._der_failed(exc)  # the DERList's next read tries again
            return
        self.der_resource = der
        self._der_post_rate = edev.post_rate
        self._schedule("derstatus", url, edev.post_rate or self.post_rate)
        await self._report_der(url)

    async def _put_der(self, link: Link | None, document: Sep2Object) -> None:
        if link is None:
            return  # the server does not take this part
        body = self.link.shapes.serialise(self.link.codec, document)
        await self._send("PUT", self.link.resolve(link.href), body)

    async def _report_der(self, url: URL) -> None:
        """PUT DERStatus and DERAvailability of the latest physics step."""
        der, reporter = self.der_resource, self.der_reporter
        if der is None or reporter is None:
            return
        state, now = self.model.state, int(self._server_now())
        try:
            await self._put_der(der.der_status_link, reporter.status(state, now))
            await self._put_der(der.der_availability_link, reporter.availability(state, now))
        except RequestFailed as exc:
            self._der_failed(exc)
            return
        self.stats.der_reports_published += 1

    def _der_failed(self, exc: RequestFailed) -> None:
        self.stats.failed(self.status, exc.kind, 0.0, str(exc))
        log.info(f"{self.serial}: DER not reported: {exc}", extra={"serial": self.serial})

    async def _poll_der(self, url: URL) -> None:
        """Re-read the DERList; a DER that changed (or appeared) is walked again."""
        try:
            pages = await self._list_pages(url, DerList)
        except RequestFailed as exc:
            self._der_failed(exc)
            return
        self._schedule("der", url, pages[0].poll_rate)
        hrefs = [d.href for p in pages for d in p.items]
        known = self.der_resource.href if self.der_resource is not None else None
        if (hrefs[0] if hrefs else None) != known:
            edev_poll = self.polls.get("edev")
            if edev_poll is not None:
                await self._setup_der(await self._get(edev_poll.url, EndDevice))

    async def _check_registration(self, edev: EndDevice) -> None:
        pin = self.settings.registration_pins.get(self.serial, self.settings.registration_pin)
        if pin is None:
            return
        if edev.registration_link is None:
            raise MeterRefused(
                "a Registration PIN is configured but the server's EndDevice has no "
                "RegistrationLink"
            )
        registration = await self._get(self.link.resolve(edev.registration_link.href), Registration)
        if registration.pin != pin:
            raise MeterRefused(
                f"the server's Registration PIN {registration.pin} is not ours ({pin}): "
                "not the server this meter was registered with"
            )

    async def _mirror_list_url(self, dcap: DeviceCapability) -> URL:
        if dcap.mirror_usage_point_list_link is None:
            raise MeterRefused(
                "the server's DeviceCapability has no MirrorUsagePointListLink "
                "(it does not offer mirroring)"
            )
        return self.link.resolve(dcap.mirror_usage_point_list_link.href)

    async def _find_or_create_mirror(
        self, list_url: URL, mirror: MeterMirror
    ) -> tuple[URL, MirrorUsagePoint]:
        ours = set(mirror.mmr_mrids.values())
        pages = await self._list_pages(list_url, MirrorUsagePointList)
        # How often to re-read the mirror: ours, else what the server suggests.
        self.poll_s = self.settings.mup_poll_s or pages[0].poll_rate or DEFAULT_POLL_RATE
        found = [m for p in pages for m in p.items if m.mrid == mirror.mup_mrid and m.href]
        if found:
            mup = found[0]
            url = self.link.resolve(mup.href or "")
            if mup.post_rate is None:  # a list that shows less than the resource
                mup = await self._get(url, MirrorUsagePoint)
            listed = {m.mrid for m in mup.mirror_meter_readings}
            if (not listed or ours <= listed) and mup.role_flags == mirror.role_flags:
                return url, mup
            # Ours, but without all our MirrorMeterReadings or with other roleFlags (a
            # changed profile or setting): post it again (an update).
        body = self.link.shapes.serialise(
            self.link.codec, mirror.usage_point(self.settings.proposed_post_rate)
        )
        answer = await self._send("POST", list_url, body)
        if answer.location is None:
            raise RequestFailed(
                ErrorKind.PROTOCOL, "MirrorUsagePoint created without a Location", retry=True
            )
        url = self.link.resolve(answer.location)
        log.info(
            f"{self.serial}: mirror {'created' if answer.status == 201 else 'updated'} at "
            f"{answer.location}",
            extra={"serial": self.serial, "mrid": mirror.mup_mrid},
        )
        return url, await self._get(url, MirrorUsagePoint)

    def _apply_post_rate(self, mup: MirrorUsagePoint) -> None:
        rate = mup.post_rate or self.settings.proposed_post_rate or DEFAULT_POST_RATE
        if rate != self.post_rate:
            if self.ready or self.status.post_rate is not None:
                log.info(
                    f"{self.serial}: postRate changed from {self.post_rate} s to {rate} s",
                    extra={"serial": self.serial},
                )
            self.post_rate = rate
            self._next_due = self._grid_after(self._last_time)
            report = self.polls.get("derstatus")
            if report is not None and not self._der_post_rate:
                report.every = rate
        self.status.post_rate = rate

    async def poll_mirror(self) -> None:
        """Re-read the MirrorUsagePoint list at its pollRate, as CSIP-AUS servers expect of
        a client that posts (GET-MUP-2): notices a new postRate, or a mirror that is gone.
        The mirror itself is read only when the list leaves its postRate out."""
        assert self.mup_url is not None and self.mup_list_url is not None
        self._poll_at = self.timeline.clock() + self.poll_s
        pages = await self._list_pages(self.mup_list_url, MirrorUsagePointList)
        if self.settings.mup_poll_s is None and pages[0].poll_rate:
            self.poll_s = pages[0].poll_rate
        mine = [m for p in pages for m in p.items if m.mrid == self.mirror.mup_mrid]
        if not mine:
            self._lost_mirror()
            return
        mup = mine[0]
        if mup.post_rate is None:
            try:
                mup = await self._get(self.mup_url, MirrorUsagePoint)
            except RequestFailed as exc:
                if exc.status == 404:
                    self._lost_mirror()
                    return
                raise
        self._apply_post_rate(mup)

    def _lost_mirror(self) -> None:
        log.warning(
            f"{self.serial}: mirror {self.status.mup_href} is gone; creating it again",
            extra={"serial": self.serial},
        )
        self.ready = False
        self.mup_url = None

    # --- posting readings ----------------------------------------------------------------

    async def flush(self) -> None:
        """Post buffered samples in order until the buffer is empty or a post fails."""
        while self.buffer and self.ready:
            batch = self.buffer.peek(self._batch)
            sent = await self._post_readings(batch)
            if sent is None:  # the batch was split or the mirror re-created: go again
                continue
            if not sent:
                # Refused with a 4xx: nothing more before the next reading is due, so a
                # gateway that refuses everything never sees a burst from this meter.
                self._retry_at = self.timeline.real_at(self._next_due)
                return

    async def _post_readings(self, batch: list[Sample]) -> bool | None:
        """POST one batch. True: delivered; False: refused for good (4xx); None: try the
        batch again now (split after a 413, or after re-creating a lost mirror)."""
        assert self.mup_url is not None
        faults = self.faults
        samples = batch
        if faults.backwards and faults.strikes(faults.backwards):
            samples = faults.rewind(batch)
        document = self.mirror.readings(samples, self.post_rate)
        body = self.link.shapes.serialise(self.link.codec, document)
        if faults.corrupt and faults.strikes(faults.corrupt):
            body = faults.damage(body)
        started = time.perf_counter()
        drop = bool(faults.drop) and faults.strikes(faults.drop)
        try:
            await self._send("POST", self.mup_url, body, drop_answer=drop)
        except RequestFailed as exc:
            if exc.status == 404 and not self._fresh_setup:
                self._lost_mirror()
                await self.setup()
                return None
            if exc.status == 413 and len(batch) > 1:
                self._batch = max(1, len(batch) // 2)
                return None
            if exc.retry:
                raise
            self._done_with(batch)
            self.stats.failed(self.status, exc.kind, time.perf_counter() - started, str(exc))
            self.stats.refused(self.status, samples)
            log.warning(
                f"{self.serial}: gateway refused {len(samples)} sample(s) "
                f"{samples[0].time}..{samples[-1].time}: {exc}; not sent again",
                extra={"serial": self.serial, "status": exc.status},
            )
            return False
        seconds = time.perf_counter() - started
        # Out of the buffer before anything else is awaited: a meter stopped from here on
        # must not keep (and save, and send again) what the gateway has acknowledged.
        self._done_with(batch)
        self._fresh_setup = False
        self.backoff.succeeded()
        self.status.last_post = self.timeline.clock()
        self.stats.set_phase(self.status, MeterPhase.ONLINE)
        self.stats.published(self.status, samples, seconds)
        if faults.duplicate and faults.strikes(faults.duplicate):
            try:
                await self._send("POST", self.mup_url, body)
            except RequestFailed as exc:
                log.info(f"{self.serial}: duplicate post failed: {exc}")
        if self.der_url is not None:
            await self._post_der(batch)
        return True

    def _done_with(self, batch: list[Sample]) -> None:
        """Remove a batch the gateway acknowledged (or refused for good) from the buffer."""
        self.buffer.drop(len(batch))
        self.status.buffered = len(self.buffer)
        if not self.buffer:
            self._report_shed()

    async def _post_der(self, samples: list[Sample]) -> None:
        """Post the DER mirror's readings of ``samples``: best effort, never retried (it
        is telemetry for dashboards; the energy is in the site mirror's registers)."""
        assert self.der is not None and self.der_url is not None
        document = self.der.readings(samples, self.post_rate)
        if not document.items:
            return  # the telemetry of these samples was shed
        started = time.perf_counter()
        try:
            await self._send(
                "POST", self.der_url, self.link.shapes.serialise(self.link.codec, document)
            )
        except RequestFailed as exc:
            self.stats.failed(self.status, exc.kind, time.perf_counter() - started, str(exc))
            log.info(f"{self.serial}: DER readings not posted: {exc}")
            if exc.status == 404:
                self.ready = False  # the DER mirror is gone: set up again (finds the site one)
            return
        self.stats.der_readings_published += sum(
            len(m.mirror_reading_sets[0].readings) if m.mirror_reading_sets else 1
            for m in document.items
        )

    def _report_shed(self) -> None:
        self._shedding = False
        report = self.buffer.take_shed_report()
        if not report:
            return
        self.stats.shed(self.status, report.telemetry, report.registers)
        log.warning(
            f"{self.serial}: during the outage the buffer shed the telemetry of "
            f"{report.telemetry} sample(s) and {report.registers} register pair(s) "
            f"between {report.first_time} and {report.last_time}; the registers posted "
            "since carry all their energy",
            extra={"serial": self.serial},
        )

    # --- HTTP ------------------------------------------------------------------------------

    async def _list_pages(self, url: URL, list_type: type[L]) -> list[L]:
        """Every page of a list resource (a device sees only its own items: a page or two)."""
        pages: list[L] = []
        start = 0
        while True:
            page = await self._get(url.update_query(s=start, l=LIST_LIMIT), list_type)
            pages.append(page)
            start += len(page.items)
            total = page.all if page.all is not None else start
            if not page.items or start >= total:
                return pages

    async def _get(self, url: URL, expect: type[T]) -> T:
        answer = await self._send("GET", url)
        try:
            # An answer, read as a client reads: a national profile's extensions
            # (CSIP-AUS and others) are set aside, the rest checked against the XSD.
            document = self.link.codec.parse_answer_document(answer.body, expect)
        except Sep2ParseError as exc:
            raise RequestFailed(
                ErrorKind.PROTOCOL,
                f"GET {url.path}: the answer is not a valid {expect.xml_name}: {exc}",
            ) from None
        if document.extensions:
            self.extensions[url.path] = document.extensions
            self._note_extensions(url, document.extensions)
        resource: T = document.resource  # type: ignore[assignment]
        return resource

    def _note_extensions(self, url: URL, extensions: tuple[Extension, ...]) -> None:
        seen = self.link.extensions_seen
        for extension in extensions:
            if extension.qualified not in seen:
                seen.add(extension.qualified)
                log.debug(
                    f"{self.serial}: GET {url.path}: set aside the extension "
                    f"{extension.qualified} in {extension.parent}",
                    extra={"serial": self.serial, "extension": extension.qualified},
                )

    async def _send(
        self, method: str, url: URL, body: bytes | None = None, *, drop_answer: bool = False
    ) -> Answer:
        """One request; a 2xx answer, or RequestFailed saying what went wrong."""
        what = f"{method} {url.path}"
        try:
            async with self.link.session.request(
                method,
                url,
                data=body,
                headers=_POST_HEADERS if body is not None else _HEADERS,
                ssl=self.ssl,
                timeout=self.link.timeout,
            ) as response:
                if drop_answer:
                    response.close()  # the gateway has answered; we never hear it
                    raise RequestFailed(
                        ErrorKind.CONNECTION, f"{what}: connection dropped (fault injected)"
                    )
                data = await response.read()
                status = response.status
                location = response.headers.get("Location")
                retry_after = _retry_after(response.headers.get("Retry-After"))
                problem = response.headers.get("X-Problem")
        except RequestFailed:
            raise
        except TimeoutError:
            raise RequestFailed(ErrorKind.TIMEOUT, f"{what}: timed out") from None
        except (aiohttp.ClientSSLError, ssl.SSLError) as exc:
            raise RequestFailed(ErrorKind.TLS, f"{what}: TLS handshake failed: {exc}") from None
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, ssl.SSLError):
                raise RequestFailed(
                    ErrorKind.TLS, f"{what}: TLS handshake failed: {exc.os_error}"
                ) from None
            if isinstance(exc.os_error, ConnectionResetError):
                # TCP was accepted, so the reset came during the TLS handshake: a server
                # refusing the meter's certificate closes the connection this way.
                raise RequestFailed(
                    ErrorKind.TLS,
                    f"{what}: TLS handshake failed: the server reset the connection "
                    "(does it trust this meter's certificate?)",
                ) from None
            raise RequestFailed(ErrorKind.CONNECTION, f"{what}: {exc}") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise RequestFailed(
                ErrorKind.CONNECTION, f"{what}: {type(exc).__name__}: {exc}"
            ) from None
        if 200 <= status < 300:
            return Answer(status, location, data)
        detail = self._error_detail(data, problem)
        if status >= 500 or status in (408, 429):
            raise RequestFailed(
                ErrorKind.SERVER if status >= 500 else ErrorKind.CLIENT,
                f"{what}: {status}{detail}",
                status=status,
                retry_after=retry_after,
            )
        raise RequestFailed(
            ErrorKind.CLIENT,
            f"{what}: {status}{detail}",
            status=status,
            retry=False,
            location=location,
        )

    def _error_detail(self, body: bytes, problem: str | None) -> str:
        """What a refusal says: the Error's reasonCode, and the gateway's X-Problem line
        (the Error document has no room for words)."""
        said = f": {problem[:300]}" if problem else ""
        if not body:
            return f" ({said[2:]})" if said else ""
        try:
            error = self.link.codec.parse_answer(body, Error)
        except Exception:  # a body that is not a 2030.5 Error is shown as text
            text = body[:200].decode("utf-8", "replace").strip()
            return f" ({text}{said})" if text else said
        return f" (Error reasonCode {error.reason_code}{said})"

    # --- state ---------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """What the meter needs to resume after a restart: its physics and unsent samples."""
        return {
            "snapshot": self.model.snapshot().to_dict(),
            "pending": [s.to_list() for s in self.buffer.samples()],
            "post_rate": self.post_rate,
        }


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: rare from 2030.5 servers; the backoff decides


def _setup_links(dcap: DeviceCapability) -> tuple[str | None, str | None]:
    """The links a meter's setup follows from DeviceCapability (EndDevice, mirror lists)."""
    edev, mup = dcap.end_device_list_link, dcap.mirror_usage_point_list_link
    return (edev.href if edev else None, mup.href if mup else None)


# Function sets a FunctionSetAssignments may link that an emulated meter does not use.
_UNREAD_FUNCTION_SETS = (
    "customer_account_list_link",
    "demand_response_program_list_link",
    "der_program_list_link",
    "file_list_link",
    "messaging_program_list_link",
    "prepayment_list_link",
    "response_set_list_link",
    "tariff_profile_list_link",
)

_POLL_ORDER: tuple[PollKind, ...] = ("dcap", "tm", "edev", "fsa", "der", "derstatus")
_POLL_READERS: dict[PollKind, Callable[[MeterClient, URL], Awaitable[None]]] = {
    "dcap": MeterClient._poll_dcap,
    "edev": MeterClient._poll_edev,
    "fsa": MeterClient._poll_fsa,
    "tm": MeterClient._poll_tm,
    "der": MeterClient._poll_der,
    "derstatus": MeterClient._report_der,
}
"""Which read each pollRate is due for: the poll table."""
