"""HardwareModuleName (RFC 4108 §5): how a 2030.5 device certificate names its device.

A device certificate has an empty subject; its identity beyond the key is one otherName
in the subjectAltName::

    id-on-hardwareModuleName OBJECT IDENTIFIER ::= { id-on 4 }   -- 1.3.6.1.5.5.7.8.4
    HardwareModuleName ::= SEQUENCE { hwType OBJECT IDENTIFIER, hwSerialNum OCTET STRING }

``hwType`` names the kind of hardware (an OID under the manufacturer's arc) and
``hwSerialNum`` its serial number; gridmirror puts the meter's serial string there, in
UTF-8. ``cryptography`` carries an otherName's value as DER bytes we encode ourselves.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509

from certs import der

HARDWARE_MODULE_NAME = x509.ObjectIdentifier("1.3.6.1.5.5.7.8.4")


@dataclass(frozen=True)
class HardwareModuleName:
    """The hwType OID (dotted) and hwSerialNum octets of one hardware module."""

    hw_type: str
    hw_serial_num: bytes

    @property
    def serial(self) -> str:
        """The serial number as text (invalid UTF-8 shown with replacement characters)."""
        return self.hw_serial_num.decode("utf-8", "replace")

    def to_der(self) -> bytes:
        """The DER encoding of the SEQUENCE, as an otherName value."""
        return der.tlv(
            der.SEQUENCE,
            der.encode_oid(self.hw_type) + der.tlv(der.OCTET_STRING, self.hw_serial_num),
        )

    def other_name(self) -> x509.OtherName:
        """This name as the otherName a subjectAltName holds."""
        return x509.OtherName(HARDWARE_MODULE_NAME, self.to_der())

    @classmethod
    def from_der(cls, data: bytes) -> HardwareModuleName:
        """Parse the DER SEQUENCE; raises der.DerError if it is anything else."""
        seq = der.expect(der.read_tlv(data), der.SEQUENCE, "HardwareModuleName")
        if seq.end != len(data):
            raise der.DerError("HardwareModuleName: trailing bytes")
        parts = der.read_children(data, seq)
        if len(parts) != 2:
            raise der.DerError("HardwareModuleName must hold exactly hwType and hwSerialNum")
        hw_type = der.expect(parts[0], der.OBJECT_IDENTIFIER, "hwType")
        serial = der.expect(parts[1], der.OCTET_STRING, "hwSerialNum")
        return cls(der.decode_oid(hw_type.content(data)), serial.content(data))

    @classmethod
    def for_serial(cls, hw_type: str, serial: str) -> HardwareModuleName:
        """The name of the module of type ``hw_type`` with serial string ``serial``."""
        return cls(hw_type, serial.encode("utf-8"))


def hardware_module_names(cert: x509.Certificate) -> list[HardwareModuleName]:
    """Every HardwareModuleName in the certificate's subjectAltName (none if it has none).

    Raises der.DerError if one is present but malformed.
    """
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [
        HardwareModuleName.from_der(name.value)
        for name in san.get_values_for_type(x509.OtherName)
        if name.type_id == HARDWARE_MODULE_NAME
    ]
