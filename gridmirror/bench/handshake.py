"""What a client certificate's 2030.5 profile verdict adds to a TLS handshake.

Side by side in one run, on one PKI: a full mutual TLS 1.2 ECDHE-ECDSA-AES128-CCM8
handshake between the gateway's context and a meter's (both sides in this process, over
memory BIOs, so only CPU counts), the gateway's identity step on a certificate it has
not seen (PEM parsed, the device profile checked, LFDI computed: gateway.peer), and the
same step on a certificate it knows (the verdict cached per certificate).
"""

from __future__ import annotations

import ssl
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from certs.pki import default_serials, init_pki
from certs.settings import PkiSettings
from certs.tls import client_context, gateway_context
from gateway.peer import PeerResolver
from gateway.settings import GatewaySettings


@dataclass(frozen=True)
class HandshakeFigures:
    """Microseconds per operation."""

    handshake_us: float
    first_verdict_us: float
    cached_verdict_us: float


def _handshake(server: ssl.SSLContext, client: ssl.SSLContext) -> None:
    s_in, s_out, c_in, c_out = (ssl.MemoryBIO() for _ in range(4))
    s = server.wrap_bio(s_in, s_out, server_side=True)
    c = client.wrap_bio(c_in, c_out)
    done_s = done_c = False
    while not (done_s and done_c):
        if not done_c:
            try:
                c.do_handshake()
                done_c = True
            except ssl.SSLWantReadError:
                pass
        s_in.write(c_out.read())
        if not done_s:
            try:
                s.do_handshake()
                done_s = True
            except ssl.SSLWantReadError:
                pass
        c_in.write(s_out.read())


def _scope(pem: str) -> dict[str, Any]:
    return {"extensions": {"tls": {"client_cert_chain": [pem]}}}


def run(count: int, hw_type: str = "1.3.6.1.4.1.32473.1") -> HandshakeFigures:
    """Time ``count`` of each operation; the figures per operation."""
    with tempfile.TemporaryDirectory(prefix="gm-bench-handshake-") as scratch:
        serials = default_serials(count)
        pki = init_pki(Path(scratch), serials, hw_type=hw_type).pki
        server = gateway_context(pki, PkiSettings())
        devices = [pki.device(s) for s in serials]
        clients = [client_context(d.chain, d.key, pki.serca, check_hostname=False) for d in devices]
        pems = [d.cert.read_text() for d in devices]

        started = time.perf_counter()
        for client in clients:
            _handshake(server, client)
        handshake = (time.perf_counter() - started) / count

        resolver = PeerResolver(GatewaySettings())
        started = time.perf_counter()
        for pem in pems:
            resolver.resolve(_scope(pem))
        first = (time.perf_counter() - started) / count

        started = time.perf_counter()
        for _ in range(10):
            for pem in pems:
                resolver.resolve(_scope(pem))
        cached = (time.perf_counter() - started) / (10 * count)
    return HandshakeFigures(handshake * 1e6, first * 1e6, cached * 1e6)
