"""Who is calling: the TLS extension, forwarded certificates from proxies, roles, access."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

import httpx
import pytest
from fastapi import APIRouter, Depends, Request
from sqlalchemy import text
from sqlmodel import Session

from certs.foreign import foreign_pki
from certs.pki import Pki
from gateway import access
from gateway.errors import Refusal
from gateway.peer import Peer, PeerResolver, Role, lfdi_of_pem
from gateway.settings import GatewaySettings
from sep2 import Codec, EndDeviceList, sfdi_from_lfdi
from tests.certs.seeding import HW_TYPE, PKI_TIME
from tests.gateway.conftest import AGGREGATOR, METERS, StartGateway, client

LFDI_A = "3E4F45AB31EDFE5B67E343E5E4562E31984E23E5"
LFDI_B = "0" * 39 + "1"


def pem(path: Path) -> str:
    return path.read_text().split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n"


def scope_with(pem_text: str | None) -> dict[str, object]:
    tls = {"client_cert_chain": [pem_text] if pem_text else []}
    return {"type": "http", "extensions": {"tls": tls}, "client": ("127.0.0.1", 5)}


def test_roles_and_access_rules() -> None:
    resolver = PeerResolver(
        GatewaySettings(aggregator_lfdis=[LFDI_B.lower()], operator_lfdis=[LFDI_A])
    )
    device, aggregator = resolver.peer_of("1" * 40), resolver.peer_of(LFDI_B)
    operator = resolver.peer_of(LFDI_A)
    assert (device.role, aggregator.role, operator.role) == (
        Role.DEVICE,
        Role.AGGREGATOR,
        Role.OPERATOR,
    )
    assert operator.sfdi == 167261211391  # the standard's example
    assert not device.privileged and aggregator.privileged and operator.privileged
    assert access.can_see(device, device.lfdi) and not access.can_see(device, LFDI_A)
    assert access.can_see(aggregator, LFDI_A)
    assert access.owner_filter(device) == device.lfdi and access.owner_filter(operator) is None
    with pytest.raises(Refusal) as refused:
        access.require_owner(device, LFDI_A, "mirror 3")
    assert refused.value.status == 403
    with pytest.raises(Refusal):
        access.require_may_mirror(device, LFDI_A)
    access.require_may_mirror(device, device.lfdi)
    access.require_may_mirror(aggregator, LFDI_A)


def test_settings_refuse_bad_lfdis() -> None:
    with pytest.raises(ValueError, match="40 hex"):
        GatewaySettings(aggregator_lfdis=["xyz"])
    with pytest.raises(ValueError, match="6 digits"):
        GatewaySettings(registration_pins={LFDI_A: 1_000_000})


def test_direct_identity_from_the_tls_extension(pki: Pki) -> None:
    resolver = PeerResolver(GatewaySettings())
    device = pki.device(METERS[0])
    peer = resolver.resolve(scope_with(pem(device.cert)))
    assert peer == Peer(device.lfdi, sfdi_from_lfdi(device.lfdi), Role.DEVICE)
    assert lfdi_of_pem(pem(device.cert)) == device.lfdi
    for scope in (scope_with(None), {"type": "http"}):
        with pytest.raises(Refusal) as refused:
            resolver.resolve(scope)
        assert refused.value.status == 403
    # a forwarded header means nothing without proxy mode
    forged = scope_with(None)
    forged["headers"] = [(b"x-forwarded-client-cert", quote(pem(device.cert)).encode())]
    with pytest.raises(Refusal):
        resolver.resolve(forged)


def test_forwarded_certificates_from_trusted_proxies_only(pki: Pki, tmp_path: Path) -> None:
    settings = GatewaySettings(proxy_mode=True, trusted_proxies=["10.1.0.0/16", "::1"])
    resolver = PeerResolver(settings, pki.serca_certificate(), pki.intermediates())
    device = pki.device(METERS[1])
    envoy = f'By=spiffe://gw;Hash=00;Cert="{quote(pem(device.cert))}";Subject=""'

    def scope(client: str, *headers: str) -> dict[str, object]:
        return {
            "type": "http",
            "client": (client, 4000),
            "headers": [(b"x-forwarded-client-cert", h.encode()) for h in headers],
        }

    assert resolver.resolve(scope("10.1.2.3", envoy)).lfdi == device.lfdi
    assert resolver.resolve(scope("::1", quote(pem(device.cert)))).lfdi == device.lfdi  # nginx form
    for bad in (
        scope("10.2.0.1", envoy),
        scope("10.1.2.3"),
        scope("10.1.2.3", envoy, envoy),
        scope("bogus", envoy),
    ):
        with pytest.raises(Refusal) as refused:
            resolver.resolve(bad)
        assert refused.value.status == 403
    stranger = foreign_pki(tmp_path / "foreign", hw_type=HW_TYPE, at=PKI_TIME).pki.device(
        "GM-FOREIGN-01"
    )
    with pytest.raises(Refusal, match="refused"):
        resolver.resolve(scope("10.1.2.3", quote(pem(stranger.cert))))
    with pytest.raises(ValueError, match="SERCA"):
        PeerResolver(settings)


# A route beside the 2030.5 ones reaches the caller and the database through the
# application's runtime (module level: FastAPI resolves the annotations by name).
async def caller(request: Request) -> Peer:
    """The caller's Peer, or a 403 Refusal."""
    found: Peer = request.app.state.runtime.peers.resolve(request.scope)
    return found


def db_session(request: Request) -> Iterator[Session]:
    """A read session of the gateway's database."""
    with request.app.state.runtime.database.read_session() as session:
        yield session


async def test_the_server_puts_the_client_certificate_in_the_tls_extension(
    start_sqlite_gateway: StartGateway, pki: Pki
) -> None:
    seen: dict[str, object] = {}
    probe = APIRouter()

    @probe.get("/tm/probe")  # a 2030.5 path: the device port serves no others
    async def handler(request: Request) -> dict[str, str]:
        seen.update(request.scope["extensions"]["tls"])
        return {}

    @probe.get("/tm/probe/caller")
    def with_deps(
        peer: Annotated[Peer, Depends(caller)], session: Annotated[Session, Depends(db_session)]
    ) -> dict[str, object]:
        count = session.execute(text("SELECT count(*) FROM end_device")).scalar()
        return {"lfdi": peer.lfdi, "role": peer.role.value, "devices": count}

    async with start_sqlite_gateway() as gw:
        gw.app.include_router(probe)
        async with client(gw, METERS[2]) as c:
            assert (await c.get("/tm/probe")).status_code == 200
            answer = (await c.get("/tm/probe/caller")).json()
        assert answer == {"lfdi": pki.device(METERS[2]).lfdi, "role": "device", "devices": 0}
    device = pki.device(METERS[2])
    chain = seen["client_cert_chain"]
    assert isinstance(chain, list) and len(chain) == 1 and lfdi_of_pem(chain[0]) == device.lfdi
    assert seen["cipher_suite"] == 0xC0AE and seen["tls_version"] == 0x0303
    assert seen["client_cert_error"] is None and seen["client_cert_name"] == ""
    assert "BEGIN CERTIFICATE" in str(seen["server_cert"])


async def test_proxy_mode_end_to_end(
    start_sqlite_gateway: StartGateway, pki: Pki, codec: Codec
) -> None:
    device = pki.device(METERS[0])
    header = {
        "X-Forwarded-Client-Cert": f'Cert="{quote(pem(device.cert))}"',
        "Accept": "application/sep+xml",
    }
    async with start_sqlite_gateway(proxy_mode=True, trusted_proxies=["127.0.0.1/32"]) as gw:
        assert gw.url.startswith("http://")
        async with httpx.AsyncClient(base_url=gw.url) as proxy:
            answer = await proxy.get("/edev", headers=header)
            assert answer.status_code == 200
            assert codec.parse(answer.content, EndDeviceList).all == 0
            assert (
                await proxy.get("/edev", headers={"Accept": "application/sep+xml"})
            ).status_code == 403
    async with (
        start_sqlite_gateway(proxy_mode=True, trusted_proxies=["10.0.0.0/8"]) as gw,
        httpx.AsyncClient(base_url=gw.url) as untrusted,
    ):
        assert (await untrusted.get("/edev", headers=header)).status_code == 403


async def test_foreign_and_downgraded_clients_fail_the_handshake(
    start_sqlite_gateway: StartGateway, pki: Pki, tmp_path: Path
) -> None:
    from certs.tls import client_context

    stranger = foreign_pki(tmp_path / "foreign", hw_type=HW_TYPE, at=PKI_TIME).pki.device(
        "GM-FOREIGN-01"
    )
    async with start_sqlite_gateway() as gw:
        foreign_ctx = client_context(stranger.chain, stranger.key, pki.serca)
        async with httpx.AsyncClient(base_url=gw.url, verify=foreign_ctx) as c:
            with pytest.raises(httpx.HTTPError):
                await c.get("/dcap")
        device = pki.device(AGGREGATOR)
        tls13 = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        tls13.minimum_version = ssl.TLSVersion.TLSv1_3
        tls13.load_cert_chain(device.chain, device.key)
        tls13.load_verify_locations(pki.serca)
        async with httpx.AsyncClient(base_url=gw.url, verify=tls13) as c:
            with pytest.raises(httpx.HTTPError):
                await c.get("/dcap")
