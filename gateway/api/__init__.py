"""The gateway's REST JSON API under /api/v1 (docs/rest-api.md).

``build_api(settings, secret)`` gives the router to hang on the gateway's application and
a lifespan to run with it::

    api = build_api(settings.gateway, secret, directory=directory)
    Gateway(..., routers=[api.router], lifespans=[api.lifespan, bridge_lifespan(...)])

The lifespan hands the owner wallets chosen through the API to ``directory`` (the one
the bridge registers meters with), so put it before the bridge's lifespan.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, FastAPI

from gateway.api import admin, chainviews, meters, readings
from gateway.api.auth import Guard
from gateway.api.context import ApiContext, runtime_of
from gateway.api.tokens import TokenAuthority, load_or_create_secret
from gateway.app import Lifespan
from gateway.crud import owners
from gateway.runtime import GatewayRuntime
from gateway.settings import GatewaySettings
from oracle.registry import DirectoryError, MeterDirectory

PREFIX = "/api/v1"


@dataclass(frozen=True)
class Api:
    """The API's router and lifespan."""

    router: APIRouter
    lifespan: Lifespan
    authority: TokenAuthority


def secret_of(settings: GatewaySettings) -> bytes:
    """The JWT key: the configured secret, else the one kept in api_jwt_secret_file."""
    if settings.api_jwt_secret is not None:
        return settings.api_jwt_secret.get_secret_value().encode("utf-8")
    path = settings.api_jwt_secret_file or Path(".gridmirror") / "api-jwt.key"
    return load_or_create_secret(path)


def authority_of(settings: GatewaySettings, secret: bytes | None = None) -> TokenAuthority:
    """The token authority the settings describe."""
    return TokenAuthority(
        secret if secret is not None else secret_of(settings),
        issuer=settings.api_jwt_issuer,
        audience=settings.api_jwt_audience,
    )


def build_api(
    settings: GatewaySettings,
    secret: bytes | None = None,
    *,
    directory: MeterDirectory | None = None,
) -> Api:
    """The REST API over the gateway's runtime (see the module docstring)."""
    authority = authority_of(settings, secret)
    context = ApiContext(settings, Guard(authority), directory)
    router = APIRouter(prefix=PREFIX)
    for part in (readings, meters, chainviews, admin):
        router.include_router(part.router(context))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if directory is not None:
            runtime: GatewayRuntime = app.state.runtime
            for lfdi, wallet in (await runtime.read(owners.every)).items():
                try:
                    directory.set_owner(lfdi, wallet)
                except DirectoryError:  # stored by an older version: the API checks now
                    continue
        yield

    return Api(router, lifespan, authority)


__all__ = ["Api", "authority_of", "build_api", "runtime_of", "secret_of"]
