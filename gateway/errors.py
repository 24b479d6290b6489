"""Refusals: every 4xx the 2030.5 server answers, and how it is written.

A handler (or a storage job) raises :class:`Refusal`; the application turns it into the
answer. 400 (a document that fails the XSD or a value we refuse), 409 (a conflict with
what is stored) and 413 (too large) carry a 2030.5 ``Error`` body with its reasonCode;
403, 404, 405, 406 and 415 have an empty body, as the standard's servers answer them.

The ``Error`` resource has no room for words, so the problem is also given in words in an
``X-Problem`` header (one line, at most 300 characters) and logged at INFO: an engineer
looking at a 400 wants to know which element failed.
"""

from __future__ import annotations

from collections.abc import Mapping

from sep2 import ReasonCode, Sep2ParseError

PROBLEM_HEADER = "X-Problem"
_PROBLEM_MAX = 300


class Refusal(Exception):
    """A request the server refuses: the HTTP status, the reasonCode if the answer carries
    an Error body, the problem in words, and any extra headers (Allow, Location)."""

    def __init__(
        self,
        status: int,
        problem: str,
        *,
        reason_code: ReasonCode | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(problem)
        self.status = status
        self.problem = problem
        self.reason_code = reason_code
        self.headers = dict(headers or {})

    def header_text(self) -> str:
        """The problem as one header-safe line."""
        line = " ".join(self.problem.split())
        line = line.encode("latin-1", "replace").decode("latin-1")
        return line if len(line) <= _PROBLEM_MAX else line[: _PROBLEM_MAX - 1] + "…"


def bad_request(problem: str, reason: ReasonCode = ReasonCode.INVALID_REQUEST_VALUES) -> Refusal:
    """400 with an Error body."""
    return Refusal(400, problem, reason_code=reason)


def from_parse_error(exc: Sep2ParseError) -> Refusal:
    """The answer to a document sep2 refused: 400 (or 413), with sep2's reasonCode."""
    return Refusal(exc.http_status, str(exc), reason_code=exc.reason_code)


def forbidden(problem: str) -> Refusal:
    """403: the caller may not see or change this."""
    return Refusal(403, problem)


def not_found(problem: str = "no such resource") -> Refusal:
    """404."""
    return Refusal(404, problem)


def conflict(problem: str, reason: ReasonCode = ReasonCode.INVALID_REQUEST_VALUES) -> Refusal:
    """409 with an Error body: the request conflicts with what is stored."""
    return Refusal(409, problem, reason_code=reason)


def too_large(problem: str) -> Refusal:
    """413 with an Error body."""
    return Refusal(413, problem, reason_code=ReasonCode.INVALID_REQUEST_FORMAT)


def unsupported_media_type(problem: str) -> Refusal:
    """415: the body is not application/sep+xml."""
    return Refusal(415, problem)


def not_acceptable(problem: str) -> Refusal:
    """406: the caller accepts no application/sep+xml."""
    return Refusal(406, problem)


def method_not_allowed(allowed: tuple[str, ...]) -> Refusal:
    """405 with the Allow header."""
    return Refusal(405, "method not allowed", headers={"Allow": ", ".join(allowed)})


def unavailable(problem: str, retry_after: int = 5) -> Refusal:
    """503 with Retry-After: the database cannot be reached; the client should retry."""
    return Refusal(503, problem, headers={"Retry-After": str(retry_after)})
