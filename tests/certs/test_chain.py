from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509

from certs import pemfile
from certs.chain import verify_chain
from certs.issue import Issuer
from certs.pki import DeviceIdentity, Pki
from tests.certs.seeding import NOW, ca, ca_issuer, device, write_chain

AT = datetime(2030, 1, 1, tzinfo=UTC)


def problems(result: object) -> str:
    return "\n".join(result.problems)  # type: ignore[attr-defined]


def test_a_device_chains_to_the_serca(pki: Pki) -> None:
    leaf, *rest = pemfile.load_certificates(pki.device("GM-SYN-00001").chain)
    result = verify_chain(leaf, rest, pki.serca_certificate(), AT)
    assert result.ok, result.problems
    assert len(result.path) == 4 and result.path[-1] == pki.serca_certificate()
    assert result.summary().startswith("ok: hwSerialNum GM-SYN-00001")


def test_intermediates_in_any_order_with_noise(pki: Pki, foreign: Pki) -> None:
    leaf = pki.device("GM-SYN-00002").certificate()
    pool = [*foreign.intermediates(), *reversed(pki.intermediates()), pki.serca_certificate()]
    assert verify_chain(leaf, pool, pki.serca_certificate(), AT).ok


def test_the_server_chains_too(pki: Pki) -> None:
    leaf, *rest = pemfile.load_certificates(pki.server.chain)
    assert verify_chain(leaf, rest, pki.serca_certificate(), AT).ok


def test_a_foreign_device_does_not(pki: Pki, foreign: Pki) -> None:
    leaf, *rest = pemfile.load_certificates(foreign.device("GM-FOREIGN-01").chain)
    result = verify_chain(leaf, rest, pki.serca_certificate(), AT)
    assert not result.ok
    assert "neither the SERCA nor a presented intermediate" in problems(result)


def test_a_self_signed_device_does_not(pki: Pki, self_signed: DeviceIdentity) -> None:
    result = verify_chain(self_signed.certificate(), [], pki.serca_certificate(), AT)
    assert "is self-signed and is not the trusted SERCA" in problems(result)


def test_a_missing_intermediate_is_named(pki: Pki) -> None:
    leaf = pki.device("GM-SYN-00001").certificate()
    result = verify_chain(leaf, [pemfile.load_certificate(pki.mica)], pki.serca_certificate(), AT)
    assert "no issuer for CN=gridmirror MICA,O=gridmirror" in problems(result)


def test_validity_is_checked_at_the_given_time(pki: Pki) -> None:
    leaf, *rest = pemfile.load_certificates(pki.device("GM-SYN-00001").chain)
    before = leaf.not_valid_before_utc - timedelta(seconds=1)
    result = verify_chain(leaf, rest, pki.serca_certificate(), before)
    assert "is not valid until" in problems(result)
    mica = ca_issuer(pki, "mica")
    short = device(mica, not_after=NOW + timedelta(days=1))
    chain = [mica.cert, pemfile.load_certificate(pki.mca)]
    assert verify_chain(short, chain, pki.serca_certificate(), NOW).ok
    late = verify_chain(short, chain, pki.serca_certificate(), NOW + timedelta(days=2))
    assert "expired at" in problems(late)


def test_path_length_is_enforced(pki: Pki) -> None:
    mica = ca_issuer(pki, "mica")  # pathLen 0: no CA may follow it
    sub = ca(mica, path_length=None)
    leaf = device(sub)
    result = verify_chain(
        leaf, [sub.cert, mica.cert, pemfile.load_certificate(pki.mca)], pki.serca_certificate(), AT
    )
    text = problems(result)
    assert "CN=gridmirror MICA,O=gridmirror allows 0 CA certificate(s) below it" in text
    assert "MCA" in text  # the MCA (pathLen 1) now has two CAs below it as well


def test_issuer_must_be_a_ca_that_may_sign(pki: Pki) -> None:
    mica = ca_issuer(pki, "mica")
    no_sign = ca(
        mica, key_usage=x509.KeyUsage(True, False, False, False, False, False, False, False, False)
    )
    not_ca = ca(mica, is_ca=False)
    for issuer, expected in ((no_sign, "keyUsage lacks keyCertSign"), (not_ca, "is not a CA")):
        chain = [issuer.cert, mica.cert, pemfile.load_certificate(pki.mca)]
        result = verify_chain(device(issuer), chain, pki.serca_certificate(), AT)
        assert expected in problems(result)


def test_a_forged_signature_is_found(pki: Pki, foreign: Pki) -> None:
    # Signed by the foreign MICA, but naming our MICA as issuer.
    forger = Issuer(ca_issuer(pki, "mica").cert, ca_issuer(foreign, "mica").key)
    leaf = device(forger)
    result = verify_chain(leaf, pki.intermediates(), pki.serca_certificate(), AT)
    assert "does not verify with the key of CN=gridmirror MICA" in problems(result)


def test_a_ca_is_not_a_client(pki: Pki) -> None:
    mica = pemfile.load_certificate(pki.mica)
    mca = pemfile.load_certificate(pki.mca)
    assert "is a CA certificate" in problems(verify_chain(mica, [mca], pki.serca_certificate(), AT))
    assert verify_chain(mica, [mca], pki.serca_certificate(), AT, leaf_may_be_ca=True).ok


def test_every_problem_is_reported(pki: Pki) -> None:
    mica = ca_issuer(pki, "mica")
    sub = ca(mica, path_length=None, not_after=NOW + timedelta(days=1))
    leaf = device(sub, not_after=NOW + timedelta(days=1))
    chain = [sub.cert, mica.cert, pemfile.load_certificate(pki.mca)]
    result = verify_chain(leaf, chain, pki.serca_certificate(), NOW + timedelta(days=2))
    assert len(result.problems) >= 4  # two expired, two pathLen
    assert sum("expired" in p for p in result.problems) == 2


@pytest.mark.parametrize("serial", ["GM-SYN-00001", "GM-SYN-00003"])
def test_openssl_strict_verification_agrees(
    pki: Pki, tmp_path: Path, serial: str, openssl: str
) -> None:
    # OpenSSL's strict mode (RFC 5280 rules) and explicit 2030.5 policy processing.
    untrusted = write_chain(tmp_path / "untrusted.pem", pki.intermediates())
    for cert, extra in (
        (pki.device(serial).cert, ["-purpose", "sslclient"]),
        (pki.server.cert, ["-purpose", "sslserver", "-verify_hostname", "localhost"]),
    ):
        out = subprocess.run(
            [
                openssl,
                "verify",
                "-x509_strict",
                "-policy_check",
                "-explicit_policy",
                "-policy",
                "1.3.6.1.4.1.40732.1.1",
                *extra,
                "-CAfile",
                str(pki.serca),
                "-untrusted",
                str(untrusted),
                str(cert),
            ],
            capture_output=True,
            text=True,
        )
        assert out.returncode == 0, out.stdout + out.stderr
