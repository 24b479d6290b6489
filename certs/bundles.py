"""PKCS#12 bundles of the meters' identities, for tools that take one file.

``devices/<serial>/device.p12`` holds the device's key, its certificate and the rest of
its chain (MICA, MCA), without a password: like ``key.pem`` beside it, it is protected by
its 0600 mode. Made on request (``certs init --p12``), not while issuing: the bundle's
MAC derivation costs more than issuing the certificate, so bulk issuing stays fast.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from certs import pemfile
from certs.pki import DeviceIdentity

P12_FILE = "device.p12"


def bundle_path(device: DeviceIdentity) -> Path:
    """Where ``device``'s bundle is kept (beside its PEM files)."""
    return device.key.parent / P12_FILE


def bundle_bytes(device: DeviceIdentity) -> bytes:
    """The PKCS#12 bytes of ``device``'s key, certificate and chain, friendly name its
    serial. PemError if its files are unreadable."""
    key = pemfile.load_private_key(device.key)
    chain = pemfile.load_certificates(device.chain)
    return pkcs12.serialize_key_and_certificates(
        device.serial.encode(), key, chain[0], chain[1:], serialization.NoEncryption()
    )


def write_bundles(devices: Iterable[DeviceIdentity]) -> int:
    """Write the bundle of each device that has none yet; how many were written."""
    written = 0
    for device in devices:
        path = bundle_path(device)
        if not path.is_file():
            pemfile.write_private(path, bundle_bytes(device), durable=False)
            written += 1
    return written
