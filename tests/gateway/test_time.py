"""/tm is computed once per daylight-saving period and shifted: always equal to sep2's."""

from __future__ import annotations

from types import SimpleNamespace
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.routes import time as tm
from gateway.settings import GatewaySettings
from sep2 import time_resource

SYDNEY_DST_START_2025 = 1_759_593_600  # 2025-10-05 02:00 AEST
START, END = 1_735_689_600, 1_830_297_600  # 2025-01-01 .. 2027-12-31


def runtime(zone: str) -> SimpleNamespace:
    return SimpleNamespace(settings=GatewaySettings(timezone=zone), zone=ZoneInfo(zone))


@settings(max_examples=25, deadline=None)
@given(
    zone=st.sampled_from(["Australia/Sydney", "Europe/Dublin", "America/New_York", "Asia/Bangkok"]),
    steps=st.lists(st.integers(1, 40 * 86_400), min_size=1, max_size=30),
    first=st.integers(START, END),
)
def test_cached_time_equals_sep2(zone: str, steps: list[int], first: int) -> None:
    tm._cache.clear()
    rt = runtime(zone)
    now = first
    for step in [0, *steps]:
        now += step
        expected = time_resource(now, rt.zone, quality=7, href="/tm", poll_rate=900)
        assert tm.current_time(rt, now) == expected  # type: ignore[arg-type]


def test_around_a_dst_change() -> None:
    tm._cache.clear()
    rt = runtime("Australia/Sydney")
    for now in range(SYDNEY_DST_START_2025 - 3, SYDNEY_DST_START_2025 + 3):
        expected = time_resource(now, rt.zone, quality=7, href="/tm", poll_rate=900)
        assert tm.current_time(rt, now) == expected  # type: ignore[arg-type]
