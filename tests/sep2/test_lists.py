from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sep2 import (
    DEFAULT_LIMIT,
    ListQuery,
    Page,
    ReasonCode,
    Sep2ParseError,
    list_href,
    next_query,
    page,
    parse_list_query,
    window,
)
from sep2.lists import DEFAULT_MAX_LIMIT

queries = st.builds(
    ListQuery,
    start=st.integers(0, 60),
    after=st.none() | st.integers(-5, 60),
    limit=st.integers(0, 60),
)


def test_defaults_follow_the_decision() -> None:
    assert DEFAULT_LIMIT == 1
    assert parse_list_query("") == ListQuery(start=0, after=None, limit=1)
    assert parse_list_query({}) == ListQuery()


def test_query_string_and_mapping_agree() -> None:
    expected = ListQuery(start=3, after=1_767_225_600, limit=25)
    assert parse_list_query("s=3&a=1767225600&l=25") == expected
    assert parse_list_query({"s": "3", "a": "1767225600", "l": "25"}) == expected
    assert parse_list_query({"s": ["3", "9"], "a": ["1767225600"], "l": ["25"]}) == expected
    assert parse_list_query("l=25&s=3&a=1767225600&s=9&unknown=x") == expected


def test_a_limit_above_the_maximum_is_clamped() -> None:
    assert parse_list_query("l=100000").limit == DEFAULT_MAX_LIMIT
    assert parse_list_query("l=100000", max_limit=20).limit == 20
    assert parse_list_query("l=0").limit == 0


def test_after_may_be_negative_time() -> None:
    assert parse_list_query("a=-5").after == -5


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("s=-1", "s"),
        ("s=x", "s"),
        ("s=", "s"),
        ("l=1.5", "l"),
        ("l=+3", "l"),
        ("a=now", "a"),
        ("s=4294967296", "s"),
        ("a=9223372036854775808", "a"),
        ("l=%D9%A3", "l"),
    ],
)
def test_malformed_parameters_are_refused_by_name(query: str, name: str) -> None:
    with pytest.raises(Sep2ParseError) as caught:
        parse_list_query(query)
    assert caught.value.path == f"?{name}"
    assert caught.value.http_status == 400


def test_out_of_range_is_a_value_error_code() -> None:
    with pytest.raises(Sep2ParseError) as caught:
        parse_list_query("s=4294967296")
    assert caught.value.reason_code == ReasonCode.INVALID_REQUEST_VALUES


@given(st.lists(st.integers(0, 50)).map(sorted), queries)
def test_page_is_filter_then_slice(times: list[int], query: ListQuery) -> None:
    items = [(t, i) for i, t in enumerate(times)]
    got = page(items, query, time_of=lambda item: item[0])
    visible = [it for it in items if query.after is None or it[0] > query.after]
    assert got.all == len(visible)
    assert list(got.items) == visible[query.start : query.start + query.limit]
    assert got.results == len(got.items) <= query.limit


@given(st.lists(st.integers()), queries)
def test_after_is_ignored_on_lists_not_ordered_by_time(items: list[int], query: ListQuery) -> None:
    got = page(items, query)
    assert got.all == len(items)


@given(st.integers(0, 200), queries)
def test_window_matches_page(total: int, query: ListQuery) -> None:
    items = list(range(total))
    offset, count = window(total, query)
    chunk = page(items, ListQuery(start=query.start, limit=query.limit))
    assert items[offset : offset + count] == list(chunk.items)


def test_window_refuses_a_negative_total() -> None:
    with pytest.raises(ValueError):
        window(-1, ListQuery())


@given(st.integers(0, 120), st.integers(1, 25), st.none() | st.integers(-1, 130))
def test_following_next_query_visits_every_item_once(
    total: int, limit: int, after: int | None
) -> None:
    items = list(range(total))
    query: ListQuery | None = ListQuery(limit=limit, after=after)
    seen: list[int] = []
    pages = 0
    while query is not None:
        current = page(items, query, time_of=lambda i: i)
        seen.extend(current.items)
        query = next_query(query, current)
        pages += 1
        assert pages <= total + 1
    expected = [i for i in items if after is None or i > after]
    assert seen == expected


def test_next_query_from_counts() -> None:
    assert next_query(ListQuery(limit=10), 10, 25) == ListQuery(start=10, limit=10)
    assert next_query(ListQuery(start=20, limit=10), 5, 25) is None
    assert next_query(ListQuery(limit=0), 0, 25) is None
    with pytest.raises(ValueError):
        next_query(ListQuery(), 1)


def test_page_results_property() -> None:
    assert Page(items=(1, 2), all=9).results == 2


def test_list_href_writes_only_what_differs_from_defaults() -> None:
    assert list_href("/mup", ListQuery()) == "/mup"
    assert list_href("/mup", ListQuery(start=2, limit=10)) == "/mup?s=2&l=10"
    assert list_href("/upt/1/mr/1/rs/1/r", ListQuery(after=5, limit=1)) == "/upt/1/mr/1/rs/1/r?a=5"
    assert parse_list_query(list_href("/x", ListQuery(3, 4, 5)).split("?")[1]) == ListQuery(3, 4, 5)
