"""The server's clock as a meter sees it: the offset from its own, and when it disagrees.

A 2030.5 client takes its time from the server's Time resource (``/tm``): it reads it at
start and again at its pollRate, and stamps its readings in the server's time. The offset
is measured against the middle of the request (the answer was written somewhere between
sending and receiving) and rounded to whole seconds, the resolution of ``currentTime``
(which is truncated: the server's instant is on average half a second past it).

A clock further off than ``tolerance_s`` is said at WARNING once, with the Time's quality
(a server that claims an NTP-synchronised clock and is minutes off is lying about it),
and again only when the offset moves by more than ``tolerance_s`` (a clock that jumps).
The meter follows the server either way: the readings are the server's to judge.
"""

from __future__ import annotations

import logging

from sep2 import Time

log = logging.getLogger(__name__)

# Time.quality (IEEE 2030.5 table of TimeQuality): 3 and 4 claim a traceable source.
_SYNCHRONISED = {3: "from an authoritative source (NTP)", 4: "from a level-3 source"}


class ServerClock:
    """The offset (server − ours, whole seconds) learnt from the server's Time."""

    def __init__(self, serial: str, tolerance_s: float) -> None:
        self.serial = serial
        self.tolerance_s = tolerance_s
        self.offset = 0
        self.reads = 0
        self._said: int | None = None  # the offset last reported as a disagreement

    def observe(self, time: Time, sent: float, received: float) -> int:
        """Take in a Time answer to a request sent at ``sent`` and answered at
        ``received`` (our clock, seconds); returns the new offset."""
        middle = (sent + received) / 2
        offset = round(time.current_time + 0.5 - middle)
        self.reads += 1
        if abs(offset) > self.tolerance_s:
            if self._said is None or abs(offset - self._said) > self.tolerance_s:
                self._say(offset, time.quality)
                self._said = offset
        elif self._said is not None:
            log.info(
                f"{self.serial}: the server's clock agrees with ours again (offset {offset} s)",
                extra={"serial": self.serial, "offset_s": offset},
            )
            self._said = None
        self.offset = offset
        return offset

    def _say(self, offset: int, quality: int) -> None:
        side = "ahead of" if offset > 0 else "behind"
        claim = _SYNCHRONISED.get(quality)
        claimed = (
            f"; its Time claims to be synchronised {claim} (quality {quality})"
            if claim
            else f" (Time quality {quality})"
        )
        moved = "" if self._said is None else f", it jumped {offset - self._said:+d} s"
        log.warning(
            f"{self.serial}: the server's clock is {abs(offset)} s {side} ours{moved}"
            f"{claimed}; readings are stamped in the server's time",
            extra={"serial": self.serial, "offset_s": offset, "quality": quality},
        )
