"""Certificate summaries of a real PKI chain, with the profile's findings attached."""

from __future__ import annotations

from pathlib import Path

from certs import pemfile
from certs.pki import default_serials, init_pki
from certs.profile import Role
from conformance.certificates import summarise_chain
from tests.certs.seeding import HW_TYPE, PKI_TIME


def test_server_chain_summary_names_san_and_its_criticality(tmp_path: Path) -> None:
    pki = init_pki(tmp_path, default_serials(1), hw_type=HW_TYPE, at=PKI_TIME).pki
    chain = pemfile.load_certificates(pki.server.chain)
    summaries = summarise_chain(chain, Role.SERVER)
    leaf = summaries[0]
    assert leaf.san_critical is True
    assert any(name.startswith("DNS ") for name in leaf.san)
    assert leaf.key == "EC secp256r1"
    assert leaf.problems == ()
    assert summaries[-1].issuer == pki.serca_certificate().subject.rfc4514_string()
    assert len(leaf.fingerprint_sha256) == 64


def test_a_device_certificate_read_as_a_server_one_has_problems(tmp_path: Path) -> None:
    pki = init_pki(tmp_path, default_serials(1), hw_type=HW_TYPE, at=PKI_TIME).pki
    device = pki.device(default_serials(1)[0])
    summaries = summarise_chain(pemfile.load_certificates(device.chain), Role.SERVER)
    assert summaries[0].problems  # a device certificate carries no host names
