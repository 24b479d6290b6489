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
from sep2 import (
    IEEE_2018,
    CodecProfile,
    ListQuery,
    Sep2Object,
    Sep2ParseError,
    parse_list_query,
    profile_for_namespace,
)

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
    identity 403. A handler answers a document with :func:`answer`; it is written here,
    for the codec profile the caller speaks (gateway.profiles), which a GET knows before
    the handler runs (to page for it) and a body may teach (kept once it succeeded).
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
                peer = rt.peers.resolve(request.scope)
                state = request.state
                state.peer = peer
                if request.method == "GET":
                    state.codec_profile = await rt.profiles.of(peer.lfdi)
                response = await handler(request, rt, peer)
                # Only now: a request that raised (a refusal) keeps nothing it taught.
                if getattr(state, "codec_profile_learnt", False):
                    profile = state.codec_profile
                    await rt.write(rt.profiles.store_job(peer.lfdi, profile))
                    rt.profiles.kept(peer.lfdi, profile)
                if isinstance(response, ResourceAnswer):
                    profile = await codec_profile_of(request, rt)
                    return xml_response(rt.codec.serialise(response.resource, profile=profile))
                return response

            self.routes.append(Route(path, endpoint, methods=methods, name=handler.__name__))
            return handler

        return register


def path_id(text: str) -> int:
    """A resource id from a path segment; 404 unless it is a decimal integer."""
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise not_found(f"no resource {text!r}")
    return int(text)


def list_query(request: Request, rt: GatewayRuntime) -> ListQuery:
    """The s / a / l of a list request (400 if malformed), ``l`` at most what the caller's
    schema can count in one page."""
    limit = rt.settings.list_limit
    profile: CodecProfile | None = getattr(request.state, "codec_profile", None)
    if profile is not None and profile.max_results is not None:
        limit = min(limit, profile.max_results)
    try:
        return parse_list_query(request.url.query, max_limit=limit)
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
    """The request's document, checked against the XSD, of the expected type(s); its
    namespace tells which schema the caller speaks (gateway.profiles)."""
    body = await read_body(request, rt.sep2.max_body_bytes)
    try:
        document = rt.codec.parse_document(body, expect)
    except Sep2ParseError as exc:
        raise from_parse_error(exc) from None
    profile = profile_for_namespace(document.namespace)
    state = request.state
    peer: Peer = state.peer
    if await rt.profiles.learn(peer.lfdi, profile):
        state.codec_profile_learnt = True
    state.codec_profile = profile
    return document.resource  # type: ignore[return-value]


def keep_codec_profile(request: Request) -> None:
    """Keep the codec profile the request's body spoke with the caller's EndDevice once
    the request succeeds, news to this process or not: for a request that creates the
    EndDevice (its row starts without one)."""
    request.state.codec_profile_learnt = True


class ResourceAnswer(Response):
    """200 with a 2030.5 document, written by the route for the caller's codec profile."""

    def __init__(self, resource: Sep2Object) -> None:
        super().__init__(status_code=200)
        self.resource = resource


def answer(rt: GatewayRuntime, resource: Sep2Object) -> Response:
    """200 with the resource as a 2030.5 document (in the form the caller's schema takes)."""
    return ResourceAnswer(resource)


async def codec_profile_of(request: Request, rt: GatewayRuntime) -> CodecProfile:
    """The codec profile to answer this request with: what its body said, else what is
    known of the caller, else 2018 (a caller without an identity)."""
    state = request.state
    profile: CodecProfile | None = getattr(state, "codec_profile", None)
    if profile is None:
        peer: Peer | None = getattr(state, "peer", None)
        profile = await rt.profiles.of(peer.lfdi) if peer is not None else IEEE_2018
        state.codec_profile = profile
    return profile
