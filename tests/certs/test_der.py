from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import given
from hypothesis import strategies as st

from certs import der
from certs.hwname import HardwareModuleName, hardware_module_names
from certs.pki import Pki
from tests.certs.seeding import device, hw_name

arc = st.integers(min_value=0, max_value=2**64)
oids = st.one_of(
    st.tuples(st.integers(0, 1), st.integers(0, 39), st.lists(arc, max_size=8)),
    st.tuples(st.just(2), arc, st.lists(arc, max_size=8)),
).map(lambda t: ".".join(str(a) for a in [t[0], t[1], *t[2]]))


@pytest.mark.parametrize(
    ("dotted", "encoded"),
    [
        ("1.3.6.1.5.5.7.8.4", "06082b06010505070804"),  # id-on-hardwareModuleName
        ("2.5.29.32.0", "0604551d2000"),  # anyPolicy
        ("2.999.3", "0603883703"),  # X.690 §8.19.5 example
        ("1.3.6.1.4.1.40732.1.1", "060a2b0601040182be1c0101"),  # openssl asn1parse -genstr
    ],
)
def test_known_oid_encodings(dotted: str, encoded: str) -> None:
    assert der.encode_oid(dotted).hex() == encoded
    t = der.read_tlv(bytes.fromhex(encoded))
    assert der.decode_oid(t.content(bytes.fromhex(encoded))) == dotted


@given(oids)
def test_oid_round_trip(dotted: str) -> None:
    data = der.encode_oid(dotted)
    t = der.read_tlv(data)
    assert t.end == len(data)
    assert der.decode_oid(t.content(data)) == dotted


@given(oids)
def test_oid_encoding_matches_cryptography(dotted: str) -> None:
    # cryptography (Rust asn1) writes the OID inside an otherName; ours must be identical.
    other = x509.OtherName(x509.ObjectIdentifier(dotted), b"\x05\x00")
    cert = device(None, san=[hw_name(), other])
    assert der.encode_oid(dotted) in cert.public_bytes(Encoding.DER)


@given(oids, st.binary(max_size=300))
def test_hardware_module_name_round_trip(hw_type: str, serial: bytes) -> None:
    name = HardwareModuleName(hw_type, serial)
    assert HardwareModuleName.from_der(name.to_der()) == name


@pytest.mark.parametrize(
    ("length", "octets"), [(0, "00"), (127, "7f"), (128, "8180"), (300, "82012c")]
)
def test_length_octets(length: int, octets: str) -> None:
    assert der.encode_length(length).hex() == octets


@pytest.mark.parametrize(
    ("data", "why"),
    [
        ("3080" + "0500" + "0000", "indefinite"),
        ("30810100", "minimally"),
        ("300500", "past"),
        ("1f0100", "high tag"),
        ("30", "truncated"),
    ],
)
def test_non_der_is_refused(data: str, why: str) -> None:
    with pytest.raises(der.DerError, match=why):
        der.read_tlv(bytes.fromhex(data))


def test_oid_with_padded_arc_is_refused() -> None:
    with pytest.raises(der.DerError):
        der.decode_oid(bytes.fromhex("2b8006"))


@pytest.mark.parametrize(
    "bad",
    [
        b"\x30\x03\x06\x01\x2b",  # no hwSerialNum
        b"\x30\x05\x04\x01A\x06\x00",  # wrong order
        HardwareModuleName("1.2.3", b"x").to_der() + b"\x00",  # trailing byte
    ],
)
def test_malformed_hardware_module_name_is_refused(bad: bytes) -> None:
    with pytest.raises(der.DerError):
        HardwareModuleName.from_der(bad)


def test_openssl_reads_our_hardware_module_name(pki: Pki, openssl: str) -> None:
    # An independent decoder: OpenSSL's asn1parse of the SAN extension of a real device.
    cert_path: Path = pki.device("GM-SYN-00002").cert
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    out = subprocess.run(
        [openssl, "asn1parse", "-inform", "DER"],
        input=san.value.public_bytes(),
        capture_output=True,
        check=True,
    ).stdout.decode()
    assert "OBJECT            :1.3.6.1.5.5.7.8.4" in out
    assert "OBJECT            :1.3.6.1.4.1.32473.1" in out
    assert "OCTET STRING      :GM-SYN-00002" in out
    assert hardware_module_names(cert) == [
        HardwareModuleName("1.3.6.1.4.1.32473.1", b"GM-SYN-00002")
    ]


def test_validity_times_report_the_encoding(pki: Pki) -> None:
    cert = x509.load_pem_x509_certificate(pki.device("GM-SYN-00001").cert.read_bytes())
    times = der.validity_times(cert.public_bytes(Encoding.DER))
    assert times.not_after_tag == der.GENERALIZED_TIME
    assert times.not_after == "99991231235959Z"
    assert times.not_before_tag == der.UTC_TIME
    short = device(None, not_after=datetime(2030, 1, 1, tzinfo=UTC))
    times = der.validity_times(short.public_bytes(Encoding.DER))
    assert (times.not_after_tag, times.not_after) == (der.UTC_TIME, "300101000000Z")
