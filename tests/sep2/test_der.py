"""The DER function sets: every document round-trips through the codec and is valid against
the official XSD, whatever the values within the XSD's ranges; values outside them are
refused; sep2.der.scaled fits amounts into 16-bit values."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from sep2 import (
    ActivePower,
    Codec,
    ConnectStatusValue,
    DerCapability,
    DerControlModes,
    DerList,
    DerStatus,
    ManufacturerStatusValue,
    Sep2EncodeError,
    Sep2Object,
    Sep2ParseError,
    scaled,
)
from tests.sep2.conftest import assert_valid
from tests.sep2.strategies import der_documents, der_lists


def _as_written(resource: Sep2Object) -> Sep2Object:
    if isinstance(resource, DerList):
        count = len(resource.items)
        changes = {k: count for k in ("all", "results") if getattr(resource, k) is None}
        return dataclasses.replace(resource, **changes)  # type: ignore[arg-type]
    return resource


@settings(max_examples=150, deadline=None)
@given(der_documents)
def test_any_der_document_is_valid_and_round_trips(
    codec: Codec, xsd_validator: etree.XMLSchema, resource: Sep2Object
) -> None:
    data = codec.serialise(resource)
    assert_valid(xsd_validator, data)
    assert codec.parse(data) == _as_written(resource)
    assert codec.serialise(codec.parse(data)) == data


@settings(max_examples=30, deadline=None)
@given(der_lists)
def test_a_der_list_parses_as_the_type_asked_for(codec: Codec, der_list: DerList) -> None:
    data = codec.serialise(der_list)
    assert isinstance(codec.parse(data, DerList), DerList)
    with pytest.raises(Sep2ParseError, match="expected DERCapability"):
        codec.parse(data, DerCapability)


@pytest.mark.parametrize(
    ("resource", "path"),
    [
        (
            DerStatus(
                reading_time=0,
                manufacturer_status=ManufacturerStatusValue(date_time=0, value="1234567"),
            ),
            "DERStatus/manufacturerStatus/value",
        ),
        (
            DerStatus(
                reading_time=0, gen_connect_status=ConnectStatusValue(date_time=0, value=0x100)
            ),
            "DERStatus/genConnectStatus/value",
        ),
        (
            DerCapability(
                modes_supported=0, rtg_max_w=ActivePower(multiplier=0, value=2**15), type=4
            ),
            "DERCapability/rtgMaxW/value",
        ),
        (
            DerCapability(
                modes_supported=1 << 32, rtg_max_w=ActivePower(multiplier=0, value=1), type=4
            ),
            "DERCapability/modesSupported",
        ),
    ],
)
def test_values_outside_the_xsd_are_refused(codec: Codec, resource: Sep2Object, path: str) -> None:
    with pytest.raises(Sep2EncodeError) as caught:
        codec.serialise(resource)
    assert caught.value.path == path, str(caught.value)


def test_a_capability_without_its_rating_is_refused_on_input(codec: Codec) -> None:
    good = codec.serialise(
        DerCapability(modes_supported=3, rtg_max_w=ActivePower(multiplier=0, value=5), type=80)
    )
    bad = etree.fromstring(good)
    rating = bad.find("{*}rtgMaxW")
    assert rating is not None
    bad.remove(rating)
    with pytest.raises(Sep2ParseError):
        codec.parse(etree.tostring(bad), DerCapability)


def test_connect_status_is_a_full_width_hex_byte(codec: Codec) -> None:
    status = DerStatus(reading_time=5, stor_connect_status=ConnectStatusValue(date_time=5, value=7))
    assert b"<value>07</value>" in codec.serialise(status)


def test_control_modes_are_the_xsds_27_bits() -> None:
    bits = [m.value for m in DerControlModes]
    assert bits == [1 << n for n in range(27)]


@given(st.floats(0, 65_535e9, allow_nan=False))
def test_scaled_unsigned_fits_and_is_close(amount: float) -> None:
    value, multiplier = scaled(amount)
    assert 0 <= value <= 0xFFFF and 0 <= multiplier <= 9
    assert abs(value * 10**multiplier - amount) <= 10**multiplier / 2 + 1e-6 * amount
    if multiplier > 0:  # the smallest power that fits: one less would not
        assert round(amount / 10 ** (multiplier - 1)) > 0xFFFF


@given(st.floats(-32_767e9, 32_767e9, allow_nan=False))
def test_scaled_signed_fits(amount: float) -> None:
    value, multiplier = scaled(amount, signed=True)
    assert -(2**15) <= value < 2**15
    assert abs(value * 10**multiplier - amount) <= 10**multiplier / 2 + 1e-6 * abs(amount)


def test_scaled_refuses_what_cannot_be_said() -> None:
    with pytest.raises(ValueError, match="negative"):
        scaled(-1.0)
    with pytest.raises(ValueError, match="exceeds"):
        scaled(1e15)
    assert scaled(6_600) == (6_600, 0)
    assert scaled(250_000) == (25_000, 1)
