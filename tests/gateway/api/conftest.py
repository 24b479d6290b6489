"""Fixtures of the REST API tests: the real application over a real database.

``api`` is a running gateway application (runtime, group committer, the API's routers)
on SQLite and on PostgreSQL, driven through Starlette's TestClient, with an engineering
authority key registered and a few meters registered out of band.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from gateway.api import Api, build_api
from gateway.api.signatures import SignedFields, public_key_text, sign
from gateway.api.tokens import Role
from gateway.app import create_app
from gateway.db import open_database
from gateway.peer import PeerResolver
from gateway.registration import pre_register
from gateway.runtime import GatewayRuntime
from gateway.settings import GatewaySettings
from sep2 import Codec, Sep2Settings, normalise_lfdi

SECRET = b"test-secret-of-the-rest-api-tests-0123456789"
METER_IDS = tuple(normalise_lfdi(f"{i:02X}" * 20) for i in (0xA1, 0xB2, 0xC3))
EPOCH = (int(time.time()) // 900) * 900 - 86_400  # a day ago, aligned: always in the past


@dataclass
class ApiHarness:
    """A running API with its client, key and database."""

    client: TestClient
    api: Api
    runtime: GatewayRuntime
    key: Ed25519PrivateKey
    tokens: dict[Role, str] = field(default_factory=dict)

    def token(self, role: Role, subject: str = "tester", ttl: int = 600) -> str:
        """A valid token."""
        return self.api.authority.issue(role, subject, ttl)

    def headers(self, role: Role = Role.ADMIN, subject: str = "tester") -> dict[str, str]:
        """Authorization headers for ``role``."""
        return {"Authorization": f"Bearer {self.token(role, subject)}"}

    def sql(self, statement: str, **params: Any) -> list[tuple[Any, ...]]:
        """Rows of a query on the database."""
        from sqlalchemy import text

        with self.runtime.database.read_session() as session:
            return [tuple(r) for r in session.execute(text(statement), params)]

    def count(self, table: str) -> int:
        """Rows in ``table``."""
        return int(self.sql(f"SELECT count(*) FROM {table}")[0][0])


def payload(
    key: Ed25519PrivateKey,
    meter_id: str,
    timestamp: int,
    generated: str | Decimal = "0",
    consumed: str | Decimal = "0",
    *,
    metadata: dict[str, Any] | None = None,
    temperature: str | None = None,
    irradiance: str | None = None,
) -> dict[str, Any]:
    """A signed reading as a client sends it (numbers as JSON numbers)."""
    fields = SignedFields(
        meter_id=normalise_lfdi(meter_id),
        timestamp=timestamp,
        energy_generated_kwh=Decimal(generated),
        energy_consumed_kwh=Decimal(consumed),
        solar_irradiance=None if irradiance is None else Decimal(irradiance),
        temperature=None if temperature is None else Decimal(temperature),
        metadata=metadata,
    )
    body: dict[str, Any] = {
        "meter_id": meter_id,
        "timestamp": timestamp,
        "energy_generated": float(generated),
        "energy_consumed": float(consumed),
        "solar_irradiance": None if irradiance is None else float(irradiance),
        "temperature": None if temperature is None else float(temperature),
        "engineering_authority_signature": sign(key, fields),
        "metadata": metadata,
    }
    return body


def start_api(database_url: str, codec: Codec, **overrides: Any) -> Iterator[ApiHarness]:
    """Run the application on ``database_url``; yields once it is up."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "mdns": False,
        "sqlite_synchronous": "normal",
        "batch_linger": 0.0,
    }
    values.update(overrides)
    settings = GatewaySettings(**values)
    runtime = GatewayRuntime(
        settings,
        Sep2Settings(),
        open_database(database_url, synchronous="normal"),
        codec,
        PeerResolver(settings),
    )
    api = build_api(settings, SECRET)
    app = create_app(runtime, routers=[api.router], lifespans=[api.lifespan])
    key = Ed25519PrivateKey.generate()
    with TestClient(app, raise_server_exceptions=True) as client:
        harness = ApiHarness(client, api, runtime, key)
        with runtime.database.write_session() as session:
            for lfdi in METER_IDS:
                pre_register(session, lfdi, 111115, int(time.time()))
        response = client.post(
            "/api/v1/admin/authority-keys",
            json={"name": "ea-1", "public_key": public_key_text(key.public_key())},
            headers=harness.headers(),
        )
        assert response.status_code == 201, response.text
        yield harness


@pytest.fixture
def api(database_url: str, codec: Codec) -> Iterator[ApiHarness]:
    """The API on each database (SQLite and PostgreSQL)."""
    yield from start_api(database_url, codec)


@pytest.fixture
def sqlite_api(tmp_path: Any, codec: Codec) -> Iterator[ApiHarness]:
    """The API on SQLite only, for tests where the database does not matter."""
    yield from start_api(f"sqlite:///{tmp_path / 'api.db'}", codec)
