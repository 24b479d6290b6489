"""Pure judgements of a server's answers: each returns the problems it finds (empty: fine).

No IO here: the runner (conformance.server) feeds these the records conformance.exchange
made, so every rule can be unit-tested on bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from conformance.model import HttpResponse
from sep2 import CONTENT_TYPE, Schema, Sep2ParseError
from sep2.extensions import set_aside
from sep2.hardening import SafeXmlParser

# An answer is read with room for big lists (a server may send far more than a meter).
_ANSWER_PARSER = SafeXmlParser(max_body_bytes=4 * 1024 * 1024, max_depth=32)
CCM8_SUITE = "ECDHE-ECDSA-AES128-CCM8"  # OpenSSL's name of TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8


def status(response: HttpResponse, expected: Iterable[int]) -> list[str]:
    """The status is one of ``expected``."""
    wanted = sorted(set(expected))
    if response.status in wanted:
        return []
    return [f"status {response.status}, expected {' or '.join(map(str, wanted))}"]


def content_type(response: HttpResponse) -> list[str]:
    """A body-carrying answer says it is application/sep+xml."""
    if not response.body:
        return []
    value = (response.header("Content-Type") or "").split(";")[0].strip().lower()
    if value == CONTENT_TYPE:
        return []
    return [f"Content-Type {value or '(none)'}, expected {CONTENT_TYPE}"]


def xsd(schema: Schema, body: bytes) -> tuple[list[str], list[str]]:
    """Problems of a body against the official XSD (strictly: no repairs), with the
    element path of the first error; and notes (foreign-namespace extensions set aside,
    which the XSD cannot judge)."""
    try:
        root = _ANSWER_PARSER.parse(body)
    except Sep2ParseError as exc:
        return [f"body refused by the hardened parser: {exc}"], []
    extensions = set_aside(root)
    notes = [f"{len(extensions)} foreign-namespace extension(s) set aside"] if extensions else []
    error = schema.strict_error(root)
    if error is None:
        return [], notes
    return [f"not valid against the IEEE 2030.5 XSD: {error}"], notes


def location(response: HttpResponse) -> list[str]:
    """A 201/204 to a create carries the new resource's Location."""
    return [] if response.header("Location") else ["no Location header"]


def allow(response: HttpResponse, method: str) -> list[str]:
    """A 405 names the allowed methods in Allow, and not the refused one."""
    value = response.header("Allow")
    if not value:
        return ["405 without an Allow header"]
    allowed = {m.strip().upper() for m in value.split(",")}
    if method.upper() in allowed:
        return [f"Allow ({value}) lists the refused method {method}"]
    return []


def mrids_descending(mrids: Sequence[str]) -> list[str]:
    """A MirrorUsagePointList is ordered by mRID, descending (Table 56 of 10.11.2)."""
    keys = [int(m, 16) for m in mrids]
    if keys == sorted(keys, reverse=True):
        return []
    return [f"not ordered by mRID descending: {', '.join(mrids)}"]


def list_counts(all_: int | None, results: int | None, items: int, limit: int | None) -> list[str]:
    """A list answer carries all and results, results counts its items, and the page
    respects the limit asked for."""
    problems = []
    if all_ is None:
        problems.append("list without all")
    if results is None:
        problems.append("list without results")
    elif results != items:
        problems.append(f"results={results} but {items} item(s) in the list")
    if all_ is not None and results is not None and results > all_:
        problems.append(f"results={results} exceeds all={all_}")
    if limit is not None and items > limit:
        problems.append(f"{items} item(s) for l={limit}")
    return problems
