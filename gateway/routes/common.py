"""What every 2030.5 route does: ids from paths, list queries, bodies, XML answers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar, overload

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.errors import from_parse_error, not_found
from gateway.peer import Peer
from gateway.runtime import GatewayRuntime
from gateway.sep2http import check_accept, read_body, xml_response
from sep2 import ListQuery, Sep2Object, Sep2ParseError, parse_list_query

T = TypeVar("T", bound=Sep2Object)
U = TypeVar("U", bound=Sep2Object)
Handler = Callable[[Request, GatewayRuntime, Peer], Awaitable[Response]]


class Routes:
    """The routes of one function set.

    Plain Starlette routes, not FastAPI's: 2030.5 resources are XML, absent from the
    OpenAPI schema, and FastAPI's parameter and dependency machinery costs more per
    request (about 120-190 µs measured) than everything a readings POST does besides the
    database. Each handler gets the request, the runtime and the caller; before it runs,
    a caller who does not accept application/sep+xml gets 406 and one without an
    identity 403.
    """

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def route(self, path: str, methods: list[str]) -> Callable[[Handler], Handler]:
        """Register ``handler`` for ``path`` and ``methods`` (one route per path, so that a
        405 names every allowed method)."""

        def register(handler: Handler) -> Handler:
            async def endpoint(request: Request) -> Response:
                check_accept(request)
                rt: GatewayRuntime = request.app.state.runtime
                return await handler(request, rt, rt.peers.resolve(request.scope))

            self.routes.append(Route(path, endpoint, methods=methods, name=handler.__name__))
            return handler

        return register


def path_id(text: str) -> int:
    """A resource id from a path segment; 404 unless it is a decimal integer."""
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise not_found(f"no resource {text!r}")
    return int(text)


def list_query(request: Request, rt: GatewayRuntime) -> ListQuery:
    """The s / a / l of a list request (400 if malformed)."""
    try:
        return parse_list_query(request.url.query, max_limit=rt.settings.list_limit)
    except Sep2ParseError as exc:
        raise from_parse_error(exc) from None


@overload
async def parse_body(request: Request, rt: GatewayRuntime, expect: type[T]) -> T: ...
@overload
async def parse_body(
    request: Request, rt: GatewayRuntime, expect: tuple[type[T], type[U]]
) -> T | U: ...


async def parse_body(
    request: Request, rt: GatewayRuntime, expect: type[T] | tuple[type[T], type[U]]
) -> T | U:
    """The request's document, checked against the XSD, of the expected type(s)."""
    body = await read_body(request, rt.sep2.max_body_bytes)
    try:
        return rt.codec.parse(body, expect)  # type: ignore[arg-type, no-any-return]
    except Sep2ParseError as exc:
        raise from_parse_error(exc) from None


def answer(rt: GatewayRuntime, resource: Sep2Object) -> Response:
    """200 with the resource as a 2030.5 document."""
    return xml_response(rt.codec.serialise(resource))
