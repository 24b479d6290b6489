"""Fixtures of the conformance tests: the gateway fixtures (a PKI, the codec, gateways
on SQLite and PostgreSQL) reused from tests/gateway."""

from __future__ import annotations

from tests.gateway.conftest import codec, pki, start_gateway, start_sqlite_gateway

__all__ = ["codec", "pki", "start_gateway", "start_sqlite_gateway"]
