"""Which codec profile each caller speaks: learnt from its bodies, kept with its EndDevice.

A device whose bodies are in an older namespace (the EPRI reference client writes the 2013
draft's ``http://ieee.org/2030.5``) gets its answers in the form its schema accepts
(sep2.profiles): that namespace, without the elements it lacks, lists paged to what its
``results`` can count. How the gateway knows:

- **The namespace of the bodies it sends.** Every document a caller POSTs or PUTs says
  which schema it speaks; the answer to that very request already uses it, and it is kept
  in ``end_device.codec_profile`` once the request succeeds, so it survives a restart and
  every gateway process behind a load balancer answers the device alike. A device that
  posts a 2018 body again is back to 2018. Before a device has sent a body (its first GET
  /dcap, or a device that never registers) it is answered in 2018.
- **Not the Accept header.** ``application/sep+xml`` has one parameter, ``level`` (the
  extension level, ``-S1``), and nothing that names a schema or namespace; no 2013-draft
  client sends anything there that would tell, so the header is no signal to go by.

Each process remembers, per LFDI, what it read from the database or kept there, for
``ttl`` seconds; then it reads it again (one indexed read per device every 5 minutes), so a
change another process kept, or an EndDevice unregistered and registered again out of
band, reaches this one within that time. What a body teaches is remembered only once its
request succeeded and the profile is kept: a refused body teaches nothing. A request that
creates an EndDevice keeps the profile of its body whether or not this process knew it
(the new row starts without one).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlmodel import Session

from gateway.crud import devices
from gateway.groupcommit import Job
from sep2 import IEEE_2018, CodecProfile, profile_named

T = TypeVar("T")
Reader = Callable[[Callable[[Session], T]], Awaitable[T]]

_CACHE_SIZE = 65_536
DEFAULT_TTL = 300.0


class ProfileMemory:
    """The codec profile of each caller, by LFDI (see the module docstring)."""

    def __init__(
        self,
        read: Reader[str | None],
        *,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self._ttl = ttl
        self._clock = clock
        self._known: dict[str, tuple[float, CodecProfile]] = {}

    def _remember(self, lfdi: str, profile: CodecProfile) -> None:
        if len(self._known) >= _CACHE_SIZE and lfdi not in self._known:
            self._known.clear()
        self._known[lfdi] = (self._clock() + self._ttl, profile)

    async def of(self, lfdi: str) -> CodecProfile:
        """The profile to answer ``lfdi`` with."""
        known = self._known.get(lfdi)
        if known is not None and known[0] > self._clock():
            return known[1]
        profile = profile_named(await self._read(lambda s: devices.codec_profile(s, lfdi)))
        self._remember(lfdi, profile)
        return profile

    async def learn(self, lfdi: str, profile: CodecProfile) -> bool:
        """``lfdi`` sent a body of ``profile``'s schema; True if that is news to keep.
        Nothing is remembered here: the request may still fail (see :meth:`kept`)."""
        return await self.of(lfdi) is not profile

    def kept(self, lfdi: str, profile: CodecProfile) -> None:
        """``profile`` was kept for ``lfdi`` (:meth:`store_job` ran): answer it so."""
        self._remember(lfdi, profile)

    @staticmethod
    def store_job(lfdi: str, profile: CodecProfile) -> Job[bool]:
        """Keep ``profile`` with the EndDevice of ``lfdi`` (nothing if it is unregistered)."""
        name = None if profile is IEEE_2018 else profile.name
        return lambda session: devices.set_codec_profile(session, lfdi, name)
