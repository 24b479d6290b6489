"""A gateway broken in one way fails exactly the procedure that checks that behaviour.

Each case puts tests/conformance/broken.py's proxy in front of a real gateway with one
flip; the run must fail that procedure and no other (procedures after a failed one may be
skipped, never failed).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from certs import pemfile
from certs.pki import Pki
from conformance.model import Outcome
from sep2 import Codec
from tests.conformance import broken
from tests.conformance.test_server_run import run_against
from tests.gateway.conftest import METERS, StartGateway

CASES = [
    ("nothing", broken.nothing, set()),
    ("wrong status", broken.repost_answers_201, {"mup.create"}),
    ("missing Location", broken.edev_without_location, {"edev"}),
    ("duplicate readings", broken.readings_duplicated, {"readings"}),
    ("list without all", broken.paged_list_without_all, {"paging"}),
]


def _non_critical_san_server(pki: Pki, directory: Path) -> tuple[Path, Path]:
    """The gateway's server certificate re-issued by the MICA with a non-critical SAN."""
    real = pki.server.cert
    cert = pemfile.load_certificate(real)
    builder = (
        x509.CertificateBuilder()
        .subject_name(cert.subject)
        .issuer_name(cert.issuer)
        .public_key(cert.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(cert.not_valid_before_utc)
        .not_valid_after(cert.not_valid_after_utc)
    )
    for ext in cert.extensions:
        critical = False if isinstance(ext.value, x509.SubjectAlternativeName) else ext.critical
        builder = builder.add_extension(ext.value, critical)
    mica_key = pemfile.load_private_key(pki.dir / "private" / "mica.key")
    flawed = builder.sign(mica_key, hashes.SHA256())
    tail = pki.server.chain.read_bytes()[len(real.read_bytes()) :]
    chain = directory / "chain.pem"
    chain.write_bytes(pemfile.cert_pem(flawed) + tail)
    return chain, pki.server.key


def _failed(report: object) -> set[str]:
    return {v.procedure.id for v in report.verdicts if v.outcome is Outcome.FAIL}  # type: ignore[attr-defined]


@pytest.mark.parametrize(("name", "flip", "expected"), CASES, ids=[c[0] for c in CASES])
async def test_one_flip_fails_exactly_its_procedure(
    start_sqlite_gateway: StartGateway,
    pki: Pki,
    codec: Codec,
    name: str,
    flip: broken.Flip,
    expected: set[str],
) -> None:
    device = pki.device(METERS[1])
    async with (
        start_sqlite_gateway() as gateway,
        broken.broken_gateway(
            gateway.url,
            serca=pki.serca,
            server_chain=pki.server.chain,
            server_key=pki.server.key,
            device_chain=device.chain,
            device_key=device.key,
            flip=flip,
        ) as url,
    ):
        report = await run_against(url, pki, codec, METERS[1])
    assert _failed(report) == expected, [(v.procedure.id, v.reason) for v in report.verdicts]


async def test_a_non_critical_san_fails_only_tls(
    start_sqlite_gateway: StartGateway, pki: Pki, codec: Codec, tmp_path: Path
) -> None:
    chain, key = _non_critical_san_server(pki, tmp_path)
    device = pki.device(METERS[1])
    async with (
        start_sqlite_gateway() as gateway,
        broken.broken_gateway(
            gateway.url,
            serca=pki.serca,
            server_chain=chain,
            server_key=key,
            device_chain=device.chain,
            device_key=device.key,
            flip=broken.nothing,
        ) as url,
    ):
        report = await run_against(url, pki, codec, METERS[1])
    assert _failed(report) == {"tls"}
    tls = next(v for v in report.verdicts if v.procedure.id == "tls")
    assert "critical" in tls.reason
