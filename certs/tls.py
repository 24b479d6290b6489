"""TLS contexts for 2030.5 links, and the LFDI of the peer of a live connection.

Both sides speak TLS 1.2 only, with TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 (OpenSSL's
``ECDHE-ECDSA-AES128-CCM8``, 0xC0AE) on P-256, and mutual authentication:

- The server context presents the gateway's chain (server certificate, MICA, MCA),
  requires a client certificate and verifies it to the SERCA alone. Clients present their
  device certificate with its MICA and MCA (``chain.pem``), which is what lets a server
  that trusts nothing but the SERCA build the path. With ``extra_ciphers`` it also offers
  two ECDHE-ECDSA AES-GCM suites, after CCM8 and only for clients that cannot do CCM8
  (the server's order wins).
- The client context presents the device chain, trusts the SERCA only and checks the
  server's host name against its subjectAltName DNS names and IPs (on by default).

Neither context loads the system's CA store: a 2030.5 link trusts its SERCA and nothing
else. Certificates are not checked against the 2030.5 profile during the handshake
(:mod:`certs.profile` does that, with readable messages); OpenSSL's own checks (path,
signatures, validity, basicConstraints, keyUsage, critical extensions) do apply.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Iterator
from pathlib import Path

from certs.pki import Pki
from certs.settings import PkiSettings
from sep2.identity import lfdi_from_der

CCM8 = "ECDHE-ECDSA-AES128-CCM8"
EXTRA_CIPHERS = ("ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384")
CURVE = "prime256v1"


class PeerCertificateMissing(ssl.SSLError):
    """The connection has no verified peer certificate to take an LFDI from."""


@contextlib.contextmanager
def tls_read_buffer(kib: int) -> Iterator[None]:
    """Give TLS connections opened meanwhile a ``kib`` KiB read buffer.

    asyncio's TLS transport (asyncio.sslproto.SSLProtocol, CPython 3.11 and 3.12) gives
    every connection a 256 KiB buffer for decrypted data, allocated and zero-filled when
    the connection opens, whatever it will carry. 2030.5 documents are a few KiB and one
    TLS record is at most 16 KiB, so 32 KiB costs a large body one extra read call at
    most, and spares 10,000 kept-alive connections 2.2 GiB on each side (measured in
    docs/BENCHMARKS.md). It is a class attribute, so it applies to the whole process while
    the block runs (the fleet and the gateway both use it; nested uses put back what was
    there before them).
    """
    from asyncio import sslproto

    before = sslproto.SSLProtocol.max_size
    sslproto.SSLProtocol.max_size = kib * 1024
    try:
        yield
    finally:
        sslproto.SSLProtocol.max_size = before


def cipher_string(extra_ciphers: bool = False) -> str:
    """The OpenSSL cipher list: CCM8, then the AES-GCM suites if allowed."""
    return ":".join((CCM8, *EXTRA_CIPHERS)) if extra_ciphers else CCM8


def server_context(
    cert_chain: Path, key: Path, serca: Path, *, extra_ciphers: bool = False
) -> ssl.SSLContext:
    """The 2030.5 server side: present ``cert_chain``, require clients chaining to ``serca``."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    _common(ctx, extra_ciphers)
    ctx.options |= ssl.OP_CIPHER_SERVER_PREFERENCE | ssl.OP_NO_RENEGOTIATION
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_cert_chain(str(cert_chain), str(key))
    ctx.load_verify_locations(cafile=str(serca))
    return ctx


def web_server_context(cert_chain: Path, key: Path) -> ssl.SSLContext:
    """HTTPS for REST clients and browsers: present ``cert_chain``, ask no client certificate.

    Not the 2030.5 profile: TLS 1.2 or newer with OpenSSL's default suites, since a browser
    offers no CCM8.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.options |= ssl.OP_NO_COMPRESSION
    ctx.verify_mode = ssl.CERT_NONE
    ctx.load_cert_chain(str(cert_chain), str(key))
    return ctx


def client_context(
    cert_chain: Path,
    key: Path,
    serca: Path,
    *,
    check_hostname: bool = True,
    extra_ciphers: bool = False,
) -> ssl.SSLContext:
    """The 2030.5 client side: present ``cert_chain``, accept a server chaining to ``serca``."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    _common(ctx, extra_ciphers)
    ctx.check_hostname = check_hostname
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_cert_chain(str(cert_chain), str(key))
    ctx.load_verify_locations(cafile=str(serca))
    return ctx


def gateway_context(pki: Pki, settings: PkiSettings) -> ssl.SSLContext:
    """The server context of the gateway of ``pki``, as ``settings`` configure it."""
    return server_context(
        pki.server.chain, pki.server.key, pki.serca, extra_ciphers=settings.extra_ciphers
    )


def meter_context(
    pki: Pki, serial: str, settings: PkiSettings, *, check_hostname: bool = True
) -> ssl.SSLContext:
    """The client context of the meter ``serial`` of ``pki``, as ``settings`` configure it."""
    device = pki.device(serial)
    return client_context(
        device.chain,
        device.key,
        pki.serca,
        check_hostname=check_hostname,
        extra_ciphers=settings.extra_ciphers,
    )


def peer_lfdi(conn: ssl.SSLObject | ssl.SSLSocket) -> str:
    """The LFDI of the certificate the peer of a completed handshake presented."""
    der = conn.getpeercert(binary_form=True)
    if not der:
        raise PeerCertificateMissing("the peer presented no certificate")
    return lfdi_from_der(der)


def _common(ctx: ssl.SSLContext, extra_ciphers: bool) -> None:
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(cipher_string(extra_ciphers))
    ctx.set_ecdh_curve(CURVE)
    ctx.options |= ssl.OP_NO_COMPRESSION
