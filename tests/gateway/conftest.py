"""Fixtures of the gateway tests: a PKI, a codec, and real gateways over mutual TLS.

``start_gateway(database_url, **settings)`` starts a whole gateway in this process on a
free port (no DNS-SD unless asked), and ``client(gateway, serial)`` is an httpx client
with that meter's certificate, TLS 1.2 and CCM8, as a meter connects.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session

from certs.pki import Pki, default_serials, init_pki
from certs.settings import PkiSettings
from certs.tls import client_context
from gateway.launch import Gateway
from gateway.settings import GatewaySettings
from schemas import official_xsd_bytes
from sep2 import (
    CONTENT_TYPE,
    AccumulationBehaviour,
    Codec,
    DateTimeInterval,
    FlowDirection,
    Kind,
    MirrorMeterReading,
    MirrorMeterReadingList,
    MirrorUsagePoint,
    Reading,
    ReadingType,
    RoleFlags,
    Schema,
    Sep2Object,
    Sep2Settings,
    Uom,
    mrid_for,
)
from tests.certs.seeding import HW_TYPE, PKI_TIME

PEN = 32473
METERS = ("GM-SYN-00001", "GM-SYN-00002", "GM-SYN-00003")
AGGREGATOR = "GM-SYN-00004"
SEP2_HEADERS = {"Content-Type": CONTENT_TYPE, "Accept": CONTENT_TYPE}


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """Three meters and one device configured as an aggregator; tests must not modify it."""
    return init_pki(
        tmp_path_factory.mktemp("gwpki"), default_serials(4), hw_type=HW_TYPE, at=PKI_TIME
    ).pki


@pytest.fixture(scope="session")
def codec() -> Codec:
    return Codec(Schema.from_bytes(official_xsd_bytes()), Sep2Settings())


StartGateway = Callable[..., AbstractAsyncContextManager[Gateway]]


def gateway_process_env(**extra: str) -> dict[str, str]:
    """The environment of a ``gridmirror gateway`` subprocess in a test: both listeners on
    ephemeral ports (the defaults, 8443 and 8080, may be held by anything on this machine)
    and no DNS-SD. ``extra`` adds ``GRIDMIRROR_*`` variables."""
    return dict(
        os.environ,
        GRIDMIRROR_GATEWAY__MDNS="false",
        GRIDMIRROR_GATEWAY__PORT="0",
        GRIDMIRROR_GATEWAY__API_PORT="0",
        **extra,
    )


def gateway_starter(pki: Pki, codec: Codec, database_url: str) -> StartGateway:
    """A function starting gateways on ``database_url``, settings overridden by keyword
    (``sep2=Sep2Settings(...)`` for the protocol core's)."""

    @asynccontextmanager
    async def start(sep2: Sep2Settings | None = None, **overrides: Any) -> AsyncIterator[Gateway]:
        values: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": 0,
            "api_port": 0,
            "database_url": database_url,
            "mdns": False,
            "aggregator_lfdis": [pki.device(AGGREGATOR).lfdi],
            "sqlite_synchronous": "normal",  # the tests need no power-cut safety
        }
        values.update(overrides)
        gateway = Gateway(
            GatewaySettings(**values), sep2 or Sep2Settings(), pki, PkiSettings(), codec=codec
        )
        await gateway.start()
        try:
            yield gateway
        finally:
            await gateway.stop()

    return start


@pytest.fixture
def start_gateway(pki: Pki, codec: Codec, database_url: str) -> StartGateway:
    """Start a gateway on each database (SQLite and PostgreSQL)."""
    return gateway_starter(pki, codec, database_url)


@pytest.fixture
def start_sqlite_gateway(pki: Pki, codec: Codec, tmp_path: Path) -> StartGateway:
    """Start a gateway on SQLite only, for tests where the database does not matter."""
    return gateway_starter(pki, codec, f"sqlite:///{tmp_path / 'gateway.db'}")


def client(gateway: Gateway, serial: str | None, pki: Pki | None = None) -> httpx.AsyncClient:
    """An httpx client of the meter ``serial`` (mutual TLS as the meter speaks it)."""
    pki = pki or gateway.pki
    if serial is None:
        return httpx.AsyncClient(base_url=gateway.url, verify=False)
    device = pki.device(serial)
    ctx = client_context(device.chain, device.key, gateway.pki.serca)
    return httpx.AsyncClient(base_url=gateway.url, verify=ctx, timeout=30)


async def post(
    c: httpx.AsyncClient, path: str, body: bytes | Sep2Object, codec: Codec | None = None
) -> httpx.Response:
    """POST a 2030.5 document."""
    if not isinstance(body, bytes):
        assert codec is not None
        body = codec.serialise(body)
    return await c.post(path, content=body, headers=SEP2_HEADERS)


async def get(c: httpx.AsyncClient, path: str) -> httpx.Response:
    """GET a 2030.5 resource."""
    return await c.get(path, headers={"Accept": CONTENT_TYPE})


# --- documents a meter sends ------------------------------------------------------------------


def register_type(direction: int, power_of_ten: int = 0) -> ReadingType:
    """A whole-meter Wh summation register (import: 1, export: 19)."""
    return ReadingType(
        accumulation_behaviour=AccumulationBehaviour.SUMMATION,
        commodity=1,
        flow_direction=direction,
        kind=Kind.ENERGY,
        power_of_ten_multiplier=power_of_ten,
        uom=Uom.WH,
    )


POWER_TYPE = ReadingType(data_qualifier=2, flow_direction=1, kind=Kind.POWER, uom=Uom.W)


def mrids(lfdi: str, name: str = "site") -> dict[str, str]:
    """The deterministic mRIDs of a meter's mirror and its MirrorMeterReadings."""
    return {
        "mup": mrid_for(PEN, lfdi, name),
        "import": mrid_for(PEN, lfdi, name, "import"),
        "export": mrid_for(PEN, lfdi, name, "export"),
        "power": mrid_for(PEN, lfdi, name, "power"),
    }


def site_mup(
    lfdi: str,
    name: str = "site",
    *,
    role_flags: int = RoleFlags.IS_MIRROR | RoleFlags.IS_PREMISES_AGGREGATION_POINT,
    power_of_ten: int = 0,
    with_power: bool = True,
    readings: tuple[MirrorMeterReading, ...] = (),
) -> MirrorUsagePoint:
    """A site mirror with import and export registers (and average power)."""
    ids = mrids(lfdi, name)
    mmrs = [
        MirrorMeterReading(
            mrid=ids["import"],
            description="energy import",
            reading_type=register_type(FlowDirection.FORWARD, power_of_ten),
        ),
        MirrorMeterReading(
            mrid=ids["export"],
            description="energy export",
            reading_type=register_type(FlowDirection.REVERSE, power_of_ten),
        ),
    ]
    if with_power:
        mmrs.append(MirrorMeterReading(mrid=ids["power"], reading_type=POWER_TYPE))
    by_mrid = {m.mrid: m for m in mmrs}
    for extra in readings:
        by_mrid[extra.mrid] = replace(by_mrid[extra.mrid], reading=extra.reading)
    return MirrorUsagePoint(
        mrid=ids["mup"],
        description=name,
        role_flags=role_flags,
        service_category_kind=0,
        status=1,
        device_lfdi=lfdi,
        mirror_meter_readings=tuple(by_mrid.values()),
    )


def reading(mrid: str, start: int, value: int, duration: int = 15) -> MirrorMeterReading:
    """One MirrorMeterReading carrying one Reading."""
    return MirrorMeterReading(
        mrid=mrid,
        reading=Reading(
            quality_flags=1,
            time_period=DateTimeInterval(duration=duration, start=start),
            value=value,
        ),
    )


def readings(
    lfdi: str,
    start: int,
    import_wh: int | None,
    export_wh: int | None,
    power: int | None = None,
    name: str = "site",
) -> MirrorMeterReadingList:
    """A MirrorMeterReadingList as a meter posts it each postRate."""
    ids = mrids(lfdi, name)
    items = []
    if import_wh is not None:
        items.append(reading(ids["import"], start, import_wh))
    if export_wh is not None:
        items.append(reading(ids["export"], start, export_wh))
    if power is not None:
        items.append(reading(ids["power"], start, power))
    return MirrorMeterReadingList(items=tuple(items))


async def register(c: httpx.AsyncClient, pki: Pki, serial: str, codec: Codec) -> str:
    """Register the meter ``serial`` in band; the Location of its EndDevice."""
    from sep2 import EndDevice

    device = pki.device(serial)
    response = await post(
        c, "/edev", EndDevice(sfdi=device.sfdi, lfdi=device.lfdi, changed_time=0), codec
    )
    assert response.status_code in (201, 204), response.headers
    return response.headers["location"]


# --- the database, read directly -----------------------------------------------------------


def query(gateway: Gateway, fn: Callable[[Session], Any]) -> Any:
    """Run ``fn`` on a read session of the gateway's database."""
    with gateway.runtime.database.read_session() as session:
        return fn(session)


def rows(gateway: Gateway, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """The rows of a SQL query on the gateway's database."""
    from sqlalchemy import text

    with gateway.runtime.database.read_session() as session:
        return [tuple(r) for r in session.execute(text(sql), params)]
