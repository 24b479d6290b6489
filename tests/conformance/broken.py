"""A deliberately broken 2030.5 server for the conformance tests: a TLS proxy in front of
a real gridmirror gateway that flips one behaviour of its answers.

The proxy terminates mutual TLS itself (with the gateway's server certificate, or one
given), forwards each request to the gateway as the test's device, and passes the answer
through ``flip`` before sending it back. Only the flipped behaviour differs from the real
gateway, so a conformance run must fail exactly the procedure that checks it.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web

from certs.tls import client_context, server_context


@dataclass
class Answer:
    """What the gateway answered (mutable: a flip changes it)."""

    method: str
    path_qs: str
    status: int
    headers: dict[str, str]
    body: bytes


Flip = Callable[[Answer], None]
_PASSED_HEADERS = ("Content-Type", "Location", "Allow")


@asynccontextmanager
async def broken_gateway(
    gateway_url: str,
    *,
    serca: Path,
    server_chain: Path,
    server_key: Path,
    device_chain: Path,
    device_key: Path,
    flip: Flip,
) -> AsyncIterator[str]:
    """Serve the proxy on 127.0.0.1 (a free port); yields its base URL."""
    upstream = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=client_context(device_chain, device_key, serca))
    )

    async def forward(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k in ("Content-Type", "Accept")}
        async with upstream.request(
            request.method,
            gateway_url + request.path_qs,
            data=body or None,
            headers=headers,
            allow_redirects=False,
        ) as got:
            answer = Answer(
                request.method,
                request.path_qs,
                got.status,
                {k: v for k, v in got.headers.items() if k in _PASSED_HEADERS},
                await got.read(),
            )
        flip(answer)
        return web.Response(status=answer.status, headers=answer.headers, body=answer.body)

    app = web.Application(client_max_size=8 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", forward)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    context: ssl.SSLContext = server_context(server_chain, server_key, serca)
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"https://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
        await upstream.close()


# --- the flips ----------------------------------------------------------------------------


def repost_answers_201(answer: Answer) -> None:
    """A re-POST of a known MirrorUsagePoint answered 201 instead of 204."""
    if answer.method == "POST" and answer.path_qs == "/mup" and answer.status == 204:
        answer.status = 201


def edev_without_location(answer: Answer) -> None:
    """In-band registration answered without the Location of the EndDevice."""
    if answer.method == "POST" and answer.path_qs == "/edev":
        answer.headers.pop("Location", None)


def readings_duplicated(answer: Answer) -> None:
    """Every Reading of a ReadingList shown twice (as a server that stored a re-post
    again would), with all/results counting them."""
    if answer.method != "GET" or b"<ReadingList" not in answer.body[:200]:
        return
    readings = re.findall(rb"<Reading\b.*?</Reading>", answer.body, re.S)
    body = answer.body.replace(b"</ReadingList>", b"".join(readings) + b"</ReadingList>")
    for name in (b"all", b"results"):
        body = re.sub(
            rb"(<ReadingList[^>]*\b" + name + rb'=")(\d+)"',
            lambda m: m.group(1) + str(int(m.group(2)) * 2).encode() + b'"',
            body,
            count=1,
        )
    answer.body = body


def paged_list_without_all(answer: Answer) -> None:
    """A paged EndDeviceList (a query with s=) answered without its all attribute."""
    if answer.path_qs.startswith("/edev?") and "s=" in answer.path_qs:
        answer.body = re.sub(rb'(<EndDeviceList[^>]*?) all="\d+"', rb"\1", answer.body, count=1)


def nothing(answer: Answer) -> None:
    """No flip (the proxy alone must not fail anything)."""
