from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sep2 import Codec, Time, TimeQuality, time_resource


def utc(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp())  # type: ignore[misc]


T0 = utc(2026, 1, 1)  # northern winter, southern summer


def test_new_york_in_winter() -> None:
    tm = time_resource(T0, ZoneInfo("America/New_York"), quality=TimeQuality.EXTERNAL_AUTHORITATIVE)
    assert tm.current_time == T0
    assert tm.tz_offset == -5 * 3600  # negative in the Americas, as the XSD says
    assert tm.dst_offset == 0
    assert tm.local_time == T0 - 5 * 3600
    # Second Sunday of March, 02:00 EST; first Sunday of November, 02:00 EDT.
    assert (tm.dst_start_time, tm.dst_end_time) == (utc(2026, 3, 8, 7), utc(2026, 11, 1, 6))
    assert tm.quality == 3


def test_new_york_in_summer() -> None:
    now = utc(2026, 7, 1, 12)
    tm = time_resource(now, ZoneInfo("America/New_York"), quality=3)
    assert (tm.tz_offset, tm.dst_offset) == (-5 * 3600, 3600)
    assert tm.local_time == now - 4 * 3600
    assert (tm.dst_start_time, tm.dst_end_time) == (utc(2026, 3, 8, 7), utc(2026, 11, 1, 6))


def test_sydney_in_its_summer_gives_the_period_in_effect() -> None:
    tm = time_resource(T0, ZoneInfo("Australia/Sydney"), quality=3)
    assert (tm.tz_offset, tm.dst_offset) == (10 * 3600, 3600)
    # First Sunday of October 02:00 AEST, first Sunday of April 03:00 AEDT.
    assert (tm.dst_start_time, tm.dst_end_time) == (utc(2025, 10, 4, 16), utc(2026, 4, 4, 16))
    assert tm.dst_start_time <= T0 < tm.dst_end_time


@pytest.mark.parametrize("zone", ["UTC", "Asia/Tokyo", "Asia/Kolkata"])
def test_zones_without_dst(zone: str) -> None:
    tm = time_resource(T0, ZoneInfo(zone), quality=7)
    offset = int(datetime.fromtimestamp(T0, ZoneInfo(zone)).utcoffset().total_seconds())  # type: ignore[union-attr]
    assert (tm.dst_offset, tm.dst_start_time, tm.dst_end_time) == (0, 0, 0)
    assert tm.tz_offset == offset
    assert tm.local_time == T0 + offset


ZONES = [
    "America/New_York",
    "Australia/Sydney",
    "Europe/London",
    "America/Santiago",
    "Pacific/Auckland",
    "Asia/Tokyo",
]


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(ZONES), st.integers(utc(2000, 1, 1), utc(2037, 1, 1)))
def test_invariants_in_any_zone_at_any_time(zone_name: str, now: int) -> None:
    zone = ZoneInfo(zone_name)
    tm = time_resource(now, zone, quality=3)
    offset = int(datetime.fromtimestamp(now, zone).utcoffset().total_seconds())  # type: ignore[union-attr]
    assert tm.local_time == now + offset
    # What cactus-client checks: local time minus both offsets is UTC.
    assert tm.local_time - tm.tz_offset - tm.dst_offset == now  # type: ignore[operator]

    def in_dst(t: int) -> bool:  # clocks advanced beyond the standard offset
        return datetime.fromtimestamp(t, zone).utcoffset().total_seconds() > tm.tz_offset  # type: ignore[union-attr]

    if tm.dst_offset:
        assert tm.dst_start_time <= now < tm.dst_end_time
    elif tm.dst_start_time:
        assert now < tm.dst_start_time < tm.dst_end_time
    if tm.dst_start_time:
        # Exact to the second, and the period between is all daylight saving.
        assert not in_dst(tm.dst_start_time - 1) and in_dst(tm.dst_start_time)
        assert in_dst(tm.dst_end_time - 1) and not in_dst(tm.dst_end_time)


@pytest.mark.parametrize("now", [T0, utc(2026, 7, 1), utc(2026, 3, 29, 1), utc(2026, 10, 25, 1)])
def test_dublin_is_described_like_london(now: int) -> None:
    # tzdata gives Dublin a negative DST in winter; 2030.5 clients expect a positive one.
    dublin = time_resource(now, ZoneInfo("Europe/Dublin"), quality=3)
    assert dublin == time_resource(now, ZoneInfo("Europe/London"), quality=3)
    assert dublin.tz_offset == 0 and dublin.dst_offset >= 0


def test_an_aware_datetime_is_the_same_instant() -> None:
    zone = ZoneInfo("Europe/London")
    aware = datetime(2026, 1, 1, 1, 0, tzinfo=ZoneInfo("Europe/Paris"))
    assert time_resource(aware, zone, quality=3) == time_resource(T0, zone, quality=3)
    with pytest.raises(ValueError, match="timezone-aware"):
        time_resource(datetime(2026, 1, 1), zone, quality=3)


def test_the_time_resource_is_valid_xml(codec: Codec) -> None:
    tm = time_resource(T0, ZoneInfo("Australia/Sydney"), quality=3, href="/tm", poll_rate=900)
    assert codec.parse(codec.serialise(tm), Time) == tm
