"""The TLS layer of the 2030.5 listener: a refused handshake is told, logged and timed out.

asyncio's TLS transport, when OpenSSL refuses a handshake, closes the TCP connection
without sending the alert OpenSSL has just written: the client sees "unexpected EOF" and
cannot tell a missing certificate from a wrong CA or cipher. :class:`AlertingTls` is
asyncio's own TLS protocol with that one thing changed: before the connection is dropped,
what OpenSSL wrote (the alert: handshake_failure, unknown_ca, bad_certificate...) goes
out first. It also logs each refusal once, at INFO, with the peer address and the reason
in words, and bounds the handshake (``gateway.handshake_timeout_s``): a peer that opens a
connection and never finishes the handshake is closed then.

It is what the event loop itself puts under an SSL server, built by our protocol factory
instead (gateway.server), so uvicorn sees an ordinary TLS transport.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from asyncio import sslproto
from typing import Any

log = logging.getLogger(__name__)

# OpenSSL's reason codes for the refusals clients hit, in the words an engineer needs.
_REASONS = {
    "PEER_DID_NOT_RETURN_A_CERTIFICATE": "no client certificate (2030.5 requires one)",
    "NO_SHARED_CIPHER": "no shared cipher suite (2030.5 requires ECDHE-ECDSA-AES128-CCM8)",
    "UNSUPPORTED_PROTOCOL": "TLS version not offered (2030.5 requires TLS 1.2)",
    "WRONG_VERSION_NUMBER": "not a TLS 1.2 ClientHello (plain HTTP, or another protocol)",
    "HTTP_REQUEST": "plain HTTP sent to the TLS port",
    "VERSION_TOO_LOW": "TLS version too low (2030.5 requires TLS 1.2)",
    "NO_SHARED_GROUPS": "no shared elliptic curve (2030.5 requires secp256r1)",
}


def refusal_reason(exc: BaseException) -> str:
    """Why a handshake failed, in one line (OpenSSL's reason code read into words)."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"client certificate not trusted: {exc.verify_message}"
    reason = getattr(exc, "reason", None)
    if isinstance(reason, str):
        return _REASONS.get(reason, reason.replace("_", " ").lower())
    return str(exc) or type(exc).__name__


class AlertingTls(sslproto.SSLProtocol):
    """asyncio's server-side TLS protocol, sending OpenSSL's alert before a refusal's close
    and logging the refusal once (see the module docstring)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        app_protocol: asyncio.BaseProtocol,
        context: ssl.SSLContext,
        *,
        handshake_timeout: float,
    ) -> None:
        super().__init__(
            loop,
            app_protocol,
            context,
            None,  # type: ignore[arg-type]  # no waiter: a server's connection has none
            server_side=True,
            ssl_handshake_timeout=handshake_timeout,  # type: ignore[arg-type]  # float is fine
        )
        self._handshake_timeout = handshake_timeout

    def _peer(self) -> str:
        transport: Any = getattr(self, "_transport", None)
        peer = transport.get_extra_info("peername") if transport is not None else None
        if isinstance(peer, tuple) and len(peer) >= 2:
            return f"{peer[0]}:{peer[1]}"
        return "unknown peer"

    def _on_handshake_complete(self, handshake_exc: BaseException | None) -> None:
        if handshake_exc is not None:
            # The alert OpenSSL wrote is in the outgoing buffer: send it before the close.
            with contextlib.suppress(Exception):
                self._process_outgoing()  # type: ignore[attr-defined]
            log.info(
                f"TLS handshake from {self._peer()} refused: {refusal_reason(handshake_exc)}",
                extra={"peer": self._peer(), "reason": refusal_reason(handshake_exc)},
            )
        super()._on_handshake_complete(handshake_exc)  # type: ignore[misc]

    def _check_handshake_timeout(self) -> None:
        if self._state == sslproto.SSLProtocolState.DO_HANDSHAKE:  # type: ignore[attr-defined]
            log.info(
                f"TLS handshake from {self._peer()} closed: not finished within "
                f"{self._handshake_timeout:g} s",
                extra={"peer": self._peer(), "reason": "handshake timeout"},
            )
        super()._check_handshake_timeout()  # type: ignore[misc]
