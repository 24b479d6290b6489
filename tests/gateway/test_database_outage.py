"""The database drops the gateway's connections (a restart, pg_terminate_backend): the next
reading is still stored, once, and the client never sees the dropped connection; a
database that stays away is a 503 with Retry-After, never a 500."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
import sqlalchemy
from fastapi import APIRouter
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from certs.pki import Pki
from sep2 import Codec
from tests.conftest import PG_URL
from tests.gateway.conftest import METERS, client, post, readings, register, rows, site_mup

pytestmark = pytest.mark.asyncio

NOW = int(time.time()) // 60 * 60 - 3600


def backend_pid(session: Session) -> int:
    return int(session.execute(text("select pg_backend_pid()")).scalar_one())


def terminate(pids: set[int]) -> None:
    admin = sqlalchemy.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for pid in pids:
                assert conn.execute(text("select pg_terminate_backend(:p)"), {"p": pid}).scalar()
    finally:
        admin.dispose()


# A SQLite file has no server connection to drop: PostgreSQL only.
@pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
async def test_a_dropped_connection_costs_no_reading(
    start_gateway: Any, pki: Pki, codec: Codec, database_url: str
) -> None:
    meter = pki.device(METERS[0])
    async with start_gateway() as gw, client(gw, METERS[0]) as c:
        await register(c, pki, METERS[0], codec)
        location = (await post(c, "/mup", site_mup(meter.lfdi), codec)).headers["location"]
        first = await post(c, location, readings(meter.lfdi, NOW, 1000, 20), codec)
        assert first.status_code == 201

        writer = await gw.runtime.write(backend_pid)
        reader = await gw.runtime.read(backend_pid)
        terminate({writer, reader})

        second = await post(c, location, readings(meter.lfdi, NOW + 15, 1010, 25), codec)
        assert second.status_code == 201, second.headers
        assert gw.runtime.committer.stats.reconnects == 1
        assert await gw.runtime.write(backend_pid) != writer
        stored = rows(gw, "SELECT lfdi, timestamp, import_wh, export_wh FROM outbox ORDER BY 2")
        assert stored == [(meter.lfdi, NOW, 1000, 20), (meter.lfdi, NOW + 15, 1010, 25)]


async def test_an_unreachable_database_is_a_503_with_retry_after(start_gateway: Any) -> None:
    probe = APIRouter()

    def lost() -> None:
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    probe.add_api_route("/api/v1/probe", lost)
    probe.add_api_route("/tm/probe", lost)  # a 2030.5 path: an empty body
    async with start_gateway() as gw:
        gw.app.include_router(probe)
        transport = httpx.ASGITransport(app=gw.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as web:
            api = await web.get("/api/v1/probe")
            assert (api.status_code, api.headers["retry-after"]) == (503, "5")
            assert "database is unavailable" in api.json()["detail"]
            sep2 = await web.get("/tm/probe")
            assert (sep2.status_code, sep2.content) == (503, b"")
            assert sep2.headers["retry-after"] == "5"
