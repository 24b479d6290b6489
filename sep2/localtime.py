"""The Time resource (/tm) computed from a timestamp and a time zone.

The XSD's annotations: ``currentTime`` is UTC seconds; ``tzOffset`` the zone's offset
from UTC *without* daylight saving (negative in the Americas); ``dstOffset`` the daylight
saving offset from local standard time; ``dstStartTime``/``dstEndTime`` when daylight
saving begins and ends; ``localTime = currentTime + tzOffset (+ dstOffset when in
effect)``; ``quality`` says how good the server's time source is (3 = NTP ... 7 =
uncoordinated).

The XSD leaves open whether ``dstOffset`` is the amount daylight saving *would* add or the
amount it adds *now*, and which year's start and end to give. We follow what the
conformance tool and the reference server we test against agree on (cactus-client checks
``localTime - tzOffset - dstOffset == currentTime``; envoy computes the same):

- ``dstOffset`` is the offset in effect at ``currentTime`` (0 outside daylight saving);
- ``dstStartTime``/``dstEndTime`` bound the daylight-saving period in effect now, or else
  the next one, so ``dstStartTime < dstEndTime`` in both hemispheres;
- a zone without daylight saving (now and for the coming ~1000 days) gives 0 for all
  three, and a period whose end is further away than that has a dstEndTime of 0;
- a zone tzdata describes with a *negative* DST in winter (Europe/Dublin) is described the
  usual way: standard time in winter, a positive dstOffset in summer.

Time-zone rules are data (``zoneinfo.ZoneInfo``), not IO: the function is pure. It finds
transitions by asking the zone, day by day, then to the second, so it needs nothing but
the public tzinfo interface.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from sep2.resources import Time

_DAY = 86_400
_HORIZON_DAYS = 1000  # Chile kept summer time for ~20 months in 2015-16


def _utc_offset(zone: tzinfo, t: int) -> int:
    offset = datetime.fromtimestamp(t, zone).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def _dst(zone: tzinfo, t: int) -> int:
    dst = datetime.fromtimestamp(t, zone).dst()
    return int(dst.total_seconds()) if dst is not None else 0


class _Summer:
    """Whether daylight saving is in effect, the way 2030.5 clients expect it.

    tzdata gives a few zones (Europe/Dublin, Africa/Casablanca) a *negative* DST in winter
    with the summer time as their standard; 2030.5 expects a positive dstOffset while
    clocks are advanced. For such a zone the period with the larger offset is taken as the
    daylight-saving one, and its amount is the size of the negative DST.
    """

    def __init__(self, zone: tzinfo, around: int) -> None:
        self.zone = zone
        samples = [_dst(zone, around + k * 30 * _DAY) for k in range(-7, 8)]
        self.negative = min(samples) < 0
        self.negative_amount = -min(samples)

    def amount(self, t: int) -> int:
        """The DST offset in effect at ``t`` (0 outside daylight saving)."""
        dst = _dst(self.zone, t)
        if self.negative:
            return self.negative_amount if dst == 0 else 0
        return dst if dst > 0 else 0

    def __call__(self, t: int) -> bool:
        return self.amount(t) != 0


def _next_change(summer: _Summer, t: int, step: int) -> int | None:
    """The instant of the nearest change of whether DST is in effect, after ``t``
    (``step`` > 0) or at or before it (``step`` < 0); None if there is none within the
    horizon."""
    in_dst = summer(t)
    probe = t
    for _ in range(_HORIZON_DAYS):
        nxt = probe + step
        if summer(nxt) != in_dst:
            # Narrow to the second; hi ends as the first second of the later state, which
            # is the transition instant in either direction.
            lo, hi = (probe, nxt) if step > 0 else (nxt, probe)
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (lo, mid) if summer(mid) == summer(hi) else (mid, hi)
            return hi
        probe = nxt
    return None


def dst_period(zone: tzinfo, now: int) -> tuple[int, int, int]:
    """``(dst_offset, dst_start_time, dst_end_time)`` for ``now`` as the module says."""
    summer = _Summer(zone, now)
    current = summer.amount(now)
    if current != 0:
        # In DST: the period began at the last change at or before now.
        start = _next_change(summer, now, -_DAY)
        end = _next_change(summer, now, _DAY)
        if start is None or end is None:
            return current, 0, 0
        return current, start, end
    start = _next_change(summer, now, _DAY)
    if start is None:
        return 0, 0, 0
    end = _next_change(summer, start, _DAY)
    return 0, start, end if end is not None else 0


def time_resource(
    now: int | datetime,
    zone: tzinfo,
    *,
    quality: int,
    href: str | None = None,
    poll_rate: int | None = None,
) -> Time:
    """The Time resource for the instant ``now`` (UTC seconds, or an aware datetime) in
    ``zone`` (e.g. ``zoneinfo.ZoneInfo("Australia/Sydney")``).

    ``quality`` is the caller's knowledge of its clock (sep2.enums.TimeQuality: 3 when
    synchronised by NTP).
    """
    if isinstance(now, datetime):
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware (or UTC seconds)")
        now = int(now.astimezone(UTC).timestamp())
    offset = _utc_offset(zone, now)
    dst_offset, dst_start, dst_end = dst_period(zone, now)
    return Time(
        href=href,
        poll_rate=poll_rate,
        current_time=now,
        dst_end_time=dst_end,
        dst_offset=dst_offset,
        dst_start_time=dst_start,
        local_time=now + offset,
        quality=quality,
        tz_offset=offset - dst_offset,
    )
