"""The IO shell of a server conformance run: HTTP over mutual TLS, every call bounded.

Each call returns what went over the wire as model records (HttpRequest, HttpResponse),
or the one-line reason it could not complete (refused, TLS failure, timeout). Nothing
here judges an answer; conformance.checks does, on the records.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urljoin

import aiohttp

from conformance.model import Headers, HttpRequest, HttpResponse

MAX_ANSWER_BYTES = 4 * 1024 * 1024  # an answer longer than this is cut (and says so)


@dataclass(frozen=True)
class Exchanged:
    """One request and its answer, or why there was none."""

    request: HttpRequest
    response: HttpResponse | None
    failure: str | None = None


@dataclass(frozen=True)
class Handshake:
    """What a bare TLS handshake with the server showed."""

    version: str | None
    cipher: str | None
    chain_der: tuple[bytes, ...]  # the server's certificates, leaf first
    failure: str | None = None


class ServerLink:
    """Requests to one 2030.5 server as one device, with a timeout on every call."""

    def __init__(self, base_url: str, context: ssl.SSLContext, timeout_s: float) -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.context = context
        self.timeout_s = timeout_s
        self._session: aiohttp.ClientSession | None = None

    def url(self, href: str) -> str:
        """An absolute URL for an href (absolute, or relative to the server's root)."""
        return urljoin(self.base_url, href)

    async def __aenter__(self) -> ServerLink:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=self.context, limit=4),
            timeout=aiohttp.ClientTimeout(total=self.timeout_s),
            # 2030.5 hrefs are opaque: never let the client rewrite them
            auto_decompress=False,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def request(
        self,
        method: str,
        href: str,
        body: bytes = b"",
        headers: Headers = (),
    ) -> Exchanged:
        """Send one request; the answer or a one-line failure (never raises for IO)."""
        assert self._session is not None, "use ServerLink as an async context manager"
        url = self.url(href)
        sent = HttpRequest(method, url, headers, body)
        started = time.monotonic()
        try:
            async with self._session.request(
                method, url, data=body or None, headers=list(headers), allow_redirects=False
            ) as answer:
                data = await answer.content.read(MAX_ANSWER_BYTES)
                received = HttpResponse(
                    answer.status,
                    tuple((k, v) for k, v in answer.headers.items()),
                    data,
                    time.monotonic() - started,
                )
        except TimeoutError:
            return Exchanged(sent, None, f"no answer within {self.timeout_s:g} s")
        except aiohttp.ClientConnectorCertificateError as exc:
            return Exchanged(sent, None, f"server certificate refused: {exc.certificate_error}")
        except aiohttp.ClientSSLError as exc:
            return Exchanged(sent, None, f"TLS failed: {_first_line(exc)}")
        except aiohttp.ClientError as exc:
            return Exchanged(sent, None, f"{type(exc).__name__}: {_first_line(exc)}")
        except OSError as exc:
            return Exchanged(sent, None, f"connection failed: {_first_line(exc)}")
        return Exchanged(sent, received)

    async def handshake(self, host: str, port: int) -> Handshake:
        """A bare TLS handshake: the version, the suite chosen and the server's chain."""
        try:
            async with asyncio.timeout(self.timeout_s):
                reader, writer = await asyncio.open_connection(
                    host, port, ssl=self.context, server_hostname=host
                )
        except TimeoutError:
            return Handshake(None, None, (), f"no handshake within {self.timeout_s:g} s")
        except (ssl.SSLError, OSError) as exc:
            return Handshake(None, None, (), f"handshake failed: {_first_line(exc)}")
        try:
            tls = writer.get_extra_info("ssl_object")
            cipher = tls.cipher()
            chain = _peer_chain(tls)
            return Handshake(tls.version(), cipher[0] if cipher else None, chain)
        finally:
            writer.close()
            try:
                async with asyncio.timeout(self.timeout_s):
                    await writer.wait_closed()
            except (TimeoutError, OSError, ssl.SSLError):
                pass
            del reader


def _peer_chain(tls: ssl.SSLObject) -> tuple[bytes, ...]:
    """The server's chain as sent (Python 3.13+), else only its leaf."""
    unverified = getattr(tls, "get_unverified_chain", None)
    if unverified is not None:
        chain = unverified()
        if chain:
            return tuple(c if isinstance(c, bytes) else c.public_bytes() for c in chain)
    leaf = tls.getpeercert(binary_form=True)
    return (leaf,) if leaf else ()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
