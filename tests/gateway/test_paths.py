"""Which paths are 2030.5 paths, and which route serves each: the shortcuts the request
path takes (gateway.app.is_sep2_path, the order of gateway.routes.sep2_routes)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.app import is_sep2_path
from gateway.routes import SEP2_PREFIXES, sep2_routes

_SEGMENTS = st.sampled_from(
    ["", "mup", "mupx", "mu", "upt", "tm", "tmx", "edev", "dcap", "api", "1", "docs"]
)


@settings(max_examples=300, deadline=None)
@given(st.booleans(), st.lists(_SEGMENTS, max_size=4), st.booleans())
def test_is_sep2_path_is_a_prefix_or_below(
    leading: bool, segments: list[str], trailing: bool
) -> None:
    path = ("/" if leading else "") + "/".join(segments) + ("/" if trailing else "")
    reference = any(path == p or path.startswith(p + "/") for p in SEP2_PREFIXES)
    assert is_sep2_path(path) is reference


def test_no_path_matches_two_sep2_routes() -> None:
    # What lets sep2_routes put the busiest first: their order decides nothing else.
    routes = sep2_routes()
    for route in routes:
        path = re.sub(r"\{\w+\}", "7", route.path)
        matching = [r.path for r in routes if r.path_regex.match(path)]
        assert matching == [route.path]
        assert is_sep2_path(path)
