"""The data of a conformance run, the same for the server side and the client side.

A Procedure says what is checked (with the IEEE 2030.5-2018 clause it comes from); running
it yields a Verdict made of Steps, each recording what went over the wire (request,
response, certificates seen) and what was found wrong with it. A Report is the verdicts of
one run against one subject (a server URL, or one connecting device).

Everything here is plain immutable data with no IO, so writers (conformance.report) and
both runners share it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

Headers = tuple[tuple[str, str], ...]


class Outcome(enum.StrEnum):
    """How a procedure (or one step of it) ended."""

    PASS = "pass"  # noqa: S105 (an outcome, not a password)
    FAIL = "fail"
    SKIP = "skip"


class Side(enum.StrEnum):
    """Which side of 2030.5 a procedure tests."""

    SERVER = "server"
    CLIENT = "client"


@dataclass(frozen=True)
class Procedure:
    """One conformance procedure: what it checks and where the standard says so.

    ``steps`` are the human descriptions of what is done, in order (shown by ``--list``
    and in reports); the runner of each side holds the executable part.
    """

    id: str
    title: str
    clause: str
    side: Side
    mandatory: bool = True
    steps: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()  # ids of procedures whose results this one builds on


@dataclass(frozen=True)
class HttpRequest:
    """A request as sent (the body exactly as bytes)."""

    method: str
    url: str
    headers: Headers = ()
    body: bytes = b""


@dataclass(frozen=True)
class HttpResponse:
    """A response as received; ``elapsed_s`` from the request's first byte sent."""

    status: int
    headers: Headers = ()
    body: bytes = b""
    elapsed_s: float = 0.0

    def header(self, name: str) -> str | None:
        """The first header of that name (case-insensitive), or None."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)


@dataclass(frozen=True)
class CertificateSummary:
    """What a reader of a report needs to know about one certificate of a chain."""

    subject: str
    issuer: str
    serial: str  # hex
    not_before: datetime
    not_after: datetime
    key: str  # e.g. "EC secp256r1"
    fingerprint_sha256: str  # hex
    san: tuple[str, ...] = ()
    san_critical: bool | None = None  # None when there is no SAN extension
    policies: tuple[str, ...] = ()  # dotted OIDs
    problems: tuple[str, ...] = ()  # profile violations found (IEEE 2030.5 6.11)


@dataclass(frozen=True)
class Step:
    """One action of a procedure and what was found.

    A step without a request is a check on data gathered earlier (or a TLS handshake,
    then ``certificates`` holds the peer's chain). ``problems`` are the reasons the step
    failed; a failed step has at least one.
    """

    title: str
    outcome: Outcome
    request: HttpRequest | None = None
    response: HttpResponse | None = None
    certificates: tuple[CertificateSummary, ...] = ()
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # facts worth showing that are not problems


@dataclass(frozen=True)
class Verdict:
    """The result of one procedure: its outcome, why, and the steps that led there."""

    procedure: Procedure
    outcome: Outcome
    reason: str = ""
    steps: tuple[Step, ...] = ()
    started: datetime | None = None
    duration_s: float = 0.0

    @classmethod
    def from_steps(
        cls,
        procedure: Procedure,
        steps: Sequence[Step],
        *,
        started: datetime | None = None,
        duration_s: float = 0.0,
    ) -> Verdict:
        """Fail with the first failed step's first problem as the reason, else pass."""
        failed = [step for step in steps if step.outcome is Outcome.FAIL]
        if failed:
            first = failed[0]
            why = first.problems[0] if first.problems else "failed"
            reason = f"{first.title}: {why}"
            if len(failed) > 1:
                reason += f" (and {len(failed) - 1} more failed step(s))"
            outcome = Outcome.FAIL
        else:
            reason, outcome = "", Outcome.PASS
        return cls(procedure, outcome, reason, tuple(steps), started, duration_s)

    @classmethod
    def skipped(cls, procedure: Procedure, reason: str) -> Verdict:
        """A procedure that was not run, and why."""
        return cls(procedure, Outcome.SKIP, reason)


@dataclass(frozen=True)
class Report:
    """The verdicts of one run against one subject."""

    side: Side
    subject: str  # a server's URL, or a device's LFDI
    started: datetime
    finished: datetime
    verdicts: tuple[Verdict, ...] = ()
    tool: str = "gridmirror"
    facts: tuple[tuple[str, str], ...] = field(default=())  # e.g. ("TLS", "1.2 CCM8")

    def count(self, outcome: Outcome) -> int:
        """How many procedures ended with ``outcome``."""
        return sum(1 for verdict in self.verdicts if verdict.outcome is outcome)

    @property
    def mandatory_failures(self) -> tuple[Verdict, ...]:
        """Failed procedures that the standard requires: these decide the exit code."""
        return tuple(
            v for v in self.verdicts if v.outcome is Outcome.FAIL and v.procedure.mandatory
        )

    @property
    def passed(self) -> bool:
        """True unless a mandatory procedure failed."""
        return not self.mandatory_failures

    @property
    def duration_s(self) -> float:
        """Wall time of the whole run."""
        return (self.finished - self.started).total_seconds()


def select(
    procedures: Iterable[Procedure], only: Iterable[str] = (), skip: Iterable[str] = ()
) -> tuple[list[Procedure], list[str]]:
    """The procedures ``--only``/``--skip`` leave, and any ids given that do not exist.

    An id selects itself and every procedure whose id starts with it and a dot
    (``mup`` selects ``mup.create`` and ``mup.delete``).
    """
    procedures = list(procedures)
    only, skip = list(only), list(skip)

    def matches(procedure: Procedure, wanted: str) -> bool:
        return procedure.id == wanted or procedure.id.startswith(wanted + ".")

    unknown = [w for w in only + skip if not any(matches(p, w) for p in procedures)]
    chosen = [
        p
        for p in procedures
        if (not only or any(matches(p, w) for w in only)) and not any(matches(p, w) for w in skip)
    ]
    return chosen, unknown
