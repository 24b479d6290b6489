"""The meters against the real gateway: mutual TLS, DNS-SD, and what ends up stored.

What the meters say was delivered (the 201s they received, via a FleetObserver) is
compared with the gateway's database: every reading stored once, nothing missing,
nothing twice, and one outbox pair per register pair.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy

from certs.pki import Pki, default_serials, init_pki
from certs.settings import PkiSettings
from devices.campus import Campus, fleet_campus, load_campus
from devices.fleet import Fleet
from devices.mirror import QUANTITIES, Sample
from devices.settings import FaultSpec, FleetSettings
from devices.stats import ErrorKind, FleetObserver, FleetStats, MeterStatus
from gateway.db import open_database
from gateway.launch import Gateway
from gateway.settings import GatewaySettings
from sep2 import Codec, Sep2Settings
from tests.devices.conftest import CLIENT_HW_TYPE
from tests.devices.fake_gateway import with_csip_aus_extensions

READINGS_PER_SAMPLE = len(QUANTITIES)


@dataclass
class Delivered(FleetObserver):
    """Samples the gateway acknowledged, by meter LFDI (in the order they were sent)."""

    by_lfdi: dict[str, list[Sample]] = field(default_factory=dict)

    def published(self, meter: MeterStatus, samples: list[Sample], seconds: float) -> None:
        self.by_lfdi.setdefault(meter.lfdi, []).extend(samples)


@dataclass
class Stored:
    """What the gateway's database holds."""

    registers: dict[tuple[str, str, int], int]  # (lfdi, import/export, time) -> Wh, site mirrors
    site_rows: int  # readings of site mirrors
    der_rows: int  # readings of DER mirrors (roleFlags isDER)
    outbox: dict[tuple[str, int], tuple[int, int]]  # (lfdi, time) -> (import, export)


_SITE = "join mirror_usage_point m on m.id = r.mirror_id where (m.role_flags & 8) = 0"
_DER = "join mirror_usage_point m on m.id = r.mirror_id where (m.role_flags & 8) <> 0"


def stored(database_url: str) -> Stored:
    """What the database holds, read in one snapshot: a POST the meters left in flight may
    still be committing meanwhile, and read in two snapshots its outbox pair would show up
    without the readings read a statement earlier."""
    database = open_database(database_url)
    try:
        with database.read_session() as session:  # SQLite: one deferred BEGIN, one snapshot
            if database.dialect == "postgresql":  # READ COMMITTED re-reads per statement
                session.execute(sqlalchemy.text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))

            def count(where: str) -> int:
                query = f"select count(*) from reading r {where}"
                return int(session.execute(sqlalchemy.text(query)).scalar_one())

            registers = {
                (lfdi, register, start): wh
                for lfdi, register, start, wh in session.execute(
                    sqlalchemy.text(
                        "select r.device_lfdi, r.energy_register, r.start, r.wh from reading r "
                        f"{_SITE} and r.energy_register is not null"
                    )
                )
            }
            outbox = {
                (lfdi, ts): (imp, exp)
                for lfdi, ts, imp, exp in session.execute(
                    sqlalchemy.text("select lfdi, timestamp, import_wh, export_wh from outbox")
                )
            }
            return Stored(registers, count(_SITE), count(_DER), outbox)
    finally:
        database.dispose()


def assert_stored_once(delivered: Delivered, database_url: str, fleet: Fleet) -> int:
    """Every sample the gateway acknowledged is in its database, once, as sent; nothing
    else is there but samples the meters still hold unacknowledged (a POST in flight when
    the fleet stopped: stored, its 201 never read, re-sent identically on the next run).
    Returns how many samples are stored."""
    found = stored(database_url)
    acknowledged: dict[tuple[str, int], Sample] = {}
    for lfdi, sent in delivered.by_lfdi.items():
        times = [s.time for s in sent]
        assert len(times) == len(set(times)), f"{lfdi} was acknowledged twice for a time"
        acknowledged.update({(lfdi, s.time): s for s in sent})
    unacknowledged = {(c.status.lfdi, s.time): s for c in fleet.clients for s in c.buffer.samples()}
    assert not acknowledged.keys() & unacknowledged.keys()
    known = {**acknowledged, **unacknowledged}
    pairs = found.outbox  # one pair per sample; DER mirrors never settle
    assert acknowledged.keys() <= pairs.keys() <= known.keys()
    assert pairs == {key: (known[key].import_wh, known[key].export_wh) for key in pairs}
    registers = {}
    for (lfdi, time), (imp, exp) in pairs.items():
        registers[(lfdi, "import", time)] = imp
        registers[(lfdi, "export", time)] = exp
    assert found.registers == registers
    readings_of = {c.status.lfdi: c.status.readings_of for c in fleet.clients}
    # Telemetry too: as many Readings per sample as the meter's profile posts.
    assert found.site_rows == sum(readings_of[key[0]](known[key]) for key in pairs)
    assert len(unacknowledged) <= len(fleet.clients) * 2  # at most a POST in flight each
    return len(pairs)


@pytest.fixture(scope="module")
def campus_pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    serials = [m.serial for m in load_campus().meters] + default_serials(3)
    return init_pki(tmp_path_factory.mktemp("campus-pki"), serials, hw_type=CLIENT_HW_TYPE).pki


def gateway_settings(tmp_path: Path, **changes: object) -> GatewaySettings:
    values: dict[str, object] = {
        "port": 0,
        "api_enabled": False,
        "database_url": f"sqlite:///{tmp_path / 'gateway.db'}",
        "post_rate": 1,
        "mdns": False,
        "sqlite_synchronous": "normal",
    }
    values.update(changes)
    return GatewaySettings.model_validate(values)


@pytest.fixture
async def gateway(tmp_path: Path, campus_pki: Pki, codec: Codec) -> AsyncIterator[Gateway]:
    name = f"gm-meters-test-{uuid.uuid4().hex[:10]}"
    # .local only: xmDNS (.site) would go out on the machine's shared IPv6 network, and is
    # tested in a network namespace of its own (tests/gateway/test_xmdns.py)
    settings = gateway_settings(tmp_path, mdns=True, xmdns=False, mdns_name=name)
    gw = Gateway(settings, Sep2Settings(), campus_pki, PkiSettings(), codec=codec)
    await gw.start()
    try:
        yield gw
    finally:
        await gw.stop()


def make_fleet(
    campus: Campus, settings: FleetSettings, pki: Pki, codec: Codec, state_dir: Path
) -> tuple[Fleet, Delivered]:
    fleet = Fleet(campus, settings, pki, codec, 32473, state_dir=state_dir, hw_type=CLIENT_HW_TYPE)
    delivered = Delivered()
    fleet.stats.subscribe(delivered)
    return fleet, delivered


async def run_until(fleet: Fleet, done: object, timeout: float) -> FleetStats:
    """Run the fleet until ``done()`` holds (checked twice a second) or ``timeout``."""
    stop = asyncio.Event()
    runner = asyncio.create_task(fleet.run(stop))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        while loop.time() < deadline and not done():  # type: ignore[operator]
            if runner.done():
                break
            await asyncio.sleep(0.5)
    finally:
        stop.set()
    return await runner


async def test_the_campus_finds_the_gateway_by_mdns_and_every_reading_is_stored_once(
    gateway: Gateway, campus_pki: Pki, codec: Codec, tmp_path: Path
) -> None:
    campus = load_campus()
    settings = FleetSettings(
        discovery_instance=gateway.settings.mdns_name,
        discovery_site=False,
        start_rate=200,
        xsd_sample_rate=1.0,
        der_mirror=True,
    )
    fleet, delivered = make_fleet(campus, settings, campus_pki, codec, tmp_path / "meters")

    def three_rounds() -> bool:
        return len(delivered.by_lfdi) == 25 and all(len(s) >= 3 for s in delivered.by_lfdi.values())

    stats = await run_until(fleet, three_rounds, 60)
    assert fleet.dcap_url is not None and fleet.dcap_url.port == gateway.port  # found by mDNS
    assert three_rounds(), stats.snapshot()
    assert sum(stats.errors.values()) == 0 and stats.refused_readings == 0
    assert stats.connections == 25  # one TLS connection per meter, kept alive
    for client in fleet.clients:  # issue 19: the gateway's Time and FSAs were read
        assert client.server_clock.reads >= 1 and abs(client.server_clock.offset) <= 1
        assert len(client.function_sets) == 1, client.function_sets
        der = {"der", "derstatus"} if client.der_reporter is not None else set()
        assert set(client.polls) == {"dcap", "tm", "edev", "fsa"} | der
    samples = assert_stored_once(delivered, gateway.settings.database_url or "", fleet)
    assert samples >= stats.samples_published >= 75
    assert stats.readings_published == stats.samples_published * READINGS_PER_SAMPLE
    # The PV meters' DER mirrors were stored too (and, above, not settled); a DER POST in
    # flight at the stop may be stored without its 201 having been read.
    database_url = gateway.settings.database_url or ""
    der_rows = stored(database_url).der_rows
    assert 0 < stats.der_readings_published <= der_rows <= stats.der_readings_published + 3 * 25
    engine = sqlalchemy.create_engine(database_url)
    with engine.connect() as conn:
        der_owners = set(
            conn.execute(
                sqlalchemy.text("select device_lfdi from mirror_usage_point where role_flags = 9")
            ).scalars()
        )
        # The DER function sets: every meter with PV or a battery PUT all four parts.
        der_parts = sorted(
            conn.execute(
                sqlalchemy.text(
                    "select d.lfdi, r.part from der_resource r "
                    "join end_device d on d.id = r.end_device_id"
                )
            ).all()
        )
    engine.dispose()
    with_pv = {stats.meters[m.serial].lfdi for m in campus.meters if m.pv_kwp > 0}
    assert der_owners == with_pv and len(with_pv) == 16
    parts = ("dera", "dercap", "derg", "ders")
    assert der_parts == sorted((lfdi, p) for lfdi in with_pv for p in parts)
    assert stats.der_reports_published >= 16


async def test_a_gateway_restart_loses_nothing_and_duplicates_nothing(
    campus_pki: Pki, codec: Codec, tmp_path: Path
) -> None:
    gw_settings = gateway_settings(tmp_path)
    first = Gateway(gw_settings, Sep2Settings(), campus_pki, PkiSettings(), codec=codec)
    await first.start()
    port = first.port
    settings = FleetSettings(
        server_url=first.url, start_rate=200, backoff_base_s=0.2, backoff_cap_s=1.0
    )
    fleet, delivered = make_fleet(load_campus(), settings, campus_pki, codec, tmp_path / "m")
    stop = asyncio.Event()
    runner = asyncio.create_task(fleet.run(stop))
    second: Gateway | None = None
    try:
        while sum(len(s) for s in delivered.by_lfdi.values()) < 50:
            await asyncio.sleep(0.2)
        await first.stop()  # mid-run: requests in flight are drained, then it is gone
        await asyncio.sleep(3.0)  # the meters read on, buffer and back off
        assert fleet.stats.errors, "the meters never noticed the gateway was gone"
        buffered = sum(c.status.buffered for c in fleet.clients)
        assert buffered >= 25
        second = Gateway(
            gw_settings.model_copy(update={"port": port}),
            Sep2Settings(),
            campus_pki,
            PkiSettings(),
            codec=codec,
        )
        await second.start()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while any(c.status.buffered for c in fleet.clients) and loop.time() < deadline:
            await asyncio.sleep(0.2)
    finally:
        stop.set()
        stats = await runner
        if second is not None:
            await second.stop()
    assert sum(len(c.buffer) for c in fleet.clients) <= 25  # what was read at the end
    assert stats.refused_readings == 0 and stats.shed_registers == stats.shed_telemetry == 0
    samples = assert_stored_once(delivered, gw_settings.database_url or "", fleet)
    # Nothing read was lost: every sample is stored, or held (and saved) by its meter.
    held = sum(len(c.buffer) for c in fleet.clients)
    assert stats.samples_published + held == stats.samples_generated
    assert samples >= stats.samples_published


async def test_the_registration_pin_is_checked_against_the_gateways(
    campus_pki: Pki, codec: Codec, tmp_path: Path
) -> None:
    ours, theirs = campus_pki.device("GM-SYN-00001"), campus_pki.device("GM-SYN-00002")
    gw_settings = gateway_settings(tmp_path, registration_pins={ours.lfdi: 123453})
    gateway = Gateway(gw_settings, Sep2Settings(), campus_pki, PkiSettings(), codec=codec)
    await gateway.start()
    try:
        settings = FleetSettings(
            count=2, server_url=gateway.url, registration_pins={"GM-SYN-00001": 123453}
        )
        fleet, delivered = make_fleet(
            fleet_campus(settings), settings, campus_pki, codec, tmp_path / "m"
        )
        await run_until(fleet, lambda: len(delivered.by_lfdi) == 2, 15)
        assert set(delivered.by_lfdi) == {ours.lfdi, theirs.lfdi}
        # The gateway gives GM-SYN-00002 the default PIN; a meter told another refuses it.
        settings = settings.model_copy(
            update={"registration_pins": {"GM-SYN-00001": 123453, "GM-SYN-00002": 654321}}
        )
        fleet, delivered = make_fleet(
            fleet_campus(settings), settings, campus_pki, codec, tmp_path / "m2"
        )
        stats = await run_until(fleet, lambda: len(delivered.by_lfdi) == 1, 10)
        refused = stats.meters["GM-SYN-00002"]
        assert "Registration PIN 111115 is not ours (654321)" in (refused.last_error or "")
        assert set(delivered.by_lfdi) == {ours.lfdi}
    finally:
        await gateway.stop()


async def test_faults_against_the_gateway(
    campus_pki: Pki, codec: Codec, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Dropped answers and duplicates are stored once; corrupted XML and readings stamped
    in the future are refused with the gateway's reason and nothing of them is stored."""
    gw_settings = gateway_settings(tmp_path)
    gateway = Gateway(gw_settings, Sep2Settings(), campus_pki, PkiSettings(), codec=codec)
    await gateway.start()
    settings = FleetSettings(
        count=3,
        server_url=gateway.url,
        backoff_base_s=0.2,
        faults=[
            FaultSpec(kind="corrupt", serials=["GM-SYN-00001"], probability=0.5),
            FaultSpec(kind="drop", serials=["GM-SYN-00002"], probability=0.5),
            FaultSpec(kind="duplicate", serials=["GM-SYN-00002"], probability=0.5),
            FaultSpec(kind="skew", serials=["GM-SYN-00003"], skew_s=3600),
        ],
    )
    fleet, delivered = make_fleet(fleet_campus(settings), settings, campus_pki, codec, tmp_path)
    try:
        with caplog.at_level(logging.INFO, logger="devices.client"):
            stats = await run_until(
                fleet,
                lambda: (
                    sum(len(s) for s in delivered.by_lfdi.values()) >= 12
                    and stats_of(fleet).refused_readings >= 2 * READINGS_PER_SAMPLE
                ),
                30,
            )
    finally:
        await gateway.stop()
    corrupt, dropping, ahead = (stats.meters[f"GM-SYN-0000{i}"] for i in (1, 2, 3))
    assert ahead.lfdi not in delivered.by_lfdi  # every reading an hour ahead was refused
    assert "400" in (ahead.last_error or "") and "ahead of the server's clock" in caplog.text
    assert corrupt.lfdi in delivered.by_lfdi and dropping.lfdi in delivered.by_lfdi
    assert stats.errors[ErrorKind.CONNECTION] >= 1  # the dropped answers
    assert assert_stored_once(delivered, gw_settings.database_url or "", fleet) >= 12
    found = stored(gw_settings.database_url or "")
    assert not [key for key in found.outbox if key[0] == ahead.lfdi]


def stats_of(fleet: Fleet) -> FleetStats:
    return fleet.stats


# --- 1,000 meters: the gateway in its own process ---------------------------------------


def _serve(settings_json: str, pki_dir: str, ports: multiprocessing.Queue, stop: object) -> None:
    async def main() -> None:
        gw = Gateway(
            GatewaySettings.model_validate_json(settings_json),
            Sep2Settings(),
            Pki.open(Path(pki_dir)),
            PkiSettings(),
        )
        await gw.start()
        ports.put(gw.port)
        while not stop.is_set():  # type: ignore[attr-defined]
            await asyncio.sleep(0.2)
        await gw.stop()

    asyncio.run(main())


@pytest.fixture
def gateway_process(tmp_path: Path) -> Iterator[tuple[str, Pki, str]]:
    pki = init_pki(tmp_path / "pki", default_serials(1000), hw_type=CLIENT_HW_TYPE).pki
    settings = gateway_settings(tmp_path, post_rate=10)
    context = multiprocessing.get_context("spawn")
    ports: multiprocessing.Queue = context.Queue()
    stop = context.Event()
    proc = context.Process(
        target=_serve, args=(settings.model_dump_json(), str(pki.dir), ports, stop)
    )
    proc.start()
    try:
        port = ports.get(timeout=60)
        yield f"https://127.0.0.1:{port}/dcap", pki, settings.database_url or ""
    finally:
        stop.set()
        proc.join(60)
        if proc.is_alive():
            proc.kill()


@pytest.mark.slow
async def test_a_thousand_meters(
    gateway_process: tuple[str, Pki, str], codec: Codec, tmp_path: Path
) -> None:
    url, pki, database_url = gateway_process
    settings = FleetSettings(count=1000, server_url=url, start_rate=250, request_timeout_s=60)
    fleet, delivered = make_fleet(fleet_campus(settings), settings, pki, codec, tmp_path / "m")

    def two_rounds() -> bool:
        return len(delivered.by_lfdi) == 1000 and all(
            len(s) >= 2 for s in delivered.by_lfdi.values()
        )

    # Setting up 1,000 meters (8 requests each, 2 of them writes) is the gateway's work
    # and takes it one to three minutes on this machine; then two rounds of posts.
    stats = await run_until(fleet, two_rounds, 600)
    lagging = {
        m.serial: (len(delivered.by_lfdi.get(m.lfdi, [])), m.last_error)
        for m in stats.meters.values()
        if len(delivered.by_lfdi.get(m.lfdi, [])) < 2
    }
    assert not lagging, (stats.snapshot(), list(lagging.items())[:5], len(lagging))
    assert stats.refused_readings == 0
    samples = assert_stored_once(delivered, database_url, fleet)
    assert samples >= stats.samples_published >= 2000


class CsipAusAnswers(Codec):
    """A test fixture, not a product feature: our gateway's codec, writing its answers as
    a CSIP-AUS server does (tests.devices.fake_gateway.with_csip_aus_extensions). What it
    writes for its own storage (ReadingTypes, DeviceInformation) stays plain."""

    ANSWERS = frozenset(
        (
            "DeviceCapability",
            "EndDevice",
            "EndDeviceList",
            "FunctionSetAssignmentsList",
            "Registration",
            "MirrorUsagePoint",
            "MirrorUsagePointList",
            "Time",
        )
    )

    def serialise(self, resource: Any, **options: Any) -> bytes:
        body = super().serialise(resource, **options)
        if type(resource).__name__ in self.ANSWERS:
            body = with_csip_aus_extensions(body)
        return body


async def test_meters_store_every_reading_once_through_answers_with_csip_aus_extensions(
    campus_pki: Pki, codec: Codec, tmp_path: Path
) -> None:
    """Issue 20: a gateway whose answers carry csipaus elements and attributes (as envoy's
    do) still gets every EndDevice, mirror and reading, once; the meters keep the
    extensions they set aside."""
    gw_settings = gateway_settings(tmp_path)
    extended = CsipAusAnswers(codec.schema, codec.settings)
    gateway = Gateway(gw_settings, Sep2Settings(), campus_pki, PkiSettings(), codec=extended)
    await gateway.start()
    try:
        settings = FleetSettings(server_url=gateway.url, start_rate=200, xsd_sample_rate=1.0)
        campus = fleet_campus(settings.model_copy(update={"count": 3}))
        fleet, delivered = make_fleet(campus, settings, campus_pki, codec, tmp_path / "m")

        def three_rounds() -> bool:
            return len(delivered.by_lfdi) == 3 and all(
                len(s) >= 3 for s in delivered.by_lfdi.values()
            )

        stats = await run_until(fleet, three_rounds, 60)
    finally:
        await gateway.stop()
    assert three_rounds(), stats.snapshot()
    assert sum(stats.errors.values()) == 0 and stats.refused_readings == 0
    assert assert_stored_once(delivered, gw_settings.database_url or "", fleet) >= 9
    for client in fleet.clients:
        kept = {e.name for extensions in client.extensions.values() for e in extensions}
        assert "ConnectionPointLink" in kept, client.extensions


async def test_csip_aus_meters_mirror_as_0x03_and_0x49_and_every_reading_is_stored_once(
    campus_pki: Pki, codec: Codec, tmp_path: Path
) -> None:
    """Issue 19: under --profile csip-aus the meters' site mirror (roleFlags 0x03) with
    reactive power and a voltage per phase, and the DER mirror (0x49) of a meter with
    PV, go through our gateway: every reading stored once, readings on the minute."""
    gw_settings = gateway_settings(tmp_path)
    gateway = Gateway(gw_settings, Sep2Settings(), campus_pki, PkiSettings(), codec=codec)
    await gateway.start()
    try:
        settings = FleetSettings(
            server_url=gateway.url,
            start_rate=200,
            xsd_sample_rate=1.0,
            profile="csip-aus",
            replay_hours=0.25,  # a quarter of an hour of minutes in a few seconds
            speed=100,
        )
        campus = fleet_campus(settings.model_copy(update={"count": 3}))
        fleet, delivered = make_fleet(campus, settings, campus_pki, codec, tmp_path / "m")

        def rounds() -> bool:
            return len(delivered.by_lfdi) == 3 and all(
                len(s) >= 5 for s in delivered.by_lfdi.values()
            )

        stats = await run_until(fleet, rounds, 90)
    finally:
        await gateway.stop()
    assert rounds(), stats.snapshot()
    assert sum(stats.errors.values()) == 0 and stats.refused_readings == 0
    database_url = gw_settings.database_url or ""
    assert assert_stored_once(delivered, database_url, fleet) >= 15
    assert all(s.time % 60 == 0 for sent in delivered.by_lfdi.values() for s in sent)
    engine = sqlalchemy.create_engine(database_url)
    with engine.connect() as conn:
        flags = sorted(
            conn.execute(
                sqlalchemy.text("select device_lfdi, role_flags from mirror_usage_point")
            ).all()
        )
    engine.dispose()
    with_pv = {c.status.lfdi for c in fleet.clients if c.model.spec.pv_kwp > 0}
    assert with_pv
    expected = sorted(
        [(c.status.lfdi, 0x03) for c in fleet.clients] + [(lfdi, 0x49) for lfdi in with_pv]
    )
    assert flags == expected
    assert 0 < stats.der_readings_published <= stored(database_url).der_rows
    for client in fleet.clients:  # P, Q, V (A, B, C on three phases), f, PF
        assert client.status.telemetry_readings == (7 if client.model.spec.phases == 3 else 5)
