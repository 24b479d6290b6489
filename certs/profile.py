"""The IEEE 2030.5 certificate profile, and a check that finds every violation of it.

What every certificate of a 2030.5 chain carries (SERCA, MCA, MICA, device, and the
gateway's server certificate alike), as the strict peers read the standard's profile:

- X.509 v3, a positive serial number of at most 20 octets, signed ecdsa-with-SHA256, an
  EC public key on P-256 (secp256r1).
- ``notAfter`` = 99991231235959Z, encoded as GeneralizedTime: 2030.5 certificates do not
  expire (devices may have no trustworthy clock). We apply it to the CA certificates
  too, as the standard's profile table does; other vendors' test PKIs with finite CA
  lifetimes show up here as a violation (the chain check still accepts them while valid).
- Critical extensions are exactly subjectAltName, certificatePolicies, keyUsage and
  basicConstraints, whenever present; everything else (authority/subject key
  identifiers above all) is non-critical. policyMappings and nameConstraints never
  appear. The strictest known client (EPRI's reference client) applies these rules to
  every certificate of the chain it is shown, the server's included, and refuses a
  server certificate whose subjectAltName is not critical.

Device certificates (role ``device``) add: an empty subject; subjectAltName holding
exactly one otherName, a HardwareModuleName (see :mod:`certs.hwname`); certificatePolicies
with exactly one device-type policy 1.3.6.1.4.1.40732.1.{1,2,3} (plus, for test PKIs, the
test policy 40732.2.1); keyUsage digitalSignature + keyAgreement and nothing else;
basicConstraints with cA false; an authorityKeyIdentifier (RFC 5280, and OpenSSL's strict
mode refuses a chain without it). No subjectKeyIdentifier is required (RFC 5280 only
recommends it for end entities; 2030.5 devices keep certificates small).

The gateway's server certificate (role ``server``) is a device certificate of the
gateway (a 2030.5 server is a device with its own LFDI) with one addition: its
subjectAltName also holds the DNS names and IP addresses the gateway answers on, because
hostname-checking clients (aiohttp, py20305, OpenSSL's X509_check_host) match the host
they dialled against SAN dNSName / iPAddress and never against an otherName. One critical
SAN holds both. Its subject stays empty (so RFC 5280 §4.2.1.6 also requires the SAN to be
critical), and it carries no extendedKeyUsage: without one, TLS stacks accept the
certificate for any purpose, and the 2030.5 profile has none.

CA certificates (roles ``serca`` and ``intermediate``, i.e. MCA and MICA) add: a non-empty
subject; no subjectAltName; basicConstraints cA true (pathLen is checked along a chain by
:mod:`certs.chain`); keyUsage with keyCertSign; a subjectKeyIdentifier; and, on MCA/MICA,
certificatePolicies listing the policies their certificates may assert (the SERCA
asserts anyPolicy, 2.5.29.32.0). The SERCA is self-signed; an intermediate is not.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtensionOID, SignatureAlgorithmOID

from certs import der
from certs.hwname import HARDWARE_MODULE_NAME, HardwareModuleName, hardware_module_names
from sep2.identity import lfdi_from_der

# Device types (IEEE 2030.5 §6.11.7.2) and policies (§6.11.7.3).
DEVICE_GENERIC = x509.ObjectIdentifier("1.3.6.1.4.1.40732.1.1")
DEVICE_MOBILE = x509.ObjectIdentifier("1.3.6.1.4.1.40732.1.2")
DEVICE_POST_MANUFACTURE = x509.ObjectIdentifier("1.3.6.1.4.1.40732.1.3")
DEVICE_TYPES = frozenset({DEVICE_GENERIC, DEVICE_MOBILE, DEVICE_POST_MANUFACTURE})
POLICY_TEST = x509.ObjectIdentifier("1.3.6.1.4.1.40732.2.1")
POLICY_SELF_SIGNED = x509.ObjectIdentifier("1.3.6.1.4.1.40732.2.2")
POLICY_SERVICE_PROVIDER = x509.ObjectIdentifier("1.3.6.1.4.1.40732.2.3")
POLICY_BULK_SIGNED = x509.ObjectIdentifier("1.3.6.1.4.1.40732.2.4")
ANY_POLICY = x509.ObjectIdentifier("2.5.29.32.0")

# 99991231235959Z: "no well-defined expiration date" (RFC 5280 §4.1.2.5).
INDEFINITE_NOT_AFTER = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
INDEFINITE_NOT_AFTER_TEXT = "99991231235959Z"

MAY_BE_CRITICAL = frozenset(
    {
        ExtensionOID.SUBJECT_ALTERNATIVE_NAME,
        ExtensionOID.CERTIFICATE_POLICIES,
        ExtensionOID.KEY_USAGE,
        ExtensionOID.BASIC_CONSTRAINTS,
    }
)
FORBIDDEN = frozenset({ExtensionOID.POLICY_MAPPINGS, ExtensionOID.NAME_CONSTRAINTS})
# Critical whenever present (certificatePolicies is required of all but the SERCA, and
# subjectAltName of end entities only: their role checks say so).
MUST_BE_CRITICAL = (
    (ExtensionOID.BASIC_CONSTRAINTS, "basicConstraints"),
    (ExtensionOID.KEY_USAGE, "keyUsage"),
    (ExtensionOID.CERTIFICATE_POLICIES, "certificatePolicies"),
    (ExtensionOID.SUBJECT_ALTERNATIVE_NAME, "subjectAltName"),
)
REQUIRED_OF_ALL = (
    (ExtensionOID.BASIC_CONSTRAINTS, "basicConstraints"),
    (ExtensionOID.KEY_USAGE, "keyUsage"),
)
DEVICE_KEY_USAGE = frozenset({"digital_signature", "key_agreement"})
_KEY_USAGE_BITS = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
)


class Role(enum.StrEnum):
    """What a certificate is for, which decides the rules it must meet."""

    SERCA = "serca"
    INTERMEDIATE = "intermediate"  # MCA or MICA
    DEVICE = "device"
    SERVER = "server"


@dataclass(frozen=True)
class Violation:
    """One way a certificate breaks the profile: which certificate, which rule, and how."""

    certificate: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.certificate}: {self.message} [{self.rule}]"


def describe(cert: x509.Certificate) -> str:
    """A short human name for a certificate: its subject, else its hwSerialNum and LFDI."""
    if len(cert.subject) > 0:
        return cert.subject.rfc4514_string()
    lfdi = lfdi_from_der(cert.public_bytes(Encoding.DER))
    try:
        names = hardware_module_names(cert)
    except (der.DerError, ValueError):
        names = []
    if names:
        return f"hwSerialNum {names[0].serial} (LFDI {lfdi})"
    return f"LFDI {lfdi}"


def is_self_signed(cert: x509.Certificate) -> bool:
    """True if the certificate names itself as issuer and its own key verifies it."""
    if cert.issuer != cert.subject:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def infer_role(cert: x509.Certificate) -> Role:
    """Guess a certificate's role: CA or not, self-signed or not, host names or not."""
    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        is_ca = bc.ca
    except (x509.ExtensionNotFound, ValueError):
        is_ca = False
    if is_ca:
        return Role.SERCA if is_self_signed(cert) else Role.INTERMEDIATE
    if host_names(cert):
        return Role.SERVER
    return Role.DEVICE


def check_certificate(
    cert: x509.Certificate,
    role: Role | None = None,
    *,
    test_policy: bool | None = None,
) -> list[Violation]:
    """Every violation of the 2030.5 profile by one certificate (empty if it conforms).

    ``role`` defaults to :func:`infer_role`. ``test_policy`` True demands the test policy
    on device and server certificates, False forbids it, None does not look.
    """
    role = role or infer_role(cert)
    found = _Findings(describe(cert))
    _check_basics(cert, found)
    try:
        extensions = {ext.oid: ext for ext in cert.extensions}
    except ValueError as exc:
        found.add("extensions", f"extensions cannot be parsed ({exc})")
        return found.violations
    _check_criticality(extensions, found)
    if role in (Role.DEVICE, Role.SERVER):
        _check_end_entity(cert, extensions, role, test_policy, found)
    else:
        _check_ca(cert, extensions, role, found)
    return found.violations


def check_chain(
    chain: Sequence[x509.Certificate],
    leaf_role: Role = Role.DEVICE,
    *,
    test_policy: bool | None = None,
) -> list[Violation]:
    """Every profile violation of every certificate of a chain, leaf first.

    The leaf gets ``leaf_role``; the others are the SERCA if self-signed, else an
    intermediate. Also checks that each certificate asserts only policies its issuer
    allows (the issuer's own policies, or any if the issuer asserts anyPolicy).
    """
    violations: list[Violation] = []
    for index, cert in enumerate(chain):
        if index == 0:
            role = leaf_role
        else:
            role = Role.SERCA if is_self_signed(cert) else Role.INTERMEDIATE
        violations += check_certificate(cert, role, test_policy=test_policy if index == 0 else None)
    for child, issuer in itertools.pairwise(chain):
        allowed = policy_oids(issuer)
        if allowed is None or ANY_POLICY in allowed:
            continue
        extra = (policy_oids(child) or set()) - allowed
        if extra:
            names = ", ".join(sorted(oid.dotted_string for oid in extra))
            violations.append(
                Violation(
                    describe(child),
                    "policy-chain",
                    f"asserts {names}, which its issuer {describe(issuer)} does not allow",
                )
            )
    return violations


# --- the rules ------------------------------------------------------------------------


class _Findings:
    def __init__(self, certificate: str) -> None:
        self.certificate = certificate
        self.violations: list[Violation] = []

    def add(self, rule: str, message: str) -> None:
        self.violations.append(Violation(self.certificate, rule, message))


def _check_basics(cert: x509.Certificate, found: _Findings) -> None:
    if cert.version != x509.Version.v3:
        found.add("version", f"is X.509 {cert.version.name}; the profile requires v3")
    if not 0 < cert.serial_number < 1 << 159:
        found.add("serial-number", "serial number must be positive and at most 20 octets")
    if cert.signature_algorithm_oid != SignatureAlgorithmOID.ECDSA_WITH_SHA256:
        name = getattr(cert.signature_algorithm_oid, "_name", None) or (
            cert.signature_algorithm_oid.dotted_string
        )
        found.add(
            "signature-algorithm", f"is signed with {name}; the profile requires ecdsa-with-SHA256"
        )
    _check_key(cert, found)
    try:
        times = der.validity_times(cert.public_bytes(Encoding.DER))
    except der.DerError as exc:
        found.add("not-after", f"validity cannot be read ({exc})")
        return
    if cert.not_valid_after_utc != INDEFINITE_NOT_AFTER:
        found.add(
            "not-after",
            f"notAfter is {times.not_after}; the profile requires {INDEFINITE_NOT_AFTER_TEXT}",
        )
    if times.not_after_tag != der.GENERALIZED_TIME:
        found.add("not-after-encoding", "notAfter must be encoded as GeneralizedTime")


def _check_key(cert: x509.Certificate, found: _Findings) -> None:
    try:
        key = cert.public_key()
    except (ValueError, UnsupportedAlgorithm) as exc:
        found.add("public-key", f"public key cannot be read ({exc}); the profile requires P-256")
        return
    if not isinstance(key, ec.EllipticCurvePublicKey):
        kind = type(key).__name__.removeprefix("_").replace("PublicKey", "")
        size = getattr(key, "key_size", None)
        found.add(
            "public-key",
            f"public key is {kind}{f'-{size}' if size else ''}; the profile requires ECDSA P-256",
        )
    elif key.curve.name != "secp256r1":
        found.add("public-key", f"public key is on {key.curve.name}; the profile requires P-256")


def _check_criticality(
    extensions: dict[x509.ObjectIdentifier, x509.Extension[x509.ExtensionType]],
    found: _Findings,
) -> None:
    for oid, ext in extensions.items():
        name = _ext_name(oid)
        if oid in FORBIDDEN:
            found.add("forbidden-extension", f"carries {name}, which the profile forbids")
        elif ext.critical and oid not in MAY_BE_CRITICAL:
            found.add(
                "criticality",
                f"{name} is critical; only subjectAltName, "
                "certificatePolicies, keyUsage and basicConstraints may be",
            )
    for oid, name in MUST_BE_CRITICAL:
        present = extensions.get(oid)
        if present is not None and not present.critical:
            found.add("criticality", f"{name} must be critical")
    for oid, name in REQUIRED_OF_ALL:
        if oid not in extensions:
            found.add("missing-extension", f"has no {name}")


def _check_end_entity(
    cert: x509.Certificate,
    extensions: dict[x509.ObjectIdentifier, x509.Extension[x509.ExtensionType]],
    role: Role,
    test_policy: bool | None,
    found: _Findings,
) -> None:
    if len(cert.subject) > 0:
        found.add("subject", f"subject must be empty, is {cert.subject.rfc4514_string()}")
    if ExtensionOID.AUTHORITY_KEY_IDENTIFIER not in extensions and not is_self_signed(cert):
        found.add("authority-key-identifier", "has no authorityKeyIdentifier")
    _check_san(extensions, role, found)

    bc = extensions.get(ExtensionOID.BASIC_CONSTRAINTS)
    if bc is not None:
        value = bc.value
        assert isinstance(value, x509.BasicConstraints)
        if value.ca:
            found.add("basic-constraints", f"a {role} certificate must have cA false")
        if value.path_length is not None:
            found.add("basic-constraints", "pathLenConstraint is only for CAs")

    ku = extensions.get(ExtensionOID.KEY_USAGE)
    if ku is not None:
        assert isinstance(ku.value, x509.KeyUsage)
        bits = _key_usage_bits(ku.value)
        for missing in sorted(DEVICE_KEY_USAGE - bits):
            found.add("key-usage", f"keyUsage lacks {_camel(missing)}")
        for extra in sorted(bits - DEVICE_KEY_USAGE):
            found.add("key-usage", f"keyUsage must not include {_camel(extra)}")

    policies = policy_oids(cert)
    if policies is None:
        found.add("certificate-policies", "has no certificatePolicies")
        return
    types = policies & DEVICE_TYPES
    if not types:
        found.add("certificate-policies", "no device-type policy (1.3.6.1.4.1.40732.1.x)")
    elif len(types) > 1:
        found.add("certificate-policies", "more than one device-type policy")
    if ANY_POLICY in policies:
        found.add("certificate-policies", "anyPolicy is for CAs only")
    if test_policy is True and POLICY_TEST not in policies:
        found.add("certificate-policies", "a test PKI certificate lacks the test policy")
    if test_policy is False and POLICY_TEST in policies:
        found.add("certificate-policies", "a production certificate carries the test policy")


def _check_san(
    extensions: dict[x509.ObjectIdentifier, x509.Extension[x509.ExtensionType]],
    role: Role,
    found: _Findings,
) -> None:
    ext = extensions.get(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    if ext is None:
        found.add("subject-alt-name", "has no subjectAltName (HardwareModuleName)")
        return
    assert isinstance(ext.value, x509.SubjectAlternativeName)
    hw: list[HardwareModuleName] = []
    hosts = 0
    for name in ext.value:
        if isinstance(name, x509.OtherName) and name.type_id == HARDWARE_MODULE_NAME:
            try:
                hw.append(HardwareModuleName.from_der(name.value))
            except der.DerError as exc:
                found.add("subject-alt-name", f"HardwareModuleName is malformed ({exc})")
                hw.append(HardwareModuleName("", b""))
        elif role is Role.SERVER and isinstance(name, x509.DNSName | x509.IPAddress):
            hosts += 1
        else:
            found.add("subject-alt-name", f"subjectAltName must not hold {_general_name(name)}")
    if len(hw) != 1:
        found.add(
            "subject-alt-name",
            f"subjectAltName holds {len(hw)} HardwareModuleName otherNames; needs exactly one",
        )
    if role is Role.SERVER and hosts == 0:
        found.add("subject-alt-name", "a server certificate needs a DNS name or IP address")


def _check_ca(
    cert: x509.Certificate,
    extensions: dict[x509.ObjectIdentifier, x509.Extension[x509.ExtensionType]],
    role: Role,
    found: _Findings,
) -> None:
    if len(cert.subject) == 0:
        found.add("subject", "a CA certificate needs a subject")
    if ExtensionOID.SUBJECT_ALTERNATIVE_NAME in extensions:
        found.add("subject-alt-name", "a CA certificate must not carry a subjectAltName")
    if ExtensionOID.SUBJECT_KEY_IDENTIFIER not in extensions:
        found.add("subject-key-identifier", "a CA certificate needs a subjectKeyIdentifier")
    bc = extensions.get(ExtensionOID.BASIC_CONSTRAINTS)
    if bc is not None:
        assert isinstance(bc.value, x509.BasicConstraints)
        if not bc.value.ca:
            found.add("basic-constraints", "a CA certificate must have cA true")
    ku = extensions.get(ExtensionOID.KEY_USAGE)
    if ku is not None:
        assert isinstance(ku.value, x509.KeyUsage)
        if not ku.value.key_cert_sign:
            found.add("key-usage", "a CA certificate's keyUsage needs keyCertSign")
    if role is Role.SERCA:
        if not is_self_signed(cert):
            found.add("self-signed", "the SERCA must be self-signed")
    else:
        if cert.issuer == cert.subject:
            found.add("self-signed", "an intermediate CA must not be self-issued")
        if ExtensionOID.AUTHORITY_KEY_IDENTIFIER not in extensions:
            found.add("authority-key-identifier", "has no authorityKeyIdentifier")
        if ExtensionOID.CERTIFICATE_POLICIES not in extensions:
            found.add("certificate-policies", "has no certificatePolicies")


# --- small readers --------------------------------------------------------------------


def host_names(cert: x509.Certificate) -> list[str]:
    """The DNS names and IP addresses in a certificate's subjectAltName."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (x509.ExtensionNotFound, ValueError):
        return []
    return [str(n) for n in san.get_values_for_type(x509.DNSName)] + [
        str(ip) for ip in san.get_values_for_type(x509.IPAddress)
    ]


def policy_oids(cert: x509.Certificate) -> set[x509.ObjectIdentifier] | None:
    """The policies a certificate asserts, or None if it has no certificatePolicies."""
    try:
        value = cert.extensions.get_extension_for_class(x509.CertificatePolicies).value
    except (x509.ExtensionNotFound, ValueError):
        return None
    return {p.policy_identifier for p in value}


def _key_usage_bits(ku: x509.KeyUsage) -> set[str]:
    bits = {bit for bit in _KEY_USAGE_BITS if getattr(ku, bit)}
    if ku.key_agreement:  # encipher_only/decipher_only are defined only with keyAgreement
        bits |= {b for b in ("encipher_only", "decipher_only") if getattr(ku, b)}
    return bits


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(word.capitalize() for word in rest)


def _ext_name(oid: x509.ObjectIdentifier) -> str:
    name = getattr(oid, "_name", None)
    return oid.dotted_string if not name or name == "Unknown OID" else name


def _general_name(name: x509.GeneralName) -> str:
    if isinstance(name, x509.OtherName):
        return f"otherName {name.type_id.dotted_string}"
    return f"{type(name).__name__} {name.value}"


def device_refusal(
    cert: x509.Certificate, relaxed: frozenset[str] = frozenset()
) -> Violation | None:
    """The first rule of the device profile that ``cert``, presented by a 2030.5 client,
    breaks (None if it conforms), leaving out the rules named in ``relaxed``
    (``"*"``: all of them).

    A client is a device: its certificate is judged as one whatever it looks like, so a
    CA certificate or the gateway's own server certificate (which holds host names in its
    subjectAltName) is refused as a client.
    """
    if "*" in relaxed:
        return None
    for violation in check_certificate(cert, Role.DEVICE):
        if violation.rule not in relaxed:
            return violation
    return None
