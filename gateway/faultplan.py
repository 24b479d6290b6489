"""Scripted server faults, to see how a 2030.5 client copes (client conformance runs).

A :class:`FaultPlan` is a table of :class:`ScriptedFault` rows, applied to every device
on its own timeline: the clock of a device starts at its first accepted readings POST
(so its setup is done), and each fault is due ``at_periods`` postRates later. A fault is
applied when the device's next request arrives after it is due:

- ``server_error``: the next ``count`` readings POSTs are answered ``status`` (503) with
  ``Retry-After``; the client should post those readings again, not before it was told.
- ``reject``: the next readings POST is answered 400 with an Error body; the client
  should not send the same readings again and again.
- ``post_rate``: the device's postRate becomes ``factor`` times the server's (stored, as
  ``gridmirror gateway set-post-rate`` does); the client should notice when it re-reads
  its mirror and post at the new rate.
- ``delete_mirror``: the device's mirrors are deleted server-side; its next readings POST
  finds 404, and it should find out (re-walk from /dcap) and create its mirror again.
- ``missing_link``: the next GET of ``path`` (the MirrorUsagePointList link) is answered
  404; the client should not hammer the link.

An answer the plan gives itself is marked in the request scope for the recorder
(gateway.recorder), and server-side actions are noted there, so the checks can tell the
client's behaviour from the server's. An ordinary gateway has no plan, and nothing of this
runs.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal, get_args

from sqlmodel import Session

from gateway.crud import devices, direct, mirrors
from gateway.recorder import (
    FAULT_SCOPE_KEY,
    ASGIApp,
    ConversationRecorder,
    Message,
    Receive,
    Scope,
    Send,
)
from gateway.runtime import GatewayRuntime
from sep2 import Error, ReasonCode

log = logging.getLogger(__name__)

FaultKind = Literal["server_error", "reject", "post_rate", "delete_mirror", "missing_link"]
FAULT_KINDS: tuple[FaultKind, ...] = get_args(FaultKind)

# A readings POST: POST /mup/{m} (gateway.mappers.Hrefs.mup).
_READINGS_PATH = re.compile(r"^/mup/\d+$")


@dataclass(frozen=True, slots=True)
class ScriptedFault:
    """One row of a fault plan (see the module docstring)."""

    kind: FaultKind
    at_periods: float  # postRates after the device's first accepted readings POST
    count: int = 1  # answers it replaces (server_error, reject, missing_link)
    status: int = 0  # the status it answers with (0: the kind's own)
    retry_after_s: int = 2  # server_error's Retry-After
    factor: int = 2  # post_rate: the new postRate in server postRates
    path: str = "/mup"  # missing_link: the link that goes missing


DEFAULT_PLAN: tuple[ScriptedFault, ...] = (
    ScriptedFault("server_error", at_periods=2, count=3, status=503, retry_after_s=2),
    ScriptedFault("reject", at_periods=8, status=400),
    ScriptedFault("post_rate", at_periods=11, factor=2),
    ScriptedFault("delete_mirror", at_periods=22),
    ScriptedFault("missing_link", at_periods=28, status=404),
)
"""Every kind once, spaced so that each one's effect is seen before the next (with the
server's postRate P: the postRate change doubles P at 11 P, so the deletion at 22 P
comes after five posts at the new rate)."""


def plan_of(kinds: Iterable[str] | None) -> tuple[ScriptedFault, ...]:
    """The rows of DEFAULT_PLAN of the ``kinds`` named (all for None); ValueError names
    an unknown kind."""
    if kinds is None:
        return DEFAULT_PLAN
    wanted = set(kinds)
    unknown = wanted - set(FAULT_KINDS)
    if unknown:
        raise ValueError(
            f"unknown fault {', '.join(sorted(unknown))} (known: {', '.join(FAULT_KINDS)})"
        )
    return tuple(f for f in DEFAULT_PLAN if f.kind in wanted)


def plan_length_s(plan: Sequence[ScriptedFault], post_rate: int) -> float:
    """Seconds after a device's first post by which the whole plan has been applied and
    its effect can be seen (a few of the longest postRate after the last fault)."""
    if not plan:
        return 0.0
    longest = max([1] + [f.factor for f in plan if f.kind == "post_rate"])
    return max(f.at_periods for f in plan) * post_rate + 4 * longest * post_rate


@dataclass
class _DeviceTimeline:
    started: float | None = None  # the first accepted readings POST
    next_fault: int = 0
    answering: ScriptedFault | None = None  # the answer-replacing fault under way
    left: int = 0


@dataclass
class FaultPlan:
    """A fault plan applied to each device (see the module docstring)."""

    faults: Sequence[ScriptedFault]
    runtime: GatewayRuntime
    recorder: ConversationRecorder
    clock: Callable[[], float]
    _devices: dict[str, _DeviceTimeline] = field(default_factory=dict)

    def wrap(self, app: ASGIApp) -> ASGIApp:
        """``app`` with the plan applied to every device's requests."""

        async def planned(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            lfdi = self.recorder.lfdi_of(scope)
            timeline = self._devices.setdefault(lfdi, _DeviceTimeline())
            await self._apply_due(lfdi, timeline)
            fault = self._answering(timeline, scope)
            if fault is not None:
                scope[FAULT_SCOPE_KEY] = fault.kind
                await self._answer(fault, send)
                return
            if timeline.started is not None or not self._is_readings_post(scope):
                await app(scope, receive, send)
                return

            async def watching(message: Message) -> None:
                start = message["type"] == "http.response.start"
                if start and 200 <= message["status"] < 300 and timeline.started is None:
                    timeline.started = self.clock()
                await send(message)

            await app(scope, receive, watching)

        return planned

    @staticmethod
    def _is_readings_post(scope: Scope) -> bool:
        return scope["method"] == "POST" and bool(_READINGS_PATH.match(scope.get("path", "")))

    async def _apply_due(self, lfdi: str, timeline: _DeviceTimeline) -> None:
        """Start every fault that has come due for ``lfdi`` (at most one that answers)."""
        if timeline.started is None or timeline.answering is not None:
            return
        period = self.runtime.settings.post_rate
        while timeline.next_fault < len(self.faults):
            fault = self.faults[timeline.next_fault]
            if self.clock() < timeline.started + fault.at_periods * period:
                return
            timeline.next_fault += 1
            if fault.kind in ("post_rate", "delete_mirror"):
                await self._act(lfdi, fault)
                continue
            timeline.answering, timeline.left = fault, fault.count
            self.recorder.note_action(lfdi, fault.kind, self._describe(fault))
            return

    def _answering(self, timeline: _DeviceTimeline, scope: Scope) -> ScriptedFault | None:
        """The fault that answers this request instead of the server, if one does."""
        fault = timeline.answering
        if fault is None:
            return None
        if fault.kind == "missing_link":
            hit = scope["method"] == "GET" and scope.get("path") == fault.path
        else:
            hit = self._is_readings_post(scope)
        if not hit:
            return None
        timeline.left -= 1
        if timeline.left <= 0:
            timeline.answering = None
        return fault

    async def _act(self, lfdi: str, fault: ScriptedFault) -> None:
        """A server-side change to the device's resources."""
        if fault.kind == "post_rate":
            seconds = fault.factor * self.runtime.settings.post_rate

            def set_rate(session: Session) -> None:
                devices.set_post_rate(session, lfdi, seconds)

            await self.runtime.write(set_rate)
            detail = f"postRate set to {seconds} s"
        else:
            now = self.clock()

            def delete(session: Session) -> list[str]:
                found = mirrors.live_of_device(session, lfdi)
                for mirror in found:
                    assert mirror.id is not None
                    direct.delete_mirror(session, mirror.id, now)
                return [f"/mup/{m.id}" for m in found]

            deleted = await self.runtime.write(delete)
            detail = f"deleted {', '.join(deleted) or 'no mirror'}"
        self.recorder.note_action(lfdi, fault.kind, detail)
        log.info("fault applied", extra={"lfdi": lfdi, "fault": fault.kind, "detail": detail})

    @staticmethod
    def _describe(fault: ScriptedFault) -> str:
        if fault.kind == "missing_link":
            return f"the next GET {fault.path} answered {fault.status or 404}"
        extra = f", Retry-After {fault.retry_after_s}" if fault.kind == "server_error" else ""
        return f"the next {fault.count} readings POST(s) answered {_status(fault)}{extra}"

    async def _answer(self, fault: ScriptedFault, send: Send) -> None:
        status = _status(fault)
        headers = [(b"x-problem", f"fault injected: {fault.kind}".encode())]
        body = b""
        if fault.kind == "server_error":
            headers.append((b"retry-after", str(fault.retry_after_s).encode()))
        elif fault.kind == "reject":
            error = Error(reason_code=ReasonCode.INVALID_REQUEST_VALUES)
            body = self.runtime.codec.serialise(error, check=False)
            headers.append((b"content-type", b"application/sep+xml"))
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _status(fault: ScriptedFault) -> int:
    if fault.status:
        return fault.status
    return {"server_error": 503, "reject": 400, "missing_link": 404}.get(fault.kind, 500)
