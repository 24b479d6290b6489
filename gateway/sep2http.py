"""HTTP for 2030.5 documents: content negotiation, bodies with a size cap, XML answers.

- ``Accept``: absent, or naming ``application/sep+xml``, ``application/*`` or ``*/*`` with
  a non-zero q, is fine; anything else is 406.
- ``Content-Type`` of a POST or PUT must be ``application/sep+xml``; parameters (``level``,
  ``charset``) are allowed. Anything else is 415.
- A body larger than the limit is 413: ``Content-Length`` is checked before a byte is read,
  and a body without one (chunked) is read only up to the limit.
"""

from __future__ import annotations

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from gateway.errors import (
    PROBLEM_HEADER,
    Refusal,
    bad_request,
    not_acceptable,
    too_large,
    unsupported_media_type,
)
from sep2 import CONTENT_TYPE, ReasonCode

_ACCEPTED_RANGES = (CONTENT_TYPE, "application/*", "*/*")


def accepts_sep2(accept: str | None) -> bool:
    """True if an ``Accept`` header lets us answer application/sep+xml."""
    if accept is None or not accept.strip():
        return True
    for media_range in accept.split(","):
        kind, *params = (part.strip() for part in media_range.split(";"))
        if kind.lower() not in _ACCEPTED_RANGES:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > 0:
            return True
    return False


def check_accept(request: Request) -> None:
    """406 unless the caller accepts application/sep+xml."""
    if not accepts_sep2(request.headers.get("accept")):
        raise not_acceptable(f"Accept must allow {CONTENT_TYPE}")


def is_sep2_content_type(content_type: str | None) -> bool:
    """True for ``application/sep+xml``, with or without parameters."""
    if content_type is None:
        return False
    return content_type.split(";", 1)[0].strip().lower() == CONTENT_TYPE


async def read_body(request: Request, limit: int) -> bytes:
    """The body of a POST or PUT carrying a 2030.5 document, or a Refusal (415, 413, 400)."""
    if not is_sep2_content_type(request.headers.get("content-type")):
        raise unsupported_media_type(f"Content-Type must be {CONTENT_TYPE}")
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise bad_request("Content-Length is not a number", ReasonCode.INVALID_REQUEST_FORMAT)
        if int(declared) > limit:
            raise too_large(f"body of {int(declared)} bytes exceeds the limit of {limit}")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large(f"body exceeds the limit of {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        # A meter that drops its connection mid-body is routine (power, radio, restart):
        # an info line through the refusal path, not an "Exception in ASGI application".
        raise bad_request(
            f"the client disconnected after {size} bytes of the body",
            ReasonCode.INVALID_REQUEST_FORMAT,
        ) from None
    return b"".join(chunks)


def xml_response(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """An answer carrying a 2030.5 document."""
    return Response(content=body, status_code=status, media_type=CONTENT_TYPE, headers=headers)


def empty_response(status: int, headers: dict[str, str] | None = None) -> Response:
    """An answer without a body (201, 204 with Location; 403, 404, ...)."""
    return Response(status_code=status, headers=headers)


def refusal_response(refusal: Refusal, error_body: bytes | None) -> Response:
    """The answer to a Refusal: the Error document if it has one, else no body."""
    headers = dict(refusal.headers)
    headers[PROBLEM_HEADER] = refusal.header_text()
    if error_body is not None:
        return xml_response(error_body, refusal.status, headers)
    return empty_response(refusal.status, headers)
