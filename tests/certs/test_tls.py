from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import subprocess
import threading
from pathlib import Path
from types import TracebackType

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from certs import pemfile
from certs.pki import DeviceIdentity, Pki
from certs.settings import PkiSettings
from certs.tls import (
    CCM8,
    PeerCertificateMissing,
    client_context,
    gateway_context,
    meter_context,
    peer_lfdi,
    server_context,
)
from sep2.identity import lfdi_from_der

CCM8_TLS12 = (CCM8, "TLSv1.2", 128)


class OneShotServer:
    """A TLS server on a free loopback port that takes one connection in a thread."""

    def __init__(self, ctx: ssl.SSLContext) -> None:
        self.ctx = ctx
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.sock.getsockname()[1]
        self.lfdi: str | None = None
        self.cipher: tuple[str, str, int] | None = None
        self.error: Exception | None = None
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> OneShotServer:
        self.thread.start()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.thread.join(10)
        self.sock.close()

    def _serve(self) -> None:
        self.sock.settimeout(10)
        try:
            conn, _ = self.sock.accept()
            conn.settimeout(10)
            with self.ctx.wrap_socket(conn, server_side=True) as tls:
                self.lfdi = peer_lfdi(tls)
                self.cipher = tls.cipher()
                tls.sendall(b"ok")
                with contextlib.suppress(ssl.SSLError, OSError):
                    tls.unwrap()  # close_notify: OpenSSL 3 clients call a bare EOF an error
        except (ssl.SSLError, OSError) as exc:
            self.error = exc


def gateway(pki: Pki, *, extra_ciphers: bool = False) -> ssl.SSLContext:
    return gateway_context(pki, PkiSettings(extra_ciphers=extra_ciphers))


def meter(device: DeviceIdentity, serca: Path, **kwargs: bool) -> ssl.SSLContext:
    return client_context(device.chain, device.key, serca, **kwargs)


def talk(ctx: ssl.SSLContext, port: int, host: str = "localhost") -> tuple[bytes, str, object]:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        ctx.wrap_socket(raw, server_hostname=host) as tls,
    ):
        return tls.recv(2), peer_lfdi(tls), tls.cipher()


def test_python_handshake_uses_ccm8_and_identifies_the_meter(pki: Pki) -> None:
    device = pki.device("GM-SYN-00001")
    file_lfdi = lfdi_from_der(pemfile.load_certificate(device.cert).public_bytes(Encoding.DER))
    with OneShotServer(gateway(pki)) as server:
        data, server_lfdi, cipher = talk(meter(device, pki.serca), server.port)
    assert server.error is None
    assert data == b"ok"
    assert cipher == CCM8_TLS12 and server.cipher == CCM8_TLS12
    assert server.lfdi == file_lfdi == device.lfdi
    assert server_lfdi == pki.server.lfdi


def test_the_gateway_answers_on_its_ip_address(pki: Pki) -> None:
    ctx = meter_context(pki, "GM-SYN-00002", PkiSettings())
    with OneShotServer(server_context(pki.server.chain, pki.server.key, pki.serca)) as server:
        data, _, _ = talk(ctx, server.port, "127.0.0.1")
    assert data == b"ok"


def test_a_meter_checks_the_gateway_host_name(pki: Pki) -> None:
    with (
        OneShotServer(gateway(pki)) as server,
        pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"),
    ):
        talk(meter(pki.device("GM-SYN-00001"), pki.serca), server.port, "other.example")


def test_openssl_s_client_completes_the_handshake(pki: Pki, openssl: str) -> None:
    device = pki.device("GM-SYN-00003")
    with OneShotServer(gateway(pki)) as server:
        out = subprocess.run(
            [
                openssl,
                "s_client",
                "-connect",
                f"127.0.0.1:{server.port}",
                "-tls1_2",
                "-cipher",
                "ECDHE-ECDSA-AES128-CCM8",
                "-cert",
                str(device.cert),
                "-key",
                str(device.key),
                "-cert_chain",
                str(device.chain),
                "-CAfile",
                str(pki.serca),
                "-verify_return_error",
                "-verify_hostname",
                "localhost",
            ],
            input=b"",
            capture_output=True,
            timeout=20,
        )
    text = out.stdout.decode(errors="replace")
    assert out.returncode == 0, text + out.stderr.decode(errors="replace")
    assert "Protocol  : TLSv1.2" in text
    assert "Cipher    : ECDHE-ECDSA-AES128-CCM8" in text
    assert "Verify return code: 0 (ok)" in text
    assert server.error is None and server.lfdi == device.lfdi


@pytest.mark.parametrize("who", ["foreign", "self-signed", "no certificate"])
def test_the_gateway_refuses_untrusted_clients(
    pki: Pki, foreign: Pki, self_signed: DeviceIdentity, who: str
) -> None:
    if who == "foreign":
        ctx = meter(foreign.device("GM-FOREIGN-01"), pki.serca)
    elif who == "self-signed":
        ctx = meter(self_signed, pki.serca)
    else:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(pki.serca)
        ctx.set_ciphers(CCM8)
    with OneShotServer(gateway(pki)) as server, pytest.raises((ssl.SSLError, OSError)):
        talk(ctx, server.port)
    assert isinstance(server.error, ssl.SSLError)
    assert server.lfdi is None
    expected = "peer did not return a certificate" if who == "no certificate" else "verify failed"
    assert expected in str(server.error)


def test_a_meter_refuses_a_foreign_gateway(pki: Pki, foreign: Pki) -> None:
    with OneShotServer(gateway(foreign)) as server, pytest.raises(ssl.SSLCertVerificationError):
        talk(meter(pki.device("GM-SYN-00001"), pki.serca), server.port)


def test_extra_ciphers_serve_clients_without_ccm8_but_ccm8_wins(pki: Pki) -> None:
    device = pki.device("GM-SYN-00001")
    gcm_only = meter(device, pki.serca)
    gcm_only.set_ciphers("ECDHE-ECDSA-AES128-GCM-SHA256")
    with OneShotServer(gateway(pki)) as server, pytest.raises(ssl.SSLError):
        talk(gcm_only, server.port)
    with OneShotServer(gateway(pki, extra_ciphers=True)) as server:
        _, _, cipher = talk(gcm_only, server.port)
    assert cipher == ("ECDHE-ECDSA-AES128-GCM-SHA256", "TLSv1.2", 128)
    both = meter(device, pki.serca, extra_ciphers=True)
    both.set_ciphers("ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-CCM8")
    with OneShotServer(gateway(pki, extra_ciphers=True)) as server:
        _, _, cipher = talk(both, server.port)
    assert cipher == CCM8_TLS12  # the server's order, not the client's


def test_tls13_is_refused(pki: Pki) -> None:
    ctx = meter(pki.device("GM-SYN-00001"), pki.serca)
    ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    with OneShotServer(gateway(pki)) as server, pytest.raises(ssl.SSLError):
        talk(ctx, server.port)


def test_our_chains_pass_openssl_strict_checks(pki: Pki) -> None:
    server_ctx = gateway(pki)
    server_ctx.verify_flags |= ssl.VERIFY_X509_STRICT
    client_ctx = meter(pki.device("GM-SYN-00002"), pki.serca)
    client_ctx.verify_flags |= ssl.VERIFY_X509_STRICT
    with OneShotServer(server_ctx) as server:
        data, _, _ = talk(client_ctx, server.port)
    assert data == b"ok" and server.error is None


async def test_peer_lfdi_of_an_asyncio_connection(pki: Pki) -> None:
    device = pki.device("GM-SYN-00003")
    seen: list[str] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        ssl_object = writer.get_extra_info("ssl_object")
        assert isinstance(ssl_object, ssl.SSLObject)
        seen.append(peer_lfdi(ssl_object))
        writer.write(b"ok")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=gateway(pki))
    port = server.sockets[0].getsockname()[1]
    async with server:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=meter(device, pki.serca), server_hostname="localhost"
        )
        assert await reader.read(2) == b"ok"
        assert peer_lfdi(writer.get_extra_info("ssl_object")) == pki.server.lfdi
        writer.close()
        await writer.wait_closed()
    assert seen == [device.lfdi]


def test_peer_lfdi_needs_a_certificate() -> None:
    class NoPeer:
        def getpeercert(self, binary_form: bool = False) -> None:
            return None

    with pytest.raises(PeerCertificateMissing):
        peer_lfdi(NoPeer())  # type: ignore[arg-type]


@pytest.mark.interop
def test_py20305_client_context_meets_the_gateway(pki: Pki) -> None:
    # A third-party 2030.5 client's own TLS setup (hostname check on, its cipher list).
    from py20305.client.tls import TlsConfig, create_ssl_context, verify_ieee2030_5_chain

    device = pki.device("GM-SYN-00001")
    ctx = create_ssl_context(
        TlsConfig(client_cert=device.chain, client_key=device.key, ca_cert=pki.serca)
    )
    with OneShotServer(gateway(pki)) as server:
        data, server_lfdi, cipher = talk(ctx, server.port)
    assert data == b"ok" and cipher == CCM8_TLS12
    assert server.lfdi == device.lfdi and server_lfdi == pki.server.lfdi
    chain = [*pemfile.load_certificates(pki.server.chain), pki.serca_certificate()]
    verify_ieee2030_5_chain([c.public_bytes(Encoding.DER) for c in chain])  # raises if not
