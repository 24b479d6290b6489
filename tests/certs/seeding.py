"""Test certificates with one deliberate fault each, built directly with cryptography.

The builder starts from a conforming device (or CA) certificate and changes only what a
test names, so a test can seed exactly the violation it wants the checks to find.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from certs import pemfile
from certs.hwname import HardwareModuleName
from certs.issue import CA_KEY_USAGE, DEVICE_KEY_USAGE, Issuer, new_key
from certs.pki import Pki
from certs.profile import DEVICE_GENERIC, INDEFINITE_NOT_AFTER, POLICY_TEST

HW_TYPE = "1.3.6.1.4.1.32473.1"
# The test PKIs are issued at PKI_TIME and seeded certificates checked around NOW, so no
# test depends on today's date (OpenSSL's handshakes use the real clock, later than both).
PKI_TIME = datetime(2025, 1, 1, tzinfo=UTC)
NOW = datetime(2025, 6, 1, tzinfo=UTC)
PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey
SigningKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def ca_issuer(pki: Pki, name: str) -> Issuer:
    """A CA of a PKI (serca, mca or mica) with its private key."""
    return Issuer(
        pemfile.load_certificate(pki.dir / f"{name}.pem"),
        pemfile.load_private_key(pki.dir / "private" / f"{name}.key"),
    )


def hw_name(serial: str = "GM-TEST-1") -> x509.OtherName:
    """The HardwareModuleName otherName of a test device."""
    return HardwareModuleName.for_serial(HW_TYPE, serial).other_name()


def device(
    issuer: Issuer | None,
    public_key: PublicKey | None = None,
    *,
    subject: x509.Name | None = None,
    san: Sequence[x509.GeneralName] | None = None,
    san_critical: bool = True,
    policies: Sequence[x509.ObjectIdentifier] | None = (DEVICE_GENERIC, POLICY_TEST),
    policies_critical: bool = True,
    key_usage: x509.KeyUsage | None = DEVICE_KEY_USAGE,
    basic_constraints: x509.BasicConstraints | None = None,
    not_before: datetime = NOW - timedelta(days=1),
    not_after: datetime = INDEFINITE_NOT_AFTER,
    extra: Sequence[tuple[x509.ExtensionType, bool]] = (),
    signing_key: SigningKey | None = None,
    aki: bool = True,
) -> x509.Certificate:
    """A device certificate, conforming unless told otherwise; self-signed if no issuer."""
    key = new_key()
    public_key = public_key or key.public_key()
    name = subject if subject is not None else x509.Name([])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.cert.subject if issuer else name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    names = list(san) if san is not None else [hw_name()]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), san_critical)
    builder = builder.add_extension(
        basic_constraints or x509.BasicConstraints(ca=False, path_length=None), True
    )
    if key_usage is not None:
        builder = builder.add_extension(key_usage, True)
    if policies is not None:
        builder = builder.add_extension(
            x509.CertificatePolicies([x509.PolicyInformation(p, None) for p in policies]),
            policies_critical,
        )
    if issuer is not None and aki:
        ski = issuer.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), False
        )
    for ext, critical in extra:
        builder = builder.add_extension(ext, critical)
    signer = signing_key or (issuer.key if issuer else key)
    return builder.sign(signer, hashes.SHA256())


def ca(
    issuer: Issuer,
    key: ec.EllipticCurvePrivateKey | None = None,
    *,
    common_name: str = "test sub-CA",
    path_length: int | None = 0,
    is_ca: bool = True,
    key_usage: x509.KeyUsage | None = CA_KEY_USAGE,
    san: Sequence[x509.GeneralName] = (),
    policies: Sequence[x509.ObjectIdentifier] = (DEVICE_GENERIC, POLICY_TEST),
    not_before: datetime = NOW - timedelta(days=1),
    not_after: datetime = INDEFINITE_NOT_AFTER,
) -> Issuer:
    """A CA under ``issuer`` (conforming unless told otherwise), with its key."""
    key = key or new_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(
            x509.BasicConstraints(ca=is_ca, path_length=path_length if is_ca else None), True
        )
        .add_extension(
            x509.CertificatePolicies([x509.PolicyInformation(p, None) for p in policies]), True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                issuer.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
            ),
            False,
        )
    )
    if key_usage is not None:
        builder = builder.add_extension(key_usage, True)
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(san)), False)
    return Issuer(builder.sign(issuer.key, hashes.SHA256()), key)


def rsa_key() -> rsa.RSAPrivateKey:
    """A small RSA key (2048 bits, as small as cryptography allows by default)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def write_chain(path: Path, certs: Sequence[x509.Certificate]) -> Path:
    """Write certificates as one PEM file."""
    path.write_bytes(b"".join(pemfile.cert_pem(c) for c in certs))
    return path
