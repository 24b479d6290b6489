"""Opaque cursors of the API's keyset pages.

A cursor is the sort key of the last item of a page, as base64url JSON. Clients treat it
as opaque; a cursor that does not decode to the expected shape is a 400.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from gateway.api.problems import ApiProblem


def encode(key: Any) -> str:
    """The cursor of a sort key (a JSON value)."""
    raw = json.dumps(key, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> Any:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise ApiProblem(400, "the cursor is not one this API gave") from None


_BIGINT_MAX = 2**63 - 1


def _is_key(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _BIGINT_MAX


def decode_int(cursor: str | None) -> int | None:
    """An integer sort key (an id), or None for the first page."""
    if cursor is None:
        return None
    key = _decode(cursor)
    if not _is_key(key):
        raise ApiProblem(400, "the cursor is not one this API gave")
    return int(key)


def decode_pair(cursor: str | None) -> tuple[int, int] | None:
    """A (timestamp, id) sort key, or None for the first page."""
    if cursor is None:
        return None
    key = _decode(cursor)
    if not isinstance(key, list) or len(key) != 2 or not all(_is_key(k) for k in key):
        raise ApiProblem(400, "the cursor is not one this API gave")
    return key[0], key[1]


def decode_text(cursor: str | None) -> str | None:
    """A text sort key (an LFDI), or None for the first page."""
    if cursor is None:
        return None
    key = _decode(cursor)
    if not isinstance(key, str):
        raise ApiProblem(400, "the cursor is not one this API gave")
    return key
