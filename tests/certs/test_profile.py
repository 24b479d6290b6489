from __future__ import annotations

from datetime import UTC, datetime

from cryptography import x509
from cryptography.x509.oid import NameOID

from certs import pemfile
from certs.pki import Pki
from certs.profile import (
    DEVICE_GENERIC,
    DEVICE_MOBILE,
    POLICY_TEST,
    Role,
    Violation,
    check_certificate,
    check_chain,
    infer_role,
)
from tests.certs.seeding import ca, ca_issuer, device, hw_name, rsa_key


def rules(violations: list[Violation]) -> set[str]:
    return {v.rule for v in violations}


def messages(violations: list[Violation]) -> str:
    return "\n".join(str(v) for v in violations)


def test_every_certificate_certs_init_makes_conforms(pki: Pki) -> None:
    serca = pki.serca_certificate()
    assert check_certificate(serca, Role.SERCA) == []
    for name in ("mca", "mica"):
        cert = pemfile.load_certificate(pki.dir / f"{name}.pem")
        assert check_certificate(cert, Role.INTERMEDIATE) == []
    server_chain = pemfile.load_certificates(pki.server.chain)
    assert check_chain([*server_chain, serca], Role.SERVER, test_policy=True) == []
    assert len(pki.devices) == 3
    for identity in pki.devices.values():
        chain = pemfile.load_certificates(identity.chain)
        assert len(chain) == 3
        assert check_chain([*chain, serca], Role.DEVICE, test_policy=True) == []


def test_roles_are_inferred(pki: Pki) -> None:
    assert infer_role(pki.serca_certificate()) is Role.SERCA
    assert infer_role(pemfile.load_certificate(pki.mica)) is Role.INTERMEDIATE
    assert infer_role(pemfile.load_certificate(pki.server.cert)) is Role.SERVER
    assert infer_role(pki.device("GM-SYN-00001").certificate()) is Role.DEVICE


def test_a_conforming_seeded_device_passes(pki: Pki) -> None:
    # The builder's defaults conform, so each test below seeds exactly one fault.
    assert check_certificate(device(ca_issuer(pki, "mica")), Role.DEVICE) == []


def test_non_critical_san_is_found(pki: Pki) -> None:
    found = check_certificate(device(ca_issuer(pki, "mica"), san_critical=False), Role.DEVICE)
    assert rules(found) == {"criticality"}
    assert "subjectAltName must be critical" in messages(found)


def test_missing_policy_is_found(pki: Pki) -> None:
    found = check_certificate(device(ca_issuer(pki, "mica"), policies=None), Role.DEVICE)
    assert "certificate-policies" in rules(found)
    assert "has no certificatePolicies" in messages(found)


def test_missing_device_type_policy_is_found(pki: Pki) -> None:
    found = check_certificate(device(ca_issuer(pki, "mica"), policies=[POLICY_TEST]), Role.DEVICE)
    assert rules(found) == {"certificate-policies"}
    assert "no device-type policy" in messages(found)


def test_non_critical_policies_are_found(pki: Pki) -> None:
    cert = device(ca_issuer(pki, "mica"), policies_critical=False)
    assert "certificatePolicies must be critical" in messages(check_certificate(cert))


def test_rsa_key_is_found(pki: Pki) -> None:
    key = rsa_key()
    found = check_certificate(device(ca_issuer(pki, "mica"), key.public_key()), Role.DEVICE)
    assert rules(found) == {"public-key"}
    assert "RSA" in messages(found) and "P-256" in messages(found)


def test_rsa_signature_is_found() -> None:
    key = rsa_key()
    found = check_certificate(device(None, key.public_key(), signing_key=key), Role.DEVICE)
    assert {"public-key", "signature-algorithm"} <= rules(found)


def test_wrong_not_after_is_found(pki: Pki) -> None:
    cert = device(ca_issuer(pki, "mica"), not_after=datetime(2030, 1, 1, tzinfo=UTC))
    found = check_certificate(cert, Role.DEVICE)
    assert rules(found) == {"not-after", "not-after-encoding"}
    assert "300101000000Z" in messages(found)


def test_right_date_in_wrong_encoding_would_be_found() -> None:
    # cryptography always writes 9999 as GeneralizedTime; 2049 as UTCTime. A notAfter in
    # 2049 breaks both rules; the encoding rule stands on its own in the DER tests.
    cert = device(None, not_after=datetime(2049, 12, 31, 23, 59, 59, tzinfo=UTC))
    assert {"not-after", "not-after-encoding"} <= rules(check_certificate(cert, Role.DEVICE))


def test_ca_with_a_san_is_found(pki: Pki) -> None:
    sub = ca(ca_issuer(pki, "mica"), san=[x509.DNSName("ca.example")])
    found = check_certificate(sub.cert, Role.INTERMEDIATE)
    assert "subject-alt-name" in rules(found)
    assert "a CA certificate must not carry a subjectAltName" in messages(found)


def test_device_subject_and_extra_names_are_found(pki: Pki) -> None:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "meter")])
    cert = device(
        ca_issuer(pki, "mica"), subject=subject, san=[hw_name(), x509.DNSName("meter.local")]
    )
    found = check_certificate(cert, Role.DEVICE)
    assert rules(found) == {"subject", "subject-alt-name"}
    assert "DNSName meter.local" in messages(found)


def test_two_hardware_module_names_are_found(pki: Pki) -> None:
    cert = device(ca_issuer(pki, "mica"), san=[hw_name("A"), hw_name("B")])
    assert "holds 2 HardwareModuleName" in messages(check_certificate(cert, Role.DEVICE))


def test_malformed_hardware_module_name_is_found(pki: Pki) -> None:
    bad = x509.OtherName(hw_name().type_id, b"\x04\x01A")  # an OCTET STRING, no SEQUENCE
    cert = device(ca_issuer(pki, "mica"), san=[bad])
    assert "HardwareModuleName is malformed" in messages(check_certificate(cert, Role.DEVICE))


def test_device_key_usage_and_ca_flag_are_found(pki: Pki) -> None:
    ku = x509.KeyUsage(True, False, False, False, False, True, False, False, False)
    cert = device(
        ca_issuer(pki, "mica"),
        key_usage=ku,
        basic_constraints=x509.BasicConstraints(ca=True, path_length=0),
    )
    found = messages(check_certificate(cert, Role.DEVICE))
    assert "keyUsage lacks keyAgreement" in found
    assert "keyUsage must not include keyCertSign" in found
    assert "must have cA false" in found
    assert "pathLenConstraint is only for CAs" in found


def test_extra_critical_extension_is_found(pki: Pki) -> None:
    eku = x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH])
    cert = device(ca_issuer(pki, "mica"), extra=[(eku, True)])
    found = check_certificate(cert, Role.DEVICE)
    assert rules(found) == {"criticality"}
    assert "extendedKeyUsage is critical" in messages(found)


def test_name_constraints_are_forbidden(pki: Pki) -> None:
    nc = x509.NameConstraints(permitted_subtrees=[x509.DNSName("example")], excluded_subtrees=None)
    found = check_certificate(device(ca_issuer(pki, "mica"), extra=[(nc, False)]), Role.DEVICE)
    assert "forbidden-extension" in rules(found)


def test_missing_authority_key_identifier_is_found(pki: Pki) -> None:
    found = check_certificate(device(ca_issuer(pki, "mica"), aki=False), Role.DEVICE)
    assert rules(found) == {"authority-key-identifier"}


def test_every_violation_is_reported_not_only_the_first(pki: Pki) -> None:
    key = rsa_key()
    cert = device(
        ca_issuer(pki, "mica"),
        key.public_key(),
        san_critical=False,
        policies=None,
        not_after=datetime(2030, 1, 1, tzinfo=UTC),
        subject=x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x")]),
    )
    found = check_certificate(cert, Role.DEVICE)
    assert {
        "criticality",
        "certificate-policies",
        "public-key",
        "not-after",
        "not-after-encoding",
        "subject",
    } <= rules(found)
    assert all(v.certificate == "CN=x" for v in found)


def test_server_needs_a_host_name_and_device_type(pki: Pki) -> None:
    cert = device(ca_issuer(pki, "mica"))
    found = check_certificate(cert, Role.SERVER)
    assert "a server certificate needs a DNS name or IP address" in messages(found)


def test_test_policy_expectation(pki: Pki) -> None:
    test_cert = pki.device("GM-SYN-00001").certificate()
    assert check_certificate(test_cert, Role.DEVICE, test_policy=True) == []
    assert "carries the test policy" in messages(
        check_certificate(test_cert, Role.DEVICE, test_policy=False)
    )
    production = device(ca_issuer(pki, "mica"), policies=[DEVICE_GENERIC])
    assert "lacks the test policy" in messages(
        check_certificate(production, Role.DEVICE, test_policy=True)
    )


def test_ca_rules(pki: Pki) -> None:
    mica = ca_issuer(pki, "mica")
    no_sign = ca(
        mica, key_usage=x509.KeyUsage(True, False, False, False, False, False, False, False, False)
    )
    assert "keyUsage needs keyCertSign" in messages(
        check_certificate(no_sign.cert, Role.INTERMEDIATE)
    )
    # A self-signed certificate presented as the SERCA must be one; an intermediate not.
    mca = pemfile.load_certificate(pki.mca)
    assert "must be self-signed" in messages(check_certificate(mca, Role.SERCA))


def test_chain_policy_consistency(pki: Pki) -> None:
    mica = ca_issuer(pki, "mica")
    mobile = device(mica, policies=[DEVICE_MOBILE, POLICY_TEST])
    assert check_certificate(mobile, Role.DEVICE) == []  # fine on its own
    chain = [mobile, mica.cert, pemfile.load_certificate(pki.mca), pki.serca_certificate()]
    found = check_chain(chain, Role.DEVICE)
    assert rules(found) == {"policy-chain"}
    assert "1.3.6.1.4.1.40732.1.2" in messages(found)


def test_profile_is_not_trust(foreign: Pki) -> None:
    # A foreign PKI is well formed: the profile passes, only the chain check refuses it.
    chain = pemfile.load_certificates(foreign.device("GM-FOREIGN-01").chain)
    assert check_chain([*chain, foreign.serca_certificate()], Role.DEVICE) == []


def test_violation_reads_as_one_line(pki: Pki) -> None:
    found = check_certificate(device(ca_issuer(pki, "mica"), san_critical=False), Role.DEVICE)
    text = str(found[0])
    assert "\n" not in text
    assert text.startswith("hwSerialNum GM-TEST-1 (LFDI ")
    assert text.endswith("[criticality]")


def test_another_curve_is_found(pki: Pki) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP384R1())
    found = check_certificate(device(ca_issuer(pki, "mica"), key.public_key()), Role.DEVICE)
    assert [str(v.message) for v in found] == [
        "public key is on secp384r1; the profile requires P-256"
    ]
