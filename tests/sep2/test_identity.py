from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sep2.identity import (
    IdentityError,
    is_valid_sfdi,
    lfdi_from_der,
    normalise_lfdi,
    sfdi_dns_label,
    sfdi_from_lfdi,
)


def test_standard_example_sfdi() -> None:
    assert sfdi_from_lfdi("3E4F45AB31EDFE5B67E343E5E4562E31984E23E5") == 167261211391


def test_lfdi_is_first_160_bits_of_sha256_of_der() -> None:
    der = b"\x30\x03\x02\x01\x01"
    assert lfdi_from_der(der) == hashlib.sha256(der).hexdigest()[:40].upper()


def test_pem_text_is_refused() -> None:
    with pytest.raises(IdentityError):
        lfdi_from_der(b"-----BEGIN CERTIFICATE-----")


@pytest.mark.parametrize("bad", ["", "3E4F", "G" * 40, "3E4F45AB31EDFE5B67E343E5E4562E31984E23E5A"])
def test_bad_lfdi_is_refused(bad: str) -> None:
    with pytest.raises(IdentityError):
        normalise_lfdi(bad)


@given(st.binary(min_size=20, max_size=20))
def test_sfdi_properties(raw: bytes) -> None:
    lfdi = raw.hex()
    sfdi = sfdi_from_lfdi(lfdi)
    assert is_valid_sfdi(sfdi)
    assert sfdi // 10 == int(lfdi[:9], 16)
    assert sfdi < 2**40  # UInt40 in the XSD
    assert len(sfdi_dns_label(sfdi)) == 12
    # A single wrong digit is caught by the check digit.
    assert not is_valid_sfdi(sfdi + 1 if sfdi % 10 != 9 else sfdi - 1)
