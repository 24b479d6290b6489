"""Device identity: LFDI and SFDI (IEEE 2030.5 §6.3.4).

The certificate fingerprint is SHA-256 over the whole DER certificate. The LFDI is its
first 160 bits; the SFDI is its first 36 bits as a decimal number followed by a check
digit that makes the sum of all digits a multiple of ten.
"""

from __future__ import annotations

import hashlib
import re

_LFDI_RE = re.compile(r"^[0-9A-Fa-f]{40}$")


class IdentityError(ValueError):
    """A value is not a well-formed LFDI or SFDI."""


def certificate_fingerprint(der: bytes) -> bytes:
    """SHA-256 over the DER encoding of a certificate (never its PEM text)."""
    if not der or der[:1] != b"\x30":
        raise IdentityError("not a DER certificate (expected an ASN.1 SEQUENCE)")
    return hashlib.sha256(der).digest()


def lfdi_from_der(der: bytes) -> str:
    """The LFDI of a DER certificate: 40 upper-case hex digits."""
    return certificate_fingerprint(der)[:20].hex().upper()


def normalise_lfdi(lfdi: str) -> str:
    """Check an LFDI and return it in upper case."""
    if not _LFDI_RE.match(lfdi):
        raise IdentityError(f"LFDI must be 40 hex digits, got {lfdi!r}")
    return lfdi.upper()


def sfdi_check_digit(value: int) -> int:
    """The digit that makes the sum of the decimal digits of value and itself 0 mod 10."""
    return (10 - sum(int(c) for c in str(value)) % 10) % 10


def sfdi_from_lfdi(lfdi: str) -> int:
    """The SFDI of an LFDI: its first 36 bits in decimal, then the check digit."""
    top36 = int(normalise_lfdi(lfdi)[:9], 16)
    return top36 * 10 + sfdi_check_digit(top36)


def sfdi_from_der(der: bytes) -> int:
    """The SFDI of a DER certificate."""
    return sfdi_from_lfdi(lfdi_from_der(der))


def is_valid_sfdi(sfdi: int) -> bool:
    """True if sfdi is a non-negative integer of at most 12 digits with a correct check digit."""
    if not 0 <= sfdi < 10**12:
        return False
    return sum(int(c) for c in str(sfdi)) % 10 == 0


def sfdi_dns_label(sfdi: int) -> str:
    """The SFDI zero-padded to 12 digits, as DNS-SD subtypes (edev-<SFDI>) write it."""
    return f"{sfdi:012d}"
