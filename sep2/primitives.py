"""The XSD's primitive types: their ranges and their text forms.

Two bounds in the official XSD differ from their names, and we follow the XSD where it is
the only judge of validity, and the name where we add a check of our own:

- ``Int48`` (Reading.value) is declared ``minInclusive -2^47, maxInclusive 2^47``: one more
  than a 48-bit signed integer holds. The XSD is what peers validate against, so we accept
  and emit the XSD's range: a value we parsed can always be written back.
- ``UInt40`` (sFDI) is declared ``maxInclusive 2^48-1`` while its annotation says ``2^40-1``.
  An SFDI is 36 bits plus a check digit, so the codec adds its own check: an sFDI above
  ``2^40-1`` is refused on input and output.

hexBinary needs an even number of digits (the annotation says to pad with a leading 0).
We always write HexBinary16/32/64 at full width in upper case (``0003``); on input a
HexBinary16 with an odd number of digits (``3``, ``003``) is accepted as a known harmless
deviation of real clients, see sep2.schema.
"""

from __future__ import annotations

import re

INT48_MIN = -(2**47)
INT48_MAX = 2**47  # sic: the XSD's maxInclusive, see the module docstring
UINT40_MAX = 2**40 - 1
UINT48_MAX = 2**48 - 1
UINT32_MAX = 2**32 - 1
UINT16_MAX = 2**16 - 1
UINT8_MAX = 2**8 - 1
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
POWER_OF_TEN_MIN = -9  # "Any integer between -9 and 9 SHALL be supported"
POWER_OF_TEN_MAX = 9

_HEX_RE = re.compile(r"^[0-9A-Fa-f]*$")


def hex_text(value: int, nbytes: int) -> str:
    """``value`` as a hexBinary of exactly ``nbytes`` bytes, upper case (``hex_text(3, 2)``
    is ``0003``)."""
    if not 0 <= value < 1 << (8 * nbytes):
        raise ValueError(f"{value} does not fit in {nbytes} bytes")
    return f"{value:0{2 * nbytes}X}"


def is_hex_binary(text: str, max_bytes: int) -> bool:
    """True if ``text`` is a valid XSD hexBinary of at most ``max_bytes`` bytes."""
    return len(text) % 2 == 0 and len(text) <= 2 * max_bytes and bool(_HEX_RE.match(text))


def normalise_hex_binary(text: str, max_bytes: int) -> str:
    """Check a hexBinary (mRID, LFDI) and return it in upper case, leading zeros kept."""
    text = text.strip()
    if not is_hex_binary(text, max_bytes):
        raise ValueError(
            f"{text!r} is not hexBinary of at most {max_bytes} bytes (an even number of hex digits)"
        )
    return text.upper()
