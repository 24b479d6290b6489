"""Time as the physics sees it: integer milliseconds since the Unix epoch, in UTC.

The model never reads a clock; whoever drives it (the fleet, a replay, a test) says what
time it is. Integer milliseconds keep step boundaries exact, so the same steps always cut
time at the same places.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

MS_PER_S = 1_000
MINUTE_MS = 60 * MS_PER_S
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)

Instant = datetime | int | float
"""A point in time: an aware datetime, or seconds since the Unix epoch."""


def to_ms(when: Instant) -> int:
    """Milliseconds since the epoch for an aware datetime or epoch seconds.

    Naive datetimes are refused: a meter in Bangkok and a gateway in UTC must never
    disagree about what "now" means.
    """
    if isinstance(when, datetime):
        if when.tzinfo is None or when.utcoffset() is None:
            raise ValueError(f"naive datetime {when.isoformat()}: give a timezone")
        return (when - _EPOCH) // _ONE_MS
    if isinstance(when, bool) or not isinstance(when, int | float):
        raise TypeError(f"not a time: {when!r}")
    if when != when or when in (float("inf"), float("-inf")):
        raise ValueError(f"not a finite time: {when!r}")
    return round(when * MS_PER_S)


def to_datetime(ms: int) -> datetime:
    """The aware UTC datetime of a millisecond timestamp."""
    return _EPOCH + timedelta(milliseconds=ms)
