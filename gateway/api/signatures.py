"""Engineering-authority signatures over REST readings: the canonical encoding (pure).

A reading is signed with Ed25519 over the bytes :func:`canonical_bytes` gives. The
encoding is text, so any language can build it without a JSON canonicaliser: UTF-8,
eight lines, each ending in one line feed (0x0A), in this order::

    gridmirror-reading-v1
    meter_id:<the meter's LFDI, 40 upper-case hex digits>
    timestamp:<Unix seconds, UTC, decimal integer>
    energy_generated_kwh:<canonical decimal>
    energy_consumed_kwh:<canonical decimal>
    solar_irradiance:<canonical decimal, or "-" when absent>
    temperature:<canonical decimal, or "-" when absent>
    metadata:<canonical JSON, or "-" when absent>

A *canonical decimal* is the exact value in plain notation: no exponent, no "+", no
leading zeros before the point (but "0.5"), no trailing zeros after it, no point when
the value is whole, "0" for zero (never "-0"). *Canonical JSON* is the metadata object
with keys sorted by code point, no spaces (separators "," and ":"), non-ASCII characters
written as themselves (UTF-8), and values restricted to strings, integers, booleans,
null, arrays and objects (no fractions: their text differs between languages).

The signature travels as standard base64 (with padding) of the 64 signature bytes; an
engineering-authority public key as standard base64 of its 32 raw bytes. docs/rest-api.md
has a worked example.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

DOMAIN = "gridmirror-reading-v1"
SIGNATURE_BYTES = 64
PUBLIC_KEY_BYTES = 32


class EncodingError(ValueError):
    """A value that has no canonical form (a fraction in metadata, a non-finite number)."""


@dataclass(frozen=True, slots=True)
class SignedFields:
    """The signed content of one reading, already normalised (LFDI upper case, Unix s)."""

    meter_id: str
    timestamp: int
    energy_generated_kwh: Decimal
    energy_consumed_kwh: Decimal
    solar_irradiance: Decimal | None = None
    temperature: Decimal | None = None
    metadata: Mapping[str, Any] | None = None


def canonical_decimal(value: Decimal | int) -> str:
    """The canonical text of an exact number (see the module docstring)."""
    number = Decimal(value)
    if not number.is_finite():
        raise EncodingError(f"{value} is not a finite number")
    if number == 0:
        return "0"
    text = format(number.normalize(), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _check_json(value: Any, where: str) -> None:
    if value is None or isinstance(value, (str, bool, int)):
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            _check_json(item, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise EncodingError(f"{where} has a key that is not a string")
            _check_json(item, f"{where}.{key}")
        return
    raise EncodingError(
        f"{where} is {type(value).__name__}: metadata holds strings, integers, booleans, "
        "null, arrays and objects (write fractions as strings)"
    )


def canonical_json(value: Mapping[str, Any]) -> str:
    """The canonical JSON text of a metadata object (see the module docstring)."""
    _check_json(dict(value), "metadata")
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_bytes(fields: SignedFields) -> bytes:
    """The exact bytes an engineering authority signs for ``fields``."""

    def optional(value: Decimal | None) -> str:
        return "-" if value is None else canonical_decimal(value)

    lines = (
        DOMAIN,
        f"meter_id:{fields.meter_id}",
        f"timestamp:{int(fields.timestamp)}",
        f"energy_generated_kwh:{canonical_decimal(fields.energy_generated_kwh)}",
        f"energy_consumed_kwh:{canonical_decimal(fields.energy_consumed_kwh)}",
        f"solar_irradiance:{optional(fields.solar_irradiance)}",
        f"temperature:{optional(fields.temperature)}",
        "metadata:" + ("-" if fields.metadata is None else canonical_json(fields.metadata)),
    )
    return "".join(line + "\n" for line in lines).encode("utf-8")


def parse_canonical(data: bytes) -> SignedFields:
    """The fields back from their canonical bytes (EncodingError if they are not such);
    ``parse_canonical(canonical_bytes(f)) == f`` for every ``f``."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise EncodingError("the encoding is not UTF-8") from None
    if not text.endswith("\n"):
        raise EncodingError("the encoding does not end with a line feed")
    lines = text[:-1].split("\n")
    names = (
        "meter_id", "timestamp", "energy_generated_kwh", "energy_consumed_kwh",
        "solar_irradiance", "temperature", "metadata",
    )  # fmt: skip
    if len(lines) != len(names) + 1 or lines[0] != DOMAIN:
        raise EncodingError(f"not a {DOMAIN} encoding")
    values: dict[str, str] = {}
    for name, line in zip(names, lines[1:], strict=True):
        label, sep, value = line.partition(":")
        if label != name or not sep:
            raise EncodingError(f"expected the {name} line, got {line!r}")
        values[name] = value

    def optional(value: str) -> Decimal | None:
        return None if value == "-" else Decimal(value)

    try:
        fields = SignedFields(
            meter_id=values["meter_id"],
            timestamp=int(values["timestamp"]),
            energy_generated_kwh=Decimal(values["energy_generated_kwh"]),
            energy_consumed_kwh=Decimal(values["energy_consumed_kwh"]),
            solar_irradiance=optional(values["solar_irradiance"]),
            temperature=optional(values["temperature"]),
            metadata=None if values["metadata"] == "-" else json.loads(values["metadata"]),
        )
    except (ArithmeticError, ValueError) as exc:
        raise EncodingError(f"a value is malformed: {exc}") from None
    if canonical_bytes(fields) != data:
        raise EncodingError("the encoding is not canonical")
    return fields


def decode_base64(text: str, length: int, what: str) -> bytes:
    """Strict standard base64 of exactly ``length`` bytes; EncodingError otherwise."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise EncodingError(f"{what} is not standard base64") from None
    if len(raw) != length:
        raise EncodingError(f"{what} holds {len(raw)} bytes, not {length}")
    return raw


def public_key_from_text(text: str) -> Ed25519PublicKey:
    """An Ed25519 public key from the base64 of its 32 raw bytes."""
    raw = decode_base64(text.strip(), PUBLIC_KEY_BYTES, "the public key")
    return Ed25519PublicKey.from_public_bytes(raw)


def public_key_text(key: Ed25519PublicKey) -> str:
    """The base64 of a public key's 32 raw bytes (what :func:`public_key_from_text` reads)."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return base64.b64encode(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode("ascii")


def sign(key: Ed25519PrivateKey, fields: SignedFields) -> str:
    """The base64 signature of ``fields`` by ``key``."""
    return base64.b64encode(key.sign(canonical_bytes(fields))).decode("ascii")


def verifies(key: Ed25519PublicKey, fields: SignedFields, signature: bytes) -> bool:
    """Whether ``signature`` (64 raw bytes) is ``key``'s over ``fields``."""
    try:
        key.verify(signature, canonical_bytes(fields))
    except InvalidSignature:
        return False
    return True
