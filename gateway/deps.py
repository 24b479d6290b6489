"""FastAPI dependencies for routes added beside the 2030.5 resources (the REST API).

:func:`runtime` gives the GatewayRuntime, :func:`db_session` a read session, and
:func:`caller` the Peer of a mutual-TLS client certificate (or a 403 Refusal). The 2030.5
routes themselves are plain Starlette routes (gateway.routes.common) and use none of
these. ``runtime`` and ``caller`` are ``async def`` on purpose: FastAPI runs a plain
``def`` dependency on a worker thread, which costs more than what they do.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from gateway.peer import Peer
from gateway.runtime import GatewayRuntime


async def runtime(request: Request) -> GatewayRuntime:
    """The GatewayRuntime of the application."""
    found: GatewayRuntime = request.app.state.runtime
    return found


async def caller(request: Request) -> Peer:
    """The caller's identity (gateway.peer), or a 403 Refusal."""
    found: GatewayRuntime = request.app.state.runtime
    return found.peers.resolve(request.scope)


def db_session(request: Request) -> Iterator[Session]:
    """A read session for a synchronous route (FastAPI runs those on a worker thread)."""
    found: GatewayRuntime = request.app.state.runtime
    with found.database.read_session() as session:
        yield session


RuntimeDep = Annotated[GatewayRuntime, Depends(runtime)]
"""A route parameter receiving the GatewayRuntime."""

CallerDep = Annotated[Peer, Depends(caller)]
"""A route parameter receiving the caller's Peer (403 without an identity)."""
