"""A small 2030.5 server over real mutual TLS, for the unit tests of the meters' client.

It is not the gateway: just enough of /dcap, /edev (+ Registration, and with ``der_list``
the DER function sets) and /mup for one
piece (the client) to be tested with faults the real gateway would not produce on
demand (5xx, 4xx, a changed postRate, a refused connection, a vanished mirror). Every
body the meters send is parsed with the sep2 codec, i.e. checked against the official
XSD, and the request is answered 400 if it fails. Devices are known by the LFDI of
their TLS client certificate.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from lxml import etree

from certs.pki import Pki
from certs.tls import peer_lfdi, server_context
from sep2 import (
    CONTENT_TYPE,
    SEP2_NAMESPACE,
    Codec,
    Der,
    DerAvailability,
    DerCapability,
    DerList,
    DerSettings,
    DerStatus,
    DeviceCapability,
    EndDevice,
    EndDeviceList,
    Error,
    FunctionSetAssignments,
    FunctionSetAssignmentsList,
    Link,
    ListLink,
    MirrorMeterReading,
    MirrorMeterReadingList,
    MirrorUsagePoint,
    MirrorUsagePointList,
    Registration,
    Sep2Object,
    Sep2ParseError,
    Time,
    UsagePointList,
    extract_readings,
    reading_types_of,
)


@dataclass
class StoredReading:
    lfdi: str
    mmr_mrid: str
    start: int | None
    duration: int | None
    value: int | None


@dataclass
class FakeGateway:
    """The server's state and the knobs tests turn."""

    pki: Pki
    codec: Codec
    post_rate: int = 15
    pin: int = 111115
    poll_rate: int | None = None
    fail_posts: list[int] = field(default_factory=list)
    """Statuses to answer the next POSTs of readings with, one each, before storing."""
    delay_s: float = 0.0
    hide_edevs: bool = False
    """The EndDeviceList shows nothing (a registration the meter cannot see)."""
    extensions: bool = False
    """Answers carry CSIP-AUS extension content, as a CSIP-AUS server's do."""
    registration_links: bool = True
    """EndDevices link their Registration (a server without Registration if False)."""
    clock: Callable[[], float] = time.time
    """The server's clock (tests hand it the meter's hand-moved one)."""
    clock_offset_s: float = 0.0
    """How far the server's clock is ahead of ``clock`` (negative: behind)."""
    time_quality: int = 7
    time_poll_rate: int | None = None
    time_in: str = "dcap"
    """Where the TimeLink is: "dcap", "fsa" (only in the FunctionSetAssignments), "none"."""
    der_list: bool = False
    """EndDevices link a DERList of one DER whose four parts the device PUTs."""
    der_poll_rate: int | None = None
    der_puts: list[tuple[str, str, Sep2Object]] = field(default_factory=list)
    """Every DER part PUT and accepted: (EndDevice number, part, document), in order."""
    edevs: dict[str, EndDevice] = field(default_factory=dict)
    mups: dict[str, MirrorUsagePoint] = field(default_factory=dict)  # by id
    readings: dict[tuple[str, str, int | None], StoredReading] = field(default_factory=dict)
    posts: list[tuple[str, int]] = field(default_factory=list)  # (path, status)
    bodies: list[bytes] = field(default_factory=list)
    requests: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    port: int = 0
    _mup_numbers: int = 0
    _runner: web.AppRunner | None = None
    _site: web.TCPSite | None = None

    # --- life ----------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/dcap", self.dcap)
        app.router.add_get("/edev", self.edev_list)
        app.router.add_post("/edev", self.edev_create)
        app.router.add_get("/edev/{id}", self.edev_one)
        app.router.add_get("/edev/{id}/rg", self.registration)
        app.router.add_get("/edev/{id}/fsa", self.fsa_list)
        app.router.add_get("/edev/{id}/fsa/1", self.fsa_one)
        app.router.add_get("/edev/{id}/upt", self.usage_points)
        app.router.add_get("/edev/{id}/der", self.der_list_get)
        app.router.add_get("/edev/{id}/der/1", self.der_one)
        app.router.add_put("/edev/{id}/der/1/{part}", self.der_put)
        app.router.add_get("/tm", self.time)
        app.router.add_get("/mup", self.mup_list)
        app.router.add_post("/mup", self.mup_create)
        app.router.add_get("/mup/{id}", self.mup_one)
        app.router.add_post("/mup/{id}", self.mup_post)
        app.router.add_delete("/mup/{id}", self.mup_delete)
        return app

    def ssl_context(self) -> ssl.SSLContext:
        return server_context(self.pki.server.chain, self.pki.server.key, self.pki.serca)

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        self._site = web.TCPSite(
            self._runner, "127.0.0.1", self.port, ssl_context=self.ssl_context()
        )
        await self._site.start()
        server = self._site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}/dcap"

    # --- helpers -------------------------------------------------------------------------

    def _lfdi(self, request: web.Request) -> str:
        ssl_object = request.transport.get_extra_info("ssl_object")  # type: ignore[union-attr]
        return peer_lfdi(ssl_object)

    def _xml(self, resource: Sep2Object, status: int = 200, **headers: str) -> web.Response:
        body = self.codec.serialise(resource)
        if self.extensions:
            body = with_csip_aus_extensions(body)
        return web.Response(
            body=body,
            status=status,
            content_type=CONTENT_TYPE,
            headers=headers,
        )

    def _error(self, status: int, reason: int = 0) -> web.Response:
        return self._xml(Error(reason_code=reason), status)

    async def _body(self, request: web.Request, expect: Any) -> Any:
        data = await request.read()
        self.bodies.append(data)
        return self.codec.parse(data, expect)

    async def _pause(self, request: web.Request) -> None:
        self.requests[f"{request.method} {request.path}"] += 1
        if self.delay_s:
            await asyncio.sleep(self.delay_s)

    # --- resources -----------------------------------------------------------------------

    async def dcap(self, request: web.Request) -> web.Response:
        await self._pause(request)
        return self._xml(
            DeviceCapability(
                href="/dcap",
                poll_rate=self.poll_rate,
                end_device_list_link=ListLink(href="/edev"),
                mirror_usage_point_list_link=ListLink(href="/mup"),
                time_link=Link(href="/tm") if self.time_in == "dcap" else None,
            )
        )

    async def time(self, request: web.Request) -> web.Response:
        await self._pause(request)
        return self._xml(
            Time(
                href="/tm",
                poll_rate=self.time_poll_rate,
                current_time=int(self.clock() + self.clock_offset_s),
                dst_end_time=0,
                dst_offset=0,
                dst_start_time=0,
                quality=self.time_quality,
                tz_offset=0,
            )
        )

    def _fsa(self, number: str) -> FunctionSetAssignments:
        return FunctionSetAssignments(
            href=f"/edev/{number}/fsa/1",
            mrid="0F" * 15 + "01",
            time_link=Link(href="/tm") if self.time_in == "fsa" else None,
            usage_point_list_link=ListLink(href=f"/edev/{number}/upt"),
            tariff_profile_list_link=ListLink(href="/tp"),
        )

    async def fsa_list(self, request: web.Request) -> web.Response:
        await self._pause(request)
        number = request.match_info["id"]
        if number not in self.edevs:
            return web.Response(status=404)
        return self._xml(
            FunctionSetAssignmentsList(
                href=f"/edev/{number}/fsa",
                poll_rate=self.poll_rate,
                all=1,
                results=1,
                items=(self._fsa(number),),
            )
        )

    async def fsa_one(self, request: web.Request) -> web.Response:
        await self._pause(request)
        number = request.match_info["id"]
        if number not in self.edevs:
            return web.Response(status=404)
        return self._xml(self._fsa(number))

    async def usage_points(self, request: web.Request) -> web.Response:
        await self._pause(request)
        return self._xml(UsagePointList(href=request.path, all=0, results=0))

    async def edev_list(self, request: web.Request) -> web.Response:
        await self._pause(request)
        lfdi = self._lfdi(request)
        items = tuple(e for e in self.edevs.values() if e.lfdi == lfdi and not self.hide_edevs)
        return self._xml(
            EndDeviceList(
                href="/edev",
                poll_rate=self.poll_rate,
                all=len(items),
                results=len(items),
                items=items,
            )
        )

    async def edev_create(self, request: web.Request) -> web.Response:
        await self._pause(request)
        try:
            edev = await self._body(request, EndDevice)
        except Sep2ParseError:
            return self._error(400)
        lfdi = self._lfdi(request)
        if edev.lfdi != lfdi:
            return self._error(400, 1)
        for known in self.edevs.values():
            if known.lfdi == lfdi:  # registered once: 409 with the existing one's Location
                assert known.href is not None
                return self._xml(Error(reason_code=1), 409, Location=known.href)
        number = str(len(self.edevs) + 1)
        href = f"/edev/{number}"
        self.edevs[number] = EndDevice(
            href=href,
            lfdi=lfdi,
            sfdi=edev.sfdi,
            changed_time=edev.changed_time,
            registration_link=Link(href=f"{href}/rg") if self.registration_links else None,
            function_set_assignments_list_link=ListLink(href=f"{href}/fsa", all=1),
            der_list_link=ListLink(href=f"{href}/der", all=1) if self.der_list else None,
        )
        return web.Response(status=201, headers={"Location": href})

    async def edev_one(self, request: web.Request) -> web.Response:
        await self._pause(request)
        edev = self.edevs.get(request.match_info["id"])
        if edev is None or edev.lfdi != self._lfdi(request):
            return web.Response(status=404)
        return self._xml(edev)

    def _der(self, number: str) -> Der:
        base = f"/edev/{number}/der/1"
        return Der(
            href=base,
            der_availability_link=Link(href=f"{base}/dera"),
            der_capability_link=Link(href=f"{base}/dercap"),
            der_settings_link=Link(href=f"{base}/derg"),
            der_status_link=Link(href=f"{base}/ders"),
        )

    def _own_edev(self, request: web.Request) -> str | None:
        number = request.match_info["id"]
        edev = self.edevs.get(number)
        return number if edev is not None and edev.lfdi == self._lfdi(request) else None

    async def der_list_get(self, request: web.Request) -> web.Response:
        await self._pause(request)
        number = self._own_edev(request)
        if number is None:
            return web.Response(status=404)
        return self._xml(
            DerList(
                href=f"/edev/{number}/der",
                poll_rate=self.der_poll_rate,
                items=(self._der(number),),
            )
        )

    async def der_one(self, request: web.Request) -> web.Response:
        await self._pause(request)
        number = self._own_edev(request)
        return web.Response(status=404) if number is None else self._xml(self._der(number))

    async def der_put(self, request: web.Request) -> web.Response:
        await self._pause(request)
        number = self._own_edev(request)
        part = request.match_info["part"]
        expect = _DER_PARTS.get(part)
        if number is None or expect is None:
            return web.Response(status=404)
        try:
            document = await self._body(request, expect)
        except Sep2ParseError:
            return self._error(400)
        self.der_puts.append((number, part, document))
        return web.Response(status=204)

    async def registration(self, request: web.Request) -> web.Response:
        await self._pause(request)
        if request.match_info["id"] not in self.edevs:
            return web.Response(status=404)
        return self._xml(Registration(date_time_registered=0, pin=self.pin))

    def _mup_view(self, number: str) -> MirrorUsagePoint:
        mup = self.mups[number]
        return MirrorUsagePoint(
            href=f"/mup/{number}",
            mrid=mup.mrid,
            description=mup.description,
            role_flags=mup.role_flags,
            service_category_kind=mup.service_category_kind,
            status=mup.status,
            device_lfdi=mup.device_lfdi,
            mirror_meter_readings=tuple(
                MirrorMeterReading(
                    mrid=m.mrid, description=m.description, reading_type=m.reading_type
                )
                for m in mup.mirror_meter_readings
            ),
            post_rate=self.post_rate,
        )

    async def mup_list(self, request: web.Request) -> web.Response:
        await self._pause(request)
        lfdi = self._lfdi(request)
        numbers = sorted(
            (n for n, m in self.mups.items() if m.device_lfdi == lfdi),
            key=lambda n: self.mups[n].mrid,
            reverse=True,
        )
        items = tuple(self._mup_view(n) for n in numbers)
        return self._xml(
            MirrorUsagePointList(
                href="/mup",
                poll_rate=self.poll_rate,
                all=len(items),
                results=len(items),
                items=items,
            )
        )

    async def mup_create(self, request: web.Request) -> web.Response:
        await self._pause(request)
        try:
            mup = await self._body(request, MirrorUsagePoint)
        except Sep2ParseError:
            return self._error(400)
        if mup.device_lfdi != self._lfdi(request):
            return self._error(403)
        for number, known in self.mups.items():
            if known.mrid == mup.mrid:
                self.mups[number] = mup
                return web.Response(status=204, headers={"Location": f"/mup/{number}"})
        self._mup_numbers += 1
        number = str(self._mup_numbers)
        self.mups[number] = mup
        return web.Response(status=201, headers={"Location": f"/mup/{number}"})

    async def mup_one(self, request: web.Request) -> web.Response:
        await self._pause(request)
        number = request.match_info["id"]
        if number not in self.mups or self.mups[number].device_lfdi != self._lfdi(request):
            return web.Response(status=404)
        return self._xml(self._mup_view(number))

    async def mup_delete(self, request: web.Request) -> web.Response:
        await self._pause(request)
        self.mups.pop(request.match_info["id"], None)
        return web.Response(status=204)

    async def mup_post(self, request: web.Request) -> web.Response:
        await self._pause(request)
        number = request.match_info["id"]
        lfdi = self._lfdi(request)
        if self.fail_posts:
            status = self.fail_posts.pop(0)
            await request.read()
            self.posts.append((request.path, status))
            return self._error(status) if status < 500 else web.Response(status=status)
        mup = self.mups.get(number)
        if mup is None or mup.device_lfdi != lfdi:
            self.posts.append((request.path, 404))
            return web.Response(status=404)
        try:
            document = await self._body(request, (MirrorMeterReading, MirrorMeterReadingList))
        except Sep2ParseError as exc:
            self.posts.append((request.path, 400))
            return self._error(400, exc.reason_code)
        for reading in extract_readings(document, reading_types=reading_types_of(mup)):
            key = (lfdi, reading.mmr_mrid, reading.start)
            self.readings[key] = StoredReading(
                lfdi, reading.mmr_mrid, reading.start, reading.duration, reading.raw_value
            )
        self.posts.append((request.path, 201))
        return web.Response(status=201, headers={"Location": f"/upt/{number}/mr"})


CSIP_AUS = "https://csipaus.org/ns"


def with_csip_aus_extensions(body: bytes) -> bytes:
    """An answer as a CSIP-AUS server writes it: a ``csipaus:ConnectionPointLink`` ending
    every EndDevice, and a profile attribute on the root (names from the extension's
    namespace; the content is ours)."""
    root = etree.fromstring(body)
    root.set(f"{{{CSIP_AUS}}}profileVersion", "1.2")
    for edev in root.iter(f"{{{SEP2_NAMESPACE}}}EndDevice"):
        link = etree.SubElement(
            edev, f"{{{CSIP_AUS}}}ConnectionPointLink", nsmap={"csipaus": CSIP_AUS}
        )
        link.set("href", f"{edev.get('href', '/edev')}/cp")
    return etree.tostring(root)


_DER_PARTS: dict[str, type[Sep2Object]] = {
    "dercap": DerCapability,
    "derg": DerSettings,
    "ders": DerStatus,
    "dera": DerAvailability,
}
