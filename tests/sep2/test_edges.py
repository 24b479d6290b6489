"""Property tests at the edges of the XSD's primitive types, and of whole resources."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from lxml import etree

from sep2 import (
    Codec,
    EndDevice,
    MirrorMeterReading,
    Reading,
    ReasonCode,
    Sep2EncodeError,
    Sep2Object,
    Sep2ParseError,
)
from sep2.primitives import INT48_MAX, INT48_MIN, UINT40_MAX, UINT48_MAX
from tests.sep2 import strategies as s
from tests.sep2.conftest import assert_valid

NS = 'xmlns="urn:ieee:std:2030.5:ns"'


def _reading_doc(value_text: str) -> bytes:
    return f"<Reading {NS}><value>{value_text}</value></Reading>".encode()


def _mup_doc(role_flags: str = "03", mrid: str = "01") -> bytes:
    return (
        f"<MirrorUsagePoint {NS}><mRID>{mrid}</mRID><roleFlags>{role_flags}</roleFlags>"
        "<serviceCategoryKind>0</serviceCategoryKind><status>1</status>"
        "<deviceLFDI>00</deviceLFDI></MirrorUsagePoint>"
    ).encode()


def _edev_doc(sfdi: int) -> bytes:
    return f"<EndDevice {NS}><sFDI>{sfdi}</sFDI><changedTime>0</changedTime></EndDevice>".encode()


# --- Whole resources ------------------------------------------------------------------------


@given(
    st.one_of(
        s.mirror_usage_points,
        s.mirror_meter_reading_lists,
        s.mirror_meter_readings,
        s.reading_types,
        s.end_devices,
        s.times,
    )
)
def test_any_resource_round_trips_and_validates(
    codec: Codec, xsd_validator: etree.XMLSchema, resource: Sep2Object
) -> None:
    data = codec.serialise(resource)
    assert_valid(xsd_validator, data)
    back = codec.parse(data)
    if isinstance(resource, s.MirrorMeterReadingList):
        n = len(resource.items)
        assert back.all == (n if resource.all is None else resource.all)  # type: ignore[attr-defined]
        assert back.items == resource.items  # type: ignore[attr-defined]
    else:
        assert back == resource


# --- Int48: Reading.value -------------------------------------------------------------------


@given(s.int48)
@example(INT48_MIN)
@example(INT48_MAX)
@example(0)
def test_int48_in_range_round_trips(codec: Codec, value: int) -> None:
    assert codec.parse(codec.serialise(Reading(value=value))) == Reading(value=value)
    assert codec.parse(_reading_doc(str(value))) == Reading(value=value)


@given(st.integers(INT48_MAX + 1, 2**63 - 1) | st.integers(-(2**63), INT48_MIN - 1))
@example(INT48_MAX + 1)
@example(INT48_MIN - 1)
def test_int48_out_of_range_is_refused_both_ways(codec: Codec, value: int) -> None:
    with pytest.raises(Sep2ParseError) as caught:
        codec.parse(_reading_doc(str(value)))
    assert caught.value.element == "value"
    assert caught.value.path == "Reading/value"
    assert caught.value.reason_code == ReasonCode.INVALID_REQUEST_VALUES
    with pytest.raises(Sep2EncodeError, match="Reading/value"):
        codec.serialise(Reading(value=value))


# --- UInt40: EndDevice.sFDI -------------------------------------------------------------------


@given(s.uint40)
@example(0)
@example(UINT40_MAX)
def test_uint40_in_range_round_trips(codec: Codec, sfdi: int) -> None:
    device = EndDevice(sfdi=sfdi, changed_time=0)
    assert codec.parse(codec.serialise(device)) == device
    assert codec.parse(_edev_doc(sfdi)) == device


@given(st.integers(UINT40_MAX + 1, UINT48_MAX))
@example(UINT40_MAX + 1)
@example(UINT48_MAX)
def test_uint40_above_range_is_refused_though_the_xsd_allows_it(codec: Codec, sfdi: int) -> None:
    with pytest.raises(Sep2ParseError) as caught:
        codec.parse(_edev_doc(sfdi))
    assert caught.value.element == "sFDI"
    assert caught.value.path == "EndDevice/sFDI"
    assert caught.value.reason_code == ReasonCode.INVALID_REQUEST_VALUES
    with pytest.raises(Sep2EncodeError, match="EndDevice/sFDI"):
        codec.serialise(EndDevice(sfdi=sfdi, changed_time=0))


def test_uint40_beyond_the_xsd_bound_is_refused_by_the_xsd(codec: Codec) -> None:
    with pytest.raises(Sep2ParseError, match="EndDevice/sFDI") as caught:
        codec.parse(_edev_doc(UINT48_MAX + 1))
    assert caught.value.element == "sFDI"


# --- HexBinary16: roleFlags, qualityFlags, localID ------------------------------------------


@given(s.hex16, st.integers(1, 4), st.booleans())
@example(0, 1, False)
@example(0xFFFF, 4, True)
def test_hexbinary16_any_width_up_to_four_digits_is_read_as_hex(
    codec: Codec, value: int, width: int, lower: bool
) -> None:
    width = max(width, len(f"{value:X}"))
    text = f"{value:0{width}X}"
    text = text.lower() if lower else text
    parsed = codec.parse_document(_mup_doc(role_flags=text))
    assert parsed.resource.role_flags == value  # type: ignore[attr-defined]
    # Only odd widths needed the tolerated repair.
    assert bool(parsed.deviations) == (width % 2 == 1)
    assert "0" * (4 - len(f"{value:X}")) + f"{value:X}" in codec.serialise(parsed.resource).decode()


@given(st.integers(0, 0xFFFF), st.integers(5, 8))
def test_hexbinary16_wider_than_four_digits_is_refused(
    codec: Codec, value: int, width: int
) -> None:
    with pytest.raises(Sep2ParseError) as caught:
        codec.parse(_mup_doc(role_flags=f"{value:0{width}X}"))
    assert caught.value.element == "roleFlags"
    assert caught.value.path == "MirrorUsagePoint/roleFlags"


@given(st.integers(0x10000, 2**32))
def test_hexbinary16_out_of_range_is_refused_on_output(codec: Codec, value: int) -> None:
    with pytest.raises(Sep2EncodeError, match="Reading/qualityFlags"):
        codec.serialise(Reading(quality_flags=value))


# --- HexBinary128: mRID ---------------------------------------------------------------------


@given(st.binary(min_size=1, max_size=16), st.booleans())
@example(b"\x00", False)
@example(b"\xff" * 16, True)
def test_hexbinary128_mrid_keeps_its_digits(codec: Codec, raw: bytes, lower: bool) -> None:
    text = raw.hex() if lower else raw.hex().upper()
    parsed = codec.parse(_mup_doc(mrid=text))
    assert parsed.mrid == raw.hex().upper()  # type: ignore[attr-defined]
    mmr = MirrorMeterReading(mrid=text)
    assert codec.parse(codec.serialise(mmr)).mrid == raw.hex().upper()  # type: ignore[attr-defined]


@given(st.binary(min_size=17, max_size=24))
def test_hexbinary128_longer_than_16_bytes_is_refused(codec: Codec, raw: bytes) -> None:
    with pytest.raises(Sep2ParseError) as caught:
        codec.parse(_mup_doc(mrid=raw.hex()))
    assert caught.value.element == "mRID"
    with pytest.raises(Sep2EncodeError, match="mRID"):
        codec.serialise(MirrorMeterReading(mrid=raw.hex()))


@given(st.binary(min_size=0, max_size=15), st.sampled_from("0123456789abcdef"))
def test_hexbinary128_odd_digit_count_is_refused(codec: Codec, raw: bytes, extra: str) -> None:
    with pytest.raises(Sep2ParseError) as caught:
        codec.parse(_mup_doc(mrid=raw.hex() + extra))
    assert caught.value.element == "mRID"


def test_empty_mrid_is_refused_though_hexbinary_allows_it(codec: Codec) -> None:
    with pytest.raises(Sep2ParseError, match="must not be empty") as caught:
        codec.parse(_mup_doc(mrid=""))
    assert caught.value.path == "MirrorUsagePoint/mRID"
