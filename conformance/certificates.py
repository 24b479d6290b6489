"""Certificate summaries for reports: a peer's chain read into CertificateSummary records.

The profile check itself is certs.profile's; this only gathers what a reader needs.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from certs.profile import Role, check_chain, describe, policy_oids
from conformance.model import CertificateSummary


def summarise(cert: x509.Certificate, problems: Sequence[str] = ()) -> CertificateSummary:
    """One certificate as a report shows it; ``problems`` are profile findings about it."""
    try:
        san_ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        san: tuple[str, ...] = tuple(_name(n) for n in san_ext.value)
        san_critical: bool | None = san_ext.critical
    except (x509.ExtensionNotFound, ValueError):
        san, san_critical = (), None
    policies = policy_oids(cert) or set()
    return CertificateSummary(
        subject=describe(cert),
        issuer=cert.issuer.rfc4514_string() or "(empty)",
        serial=f"{cert.serial_number:x}",
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        key=_key(cert),
        fingerprint_sha256=cert.fingerprint(hashes.SHA256()).hex(),
        san=san,
        san_critical=san_critical,
        policies=tuple(sorted(oid.dotted_string for oid in policies)),
        problems=tuple(problems),
    )


def summarise_chain(
    chain: Sequence[x509.Certificate], leaf_role: Role
) -> tuple[CertificateSummary, ...]:
    """A chain (leaf first), each certificate with its own profile violations."""
    violations = check_chain(chain, leaf_role)
    return tuple(
        summarise(cert, [v.message + f" [{v.rule}]" for v in violations if v.certificate == name])
        for cert, name in ((c, describe(c)) for c in chain)
    )


def _key(cert: x509.Certificate) -> str:
    key = cert.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"EC {key.curve.name}"
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA {key.key_size}"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519"
    return type(key).__name__


def _name(name: x509.GeneralName) -> str:
    if isinstance(name, x509.OtherName):
        return f"otherName {name.type_id.dotted_string}"
    return f"{type(name).__name__.removesuffix('Name')} {name.value}"
