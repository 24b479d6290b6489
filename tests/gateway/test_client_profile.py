"""Client certificates are judged against the 2030.5 device profile, not only the chain.

Each certificate here is issued by the PKI's real MICA, so OpenSSL's chain check at the
handshake accepts it; before gateway.peer judged the profile, every one got 200 on /dcap.
"""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certs.issue import new_key
from certs.pki import Pki
from certs.tls import client_context
from gateway.launch import Gateway
from tests.certs.seeding import ca_issuer, device
from tests.gateway.conftest import METERS, StartGateway


def identity_files(pki: Pki, tmp_path: Path, name: str, **changes: object) -> tuple[Path, Path]:
    """A client certificate issued by the PKI's MICA (conforming unless ``changes`` say
    otherwise), written as chain (leaf, MICA, MCA) and key files."""
    key = new_key()
    cert = device(ca_issuer(pki, "mica"), key.public_key(), **changes)  # type: ignore[arg-type]
    above = pki.device(METERS[0]).chain.read_bytes().split(b"-----END CERTIFICATE-----\n", 1)[1]
    chain = tmp_path / f"{name}-chain.pem"
    chain.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + above)
    key_file = tmp_path / f"{name}-key.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return chain, key_file


async def get_dcap(gateway: Gateway, chain: Path, key: Path) -> httpx.Response:
    ctx = client_context(chain, key, gateway.pki.serca)
    async with httpx.AsyncClient(base_url=gateway.url, verify=ctx, timeout=30) as c:
        return await c.get("/dcap")


CASES = {
    "non-critical SAN": ({"san_critical": False}, "criticality"),
    "no certificate policy": ({"policies": None}, "certificate-policies"),
    "no SAN": ({"san": []}, "subject-alt-name"),
    "a CA flag": (
        {"basic_constraints": x509.BasicConstraints(ca=True, path_length=None)},
        "basic-constraints",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_a_certificate_breaking_the_device_profile_is_refused_naming_the_rule(
    start_sqlite_gateway: StartGateway,
    pki: Pki,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    case: str,
) -> None:
    changes, rule = CASES[case]
    chain, key = identity_files(pki, tmp_path, "bad", **changes)
    async with start_sqlite_gateway() as gateway:
        with caplog.at_level(logging.INFO, logger="gateway.peer"):
            first = await get_dcap(gateway, chain, key)
            second = await get_dcap(gateway, chain, key)
    assert first.status_code == second.status_code == 403
    assert f"[{rule}]" in first.headers["X-Problem"]
    logged = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(logged) == 1 and f"rule {rule}" in logged[0].getMessage()  # verdict cached


async def test_the_gateways_own_server_certificate_is_no_device(
    start_sqlite_gateway: StartGateway, pki: Pki
) -> None:
    async with start_sqlite_gateway() as gateway:
        answer = await get_dcap(gateway, pki.server.chain, pki.server.key)
    assert answer.status_code == 403
    assert "subjectAltName must not hold" in answer.headers["X-Problem"]


async def test_a_conforming_certificate_and_a_relaxed_rule_are_served(
    start_sqlite_gateway: StartGateway, pki: Pki, tmp_path: Path
) -> None:
    good = identity_files(pki, tmp_path, "good")
    lab = identity_files(pki, tmp_path, "lab", san_critical=False)
    async with start_sqlite_gateway(client_profile_relax=["criticality"]) as gateway:
        assert (await get_dcap(gateway, *good)).status_code == 200
        assert (await get_dcap(gateway, *lab)).status_code == 200
    async with start_sqlite_gateway() as gateway:
        assert (await get_dcap(gateway, *good)).status_code == 200
        device = pki.device(METERS[1])
        assert (await get_dcap(gateway, device.chain, device.key)).status_code == 200
