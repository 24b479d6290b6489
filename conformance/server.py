"""Server conformance: the procedures a 2030.5 metering server must pass, and their runner.

``PROCEDURES`` is the table (id, title, clause, what is done); ``_IMPLEMENTATIONS`` maps
each id to the coroutine that does it over a ServerLink. Procedures run in table order
and share what they learnt (the DeviceCapability, the device's EndDevice, the mirror
created) in a ``Learnt`` record; one that needs something an earlier one failed to learn
is skipped with that reason. The run ends by deleting the mirror it created.

Every answer's body is checked against the official XSD (strictly) and for its content
type; each call is bounded by the link's timeout.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar
from urllib.parse import urlsplit

from cryptography import x509

from certs.profile import Role
from conformance import checks
from conformance.certificates import summarise_chain
from conformance.exchange import Exchanged, ServerLink
from conformance.model import Headers, HttpResponse, Outcome, Procedure, Report, Side, Step, Verdict
from sep2 import (
    CONTENT_TYPE,
    AccumulationBehaviour,
    Codec,
    DateTimeInterval,
    DeviceCapability,
    EndDevice,
    EndDeviceList,
    FlowDirection,
    FunctionSetAssignmentsList,
    Kind,
    MirrorMeterReading,
    MirrorMeterReadingList,
    MirrorUsagePoint,
    MirrorUsagePointList,
    Reading,
    ReadingType,
    Registration,
    RoleFlags,
    Sep2Object,
    Sep2ParseError,
    Time,
    Uom,
    mrid_for,
    sfdi_from_lfdi,
)

T = TypeVar("T", bound=Sep2Object)

CONFORMANCE_PEN = 0  # the mRIDs the run creates carry PEN 0: test data, no vendor's
TIME_BOUND_S = 5  # currentTime must be within this of our clock (after the round trip)
GET = (("Accept", CONTENT_TYPE),)
POST = (("Accept", CONTENT_TYPE), ("Content-Type", CONTENT_TYPE))

_S = Side.SERVER
PROCEDURES: tuple[Procedure, ...] = (
    Procedure(
        "tls",
        "TLS 1.2 with CCM8; server certificate profile",
        "6.11?",
        _S,
        True,
        (
            "handshake offering only TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8",
            "TLS 1.2 and CCM8 chosen",
            "server chain checked against the 2030.5 profile (critical SAN, policies)",
        ),
    ),
    Procedure(
        "dcap",
        "DeviceCapability and its links",
        "8.3",
        _S,
        True,
        (
            "GET the DeviceCapability (the URL given)",
            "XSD-valid, links present: EndDeviceList, MirrorUsagePointList, Time",
            "GET every link it holds: each answers 200 with a valid body",
        ),
        (),
    ),
    Procedure(
        "time",
        "Time: currentTime, tzOffset/dst fields, quality",
        "9.2",
        _S,
        True,
        (
            "GET the TimeLink",
            f"currentTime within {TIME_BOUND_S} s of ours; dst fields consistent; quality 3-7",
        ),
        ("dcap",),
    ),
    Procedure(
        "edev",
        "EndDevice list, in-band registration, Registration PIN, FSA",
        "8.5",
        _S,
        True,
        (
            "POST our EndDevice (sFDI and lFDI of our certificate) to the EndDeviceList",
            "201 (or 204 if known) with Location; GET it: sFDI/lFDI match the certificate",
            "the EndDeviceList lists it",
            "GET its Registration: a pIN (and the one given with --pin)",
            "GET its FunctionSetAssignmentsList: a valid list",
        ),
        ("dcap",),
    ),
    Procedure(
        "mup.create",
        "MirrorUsagePoint create and re-POST",
        "10.11.3",
        _S,
        True,
        (
            "POST a MirrorUsagePoint with import/export registers: 201 + Location",
            "re-POST the same mRID: 204 + the same Location",
            "GET the Location: the mirror as posted",
        ),
        ("dcap",),
    ),
    Procedure(
        "mup.list",
        "MirrorUsagePointList ordered by mRID descending",
        "10.11.2",
        _S,
        True,
        (
            "POST a second mirror with a larger mRID",
            "GET the MirrorUsagePointList: all/results, ordered by mRID descending",
        ),
        ("mup.create",),
    ),
    Procedure(
        "readings",
        "MirrorMeterReading and MirrorMeterReadingList POSTs, upsert",
        "10.11.3",
        _S,
        True,
        (
            "POST a MirrorMeterReading to the mirror: 201 or 204",
            "POST a MirrorMeterReadingList with the next readings: 201 or 204",
            "re-POST the same reading (same time period): accepted",
            "GET the UsagePoint's MeterReading/Reading views: the re-posted reading once",
        ),
        ("mup.create",),
    ),
    Procedure(
        "postrate",
        "postRate present",
        "10.11.3",
        _S,
        False,
        ("GET the mirror: postRate present (the server's wish for the client)",),
        ("mup.create",),
    ),
    Procedure(
        "paging",
        "List paging s/a/l with all/results on every list",
        "6.5?",
        _S,
        True,
        (
            "GET every list learnt (EndDeviceList, MirrorUsagePointList, FSA list) with s=0&l=1",
            "all/results present, results = items, at most l items",
            "s beyond the end: an empty page with all",
        ),
        ("dcap",),
    ),
    Procedure(
        "errors",
        "Error behaviour: 400, 415, 405 + Allow, 404, 413, entity bomb",
        "6.5?",
        _S,
        True,
        (
            "POST a schema-invalid MirrorUsagePoint: 400",
            "POST with Content-Type text/plain: 415",
            "DELETE the DeviceCapability: 405 with Allow",
            "GET a mirror that is not ours (does not exist): 404 (or 403)",
            "POST a body over 1 MiB: 413",
            "POST an entity bomb: refused (400/413) within the step timeout",
        ),
        ("dcap",),
    ),
    Procedure(
        "mup.delete",
        "MirrorUsagePoint DELETE",
        "10.11.3",
        _S,
        True,
        (
            "DELETE the mirrors created: 200 or 204",
            "GET the first again: 404",
        ),
        ("mup.create",),
    ),
    Procedure(
        "discovery",
        "DNS-SD _smartenergy._tcp TXT keys and subtypes",
        "6.6?",
        _S,
        False,
        ("browse _smartenergy._tcp (with --discover)",),
    ),
)


@dataclass
class Learnt:
    """What procedures found out, for later ones."""

    dcap_url: str
    lfdi: str
    sfdi: int
    chain: tuple[x509.Certificate, ...]
    pin: int | None
    dcap: DeviceCapability | None = None
    edev_href: str | None = None
    fsa_href: str | None = None
    mup_href: str | None = None
    mup_mrid: str | None = None
    mmr_mrid: str | None = None
    mirrors_made: list[str] = field(default_factory=list)
    lists: dict[str, str] = field(default_factory=dict)  # list name -> href


class Stop(Exception):
    """A step failed in a way the rest of the procedure cannot go on from."""


class Steps:
    """Records the steps of one procedure: calls with their checks, and plain checks."""

    def __init__(self, link: ServerLink, codec: Codec) -> None:
        self.link = link
        self.codec = codec
        self.steps: list[Step] = []

    def check(self, title: str, problems: list[str], notes: tuple[str, ...] = ()) -> bool:
        """A step that judges what is known; True if it passed."""
        outcome = Outcome.FAIL if problems else Outcome.PASS
        self.steps.append(Step(title, outcome, problems=tuple(problems), notes=notes))
        return not problems

    async def call(
        self,
        title: str,
        method: str,
        href: str,
        *,
        body: bytes = b"",
        headers: Headers | None = None,
        expect: tuple[int, ...] = (200,),
        extra: Callable[[HttpResponse], list[str]] | None = None,
        must: bool = True,
    ) -> HttpResponse | None:
        """One request with its checks (status, content type, XSD of any body, ``extra``).

        With ``must``, a failed call stops the procedure (raises Stop)."""
        if headers is None:
            headers = POST if body else GET
        done: Exchanged = await self.link.request(method, href, body, headers)
        problems: list[str] = []
        notes: list[str] = []
        response = done.response
        if response is None:
            problems.append(done.failure or "no answer")
        else:
            problems += checks.status(response, expect)
            if response.body and response.status < 300:
                problems += checks.content_type(response)
            if response.body:  # every body, error bodies too, against the XSD
                found, notes = checks.xsd(self.codec.schema, response.body)
                problems += found
            if extra is not None and not problems:
                problems += extra(response)
        outcome = Outcome.FAIL if problems else Outcome.PASS
        self.steps.append(
            Step(
                title, outcome, done.request, response, problems=tuple(problems), notes=tuple(notes)
            )
        )
        if problems and must:
            raise Stop(problems[0])
        return response if not problems else None

    async def get(self, title: str, href: str, expect: type[T]) -> T:
        """GET a resource and read it (a failure stops the procedure)."""
        response = await self.call(title, "GET", href)
        assert response is not None
        return self.read(title, response, expect)

    def read(self, title: str, response: HttpResponse, expect: type[T]) -> T:
        """Read a body as ``expect``; a body that is not one stops the procedure."""
        try:
            return self.codec.parse_answer(response.body, expect)
        except Sep2ParseError as exc:
            self.check(f"{title}: read as {expect.xml_name}", [str(exc)])
            raise Stop(str(exc)) from None


Implementation = Callable[[Steps, Learnt], Awaitable[None]]


# --- the procedures ---------------------------------------------------------------------


async def _tls(s: Steps, learnt: Learnt) -> None:
    parts = urlsplit(learnt.dcap_url)
    host = parts.hostname or "localhost"
    port = parts.port or 443
    shake = await s.link.handshake(host, port)
    if shake.failure:
        s.check("handshake", [shake.failure])
        return
    problems = []
    if shake.version != "TLSv1.2":
        problems.append(f"{shake.version} negotiated, expected TLSv1.2")
    if shake.cipher != checks.CCM8_SUITE:
        problems.append(f"{shake.cipher} chosen, expected {checks.CCM8_SUITE}")
    s.check("TLS 1.2 and CCM8 chosen", problems, (f"{shake.version} {shake.cipher}",))
    chain = [x509.load_der_x509_certificate(der) for der in shake.chain_der]
    summaries = summarise_chain(chain, Role.SERVER)
    cert_problems = [f"{c.subject}: {p}" for c in summaries for p in c.problems]
    notes = () if len(chain) > 1 else ("only the leaf is visible to this Python's ssl",)
    s.steps.append(
        Step(
            "server certificate profile",
            Outcome.FAIL if cert_problems else Outcome.PASS,
            certificates=summaries,
            problems=tuple(cert_problems),
            notes=notes,
        )
    )


async def _dcap(s: Steps, learnt: Learnt) -> None:
    dcap = await s.get("GET DeviceCapability", learnt.dcap_url, DeviceCapability)
    learnt.dcap = dcap
    links = {
        "EndDeviceListLink": dcap.end_device_list_link,
        "MirrorUsagePointListLink": dcap.mirror_usage_point_list_link,
        "TimeLink": dcap.time_link,
    }
    s.check(
        "links for metering: EndDeviceList, MirrorUsagePointList, Time",
        [f"no {name}" for name, link in links.items() if link is None],
    )
    for name, link in (
        *links.items(),
        ("UsagePointListLink", dcap.usage_point_list_link),
        ("SelfDeviceLink", dcap.self_device_link),
    ):
        if link is not None:
            learnt.lists[name.removesuffix("Link")] = link.href
            await s.call(f"GET {name} {link.href}", "GET", link.href, must=False)
    learnt.lists = {k: v for k, v in learnt.lists.items() if k.endswith("List")}


async def _time(s: Steps, learnt: Learnt) -> None:
    assert learnt.dcap is not None
    if learnt.dcap.time_link is None:
        s.check("TimeLink", ["the DeviceCapability has no TimeLink"])
        return
    before = time.time()
    answer = await s.get("GET Time", learnt.dcap.time_link.href, Time)
    after = time.time()
    problems = []
    if not before - TIME_BOUND_S <= answer.current_time <= after + TIME_BOUND_S:
        problems.append(
            f"currentTime {answer.current_time} is {answer.current_time - after:+.0f} s from ours"
        )
    if not -43200 <= answer.tz_offset <= 50400:
        problems.append(f"tzOffset {answer.tz_offset} s is not a time zone")
    if answer.dst_offset and answer.dst_start_time >= answer.dst_end_time:
        problems.append("dstStartTime not before dstEndTime while dstOffset is set")
    if answer.local_time is not None:
        expected = (
            answer.current_time
            + answer.tz_offset
            + (
                answer.dst_offset
                if answer.dst_start_time <= answer.current_time < answer.dst_end_time
                else 0
            )
        )
        if abs(answer.local_time - expected) > 1:
            problems.append(f"localTime {answer.local_time}, expected {expected} from the offsets")
    if answer.quality not in (3, 4, 5, 6, 7):
        problems.append(f"quality {answer.quality} is not 3-7")
    s.check("currentTime, offsets and quality", problems)


async def _edev(s: Steps, learnt: Learnt) -> None:
    assert learnt.dcap is not None
    link = learnt.dcap.end_device_list_link
    if link is None:
        raise Stop("the DeviceCapability has no EndDeviceListLink")
    # A client looks for itself first and registers only if it is not there (a server
    # may answer a second registration with a refusal, as ours does with 409 + Location).
    before = await s.get(
        "GET the EndDeviceList (are we known?)", f"{link.href}?l=255", EndDeviceList
    )
    known = next((e for e in before.items if e.sfdi == learnt.sfdi and e.href), None)
    if known is not None:
        learnt.edev_href = known.href
        s.check(
            "registered already",
            [],
            (f"our EndDevice is {known.href}; in-band registration not exercised this run",),
        )
    else:
        ours = EndDevice(sfdi=learnt.sfdi, lfdi=learnt.lfdi, changed_time=int(time.time()))
        created = await s.call(
            "POST our EndDevice (in-band registration)",
            "POST",
            link.href,
            body=s.codec.serialise(ours),
            expect=(201, 204),
            extra=checks.location,
        )
        assert created is not None
        learnt.edev_href = created.header("Location")
    assert learnt.edev_href is not None
    device = await s.get("GET our EndDevice", learnt.edev_href, EndDevice)
    problems = []
    if device.sfdi != learnt.sfdi:
        problems.append(f"sFDI {device.sfdi}, our certificate's is {learnt.sfdi}")
    if device.lfdi is not None and device.lfdi.upper() != learnt.lfdi.upper():
        problems.append(f"lFDI {device.lfdi}, our certificate's is {learnt.lfdi}")
    s.check("sFDI/lFDI match the certificate", problems)
    listed = await s.get("GET the EndDeviceList", link.href, EndDeviceList)
    s.check(
        "the EndDeviceList lists our device",
        [] if any(e.sfdi == learnt.sfdi for e in listed.items) else ["our sFDI is not listed"],
    )
    if device.registration_link is None:
        s.check("RegistrationLink", ["our EndDevice has no RegistrationLink"])
    else:
        registration = await s.get("GET Registration", device.registration_link.href, Registration)
        pin_problems = []
        if not 0 <= registration.pin <= 999999:
            pin_problems.append(f"pIN {registration.pin} is not six digits")
        if learnt.pin is not None and registration.pin != learnt.pin:
            pin_problems.append(f"pIN {registration.pin}, expected {learnt.pin} (--pin)")
        s.check("Registration PIN", pin_problems)
    if device.function_set_assignments_list_link is None:
        s.check("FunctionSetAssignmentsListLink", ["our EndDevice has no FSA list link"])
    else:
        learnt.fsa_href = device.function_set_assignments_list_link.href
        learnt.lists["FunctionSetAssignmentsList"] = learnt.fsa_href
        await s.get("GET FunctionSetAssignmentsList", learnt.fsa_href, FunctionSetAssignmentsList)


def _register_type(direction: int) -> ReadingType:
    return ReadingType(
        accumulation_behaviour=AccumulationBehaviour.SUMMATION,
        commodity=1,
        flow_direction=direction,
        kind=Kind.ENERGY,
        power_of_ten_multiplier=0,
        uom=Uom.WH,
    )


def _mirror(learnt: Learnt, name: str, *, site: bool = True) -> MirrorUsagePoint:
    """A mirror of ours with import and export Wh registers: the site's (the premises
    aggregation point) or a submeter's (a server may host one site mirror per device)."""
    role = RoleFlags.IS_PREMISES_AGGREGATION_POINT if site else RoleFlags.IS_SUBMETER
    return MirrorUsagePoint(
        mrid=mrid_for(CONFORMANCE_PEN, learnt.lfdi, name),
        description=f"gridmirror conformance {name}",
        role_flags=RoleFlags.IS_MIRROR | role,
        service_category_kind=0,
        status=1,
        device_lfdi=learnt.lfdi,
        mirror_meter_readings=tuple(
            MirrorMeterReading(
                mrid=mrid_for(CONFORMANCE_PEN, learnt.lfdi, name, flow),
                description=f"energy {flow}",
                reading_type=_register_type(direction),
            )
            for flow, direction in (
                ("import", FlowDirection.FORWARD),
                ("export", FlowDirection.REVERSE),
            )
        ),
    )


async def _remove_leftovers(s: Steps, href: str, learnt: Learnt) -> None:
    """DELETE the mirrors an earlier, interrupted run left (found by our mRIDs), so that
    the create is a create."""
    ours = {_mirror(learnt, name).mrid.upper() for name in ("a", "b", "c")}
    listed = await s.get(
        "GET the MirrorUsagePointList (leftovers?)", f"{href}?l=255", MirrorUsagePointList
    )
    for left in listed.items:
        if left.mrid.upper() in ours and left.href:
            await s.call(
                f"DELETE a leftover mirror {left.href}", "DELETE", left.href, expect=(200, 204)
            )


async def _mup_create(s: Steps, learnt: Learnt) -> None:
    assert learnt.dcap is not None
    link = learnt.dcap.mirror_usage_point_list_link
    if link is None:
        raise Stop("the DeviceCapability has no MirrorUsagePointListLink")
    mirror = _mirror(learnt, "a")
    await _remove_leftovers(s, link.href, learnt)
    body = s.codec.serialise(mirror)
    created = await s.call(
        "POST a new MirrorUsagePoint: 201 + Location",
        "POST",
        link.href,
        body=body,
        expect=(201,),
        extra=checks.location,
    )
    assert created is not None
    href = created.header("Location")
    assert href is not None
    learnt.mup_href, learnt.mup_mrid = href, mirror.mrid
    learnt.mmr_mrid = mirror.mirror_meter_readings[0].mrid
    learnt.mirrors_made.append(href)

    def same_location(response: HttpResponse) -> list[str]:
        again = response.header("Location")
        if again is None:
            return ["no Location header"]
        return [] if s.link.url(again) == s.link.url(href) else [f"Location {again}, first {href}"]

    await s.call(
        "re-POST the same mRID: 204 + the same Location",
        "POST",
        link.href,
        body=body,
        expect=(204,),
        extra=same_location,
        must=False,
    )
    got = await s.get("GET the mirror", href, MirrorUsagePoint)
    problems = []
    if got.mrid.upper() != mirror.mrid.upper():
        problems.append(f"mRID {got.mrid}, posted {mirror.mrid}")
    if (got.device_lfdi or "").upper() != learnt.lfdi.upper():
        problems.append(f"deviceLFDI {got.device_lfdi}, posted {learnt.lfdi}")
    posted = {m.mrid.upper() for m in mirror.mirror_meter_readings}
    kept = {m.mrid.upper() for m in got.mirror_meter_readings}
    if posted - kept:
        problems.append(f"MirrorMeterReadings missing: {', '.join(sorted(posted - kept))}")
    s.check("the mirror is as posted", problems)


async def _mup_list(s: Steps, learnt: Learnt) -> None:
    assert learnt.dcap is not None and learnt.dcap.mirror_usage_point_list_link is not None
    href = learnt.dcap.mirror_usage_point_list_link.href
    learnt.lists["MirrorUsagePointList"] = href
    second = _mirror(learnt, "b", site=False)
    created = await s.call(
        "POST a second MirrorUsagePoint",
        "POST",
        href,
        body=s.codec.serialise(second),
        expect=(201,),
        extra=checks.location,
    )
    assert created is not None
    learnt.mirrors_made.append(created.header("Location") or "")
    listed = await s.get("GET the MirrorUsagePointList", f"{href}?l=100", MirrorUsagePointList)
    problems = checks.list_counts(listed.all, listed.results, len(listed.items), 100)
    problems += checks.mrids_descending([m.mrid for m in listed.items])
    mine = {m.mrid.upper() for m in listed.items}
    for made in (learnt.mup_mrid, second.mrid):
        if made and made.upper() not in mine:
            problems.append(f"mirror {made} is not listed")
    s.check("all/results, ordered by mRID descending, both mirrors listed", problems)


def _reading(mrid: str, start: int, value: int) -> MirrorMeterReading:
    return MirrorMeterReading(
        mrid=mrid,
        reading=Reading(value=value, time_period=DateTimeInterval(duration=300, start=start)),
    )


async def _readings(s: Steps, learnt: Learnt) -> None:
    assert learnt.mup_href is not None and learnt.mmr_mrid is not None
    start = (int(time.time()) // 300 - 3) * 300
    one = _reading(learnt.mmr_mrid, start, 1000)
    await s.call(
        "POST a MirrorMeterReading",
        "POST",
        learnt.mup_href,
        body=s.codec.serialise(one),
        expect=(201, 204),
    )
    batch = MirrorMeterReadingList(
        all=2,
        results=2,
        items=(
            _reading(learnt.mmr_mrid, start + 300, 1100),
            _reading(learnt.mmr_mrid, start + 600, 1250),
        ),
    )
    await s.call(
        "POST a MirrorMeterReadingList",
        "POST",
        learnt.mup_href,
        body=s.codec.serialise(batch),
        expect=(201, 204),
    )
    await s.call(
        "re-POST the first reading (same period)",
        "POST",
        learnt.mup_href,
        body=s.codec.serialise(one),
        expect=(201, 204),
    )
    assert learnt.dcap is not None
    upt = learnt.dcap.usage_point_list_link
    if upt is None:
        s.check(
            "UsagePointListLink",
            ["no UsagePointListLink in the DeviceCapability: the readings cannot be looked at"],
        )
        return
    await _no_duplicates(s, upt.href, learnt.mmr_mrid, start)


async def _no_duplicates(s: Steps, upt_href: str, mmr_mrid: str, start: int) -> None:
    """Walk UsagePoint -> MeterReading -> ReadingSet/Reading views and count the reading
    of ``start`` for the MeterReading whose mRID is ``mmr_mrid``: exactly once."""
    from sep2 import MeterReadingList, ReadingList, ReadingSetList, UsagePointList

    points = await s.get("GET the UsagePointList", f"{upt_href}?l=100", UsagePointList)
    for point in points.items:
        if point.meter_reading_list_link is None:
            continue
        meter_readings = await s.get(
            "GET the MeterReadingList",
            f"{point.meter_reading_list_link.href}?l=100",
            MeterReadingList,
        )
        for mr in meter_readings.items:
            if mr.mrid.upper() != mmr_mrid.upper():
                continue
            seen = 0
            if mr.reading_set_list_link is not None:
                sets = await s.get(
                    "GET the ReadingSetList",
                    f"{mr.reading_set_list_link.href}?l=100",
                    ReadingSetList,
                )
                for rs in sets.items:
                    if rs.reading_list_link is None:
                        continue
                    readings = await s.get(
                        "GET the ReadingList", f"{rs.reading_list_link.href}?l=255", ReadingList
                    )
                    seen += sum(
                        1
                        for r in readings.items
                        if r.time_period is not None and r.time_period.start == start
                    )
            s.check(
                "the re-posted reading appears once",
                [] if seen == 1 else [f"the reading of {start} appears {seen} times"],
            )
            return
    s.check("the MeterReading of our register", [f"no MeterReading with mRID {mmr_mrid}"])


async def _postrate(s: Steps, learnt: Learnt) -> None:
    assert learnt.mup_href is not None
    got = await s.get("GET the mirror", learnt.mup_href, MirrorUsagePoint)
    s.check(
        "postRate present",
        [] if got.post_rate else ["the MirrorUsagePoint carries no postRate"],
        (f"postRate {got.post_rate}",) if got.post_rate else (),
    )


async def _paging(s: Steps, learnt: Learnt) -> None:
    lists = dict(learnt.lists)
    if learnt.dcap is not None and learnt.dcap.mirror_usage_point_list_link is not None:
        lists.setdefault("MirrorUsagePointList", learnt.dcap.mirror_usage_point_list_link.href)
    for name, href in sorted(lists.items()):
        sep = "&" if "?" in href else "?"
        response = await s.call(f"GET {name} s=0&l=1", "GET", f"{href}{sep}s=0&l=1", must=False)
        if response is None:
            continue
        counts = _list_counts(s, response)
        if counts is None:
            continue
        all_, results, items = counts
        s.check(f"{name}: all/results, at most l=1", checks.list_counts(all_, results, items, 1))
        if all_ is None:
            continue
        beyond = await s.call(f"GET {name} s=all", "GET", f"{href}{sep}s={all_}&l=10", must=False)
        if beyond is not None and (page := _list_counts(s, beyond)) is not None:
            problems = checks.list_counts(page[0], page[1], page[2], 10)
            if page[2]:
                problems.append(f"{page[2]} item(s) past the end")
            s.check(f"{name}: an empty page past the end", problems)


def _list_counts(s: Steps, response: HttpResponse) -> tuple[int | None, int | None, int] | None:
    try:
        answer = s.codec.parse_answer(response.body)
    except Sep2ParseError as exc:
        s.check("read the list", [str(exc)])
        return None
    items = getattr(answer, "items", ())
    return getattr(answer, "all", None), getattr(answer, "results", None), len(items)


async def _errors(s: Steps, learnt: Learnt) -> None:
    assert learnt.dcap is not None
    mup = learnt.dcap.mirror_usage_point_list_link
    target = mup.href if mup is not None else learnt.dcap_url
    invalid = b'<MirrorUsagePoint xmlns="urn:ieee:std:2030.5:ns"><mRID>zz</mRID></MirrorUsagePoint>'
    await s.call(
        "schema-invalid body: 400", "POST", target, body=invalid, expect=(400,), must=False
    )
    valid = s.codec.serialise(_mirror(learnt, "c"))
    await s.call(
        "Content-Type text/plain: 415",
        "POST",
        target,
        body=valid,
        headers=(("Content-Type", "text/plain"),),
        expect=(415,),
        must=False,
    )
    await s.call(
        "DELETE the DeviceCapability: 405 + Allow",
        "DELETE",
        learnt.dcap_url,
        expect=(405,),
        extra=lambda r: checks.allow(r, "DELETE"),
        must=False,
    )
    if mup is not None:
        await s.call(
            "GET a mirror that is not ours: 404/403",
            "GET",
            f"{mup.href.rstrip('/')}/987654321",
            expect=(403, 404),
            must=False,
        )
    big = b'<MirrorUsagePoint xmlns="urn:ieee:std:2030.5:ns">' + b" " * (1 << 21)
    await s.call(
        "a 2 MiB body: 413",
        "POST",
        target,
        body=big + b"</MirrorUsagePoint>",
        expect=(413,),
        must=False,
    )
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
        + b"".join(
            f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'.encode() for i in range(8)
        )
        + b']><MirrorUsagePoint xmlns="urn:ieee:std:2030.5:ns"><description>&i;</description>'
        b"</MirrorUsagePoint>"
    )
    await s.call(
        "an entity bomb: refused fast", "POST", target, body=bomb, expect=(400, 413), must=False
    )


async def _mup_delete(s: Steps, learnt: Learnt) -> None:
    for href in [h for h in learnt.mirrors_made if h]:
        await s.call(f"DELETE {href}", "DELETE", href, expect=(200, 204))
    await s.call("GET the deleted mirror: 404", "GET", learnt.mirrors_made[0], expect=(404,))
    learnt.mirrors_made.clear()


_IMPLEMENTATIONS: dict[str, Implementation] = {
    "tls": _tls,
    "dcap": _dcap,
    "time": _time,
    "edev": _edev,
    "mup.create": _mup_create,
    "mup.list": _mup_list,
    "readings": _readings,
    "postrate": _postrate,
    "paging": _paging,
    "errors": _errors,
    "mup.delete": _mup_delete,
}
_NOT_YET = {"discovery": "not yet implemented in this version (DNS-SD browse of the server)"}


async def run_server_conformance(
    link: ServerLink,
    codec: Codec,
    dcap_url: str,
    chain: tuple[x509.Certificate, ...],
    procedures: list[Procedure],
    *,
    pin: int | None = None,
    discover: bool = False,
    progress: Callable[[Verdict], None] | None = None,
) -> Report:
    """Run ``procedures`` (in table order) against the server of ``dcap_url`` as the
    device of ``chain`` (leaf first); the Report of the run. Discovery (a DNS-SD browse
    of the network) runs only with ``discover``."""
    from cryptography.hazmat.primitives.serialization import Encoding

    from sep2 import lfdi_from_der

    lfdi = lfdi_from_der(chain[0].public_bytes(Encoding.DER))
    learnt = Learnt(dcap_url, lfdi, sfdi_from_lfdi(lfdi), chain, pin)
    started = datetime.now(UTC)
    verdicts: dict[str, Verdict] = {}
    wanted = {p.id for p in procedures}
    for procedure in PROCEDURES:
        if procedure.id not in wanted:
            continue
        if procedure.id == "discovery" and not discover:
            verdict = Verdict.skipped(procedure, "browses the network: only with --discover")
        else:
            verdict = await _run_one(procedure, link, codec, learnt, verdicts)
        verdicts[procedure.id] = verdict
        if progress is not None:
            progress(verdict)
    if learnt.mirrors_made:  # a run that did not delete its mirrors cleans up quietly
        for href in learnt.mirrors_made:
            if href:
                await link.request("DELETE", href, b"", GET)
    facts = (("device LFDI", lfdi), ("DeviceCapability", dcap_url))
    return Report(
        Side.SERVER, dcap_url, started, datetime.now(UTC), tuple(verdicts.values()), facts=facts
    )


async def _run_one(
    procedure: Procedure,
    link: ServerLink,
    codec: Codec,
    learnt: Learnt,
    earlier: dict[str, Verdict],
) -> Verdict:
    if procedure.id in _NOT_YET:
        return Verdict.skipped(procedure, _NOT_YET[procedure.id])
    for needed in procedure.requires:
        before = earlier.get(needed)
        if before is None or before.outcome is not Outcome.PASS:
            why = "was not run" if before is None else f"did not pass ({before.reason})"
            if not _learnt_enough(needed, learnt):
                return Verdict.skipped(procedure, f"needs {needed}, which {why}")
    steps = Steps(link, codec)
    started = datetime.now(UTC)
    clock = time.monotonic()
    with contextlib.suppress(Stop):  # the failed step is recorded; the verdict says so
        await _IMPLEMENTATIONS[procedure.id](steps, learnt)
    return Verdict.from_steps(
        procedure, steps.steps, started=started, duration_s=time.monotonic() - clock
    )


def _learnt_enough(needed: str, learnt: Learnt) -> bool:
    """A failed prerequisite may still have learnt what a later procedure needs (e.g. a
    mirror created but re-POST answered wrongly): then the later one still runs."""
    if needed == "dcap":
        return learnt.dcap is not None
    if needed == "mup.create":
        return learnt.mup_href is not None
    return False
