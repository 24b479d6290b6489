"""Verifying that a certificate chains to a trusted SERCA, at a given time.

This is the check a 2030.5 server makes of a client certificate that did not arrive
through its own TLS handshake (a TLS terminator's forwarded header, ``certs show``), and
the one tests use to state what OpenSSL enforces. It builds the path from the leaf
through the presented intermediates to the SERCA by issuer/subject names, then checks
every link: the signature, the validity at ``at`` (a parameter: nothing here reads the
clock), that each issuer is a CA (basicConstraints cA, keyUsage keyCertSign), and each
issuer's pathLenConstraint. It reports every problem it finds, not only the first.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm

from certs.profile import describe, is_self_signed

# No 2030.5 path is longer than SERCA, MCA, MICA, leaf; a little room, then stop.
MAX_DEPTH = 8


@dataclass(frozen=True)
class ChainResult:
    """The outcome of a chain verification: the path found and every problem met."""

    path: tuple[x509.Certificate, ...]  # leaf first; ends with the SERCA if it was reached
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True if the chain verified with no problem."""
        return not self.problems

    def summary(self) -> str:
        """One line: the path, or the problems."""
        if self.ok:
            return "ok: " + " <- ".join(describe(c) for c in self.path)
        return "; ".join(self.problems)


def verify_chain(
    leaf: x509.Certificate,
    intermediates: Sequence[x509.Certificate],
    serca: x509.Certificate,
    at: datetime,
    *,
    leaf_may_be_ca: bool = False,
) -> ChainResult:
    """Verify ``leaf`` up through ``intermediates`` (any order) to ``serca`` at time ``at``.

    The leaf must be an end entity (a device or server) unless ``leaf_may_be_ca``.
    """
    problems: list[str] = []
    path = _build_path(leaf, intermediates, serca, problems)
    for child, issuer in itertools.pairwise(path):
        _check_link(child, issuer, problems)
    if path[-1] == serca and not is_self_signed(serca):
        problems.append(f"the trusted SERCA {describe(serca)} is not self-signed")
    for cert in path:
        _check_validity(cert, at, problems)
    for depth, issuer in enumerate(path[1:], start=1):
        _check_ca(issuer, intermediates_below=depth - 1, problems=problems)
    if _is_ca(leaf) and not leaf_may_be_ca:
        problems.append(f"the leaf {describe(leaf)} is a CA certificate, not a device")
    return ChainResult(tuple(path), tuple(problems))


def _build_path(
    leaf: x509.Certificate,
    intermediates: Sequence[x509.Certificate],
    serca: x509.Certificate,
    problems: list[str],
) -> list[x509.Certificate]:
    path = [leaf]
    pool = [c for c in intermediates if c != leaf and c != serca]
    current = leaf
    while current != serca:
        if len(path) > MAX_DEPTH:
            problems.append(f"no SERCA within {MAX_DEPTH} certificates")
            break
        if current.issuer == serca.subject:
            path.append(serca)
            break
        candidates = [c for c in pool if c.subject == current.issuer and c not in path]
        if not candidates:
            if is_self_signed(current):
                problems.append(f"{describe(current)} is self-signed and is not the trusted SERCA")
            else:
                wanted = current.issuer.rfc4514_string() or "an empty name"
                problems.append(
                    f"no issuer for {describe(current)}: {wanted} is neither the SERCA "
                    "nor a presented intermediate"
                )
            break
        # Prefer the candidate whose key actually signed this certificate.
        current = next((c for c in candidates if _signed_by(current, c)), candidates[0])
        path.append(current)
    return path


def _signed_by(child: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        child.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def _check_link(child: x509.Certificate, issuer: x509.Certificate, problems: list[str]) -> None:
    if not _signed_by(child, issuer):
        problems.append(
            f"the signature of {describe(child)} does not verify with the key of {describe(issuer)}"
        )


def _check_validity(cert: x509.Certificate, at: datetime, problems: list[str]) -> None:
    if at < cert.not_valid_before_utc:
        problems.append(
            f"{describe(cert)} is not valid until {cert.not_valid_before_utc:%Y-%m-%d %H:%M:%SZ}"
        )
    if at > cert.not_valid_after_utc:
        problems.append(
            f"{describe(cert)} expired at {cert.not_valid_after_utc:%Y-%m-%d %H:%M:%SZ}"
        )


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except (x509.ExtensionNotFound, ValueError):
        return False


def _check_ca(issuer: x509.Certificate, *, intermediates_below: int, problems: list[str]) -> None:
    name = describe(issuer)
    try:
        bc = issuer.extensions.get_extension_for_class(x509.BasicConstraints).value
    except (x509.ExtensionNotFound, ValueError):
        problems.append(f"issuer {name} has no basicConstraints, so it is not a CA")
        return
    if not bc.ca:
        problems.append(f"issuer {name} is not a CA (basicConstraints cA false)")
    if bc.path_length is not None and intermediates_below > bc.path_length:
        problems.append(
            f"issuer {name} allows {bc.path_length} CA certificate(s) below it "
            f"(pathLenConstraint), the chain has {intermediates_below}"
        )
    try:
        ku = issuer.extensions.get_extension_for_class(x509.KeyUsage).value
    except (x509.ExtensionNotFound, ValueError):
        problems.append(f"issuer {name} has no keyUsage with keyCertSign")
        return
    if not ku.key_cert_sign:
        problems.append(f"issuer {name} may not sign certificates (keyUsage lacks keyCertSign)")
