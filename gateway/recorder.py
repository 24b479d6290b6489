"""Recording each device's 2030.5 conversation, for client conformance runs.

``gridmirror conformance client`` runs the gateway with a :class:`ConversationRecorder`
wrapped around its 2030.5 listener: every request a device makes is kept as an
:class:`Exchange` (plain data: time, method, path, query, request content type and body,
status, response headers and body, the client certificate seen, and the fault the server
injected, if any), grouped by the LFDI of the device's certificate. conformance.client
scores them; the gateway knows nothing of the checks.

Nothing of this runs unless the recorder is installed: an ordinary gateway serves its
application unwrapped, so recording costs nothing when it is off.

Python's ``ssl`` exposes only the peer's leaf certificate (the verified chain needs 3.13's
``get_verified_chain``), so ``client_chain`` holds what the connection showed: the leaf,
which chained to the SERCA, or the handshake would have been refused.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import asdict, dataclass, field
from typing import Any

from gateway.errors import Refusal
from gateway.peer import PeerResolver

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

UNIDENTIFIED = "unidentified"
"""The LFDI key of requests that carried no usable client certificate."""

FAULT_SCOPE_KEY = "gridmirror.injected_fault"
"""Where gateway.faultplan tells the recorder that it answered a request itself."""

BODY_LIMIT = 256 * 1024  # bytes of each body kept; the gateway refuses larger ones anyway


@dataclass(slots=True)
class Exchange:
    """One request of a device and the server's answer, as plain data."""

    time: float  # the server's clock when the request arrived (Unix seconds)
    lfdi: str
    method: str
    path: str
    query: str
    request_content_type: str | None
    request_body: bytes
    status: int = 0  # 0: no answer was sent (the connection went away)
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    response_body: bytes = b""
    client_chain: list[str] = field(default_factory=list)  # PEM, leaf first
    injected_fault: str | None = None  # the fault plan's kind, if it answered
    duration_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """The exchange as a dictionary of plain values (for conformance.client)."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ServerAction:
    """Something the server did to a device's resources outside a request (a fault)."""

    time: float
    lfdi: str
    kind: str
    detail: str

    def as_dict(self) -> dict[str, Any]:
        """The action as a dictionary of plain values."""
        return asdict(self)


class ConversationRecorder:
    """Keeps every device's exchanges, by LFDI, in arrival order."""

    def __init__(self, peers: PeerResolver, clock: Callable[[], float]) -> None:
        self._peers = peers
        self._clock = clock
        self._lock = threading.Lock()
        self._exchanges: dict[str, list[Exchange]] = {}
        self._actions: list[ServerAction] = []

    def lfdis(self) -> list[str]:
        """The devices heard from, in the order they first spoke."""
        with self._lock:
            return list(self._exchanges)

    def exchanges(self, lfdi: str) -> list[Exchange]:
        """The exchanges of ``lfdi`` so far (a copy)."""
        with self._lock:
            return list(self._exchanges.get(lfdi, ()))

    def actions(self, lfdi: str | None = None) -> list[ServerAction]:
        """The server-side actions taken (on ``lfdi``, or on every device)."""
        with self._lock:
            return [a for a in self._actions if lfdi is None or a.lfdi == lfdi]

    def note_action(self, lfdi: str, kind: str, detail: str) -> None:
        """Record a server-side action on ``lfdi``'s resources (gateway.faultplan)."""
        with self._lock:
            self._actions.append(ServerAction(self._clock(), lfdi, kind, detail))

    def lfdi_of(self, scope: Scope) -> str:
        """The LFDI of the request's client certificate, or UNIDENTIFIED."""
        try:
            return self._peers.resolve(scope).lfdi
        except Refusal:
            return UNIDENTIFIED

    def wrap(self, app: ASGIApp) -> ASGIApp:
        """``app`` with every HTTP request recorded."""

        async def recorded(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            headers = {k.decode("latin-1").lower(): v for k, v in scope.get("headers", ())}
            content_type = headers.get("content-type")
            tls = (scope.get("extensions") or {}).get("tls") or {}
            started = self._clock()
            exchange = Exchange(
                time=started,
                lfdi=self.lfdi_of(scope),
                method=scope["method"],
                path=scope.get("path", ""),
                query=scope.get("query_string", b"").decode("latin-1"),
                request_content_type=None
                if content_type is None
                else content_type.decode("latin-1"),
                request_body=b"",
                client_chain=list(tls.get("client_cert_chain") or ()),
            )
            request_body = bytearray()
            response_body = bytearray()

            async def receiving() -> Message:
                message = await receive()
                if message["type"] == "http.request" and len(request_body) < BODY_LIMIT:
                    request_body.extend(message.get("body", b"")[: BODY_LIMIT - len(request_body)])
                return message

            async def sending(message: Message) -> None:
                if message["type"] == "http.response.start":
                    exchange.status = int(message["status"])
                    exchange.response_headers = [
                        (k.decode("latin-1"), v.decode("latin-1"))
                        for k, v in message.get("headers", ())
                    ]
                elif message["type"] == "http.response.body" and len(response_body) < BODY_LIMIT:
                    response_body.extend(
                        message.get("body", b"")[: BODY_LIMIT - len(response_body)]
                    )
                await send(message)

            try:
                await app(scope, receiving, sending)
            finally:
                exchange.request_body = bytes(request_body)
                exchange.response_body = bytes(response_body)
                exchange.injected_fault = scope.get(FAULT_SCOPE_KEY)
                exchange.duration_s = max(0.0, self._clock() - started)
                with self._lock:
                    self._exchanges.setdefault(exchange.lfdi, []).append(exchange)

        return recorded
