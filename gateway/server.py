"""The HTTPS server: uvicorn with our TLS context, and the client certificate in the scope.

Choices, and why:

- **uvicorn, with its HTTP protocol class extended rather than replaced.** uvicorn builds
  its SSL context from files and does not hand the peer certificate to the application.
  We give it our own context (certs.tls: TLS 1.2 only, ECDHE-ECDSA-AES128-CCM8, client
  certificate required, SERCA only) by setting ``config.ssl`` after ``config.load()``, and
  subclass its HTTP protocol: when a connection is made, the subclass reads the verified
  client certificate from the transport's ``ssl_object`` once, and wraps the application so
  that every request on that connection carries it as the standard ASGI TLS extension
  (``scope["extensions"]["tls"]``: ``client_cert_chain`` as PEM, ``tls_version``,
  ``cipher_suite``, ...). The cost is one DER-to-PEM per connection and one dictionary
  assignment per request; keep-alive makes the first negligible (`gridmirror bench
  gateway` measures the whole stack against a bare server on the same glue). A server of
  our own (h11 + asyncio) would have meant owning HTTP parsing, keep-alive, pipelining and
  graceful shutdown for no gain.
- **Signals are ours.** uvicorn re-raises SIGTERM after its graceful shutdown, which makes
  the process die by the signal; the runner (gateway.launch) handles SIGINT/SIGTERM itself
  and asks the server to stop, so a drained gateway exits with status 0.
- **Shutdown drains.** Listening stops, idle keep-alive connections are closed (TLS
  close_notify is sent by asyncio's SSL transport on close), requests in flight finish
  (up to ``drain_timeout``), then the application's lifespan ends (the writer commits
  what is queued).
- uvicorn's proxy-header rewriting is off: in proxy mode the peer address must stay the
  proxy's, since that is what decides whether a forwarded certificate counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from collections.abc import Iterator
from typing import Any, cast

import uvicorn
from cryptography import x509

from gateway.connections import ConnectionCount, ConnectionLimits, guarded
from gateway.handshake import AlertingTls

log = logging.getLogger(__name__)

# IANA numbers of the suites our contexts can negotiate (certs.tls).
CIPHER_SUITES = {
    "ECDHE-ECDSA-AES128-CCM8": 0xC0AE,
    "ECDHE-ECDSA-AES128-GCM-SHA256": 0xC02B,
    "ECDHE-ECDSA-AES256-GCM-SHA384": 0xC02C,
}
TLS_VERSIONS = {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}


class ServerStartError(Exception):
    """The server could not start (address in use, lifespan failure); one line."""


def tls_extension(ssl_object: ssl.SSLObject, server_cert_pem: str | None) -> dict[str, Any]:
    """The ASGI TLS extension for a connection whose handshake is complete."""
    der = ssl_object.getpeercert(binary_form=True)
    chain = [ssl.DER_cert_to_PEM_cert(der)] if der else []
    name: str | None = None
    if der:
        try:
            name = x509.load_der_x509_certificate(der).subject.rfc4514_string()
        except ValueError:
            name = None
    cipher = ssl_object.cipher()
    version = ssl_object.version()
    return {
        "server_cert": server_cert_pem,
        "client_cert_chain": chain,
        "client_cert_name": name,
        "client_cert_error": None,  # OpenSSL refused the handshake otherwise
        "tls_version": TLS_VERSIONS.get(version) if version else None,
        "cipher_suite": CIPHER_SUITES.get(cipher[0]) if cipher else None,
    }


def with_tls_scope(protocol_class: type[asyncio.Protocol], server_cert_pem: str | None) -> type:
    """``protocol_class`` (a uvicorn HTTP protocol) whose requests carry the TLS extension."""

    class TlsScopeProtocol(protocol_class):  # type: ignore[valid-type, misc]
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            ssl_object = transport.get_extra_info("ssl_object")
            if ssl_object is None:
                return
            tls = tls_extension(ssl_object, server_cert_pem)
            inner: Any = cast(Any, self).app

            async def app(scope: Any, receive: Any, send: Any) -> None:
                extensions = scope.get("extensions")
                if extensions is None:
                    scope["extensions"] = {"tls": tls}
                else:
                    extensions["tls"] = tls
                await inner(scope, receive, send)

            self.app = app

    TlsScopeProtocol.__name__ = f"TlsScope{protocol_class.__name__}"
    return TlsScopeProtocol


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the runner handles SIGINT and SIGTERM (see the module docstring)


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (port 0: any free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ServerStartError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(2048)
    sock.setblocking(False)
    return sock


class HttpsServer:
    """One uvicorn server on one socket, started and stopped from a running event loop."""

    def __init__(
        self,
        app: Any,
        *,
        host: str,
        port: int,
        ssl_context: ssl.SSLContext | None,
        keep_alive: float = 60.0,
        drain_timeout: float = 30.0,
        server_cert_pem: str | None = None,
        lifespan: str = "on",
        handshake_timeout: float = 10.0,
        limits: ConnectionLimits | None = None,
    ) -> None:
        self._app = app
        self._host = host
        self._port = port
        self._ssl = ssl_context
        self._keep_alive = keep_alive
        self._drain_timeout = drain_timeout
        self._server_cert_pem = server_cert_pem
        self._lifespan = lifespan
        self._handshake_timeout = handshake_timeout
        self.connections = ConnectionCount(limits) if limits is not None else None
        """Open connections and their bounds (gateway.connections), if bounded."""
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None
        self.port = port

    async def start(self) -> int:
        """Bind, run the lifespan's startup, start serving; the port it listens on."""
        sock = bind(self._host, self._port)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app,
            lifespan=self._lifespan,  # type: ignore[arg-type]
            log_config=None,
            access_log=False,
            proxy_headers=False,
            server_header=False,
            timeout_keep_alive=int(max(1, self._keep_alive)),
            timeout_graceful_shutdown=int(max(1, self._drain_timeout)),
        )
        config.load()
        http_protocol = with_tls_scope(config.http_protocol_class, self._server_cert_pem)
        if self.connections is not None:
            http_protocol = guarded(http_protocol, self.connections)
        if self._ssl is None:
            config.http_protocol_class = http_protocol
        else:
            # TLS by our own protocol factory rather than the loop's (config.ssl stays
            # unset): the same asyncio TLS protocol, telling a refused handshake's alert
            # (gateway.handshake).
            context, handshake_timeout = self._ssl, self._handshake_timeout

            def tls_protocol(**kwargs: Any) -> asyncio.BaseProtocol:
                loop = kwargs.get("_loop") or asyncio.get_running_loop()
                return AlertingTls(
                    loop, http_protocol(**kwargs), context, handshake_timeout=handshake_timeout
                )

            config.http_protocol_class = tls_protocol  # type: ignore[assignment]
        server = _Server(config)
        self._server = server
        self._task = asyncio.create_task(self._serve(server, sock), name="gridmirror-https")
        while not server.started:
            if self._task.done():
                self._task.result()  # raises the startup failure
                raise ServerStartError("the server stopped while starting")
            await asyncio.sleep(0.01)
        return self.port

    @staticmethod
    async def _serve(server: _Server, sock: socket.socket) -> None:
        try:
            await server.serve(sockets=[sock])
        except SystemExit as exc:  # uvicorn exits when the lifespan's startup fails
            raise ServerStartError("the gateway failed to start (see the log above)") from exc
        finally:
            sock.close()

    def request_stop(self) -> None:
        """Begin a graceful shutdown (safe to call from a signal handler)."""
        if self._server is not None:
            self._server.should_exit = True

    async def stop(self) -> None:
        """Shut down gracefully and wait for it."""
        self.request_stop()
        await self.wait()

    async def wait(self) -> None:
        """Wait until the server has stopped (on its own or asked to)."""
        if self._task is not None:
            await self._task
