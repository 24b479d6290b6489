"""Certificates and keys as files: PEM encoding, atomic writes, private keys at 0600.

A file appears whole or not at all (written to a temporary name, then renamed), so a
crash never leaves a half-written key or certificate behind for the next run to trust.
Private keys are created with mode 0600 from the first byte: the mode is given to
``open`` and forced with ``fchmod`` (the umask can only narrow it), never fixed up later.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

PRIVATE = 0o600
PUBLIC = 0o644
PRIVATE_DIR = 0o700


class PemError(ValueError):
    """A file or value that is not the certificate or key it should be."""


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    """The unencrypted PKCS#8 PEM of a private key."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def cert_pem(cert: x509.Certificate) -> bytes:
    """The PEM of a certificate."""
    return cert.public_bytes(serialization.Encoding.PEM)


def write_file(path: Path, data: bytes, mode: int, *, durable: bool = True) -> None:
    """Write ``data`` to ``path`` atomically with ``mode``.

    ``durable`` fsyncs before the rename: worth it for CA material, skipped for bulk
    device files where a lost file is simply issued again on the next run.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb", closefd=False) as out:
            out.write(data)
            out.flush()
            if durable:
                os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    os.close(fd)
    os.replace(tmp, path)


def write_private(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write a private key (or other secret) with mode 0600."""
    write_file(path, data, PRIVATE, durable=durable)


def write_public(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write a certificate (or other public data) with mode 0644."""
    write_file(path, data, PUBLIC, durable=durable)


def parse_certificates(data: bytes) -> list[x509.Certificate]:
    """Every certificate in PEM data (in order), or the one certificate of DER data."""
    if b"-----BEGIN" in data and b"-----BEGIN CERTIFICATE-----" not in data:
        label = data.split(b"-----BEGIN ", 1)[1].split(b"-----", 1)[0].decode("ascii", "replace")
        raise PemError(f"holds no certificate (found a PEM {label})")
    try:
        if b"-----BEGIN" in data:
            certs = x509.load_pem_x509_certificates(data)
        else:
            certs = [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        raise PemError(f"not a PEM or DER certificate ({_first_line(exc)})") from None
    return certs


def load_certificates(path: Path) -> list[x509.Certificate]:
    """Every certificate in a PEM file (a chain file holds several), or one DER file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PemError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return parse_certificates(data)
    except PemError as exc:
        raise PemError(f"{path}: {exc}") from None


def load_certificate(path: Path) -> x509.Certificate:
    """The first certificate of a PEM or DER file."""
    return load_certificates(path)[0]


def load_private_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """An unencrypted EC private key from a PEM file."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise PemError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (ValueError, TypeError) as exc:
        raise PemError(f"{path}: not an unencrypted PEM private key ({_first_line(exc)})") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise PemError(f"{path}: not an EC private key")
    return key


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
