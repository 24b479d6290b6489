"""What goes wrong in the protocol core, in a form the gateway can answer with.

IEEE 2030.5 answers a bad request with HTTP 400 and an ``Error`` body whose ``reasonCode``
is 0 (invalid request format) or 1 (invalid request values). A :class:`Sep2ParseError`
carries everything needed for that answer: which element (and attribute) was wrong, a
readable path to it, the problem in words, the reasonCode and the HTTP status (413 for a
body over the size limit, 400 otherwise). Nothing in sep2 turns it into HTTP itself.
"""

from __future__ import annotations

from sep2.enums import ReasonCode


class Sep2Error(ValueError):
    """Base of every error raised by the protocol core."""


class Sep2ParseError(Sep2Error):
    """An incoming document was refused.

    ``element`` is the local name of the offending element (None when the document as a
    whole is refused, e.g. too large or not XML), ``attribute`` the offending attribute if
    any, ``path`` a readable location such as ``MirrorMeterReadingList/MirrorMeterReading[2]
    /Reading/value``, and ``problem`` what is wrong with it.
    """

    def __init__(
        self,
        problem: str,
        *,
        element: str | None = None,
        attribute: str | None = None,
        path: str | None = None,
        reason_code: ReasonCode = ReasonCode.INVALID_REQUEST_FORMAT,
        http_status: int = 400,
    ) -> None:
        self.problem = problem
        self.element = element
        self.attribute = attribute
        self.path = path if path is not None else element
        self.reason_code = reason_code
        self.http_status = http_status
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.path or ""
        if self.attribute:
            where = f"{where}@{self.attribute}" if where else f"@{self.attribute}"
        return f"{where}: {self.problem}" if where else self.problem


class Sep2EncodeError(Sep2Error):
    """A resource object cannot be written as XML valid against the official XSD.

    This is a bug in the caller (a value out of its XSD range, a description over 32
    characters, ...): sep2 refuses to emit invalid XML rather than send it.
    """

    def __init__(self, problem: str, *, path: str | None = None) -> None:
        self.problem = problem
        self.path = path
        super().__init__(f"{path}: {problem}" if path else problem)
