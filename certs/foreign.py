"""Certificates the gateway must refuse: for tests and fault injection.

A *foreign* PKI is a complete, well-formed 2030.5 PKI (same layout, same profile) under a
different SERCA, which the gateway does not trust: its devices fail the handshake at the
gateway and its server fails the handshake at our meters. A *self-signed* device has a
device-profile certificate signed by its own key, chaining to nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding

from certs import pemfile
from certs.bulk import CERT_FILE, CHAIN_FILE, KEY_FILE
from certs.issue import issue_self_signed_device, new_key
from certs.pki import DEFAULT_HOST_NAMES, DeviceIdentity, InitReport, check_serial, init_pki
from sep2.identity import lfdi_from_der, sfdi_from_lfdi

FOREIGN_ORGANISATION = "foreign test utility"


def foreign_pki(
    directory: Path,
    serials: Sequence[str] = ("GM-FOREIGN-01",),
    *,
    hw_type: str,
    host_names: Sequence[str] = DEFAULT_HOST_NAMES,
    at: datetime | None = None,
) -> InitReport:
    """A separate PKI in ``directory`` (its own SERCA), with devices and a server."""
    return init_pki(
        directory,
        serials,
        hw_type=hw_type,
        host_names=host_names,
        organisation=FOREIGN_ORGANISATION,
        at=at,
    )


def self_signed_device(
    directory: Path, serial: str, *, hw_type: str, at: datetime | None = None
) -> DeviceIdentity:
    """A self-signed device certificate and key in ``directory`` (chain.pem = cert.pem)."""
    check_serial(serial)
    directory.mkdir(parents=True, exist_ok=True)
    key = new_key()
    cert = issue_self_signed_device(key, serial=serial, hw_type=hw_type, at=at or datetime.now(UTC))
    pem = pemfile.cert_pem(cert)
    pemfile.write_private(directory / KEY_FILE, pemfile.key_pem(key))
    pemfile.write_public(directory / CERT_FILE, pem)
    pemfile.write_public(directory / CHAIN_FILE, pem)
    lfdi = lfdi_from_der(cert.public_bytes(Encoding.DER))
    return DeviceIdentity(
        serial,
        lfdi,
        sfdi_from_lfdi(lfdi),
        directory / CERT_FILE,
        directory / KEY_FILE,
        directory / CHAIN_FILE,
    )
