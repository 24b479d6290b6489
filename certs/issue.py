"""Issuing the certificates of a 2030.5 PKI: SERCA, MCA, MICA, devices, the gateway.

Every certificate made here meets :mod:`certs.profile` (its docstring says what each one
carries and why). The hierarchy::

    SERCA  self-signed root; basicConstraints cA, no pathLen; keyUsage keyCertSign+cRLSign;
      |    certificatePolicies anyPolicy (it does not restrict what lies below)
      MCA  manufacturer CA; pathLen 1 (exactly one CA level, the MICA, may follow);
      |    policies: the device type (+ test policy in a test PKI)
      MICA manufacturer issuing CA; pathLen 0; same policies as the MCA
      |- device certificates, one per meter (empty subject, HardwareModuleName SAN)
      '- the gateway's server certificate (a device certificate whose SAN also names hosts)

Time is always a parameter (``at``): nothing here reads the clock. ``notBefore`` is set a
little before ``at`` so that a peer whose clock lags slightly does not see a brand-new
certificate as "not yet valid"; ``notAfter`` is the profile's 99991231235959Z.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from certs.hwname import HardwareModuleName
from certs.profile import (
    ANY_POLICY,
    DEVICE_GENERIC,
    INDEFINITE_NOT_AFTER,
    POLICY_SELF_SIGNED,
    POLICY_TEST,
)

# Tolerated clock lag of peers (see the module docstring).
BACKDATE = timedelta(hours=1)

CA_KEY_USAGE = x509.KeyUsage(
    digital_signature=False,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=True,
    crl_sign=True,
    encipher_only=False,
    decipher_only=False,
)
DEVICE_KEY_USAGE = x509.KeyUsage(
    digital_signature=True,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=True,
    key_cert_sign=False,
    crl_sign=False,
    encipher_only=False,
    decipher_only=False,
)


@dataclass(frozen=True)
class Issuer:
    """A CA that can sign: its certificate and its private key."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def new_key() -> ec.EllipticCurvePrivateKey:
    """A fresh P-256 private key."""
    return ec.generate_private_key(ec.SECP256R1())


def device_policies(
    test_pki: bool, device_type: x509.ObjectIdentifier = DEVICE_GENERIC
) -> list[x509.ObjectIdentifier]:
    """The policies of a device (and of the CAs issuing for it): device type, maybe test."""
    return [device_type, POLICY_TEST] if test_pki else [device_type]


def ca_name(common_name: str, organisation: str) -> x509.Name:
    """The subject of one of our CAs."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def issue_serca(
    key: ec.EllipticCurvePrivateKey, subject: x509.Name, at: datetime
) -> x509.Certificate:
    """The self-signed SERCA (root of trust)."""
    builder = _base(subject, subject, key.public_key(), at)
    builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
    builder = builder.add_extension(CA_KEY_USAGE, True)
    builder = builder.add_extension(_policies([ANY_POLICY]), True)
    builder = builder.add_extension(
        x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False
    )
    return builder.sign(key, hashes.SHA256())


def issue_ca(
    issuer: Issuer,
    public_key: ec.EllipticCurvePublicKey,
    subject: x509.Name,
    *,
    path_length: int,
    policies: Sequence[x509.ObjectIdentifier],
    at: datetime,
) -> x509.Certificate:
    """An intermediate CA (MCA with path_length 1, MICA with 0) under ``issuer``."""
    builder = _base(subject, issuer.cert.subject, public_key, at)
    builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=path_length), True)
    builder = builder.add_extension(CA_KEY_USAGE, True)
    builder = builder.add_extension(_policies(policies), True)
    builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), False)
    builder = builder.add_extension(_aki(issuer), False)
    return builder.sign(issuer.key, hashes.SHA256())


def issue_device(
    issuer: Issuer,
    public_key: ec.EllipticCurvePublicKey,
    *,
    serial: str,
    hw_type: str,
    policies: Sequence[x509.ObjectIdentifier],
    at: datetime,
    host_names: Sequence[str] = (),
) -> x509.Certificate:
    """A device certificate for the module ``serial``; with ``host_names``, a server one.

    ``host_names`` are DNS names or IP addresses (told apart by parsing) that go into the
    subjectAltName next to the HardwareModuleName.
    """
    builder = _base(x509.Name([]), issuer.cert.subject, public_key, at)
    builder = _end_entity_extensions(builder, serial, hw_type, policies, host_names)
    builder = builder.add_extension(_aki(issuer), False)
    return builder.sign(issuer.key, hashes.SHA256())


def issue_self_signed_device(
    key: ec.EllipticCurvePrivateKey,
    *,
    serial: str,
    hw_type: str,
    at: datetime,
) -> x509.Certificate:
    """A self-signed device certificate (policy 40732.2.2): for fault injection only.

    A 2030.5 server that trusts only its SERCA must refuse it at the handshake.
    """
    # A self-signed certificate with an empty subject would have an empty issuer, which
    # X.509 forbids; it names itself by its serial instead.
    name = x509.Name([x509.NameAttribute(NameOID.SERIAL_NUMBER, serial)])
    builder = _base(name, name, key.public_key(), at)
    builder = _end_entity_extensions(
        builder, serial, hw_type, [DEVICE_GENERIC, POLICY_SELF_SIGNED], ()
    )
    return builder.sign(key, hashes.SHA256())


def _base(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey, at: datetime
) -> x509.CertificateBuilder:
    # cryptography writes dates from 2050 on as GeneralizedTime, so notAfter comes out as
    # the profile's 99991231235959Z and notBefore as UTCTime, as RFC 5280 wants.
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before((at - BACKDATE).replace(microsecond=0))
        .not_valid_after(INDEFINITE_NOT_AFTER)
    )


def _end_entity_extensions(
    builder: x509.CertificateBuilder,
    serial: str,
    hw_type: str,
    policies: Sequence[x509.ObjectIdentifier],
    host_names: Sequence[str],
) -> x509.CertificateBuilder:
    names: list[x509.GeneralName] = [HardwareModuleName.for_serial(hw_type, serial).other_name()]
    names += [_host_name(h) for h in host_names]
    builder = builder.add_extension(x509.SubjectAlternativeName(names), True)
    builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
    builder = builder.add_extension(DEVICE_KEY_USAGE, True)
    return builder.add_extension(_policies(policies), True)


def _host_name(text: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(text))
    except ValueError:
        return x509.DNSName(text.removesuffix("."))  # RFC 5280: no root dot in a dNSName


def _policies(oids: Sequence[x509.ObjectIdentifier]) -> x509.CertificatePolicies:
    return x509.CertificatePolicies([x509.PolicyInformation(oid, None) for oid in oids])


def _aki(issuer: Issuer) -> x509.AuthorityKeyIdentifier:
    try:
        ski = issuer.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key())
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
