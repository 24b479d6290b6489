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
- Some peers (cactus-client, CSIP-AUS tooling) write the PEN as 8 *decimal* digits: PEN
  32473 becomes ``...00032473`` rather than ``...00007ED9``. Both are valid hexBinary, so
  the difference only matters when asking who issued an mRID: :meth:`Mrid.issued_by`
  accepts either reading, and :attr:`Mrid.pen` / :attr:`Mrid.decimal_pen` give both.
- We write the PEN in hex by default: the XSD puts "the PEN in bits 0-31", a number in
  bits, and a decimal-digit tail is another number in those bits (``00032473`` is PEN
  205939). ``pen_format="decimal"`` writes the decimal form for peers that insist on it
  (``Sep2Settings.mrid_pen_format``); it needs a PEN of at most 8 decimal digits.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

from sep2.primitives import UINT32_MAX, normalise_hex_binary

MRID_BYTES = 16
_PLACEHOLDER_HIGH = (1 << 96) - 1

PenFormat = Literal["hex", "decimal"]
"""How the PEN is written in the low 32 bits of the mRIDs we make (see the module doc)."""
MAX_DECIMAL_PEN = 99_999_999  # 8 decimal digits


def pen_digits(pen: int, pen_format: PenFormat = "hex") -> str:
    """The last 8 hex digits of an mRID issued under ``pen``, in ``pen_format``."""
    if not 0 <= pen <= UINT32_MAX:
        raise ValueError(f"a PEN is a 32-bit unsigned integer, got {pen}")
    if pen_format == "hex":
        return f"{pen:08X}"
    if pen_format == "decimal":
        if pen > MAX_DECIMAL_PEN:
            raise ValueError(f"PEN {pen} has more than 8 decimal digits")
        return f"{pen:08d}"
    raise ValueError(f"unknown PEN format {pen_format!r}: hex or decimal")


def mrid_for(pen: int, *names: str, pen_format: PenFormat = "hex") -> str:
    """A deterministic mRID for the object called ``names`` under ``pen``.

    ``mrid_for(32473, lfdi, "mup")`` is the same string on every call and every machine;
    ``pen_format="decimal"`` ends it in ``00032473`` instead of ``00007ED9``.
    """
    tail = pen_digits(pen, pen_format)
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
    return f"{high:024X}{tail}"


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
