"""mRIDs: the 128-bit master resource identifiers of IdentifiedObjects.

The XSD (mRIDType): the IANA Private Enterprise Number of the provider that creates an
object sits in bits 0-31 (the low 32 bits, i.e. the last 8 hex digits), and the provider
assigns the other 96 bits. ``FFFFFFFFFFFFFFFFFFFFFFFF`` followed by the PEN is reserved for
an object still being created, so :func:`mrid_for` never produces it.

What we decided:

- Our mRIDs are deterministic: 96 bits of SHA-256 over the names given (length-prefixed,
  so ``("ab", "c")`` and ``("a", "bc")`` differ), then the configured PEN as 8 hex digits.
  A meter that names its objects the same way after a restart gets the same mRIDs, which
  is what makes re-POSTs upserts rather than duplicates.
- mRIDs are compared as upper-case hex strings as written (leading zeros kept): that is
  how peers echo them back. :func:`normalise_mrid` gives that form.
- Some peers (cactus-client) write the PEN as 8 *decimal* digits: PEN 32473 becomes
  ``...00032473`` rather than ``...00007ED9``. Both are valid hexBinary, so the difference
  only matters when asking who issued an mRID: :meth:`Mrid.issued_by` accepts either
  reading, and :attr:`Mrid.pen` / :attr:`Mrid.decimal_pen` give both.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sep2.primitives import UINT32_MAX, normalise_hex_binary

MRID_BYTES = 16
_PLACEHOLDER_HIGH = (1 << 96) - 1


def mrid_for(pen: int, *names: str) -> str:
    """A deterministic mRID for the object called ``names`` under ``pen``.

    ``mrid_for(32473, lfdi, "mup")`` is the same string on every call and every machine.
    """
    if not 0 <= pen <= UINT32_MAX:
        raise ValueError(f"a PEN is a 32-bit unsigned integer, got {pen}")
    if not names:
        raise ValueError("mrid_for needs at least one name")
    digest = hashlib.sha256()
    for name in names:
        raw = name.encode("utf-8")
        digest.update(len(raw).to_bytes(4, "big"))
        digest.update(raw)
    high = int.from_bytes(digest.digest()[:12], "big")
    if high == _PLACEHOLDER_HIGH:  # reserved for objects being created; never ours
        high -= 1
    return f"{high:024X}{pen:08X}"


def normalise_mrid(text: str) -> str:
    """Check an mRID (non-empty hexBinary of at most 16 bytes) and upper-case it."""
    mrid = normalise_hex_binary(text, MRID_BYTES)
    if not mrid:
        raise ValueError("an mRID must not be empty")
    return mrid


@dataclass(frozen=True, slots=True)
class Mrid:
    """A parsed mRID: its canonical text and what it says about its issuer."""

    text: str

    @property
    def value(self) -> int:
        """The mRID as a 128-bit integer."""
        return int(self.text, 16)

    @property
    def pen(self) -> int:
        """The PEN read as the standard says: the low 32 bits."""
        return self.value & UINT32_MAX

    @property
    def decimal_pen(self) -> int | None:
        """The PEN read as 8 decimal digits (the deviant form), if the last 8 are digits."""
        tail = self.text[-8:]
        return int(tail) if len(tail) == 8 and tail.isdigit() else None

    @property
    def is_placeholder(self) -> bool:
        """True for the reserved ``FF..FF<PEN>`` of an object still being created."""
        return len(self.text) == 2 * MRID_BYTES and self.value >> 32 == _PLACEHOLDER_HIGH

    def issued_by(self, pen: int) -> bool:
        """True if this mRID carries ``pen``, written in hex (standard) or in decimal."""
        return self.pen == pen or self.decimal_pen == pen


def parse_mrid(text: str) -> Mrid:
    """Parse an mRID; raises ValueError if it is not non-empty hexBinary of <= 16 bytes."""
    return Mrid(normalise_mrid(text))
