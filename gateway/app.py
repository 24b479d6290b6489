"""The ASGI application: the 2030.5 resources, and room for the REST API beside them.

``create_app(runtime, routers=..., lifespans=...)`` builds one FastAPI application:

- the 2030.5 routes (gateway.routes: plain Starlette routes, absent from the OpenAPI
  schema since they speak XML);
- /metrics and the counting of 2030.5 requests (gateway.metrics), and the live
  dashboard at /dashboard (gateway.dashboard);
- any further routers (the REST API under /api/v1, a dashboard), as given;
- a lifespan that starts the runtime (schema, writer) and then the given lifespans, and
  stops them in reverse order;
- answers for refusals: on 2030.5 paths an ``Error`` document or an empty body (see
  gateway.errors), elsewhere FastAPI's JSON.

Routes reach the shared state through ``request.app.state.runtime`` (the GatewayRuntime).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager

from fastapi import APIRouter, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from gateway.dashboard.routes import install_dashboard
from gateway.errors import Refusal, not_found, unavailable
from gateway.metrics import install_metrics
from gateway.routes import SEP2_PREFIXES, sep2_routes
from gateway.routes.common import codec_profile_of
from gateway.runtime import GatewayRuntime
from gateway.sep2http import empty_response, refusal_response
from sep2 import Error

log = logging.getLogger(__name__)

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


# Every prefix is one path segment, so a path is a 2030.5 path when its first segment is
# one of them: a set look-up, where trying each prefix cost every request (the listener and
# the metrics ask for each) a few µs.
assert all(p.startswith("/") and "/" not in p[1:] for p in SEP2_PREFIXES)
_SEP2_ROOTS = frozenset(SEP2_PREFIXES)


def is_sep2_path(path: str) -> bool:
    """True for the paths of the 2030.5 resources (/dcap, /tm, /edev, /mup, /upt, ...):
    one of ``SEP2_PREFIXES`` itself or a path below it."""
    end = path.find("/", 1)
    return (path if end < 0 else path[:end]) in _SEP2_ROOTS


def create_app(
    runtime: GatewayRuntime,
    *,
    routers: Sequence[APIRouter] = (),
    lifespans: Sequence[Lifespan] = (),
    title: str = "gridmirror gateway",
) -> FastAPI:
    """The gateway's ASGI application over ``runtime``."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            await runtime.start()
            stack.push_async_callback(runtime.stop)
            for extra in lifespans:
                await stack.enter_async_context(extra(app))
            yield

    app = FastAPI(title=title, lifespan=lifespan)
    app.state.runtime = runtime
    routes = sep2_routes()
    # Ahead of FastAPI's own (/openapi.json, /docs, ...), which no 2030.5 path can match:
    # every request tries the routes in order, and a readings POST is the common one.
    app.router.routes[:0] = routes
    install_metrics(
        app,
        runtime.database.read,
        sep2_routes=routes,
        is_sep2=is_sep2_path,
        storage_ttl=runtime.settings.metrics_cache_seconds,
    )
    install_dashboard(app, runtime, interval=runtime.settings.dashboard_interval)
    for router in routers:
        app.include_router(router)

    @app.exception_handler(Refusal)
    async def refused(request: Request, refusal: Refusal) -> Response:
        log.info(
            "refused",
            extra={
                "method": request.method,
                "path": request.url.path,
                "status": refusal.status,
                "problem": refusal.problem,
            },
        )
        body = None
        if refusal.reason_code is not None:
            profile = await codec_profile_of(request, runtime)
            error = Error(reason_code=refusal.reason_code)
            body = runtime.codec.serialise(error, check=False, profile=profile)
        return refusal_response(refusal, body)

    async def database_unreachable(request: Request, exc: Exception) -> Response:
        # The database is restarting or unreachable: nothing was stored (the transaction
        # rolled back), so the client is told to come back rather than shown a 500.
        refusal = unavailable("the database is unavailable; retry later")
        log.warning(
            "database unavailable",
            extra={"path": request.url.path, "error": str(exc).splitlines()[0]},
        )
        if not is_sep2_path(request.url.path):
            return JSONResponse(
                {"detail": refusal.problem}, status_code=refusal.status, headers=refusal.headers
            )
        return refusal_response(refusal, None)

    app.add_exception_handler(OperationalError, database_unreachable)
    app.add_exception_handler(InterfaceError, database_unreachable)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if not is_sep2_path(request.url.path):
            return await http_exception_handler(request, exc)
        return empty_response(exc.status_code, dict(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        if not is_sep2_path(request.url.path):
            from fastapi.exception_handlers import request_validation_exception_handler

            return await request_validation_exception_handler(request, exc)
        return await refused(request, not_found())

    return app
