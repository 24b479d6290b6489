"""Reading a 2030.5 request body: limits, content types, and a client that goes away."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.requests import Request

from gateway.errors import Refusal
from gateway.sep2http import read_body
from sep2 import CONTENT_TYPE


def request(messages: Sequence[dict[str, Any]], headers: dict[str, str]) -> Request:
    """A Request whose body arrives as ``messages`` (ASGI receive events)."""
    pending = list(messages)

    async def receive() -> dict[str, Any]:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/mup/1",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    return Request(scope, receive)


def body_events(chunks: Sequence[bytes]) -> list[dict[str, Any]]:
    last = len(chunks) - 1
    return [
        {"type": "http.request", "body": c, "more_body": i < last} for i, c in enumerate(chunks)
    ]


@pytest.mark.asyncio
@given(st.lists(st.binary(max_size=64), min_size=1, max_size=8))
async def test_the_body_is_the_chunks_joined(chunks: list[bytes]) -> None:
    req = request(body_events(chunks), {"content-type": CONTENT_TYPE})
    assert await read_body(req, limit=10_000) == b"".join(chunks)


@pytest.mark.asyncio
async def test_a_client_that_disconnects_mid_body_is_a_refusal_not_a_crash() -> None:
    events = [{"type": "http.request", "body": b"<MirrorMeterReading", "more_body": True}]
    req = request(events, {"content-type": CONTENT_TYPE})  # then http.disconnect
    with pytest.raises(Refusal) as refused:
        await read_body(req, limit=10_000)
    assert refused.value.status == 400
    assert "disconnected after 19 bytes" in refused.value.problem


@pytest.mark.asyncio
async def test_a_body_past_the_limit_is_refused_even_without_content_length() -> None:
    req = request(body_events([b"x" * 600, b"x" * 600]), {"content-type": CONTENT_TYPE})
    with pytest.raises(Refusal) as refused:
        await read_body(req, limit=1_000)
    assert refused.value.status == 413
