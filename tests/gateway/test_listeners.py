"""The two listeners: 2030.5 resources only over mutual TLS, the rest only on the API port."""

from __future__ import annotations

import ssl
from typing import Any

import httpx
import pytest

from certs.pki import Pki
from tests.gateway.conftest import METERS, client, get

pytestmark = pytest.mark.asyncio


async def test_api_port_serves_docs_but_not_sep2(start_gateway: Any) -> None:
    async with start_gateway() as gateway:
        assert gateway.api_url is not None and gateway.api_port not in (None, 0)
        assert gateway.api_port != gateway.port
        async with httpx.AsyncClient(base_url=gateway.api_url) as web:
            docs = await web.get("/openapi.json")
            assert docs.status_code == 200 and docs.json()["info"]["title"]
            for path in ("/dcap", "/edev", "/mup/0"):
                refused = await web.get(path)
                assert refused.status_code == 404, path
                assert refused.json() == {"detail": "Not Found"}


async def test_device_port_serves_sep2_but_not_docs(start_gateway: Any) -> None:
    async with start_gateway() as gateway, client(gateway, METERS[0]) as device:
        assert (await get(device, "/dcap")).status_code == 200
        for path in ("/openapi.json", "/docs", "/metrics", "/api/v1/meters"):
            refused = await device.get(path)
            assert refused.status_code == 404, path
            assert refused.content == b""


async def test_api_tls_presents_the_gateway_certificate(start_gateway: Any, pki: Pki) -> None:
    async with start_gateway(api_tls=True) as gateway:
        assert gateway.api_url is not None and gateway.api_url.startswith("https://")
        trust = ssl.create_default_context(cafile=str(pki.serca))
        async with httpx.AsyncClient(base_url=gateway.api_url, verify=trust) as web:
            assert (await web.get("/openapi.json")).status_code == 200


async def test_api_disabled_opens_no_second_port(start_gateway: Any) -> None:
    async with start_gateway(api_enabled=False) as gateway:
        assert gateway.api_url is None and gateway.api_port is None
        async with client(gateway, METERS[0]) as device:
            assert (await get(device, "/dcap")).status_code == 200
