"""The canonical encoding of signed readings: stable, reversible, and every field signed."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.api.signatures import (
    EncodingError,
    SignedFields,
    canonical_bytes,
    canonical_decimal,
    canonical_json,
    decode_base64,
    parse_canonical,
    sign,
    verifies,
)

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))

decimals = st.decimals(
    min_value=Decimal("-1000000"), max_value=Decimal("1000000"), places=6, allow_nan=False
)
kwh = st.decimals(min_value=0, max_value=Decimal("1000000"), places=6, allow_nan=False)
json_scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.text(max_size=12)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
metadata = st.none() | st.dictionaries(st.text(max_size=10), json_values, max_size=5)
lfdis = st.text("0123456789ABCDEF", min_size=40, max_size=40)

fields_strategy = st.builds(
    SignedFields,
    meter_id=lfdis,
    timestamp=st.integers(1, 2**40),
    energy_generated_kwh=kwh,
    energy_consumed_kwh=kwh,
    solar_irradiance=st.none() | decimals,
    temperature=st.none() | decimals,
    metadata=metadata,
)


def _same(a: SignedFields, b: SignedFields) -> bool:
    return canonical_bytes(a) == canonical_bytes(b)


@given(fields_strategy)
def test_round_trip(fields: SignedFields) -> None:
    back = parse_canonical(canonical_bytes(fields))
    assert back.meter_id == fields.meter_id and back.timestamp == fields.timestamp
    assert back.energy_generated_kwh == fields.energy_generated_kwh
    assert back.energy_consumed_kwh == fields.energy_consumed_kwh
    assert back.solar_irradiance == fields.solar_irradiance
    assert back.temperature == fields.temperature
    assert back.metadata == fields.metadata


@given(decimals)
def test_decimal_text_is_canonical(value: Decimal) -> None:
    text = canonical_decimal(value)
    assert Decimal(text) == value
    assert canonical_decimal(Decimal(text)) == text
    # The same number spelt differently encodes the same.
    assert canonical_decimal(Decimal(str(value) + "000" if "." in str(value) else value)) == text
    assert "e" not in text.lower() and not text.startswith("+") and text != "-0"
    if "." in text:
        assert not text.endswith("0")


@given(st.dictionaries(st.text(max_size=6), json_values, max_size=6), st.randoms())
def test_metadata_text_does_not_depend_on_key_order(meta: dict[str, Any], rng: Any) -> None:
    items = list(meta.items())
    rng.shuffle(items)
    assert canonical_json(dict(items)) == canonical_json(meta)


def _altered(fields: SignedFields, which: str, data: st.DataObject) -> SignedFields:
    if which == "meter_id":
        return replace(fields, meter_id=data.draw(lfdis.filter(lambda x: x != fields.meter_id)))
    if which == "timestamp":
        return replace(fields, timestamp=fields.timestamp + data.draw(st.integers(1, 10**6)))
    if which in ("energy_generated_kwh", "energy_consumed_kwh"):
        old = getattr(fields, which)
        delta = data.draw(st.sampled_from([Decimal("0.000001"), Decimal(1), Decimal(1000)]))
        return replace(fields, **{which: old + delta if old < 999_000 else old - delta})
    if which in ("solar_irradiance", "temperature"):
        old = getattr(fields, which)
        new = Decimal("0.5") if old is None else (None if data.draw(st.booleans()) else old + 1)
        return replace(fields, **{which: new})
    meta = dict(fields.metadata or {})
    meta["x-altered"] = data.draw(json_scalars)
    return replace(fields, metadata=meta)


@settings(max_examples=200)
@given(
    fields_strategy,
    st.sampled_from(
        [
            "meter_id", "timestamp", "energy_generated_kwh", "energy_consumed_kwh",
            "solar_irradiance", "temperature", "metadata",
        ]
    ),
    st.data(),
)  # fmt: skip
def test_any_altered_field_breaks_the_signature(
    fields: SignedFields, which: str, data: st.DataObject
) -> None:
    signature = decode_base64(sign(KEY, fields), 64, "signature")
    assert verifies(KEY.public_key(), fields, signature)
    altered = _altered(fields, which, data)
    assert not _same(altered, fields)
    assert not verifies(KEY.public_key(), altered, signature)


def test_worked_example_of_the_docs() -> None:
    """The example in docs/rest-api.md, byte for byte."""
    fields = SignedFields(
        meter_id="3E4F45AB31EDFE5B67E343E5E4562E3100000000",
        timestamp=1767225600,
        energy_generated_kwh=Decimal("1.250"),
        energy_consumed_kwh=Decimal("0.4"),
        solar_irradiance=None,
        temperature=Decimal("31.50"),
        metadata={"location": "Building A", "device_type": "smart_meter", "floor": 3},
    )
    assert canonical_bytes(fields) == (
        b"gridmirror-reading-v1\n"
        b"meter_id:3E4F45AB31EDFE5B67E343E5E4562E3100000000\n"
        b"timestamp:1767225600\n"
        b"energy_generated_kwh:1.25\n"
        b"energy_consumed_kwh:0.4\n"
        b"solar_irradiance:-\n"
        b"temperature:31.5\n"
        b'metadata:{"device_type":"smart_meter","floor":3,"location":"Building A"}\n'
    )
    # Ed25519 is deterministic: this key always gives this signature.
    assert sign(KEY, fields) == EXAMPLE_SIGNATURE


EXAMPLE_SIGNATURE = (
    "LvV08q/nBWGzwhNwQ7VrCzoAXQs09l3TvBhQpT9x8aT2olcDpWg46IU/glmK/0/EE8CzLXs/Y2hyZBRF9fV9Bg=="
)


@pytest.mark.parametrize("meta", [{"x": 1.5}, {"x": [1, 2.0]}, {"x": {"y": float("nan")}}])
def test_fractions_in_metadata_have_no_canonical_form(meta: dict[str, Any]) -> None:
    with pytest.raises(EncodingError):
        canonical_json(meta)


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity")])
def test_non_finite_numbers_are_refused(value: Decimal) -> None:
    with pytest.raises(EncodingError):
        canonical_decimal(value)


def test_zero_is_plain() -> None:
    assert canonical_decimal(Decimal("-0.000")) == "0"
    assert canonical_decimal(Decimal("1E+3")) == "1000"
    assert canonical_decimal(Decimal("0.10")) == "0.1"
