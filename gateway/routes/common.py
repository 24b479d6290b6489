"""What every 2030.5 route does: ids from paths, list queries, bodies, XML answers."""

from __future__ import annotations

from typing import TypeVar, overload

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from gateway.deps import sep2_accept
from gateway.errors import from_parse_error, not_found
from gateway.runtime import GatewayRuntime
from gateway.sep2http import read_body, xml_response
from sep2 import ListQuery, Sep2Object, Sep2ParseError, parse_list_query

T = TypeVar("T", bound=Sep2Object)
U = TypeVar("U", bound=Sep2Object)


def sep2_router() -> APIRouter:
    """A router for 2030.5 resources: hidden from OpenAPI, 406 for non-XML callers."""
    return APIRouter(dependencies=[Depends(sep2_accept)], include_in_schema=False)


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
