"""Connections that never finish a request are closed; too many connections are refused.

uvicorn bounds only the idle time between requests (keep-alive). A peer that opens
connections and then sends a request one byte at a time, or a body without its end, held
them forever, and 3,000 idle TLS connections were all accepted. This module wraps the HTTP
protocol class of the 2030.5 listener (gateway.server) with:

- a **header timeout**: from the connection (or the first byte of a next request) until
  the request's headers are complete (``gateway.header_timeout_s``);
- a **body timeout**: from the headers until the body's last byte
  (``gateway.body_timeout_s``), so a chunked body without an end is cut;
- **caps** on concurrent connections, overall (``gateway.max_connections``) and per peer
  address (``gateway.max_connections_per_peer``; 0 for no cap). A connection over a cap
  is answered, on its first request, 503 with ``Retry-After`` and an ``X-Problem`` saying
  which cap, then closed;
- memory given back after a storm: when the open connections fall to a quarter of the
  peak since the last time (and the peak was large), glibc is asked to return freed heap
  to the system (``malloc_trim``), which otherwise keeps a storm's peak RSS for good.

Each close or refusal is logged at INFO, at most once a minute per peer address.
The handshake has its own timeout (gateway.handshake).
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import functools
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, cast

log = logging.getLogger(__name__)

_LOG_EVERY_S = 60.0
_TRIM_PEAK = 256  # a peak below this many connections is no storm


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """The bounds (gateway settings); a timeout or cap of 0 is no bound."""

    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    max_connections: int = 20_000
    max_connections_per_peer: int = 1_024


@dataclass
class ConnectionCount:
    """Open connections, overall and per peer address, and the peak since the last trim."""

    limits: ConnectionLimits
    open: int = 0
    by_peer: Counter[str] = field(default_factory=Counter)
    peak: int = 0
    trims: int = 0
    _logged: dict[str, float] = field(default_factory=dict)

    def admit(self, peer: str) -> str | None:
        """Count a new connection from ``peer``; None if admitted, else why not."""
        limits = self.limits
        if limits.max_connections and self.open >= limits.max_connections:
            return f"the gateway holds its maximum of {limits.max_connections} connections"
        per_peer = limits.max_connections_per_peer
        if per_peer and self.by_peer[peer] >= per_peer:
            return f"{peer} holds its maximum of {per_peer} connections"
        self.open += 1
        self.by_peer[peer] += 1
        self.peak = max(self.peak, self.open)
        return None

    def release(self, peer: str) -> None:
        """A counted connection closed."""
        self.open -= 1
        left = self.by_peer[peer] - 1
        if left > 0:
            self.by_peer[peer] = left
        else:
            del self.by_peer[peer]
        if self.peak >= _TRIM_PEAK and self.open <= self.peak // 4:
            self.peak = self.open
            self.trims += 1
            asyncio.get_running_loop().call_soon(_give_memory_back)

    def note(self, peer: str, message: str) -> None:
        """Log ``message`` at INFO unless this peer was logged within the last minute."""
        now = time.monotonic()
        if now - self._logged.get(peer, -_LOG_EVERY_S) < _LOG_EVERY_S:
            return
        if len(self._logged) > 10_000:
            self._logged.clear()
        self._logged[peer] = now
        log.info(message, extra={"peer": peer})


@functools.cache
def _malloc_trim() -> Any:
    """glibc's malloc_trim, looked up once (find_library runs ldconfig), or None."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return None
    try:
        return ctypes.CDLL(libc_name).malloc_trim
    except (OSError, AttributeError):
        return None  # not glibc


def _give_memory_back() -> None:
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def _has_body(scope: Any) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return value.strip() not in (b"", b"0")
        if name == b"transfer-encoding":
            return True
    return False


def guarded(protocol_class: type[asyncio.Protocol], count: ConnectionCount) -> type:
    """``protocol_class`` (a uvicorn HTTP protocol) with the module's timeouts and caps."""
    limits = count.limits

    class GuardedProtocol(protocol_class):  # type: ignore[valid-type, misc]
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            me: Any = cast(Any, self)
            peer = transport.get_extra_info("peername")
            self._gm_peer = f"{peer[0]}" if isinstance(peer, tuple) and peer else "unknown"
            self._gm_transport = transport
            self._gm_loop = asyncio.get_running_loop()
            self._gm_header: asyncio.TimerHandle | None = None
            self._gm_body: asyncio.TimerHandle | None = None
            self._gm_busy = False
            refusal = count.admit(self._gm_peer)
            self._gm_counted = refusal is None
            inner = me.app
            if refusal is not None:
                count.note(self._gm_peer, f"connection from {self._gm_peer} refused: {refusal}")
                me.app = _refusing(refusal)
            else:
                me.app = self._gm_app(inner)
            self._gm_arm_header()

        def _gm_app(self, inner: Any) -> Any:
            async def app(scope: Any, receive: Any, send: Any) -> None:
                self._gm_busy = True
                self._gm_cancel_header()
                if scope.get("type") == "http" and _has_body(scope) and limits.body_timeout_s:
                    self._gm_body = self._gm_loop.call_later(
                        limits.body_timeout_s,
                        self._gm_timed_out,
                        "request body",
                        limits.body_timeout_s,
                    )

                    async def receive_body() -> Any:
                        message = await receive()
                        if not message.get("more_body", False) and self._gm_body is not None:
                            self._gm_body.cancel()
                            self._gm_body = None
                        return message

                    wrapped = receive_body
                else:
                    wrapped = receive
                try:
                    await inner(scope, wrapped, send)
                finally:
                    if self._gm_body is not None:
                        self._gm_body.cancel()
                        self._gm_body = None
                    self._gm_busy = False

            return app

        def data_received(self, data: bytes) -> None:
            if not self._gm_busy and self._gm_header is None:
                self._gm_arm_header()  # the first byte of a next request
            super().data_received(data)

        def _gm_arm_header(self) -> None:
            if limits.header_timeout_s:
                self._gm_header = self._gm_loop.call_later(
                    limits.header_timeout_s,
                    self._gm_timed_out,
                    "request headers",
                    limits.header_timeout_s,
                )

        def _gm_cancel_header(self) -> None:
            if self._gm_header is not None:
                self._gm_header.cancel()
                self._gm_header = None

        def _gm_timed_out(self, what: str, seconds: float) -> None:
            self._gm_header = self._gm_body = None
            count.note(
                self._gm_peer,
                f"connection from {self._gm_peer} closed: {what} not complete within {seconds:g} s",
            )
            self._gm_transport.close()

        def connection_lost(self, exc: Exception | None) -> None:
            self._gm_cancel_header()
            if self._gm_body is not None:
                self._gm_body.cancel()
                self._gm_body = None
            if self._gm_counted:
                self._gm_counted = False
                count.release(self._gm_peer)
            super().connection_lost(exc)

    GuardedProtocol.__name__ = f"Guarded{protocol_class.__name__}"
    return GuardedProtocol


def _refusing(reason: str) -> Any:
    headers = [
        (b"content-length", b"0"),
        (b"retry-after", b"30"),
        (b"x-problem", f"too many connections: {reason}"[:300].encode()),
        (b"connection", b"close"),
    ]

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            return
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    return app
