"""FastAPI dependencies: the runtime, the caller, a database session, the 2030.5 guards.

They are ``async def`` on purpose: FastAPI runs a plain ``def`` dependency on a worker
thread, which costs more than everything these do.

Routes of other helpers (the REST API) use :func:`runtime` and :func:`db_session`; the
2030.5 routes also use :func:`caller` (the Peer of the client certificate, or 403) and
:func:`sep2_accept` (406 unless the caller accepts application/sep+xml).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from gateway.peer import Peer
from gateway.runtime import GatewayRuntime
from gateway.sep2http import check_accept


async def runtime(request: Request) -> GatewayRuntime:
    """The GatewayRuntime of the application."""
    found: GatewayRuntime = request.app.state.runtime
    return found


async def caller(request: Request) -> Peer:
    """The caller's identity (gateway.peer), or a 403 Refusal."""
    found: GatewayRuntime = request.app.state.runtime
    return found.peers.resolve(request.scope)


async def sep2_accept(request: Request) -> None:
    """406 unless the caller accepts application/sep+xml."""
    check_accept(request)


def db_session(request: Request) -> Iterator[Session]:
    """A read session for a synchronous route (FastAPI runs those on a worker thread)."""
    found: GatewayRuntime = request.app.state.runtime
    with found.database.read_session() as session:
        yield session


RuntimeDep = Annotated[GatewayRuntime, Depends(runtime)]
"""A route parameter receiving the GatewayRuntime."""

CallerDep = Annotated[Peer, Depends(caller)]
"""A route parameter receiving the caller's Peer (403 without an identity)."""
