"""The little DER (X.690) the 2030.5 certificate profile needs beyond ``cryptography``.

``cryptography`` builds and parses certificates, but two things it leaves to us: the
value of an otherName (we encode HardwareModuleName ourselves) and the ASN.1 type of a
validity time (the profile demands GeneralizedTime for ``notAfter``; ``cryptography``
only gives the datetime). This module encodes and reads exactly those few types,
strictly: definite, minimal lengths and low tag numbers only.
"""

from __future__ import annotations

from dataclasses import dataclass

SEQUENCE = 0x30
OBJECT_IDENTIFIER = 0x06
OCTET_STRING = 0x04
INTEGER = 0x02
UTC_TIME = 0x17
GENERALIZED_TIME = 0x18
CONTEXT_0 = 0xA0  # [0] constructed, e.g. the version of a TBSCertificate


class DerError(ValueError):
    """Bytes that are not the DER this module expects."""


@dataclass(frozen=True)
class Tlv:
    """One DER element found in a buffer: its tag and where its content lies."""

    tag: int
    start: int  # first byte of the content
    end: int  # one past the last byte of the content

    def content(self, data: bytes) -> bytes:
        """The content octets of this element in ``data``."""
        return data[self.start : self.end]


def encode_length(length: int) -> bytes:
    """The DER length octets for a content of ``length`` bytes."""
    if length < 0:
        raise DerError("negative length")
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def tlv(tag: int, content: bytes) -> bytes:
    """One DER element: tag, length, content."""
    return bytes([tag]) + encode_length(len(content)) + content


def encode_oid(dotted: str) -> bytes:
    """An OBJECT IDENTIFIER element from its dotted form (``1.3.6.1.5.5.7.8.4``)."""
    try:
        arcs = [int(part) for part in dotted.split(".")]
    except ValueError:
        raise DerError(f"not an OID: {dotted!r}") from None
    if len(arcs) < 2 or arcs[0] > 2 or (arcs[0] < 2 and arcs[1] >= 40) or min(arcs) < 0:
        raise DerError(f"not an OID: {dotted!r}")
    body = bytearray()
    for arc in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body.extend(reversed(chunk))
    return tlv(OBJECT_IDENTIFIER, bytes(body))


def decode_oid(content: bytes) -> str:
    """The dotted form of the content octets of an OBJECT IDENTIFIER."""
    if not content or content[-1] & 0x80:
        raise DerError("truncated OID")
    arcs: list[int] = []
    value = 0
    fresh = True
    for byte in content:
        if fresh and byte == 0x80:
            raise DerError("OID arc with a leading zero octet is not DER")
        value = (value << 7) | (byte & 0x7F)
        fresh = not byte & 0x80
        if fresh:
            arcs.append(value)
            value = 0
    first = min(arcs[0] // 40, 2)
    return ".".join(str(a) for a in [first, arcs[0] - 40 * first, *arcs[1:]])


def read_tlv(data: bytes, pos: int = 0, end: int | None = None) -> Tlv:
    """Read the element starting at ``pos``, which must end by ``end`` (default: len(data))."""
    limit = len(data) if end is None else end
    if pos + 2 > limit:
        raise DerError("truncated element")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise DerError("high tag numbers are not used in this profile")
    first = data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0:
            raise DerError("indefinite length is not DER")
        if count > 4 or pos + count > limit:
            raise DerError("bad length")
        length = int.from_bytes(data[pos : pos + count], "big")
        if length < 0x80 or data[pos] == 0:
            raise DerError("length is not minimally encoded")
        pos += count
    if pos + length > limit:
        raise DerError("element runs past its container")
    return Tlv(tag, pos, pos + length)


def read_children(data: bytes, parent: Tlv) -> list[Tlv]:
    """The elements inside a constructed element, in order."""
    children: list[Tlv] = []
    pos = parent.start
    while pos < parent.end:
        child = read_tlv(data, pos, parent.end)
        children.append(child)
        pos = child.end
    return children


def expect(tlv_: Tlv, tag: int, what: str) -> Tlv:
    """Return ``tlv_`` if it has ``tag``, else raise a DerError naming ``what``."""
    if tlv_.tag != tag:
        raise DerError(f"{what}: expected tag 0x{tag:02x}, found 0x{tlv_.tag:02x}")
    return tlv_


@dataclass(frozen=True)
class ValidityTimes:
    """The ASN.1 tags and text of a certificate's notBefore and notAfter."""

    not_before_tag: int
    not_before: str
    not_after_tag: int
    not_after: str


def validity_times(cert_der: bytes) -> ValidityTimes:
    """Find the validity of a DER certificate and report how its times are encoded."""
    cert = expect(read_tlv(cert_der), SEQUENCE, "Certificate")
    if cert.end != len(cert_der):
        raise DerError("trailing bytes after the certificate")
    tbs = expect(read_children(cert_der, cert)[0], SEQUENCE, "TBSCertificate")
    fields = read_children(cert_der, tbs)
    # version [0] is optional; after it come serialNumber, signature, issuer, validity.
    index = 4 if fields and fields[0].tag == CONTEXT_0 else 3
    if len(fields) <= index:
        raise DerError("TBSCertificate has no validity")
    validity = expect(fields[index], SEQUENCE, "Validity")
    times = read_children(cert_der, validity)
    if len(times) != 2:
        raise DerError("Validity must hold exactly two times")
    before, after = times
    return ValidityTimes(
        before.tag,
        before.content(cert_der).decode("ascii", "replace"),
        after.tag,
        after.content(cert_der).decode("ascii", "replace"),
    )
