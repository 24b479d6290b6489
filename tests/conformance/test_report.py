"""The report writers: JUnit parsed back, HTML escaping hostile bodies, terminal totals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from conformance.model import (
    CertificateSummary,
    HttpRequest,
    HttpResponse,
    Outcome,
    Procedure,
    Report,
    Side,
    Step,
    Verdict,
    select,
)
from conformance.report import html_report, junit_xml, pretty_body, terminal_summary

T0 = datetime(2026, 12, 7, 23, 0, tzinfo=UTC)
HOSTILE = b'<script>alert("x")</script><img src=x onerror=alert(1)>&amp;</pre>\x00\x07'


def _procedure(pid: str, mandatory: bool = True) -> Procedure:
    return Procedure(pid, f"title of {pid}", "5.1.2", Side.SERVER, mandatory, ("do it",))


def _step(outcome: Outcome, body: bytes = b"", problems: tuple[str, ...] = ()) -> Step:
    return Step(
        "GET /dcap",
        outcome,
        HttpRequest("GET", "https://h:1/dcap", (("Accept", "application/sep+xml"),)),
        HttpResponse(200, (("Content-Type", "application/sep+xml"),), body, 0.012),
        problems=problems,
    )


def _report(body: bytes = b"<DeviceCapability/>") -> Report:
    cert = CertificateSummary(
        subject="CN=<b>evil</b>",
        issuer="CN=SERCA",
        serial="1f",
        not_before=T0,
        not_after=T0 + timedelta(days=365),
        key="EC secp256r1",
        fingerprint_sha256="00" * 32,
        san=("DNS localhost",),
        san_critical=False,
        problems=("subjectAltName is not critical [san-critical]",),
    )
    failing = Step("TLS handshake", Outcome.FAIL, certificates=(cert,), problems=("bad SAN",))
    verdicts = (
        Verdict.from_steps(_procedure("dcap"), [_step(Outcome.PASS, body)]),
        Verdict.from_steps(_procedure("tls"), [failing, _step(Outcome.FAIL, body, ("x",))]),
        Verdict.from_steps(_procedure("time", False), [_step(Outcome.FAIL, body, ("late",))]),
        Verdict.skipped(_procedure("discovery"), "needs --discover"),
    )
    return Report(Side.SERVER, "https://h:1/", T0, T0 + timedelta(seconds=3), verdicts)


def test_verdict_reason_is_the_first_failed_steps_problem() -> None:
    report = _report()
    tls = report.verdicts[1]
    assert tls.outcome is Outcome.FAIL
    assert tls.reason == "TLS handshake: bad SAN (and 1 more failed step(s))"
    assert report.verdicts[0].outcome is Outcome.PASS and report.verdicts[0].reason == ""
    # the optional failure does not make the run fail; the mandatory one does
    assert [v.procedure.id for v in report.mandatory_failures] == ["tls"]
    assert not report.passed


def test_junit_parses_back_with_one_testcase_per_procedure() -> None:
    report = _report(HOSTILE)
    root = etree.fromstring(junit_xml(report))
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("4", "2", "1")
    cases = suite.findall("testcase")
    assert [c.get("name", "").split()[0] for c in cases] == ["dcap", "tls", "time", "discovery"]
    assert cases[0].find("failure") is None and cases[0].find("skipped") is None
    failure = cases[1].find("failure")
    assert failure is not None and failure.get("message") == report.verdicts[1].reason
    assert failure.get("type") == "mandatory" and cases[2].find("failure").get("type") == "optional"
    skipped = cases[3].find("skipped")
    assert skipped is not None and skipped.get("message") == "needs --discover"


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += [name for name, _ in attrs]


def test_html_escapes_hostile_bodies_and_subjects() -> None:
    page = html_report(_report(HOSTILE))
    parser = _Tags()
    parser.feed(page)
    assert "script" not in parser.tags and "img" not in parser.tags and "b" in parser.tags
    assert not any(a.startswith("on") for a in parser.attributes)
    assert "&lt;script&gt;" in page
    assert "CN=&lt;b&gt;evil&lt;/b&gt;" in page
    assert "subjectAltName is not critical" in page
    assert "default-src 'none'" in page  # a CSP as a second line


@given(st.binary(max_size=300))
def test_writers_take_any_body(body: bytes) -> None:
    report = _report(body)
    etree.fromstring(junit_xml(report))
    parser = _Tags()
    parser.feed(html_report(report))
    assert "script" not in parser.tags


def test_pretty_body_indents_xml_and_leaves_entity_bombs_as_text() -> None:
    assert pretty_body(b"<a><b>1</b></a>") == "<a>\n  <b>1</b>\n</a>"
    bomb = b'<!DOCTYPE a [<!ENTITY x "xx">]><a>&x;</a>'
    assert pretty_body(bomb) == bomb.decode()
    long = b"<a>" + b"x" * 70_000 + b"</a>"
    assert pretty_body(long).endswith("more bytes not shown)")


def test_terminal_summary_lists_every_procedure_and_totals() -> None:
    text = terminal_summary(_report(), verbose=True)
    lines = text.splitlines()
    assert lines[0] == "server conformance of https://h:1/"
    assert any(line.startswith("FAIL  tls") and "bad SAN" in line for line in lines)
    assert any(line.startswith("SKIP  discovery") and "needs --discover" in line for line in lines)
    assert any("(optional)" in line and "time" in line for line in lines)
    assert lines[-1] == "1 passed, 2 failed (1 mandatory), 1 skipped in 3.0 s"


def test_select_by_id_or_prefix_and_reports_unknown() -> None:
    procs = [_procedure(p) for p in ("dcap", "mup.create", "mup.delete", "time")]
    chosen, unknown = select(procs, only=["mup", "nope"], skip=["mup.delete"])
    assert [p.id for p in chosen] == ["mup.create"]
    assert unknown == ["nope"]
    chosen, unknown = select(procs)
    assert len(chosen) == 4 and unknown == []
