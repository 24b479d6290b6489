"""Which paths each of the gateway's two listeners serves.

One application (one runtime, one lifespan) is served twice: on the 2030.5 port, where
every client holds a device certificate, and on the API port, where REST clients, browsers
and Prometheus do not. Each server gets the application behind a filter, so that the 2030.5
resources are never reachable without mutual TLS, and the REST API, /docs, /metrics and the
dashboard never on the device port.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from gateway.app import is_sep2_path

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def sep2_listener(app: ASGIApp) -> ASGIApp:
    """``app`` as the device port serves it: the 2030.5 paths only (others: empty 404)."""
    return _filtered(app, is_sep2_path, body=b"", content_type=None)


def api_listener(app: ASGIApp) -> ASGIApp:
    """``app`` as the API port serves it: everything but the 2030.5 paths (JSON 404)."""
    body = json.dumps({"detail": "Not Found"}).encode()
    return _filtered(
        app, lambda path: not is_sep2_path(path), body=body, content_type=b"application/json"
    )


def _filtered(
    app: ASGIApp, allowed: Callable[[str], bool], *, body: bytes, content_type: bytes | None
) -> ASGIApp:
    headers = [(b"content-length", str(len(body)).encode())]
    if content_type is not None:
        headers.append((b"content-type", content_type))

    async def filtered(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and not allowed(scope.get("path", "/")):
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            await send({"type": "http.response.start", "status": 404, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await app(scope, receive, send)

    return filtered
