from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sep2 import (
    Codec,
    MirrorUsagePoint,
    Mrid,
    Sep2Settings,
    mrid_for,
    normalise_mrid,
    parse_mrid,
    pen_digits,
)
from sep2.settings import DOCUMENTATION_PEN

names = st.lists(st.text(max_size=20), min_size=1, max_size=4)
pens = st.integers(0, 2**32 - 1)


@given(pens, names)
def test_mrid_is_128_bits_with_the_pen_in_the_low_32(pen: int, parts: list[str]) -> None:
    mrid = mrid_for(pen, *parts)
    assert len(mrid) == 32 and mrid == mrid.upper()
    assert int(mrid, 16) & 0xFFFFFFFF == pen
    assert mrid.endswith(f"{pen:08X}")
    assert parse_mrid(mrid).pen == pen
    assert parse_mrid(mrid).issued_by(pen)
    assert not parse_mrid(mrid).is_placeholder


@given(st.integers(0, 99_999_999), names)
def test_the_decimal_form_differs_only_in_the_pen_digits(pen: int, parts: list[str]) -> None:
    hex_form = mrid_for(pen, *parts)
    decimal = mrid_for(pen, *parts, pen_format="decimal")
    assert decimal[:24] == hex_form[:24] and decimal[24:] == f"{pen:08d}"
    assert parse_mrid(decimal).decimal_pen == pen and parse_mrid(decimal).issued_by(pen)
    assert pen_digits(pen, "decimal") == decimal[24:] and pen_digits(pen) == hex_form[24:]


def test_a_decimal_pen_needs_at_most_8_digits() -> None:
    assert mrid_for(99_999_999, "x", pen_format="decimal").endswith("99999999")
    with pytest.raises(ValueError, match="more than 8 decimal digits"):
        mrid_for(100_000_000, "x", pen_format="decimal")
    with pytest.raises(ValueError, match="unknown PEN format"):
        pen_digits(1, "octal")  # type: ignore[arg-type]
    assert Sep2Settings(mrid_pen_format="decimal").pen == DOCUMENTATION_PEN  # the default fits
    with pytest.raises(ValueError, match="at most 8 digits"):
        Sep2Settings(pen=100_000_000, mrid_pen_format="decimal")
    assert Sep2Settings().mrid_pen_format == "hex"


@given(pens, names)
def test_mrid_is_deterministic(pen: int, parts: list[str]) -> None:
    assert mrid_for(pen, *parts) == mrid_for(pen, *parts)


def test_mrid_depends_on_every_name_and_on_how_they_are_split() -> None:
    pen = DOCUMENTATION_PEN
    base = mrid_for(pen, "meter-1", "import")
    assert mrid_for(pen, "meter-1", "export") != base
    assert mrid_for(pen, "meter-2", "import") != base
    assert mrid_for(pen, "meter-1import") != base
    assert mrid_for(pen, "meter-", "1import") != base
    assert mrid_for(pen + 1, "meter-1", "import")[:24] == base[:24]


def test_the_format_is_sha256_of_length_prefixed_names() -> None:
    # If this changes, every meter's MirrorUsagePoint gets a new mRID: a duplicate mirror.
    lfdi = "3E4F45AB31EDFE5B67E343E5E4562E31984E23E5"
    framed = len(lfdi).to_bytes(4, "big") + lfdi.encode() + (3).to_bytes(4, "big") + b"mup"
    expected = hashlib.sha256(framed).digest()[:12].hex().upper() + "00007ED9"
    assert mrid_for(32473, lfdi, "mup") == expected


def test_the_reserved_placeholder_is_recognised_and_never_generated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    placeholder = parse_mrid("F" * 24 + "00007ED9")
    assert placeholder.is_placeholder
    import sep2.mrid as module

    class AllOnes:
        def update(self, data: bytes) -> None:
            pass

        def digest(self) -> bytes:
            return b"\xff" * 32

    monkeypatch.setattr(module.hashlib, "sha256", AllOnes)
    assert not parse_mrid(mrid_for(32473, "x")).is_placeholder


def test_decimal_pen_variant() -> None:
    # cactus-client writes PEN 32473 as "00032473"; the standard's form is "00007ED9".
    deviant = parse_mrid("ABCDEF0123456789ABCDEF0100032473")
    assert deviant.decimal_pen == 32473
    assert deviant.pen == 0x00032473
    assert deviant.issued_by(32473)
    assert not deviant.issued_by(0x7ED9 + 1)
    standard = parse_mrid("ABCDEF0123456789ABCDEF0100007ED9")
    assert standard.decimal_pen is None  # "00007ED9" is not all digits
    assert standard.issued_by(32473)


@pytest.mark.parametrize("text", ["", "A", "ABC", "G0", "0" * 34, "0x01"])
def test_bad_mrids_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_mrid(text)


def test_normalise_keeps_leading_zeros_and_upper_cases() -> None:
    assert normalise_mrid(" 00ab ") == "00AB"
    assert Mrid("00AB").value == 0xAB


def test_generated_mrids_are_valid_in_documents(codec: Codec) -> None:
    mup = MirrorUsagePoint(
        mrid=mrid_for(DOCUMENTATION_PEN, "meter"),
        role_flags=1,
        service_category_kind=0,
        status=1,
        device_lfdi="00",
    )
    assert codec.parse(codec.serialise(mup)) == mup
