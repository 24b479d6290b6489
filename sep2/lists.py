"""List paging: the ``s``, ``a`` and ``l`` query parameters, ``all`` and ``results``.

IEEE 2030.5 lets a client page through any list resource with ``s`` (start: index of the
first item, 0-based), ``l`` (limit: the most items to return) and, on lists ordered by
time, ``a`` (after: only items whose time is after this TimeType). The answer's ``all``
is the number of items there are to page through, and ``results`` the number in this page.

What we decided, where the XSD's annotations are silent:

- **Default of ``l`` is 1.** The XSD's annotations give no default (Subscription.limit
  only says it is "meant to be functionally equivalent to the 'limit' query string
  parameter"); envoy, the server behind the CSIP-AUS conformance tests, defaults it to 1
  (``DEFAULT_LIMIT = 1``), as does our protocol notes' reading of the standard. A list GET
  without ``l`` therefore gets at most one item; clients that want more ask.
- **A larger ``l`` than the server allows is clamped**, not refused: the answer simply has
  fewer ``results`` than asked for, which every client must handle anyway. The server's
  maximum is the caller's ``max_limit`` (its own policy, not the protocol's).
- **``a`` filters, then ``s`` and ``l`` page** the filtered sequence, and ``all`` counts the
  filtered sequence, so that a client paging with ``s`` under one ``a`` reaches exactly
  ``all`` items. ``a`` is strictly "after": an item at exactly ``a`` is left out. On lists
  that are not ordered by time (no ``time_of`` given), ``a`` is ignored.
- A malformed value (not a non-negative decimal integer, or out of range) is refused with
  a Sep2ParseError naming the parameter (HTTP 400); unknown parameters are ignored; when a
  parameter is repeated, the first value counts.

The functions are pure: :func:`page` slices a full ordered sequence held in memory, and
:func:`window` gives ``(offset, count)`` for a database query when only the total is known.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar
from urllib.parse import parse_qs, urlencode

from sep2.enums import ReasonCode
from sep2.errors import Sep2ParseError
from sep2.primitives import INT64_MAX, INT64_MIN, UINT32_MAX

T = TypeVar("T")

DEFAULT_LIMIT = 1
DEFAULT_MAX_LIMIT = 500


@dataclass(frozen=True, slots=True)
class ListQuery:
    """What a client asked of a list: start, after (or None) and limit."""

    start: int = 0
    after: int | None = None
    limit: int = DEFAULT_LIMIT


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list: its items and the ``all`` to report; ``results`` is derived."""

    items: tuple[T, ...]
    all: int

    @property
    def results(self) -> int:
        """The number of items in this page."""
        return len(self.items)


def _integer(name: str, raw: str, low: int, high: int) -> int:
    text = raw
    digits = text[1:] if text.startswith("-") and low < 0 else text
    if not digits.isdigit() or not digits.isascii():
        raise Sep2ParseError(
            f"query parameter {name}={raw!r} is not a decimal integer", path=f"?{name}"
        )
    value = int(text)
    if not low <= value <= high:
        raise Sep2ParseError(
            f"query parameter {name}={value} is outside {low}..{high}",
            path=f"?{name}",
            reason_code=ReasonCode.INVALID_REQUEST_VALUES,
        )
    return value


def parse_list_query(
    query: str | Mapping[str, str | Sequence[str]],
    *,
    max_limit: int = DEFAULT_MAX_LIMIT,
) -> ListQuery:
    """Read ``s``, ``a`` and ``l`` from a raw query string (``"s=2&l=10"``) or a mapping."""
    params: Mapping[str, str | Sequence[str]]
    params = parse_qs(query, keep_blank_values=True) if isinstance(query, str) else query

    def first(name: str) -> str | None:
        value = params.get(name)
        if value is None or isinstance(value, str):
            return value
        return value[0] if value else None

    s, a, limit = first("s"), first("a"), first("l")
    return ListQuery(
        start=0 if s is None else _integer("s", s, 0, UINT32_MAX),
        after=None if a is None else _integer("a", a, INT64_MIN, INT64_MAX),
        limit=DEFAULT_LIMIT
        if limit is None
        else min(_integer("l", limit, 0, UINT32_MAX), max_limit),
    )


def page(
    items: Sequence[T], query: ListQuery, *, time_of: Callable[[T], int] | None = None
) -> Page[T]:
    """The page of ``items`` (already in the list's order) that ``query`` asks for."""
    if query.after is not None and time_of is not None:
        after = query.after
        items = [item for item in items if time_of(item) > after]
    chosen = items[query.start : query.start + query.limit]
    return Page(items=tuple(chosen), all=len(items))


def window(total: int, query: ListQuery) -> tuple[int, int]:
    """``(offset, count)`` to fetch for ``query`` from a list of ``total`` items (after any
    ``a`` filter the caller applied); ``count`` is also the page's ``results``."""
    if total < 0:
        raise ValueError("total must not be negative")
    offset = min(query.start, total)
    return offset, max(0, min(query.limit, total - offset))


def list_href(path: str, query: ListQuery) -> str:
    """``path`` with the query string for ``query`` (``/mup?s=2&l=10``); only parameters
    that differ from the defaults are written."""
    params: list[tuple[str, int]] = []
    if query.start:
        params.append(("s", query.start))
    if query.after is not None:
        params.append(("a", query.after))
    if query.limit != DEFAULT_LIMIT:
        params.append(("l", query.limit))
    return f"{path}?{urlencode(params)}" if params else path


def next_query(query: ListQuery, page: Page[T] | int, total: int | None = None) -> ListQuery | None:
    """The query for the page after this one, or None if this was the last.

    Pass the Page, or the number of results and the ``all`` total.
    """
    if isinstance(page, Page):
        results, total = page.results, page.all
    else:
        results = page
        if total is None:
            raise ValueError("next_query needs the total when given a result count")
    following = query.start + results
    if results == 0 or following >= total:
        return None
    return ListQuery(start=following, after=query.after, limit=query.limit)
