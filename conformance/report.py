"""Writing a conformance Report: a terminal summary, JUnit XML and a self-contained HTML page.

The JUnit file makes a run a CI test suite (one testcase per procedure, a failure element
carrying the reason, skipped ones marked skipped). The HTML page needs nothing but itself:
styles inline, every step's request and response with bodies pretty-printed, certificates
summarised. Everything that came from the peer is escaped: a hostile server's body must
not script the page a vendor is handed.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

from lxml import etree

from conformance.model import (
    CertificateSummary,
    Headers,
    HttpRequest,
    HttpResponse,
    Outcome,
    Report,
    Step,
    Verdict,
)
from sep2.errors import Sep2ParseError
from sep2.hardening import SafeXmlParser

# Bodies are shown, not trusted: the hardened parser (no DTD, no entities) with room for
# big lists; anything it refuses is shown as text.
_PRETTY_PARSER = SafeXmlParser(max_body_bytes=4 * 1024 * 1024, max_depth=64)
_BODY_SHOWN_BYTES = 64 * 1024  # a longer body is cut in the report (with a note)

_MARK = {Outcome.PASS: "PASS", Outcome.FAIL: "FAIL", Outcome.SKIP: "SKIP"}


def pretty_body(body: bytes) -> str:
    """A body as text for a report: indented XML if it parses safely, else decoded as is."""
    if not body:
        return ""
    cut = len(body) > _BODY_SHOWN_BYTES
    try:
        if cut:
            raise Sep2ParseError("too long to indent")
        root = _PRETTY_PARSER.parse(body)
        etree.indent(root, space="  ")
        text: str = etree.tostring(root, encoding="unicode")
    except (Sep2ParseError, etree.XMLSyntaxError, ValueError):
        text = body[:_BODY_SHOWN_BYTES].decode("utf-8", errors="replace")
    if cut:
        text += f"\n… ({len(body) - _BODY_SHOWN_BYTES} more bytes not shown)"
    return text


# --- terminal ---------------------------------------------------------------------------


def terminal_summary(report: Report, *, verbose: bool = False) -> str:
    """One line per procedure (outcome, id, clause, title, why), then the totals.

    ``verbose`` adds every step with its problems under each procedure.
    """
    lines = [f"{report.side.value} conformance of {report.subject}"]
    lines += [f"  {key}: {value}" for key, value in report.facts]
    width = max((len(v.procedure.id) for v in report.verdicts), default=0)
    for verdict in report.verdicts:
        p = verdict.procedure
        optional = "" if p.mandatory else " (optional)"
        line = f"{_MARK[verdict.outcome]}  {p.id:<{width}}  {p.clause:<10} {p.title}{optional}"
        if verdict.reason:
            line += f" — {verdict.reason}"
        lines.append(line)
        if verbose:
            for step in verdict.steps:
                lines.append(f"        {_MARK[step.outcome].lower()}: {step.title}")
                lines += [f"          ! {problem}" for problem in step.problems]
    lines.append(
        f"{report.count(Outcome.PASS)} passed, {report.count(Outcome.FAIL)} failed "
        f"({len(report.mandatory_failures)} mandatory), {report.count(Outcome.SKIP)} skipped "
        f"in {report.duration_s:.1f} s"
    )
    return "\n".join(lines)


# --- JUnit XML --------------------------------------------------------------------------


def junit_xml(report: Report) -> bytes:
    """The report as a JUnit XML document (one testsuite, one testcase per procedure)."""
    suites = etree.Element("testsuites")
    suite = etree.SubElement(
        suites,
        "testsuite",
        name=f"gridmirror conformance {report.side.value} {report.subject}",
        tests=str(len(report.verdicts)),
        failures=str(report.count(Outcome.FAIL)),
        errors="0",
        skipped=str(report.count(Outcome.SKIP)),
        time=f"{report.duration_s:.3f}",
        timestamp=report.started.isoformat(timespec="seconds"),
    )
    properties = etree.SubElement(suite, "properties")
    for key, value in report.facts:
        etree.SubElement(properties, "property", name=key, value=value)
    for verdict in report.verdicts:
        p = verdict.procedure
        case = etree.SubElement(
            suite,
            "testcase",
            classname=f"conformance.{report.side.value}",
            name=f"{p.id} [{p.clause}] {p.title}",
            time=f"{verdict.duration_s:.3f}",
        )
        if verdict.outcome is Outcome.FAIL:
            failure = etree.SubElement(
                case,
                "failure",
                message=verdict.reason,
                type="mandatory" if p.mandatory else "optional",
            )
            failure.text = _step_log(verdict.steps)
        elif verdict.outcome is Outcome.SKIP:
            etree.SubElement(case, "skipped", message=verdict.reason)
        if verdict.steps:
            out = etree.SubElement(case, "system-out")
            out.text = _step_log(verdict.steps)
    return bytes(etree.tostring(suites, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _step_log(steps: Iterable[Step]) -> str:
    lines = []
    for step in steps:
        head = f"[{step.outcome.value}] {step.title}"
        if step.request is not None:
            head += f" — {step.request.method} {step.request.url}"
        if step.response is not None:
            head += f" → {step.response.status}"
        lines.append(head)
        lines += [f"    ! {problem}" for problem in step.problems]
        lines += [f"    {note}" for note in step.notes]
    return _xml_safe("\n".join(lines))


def _xml_safe(text: str) -> str:
    """Drop the characters XML 1.0 cannot carry (a peer's body may contain anything)."""
    return "".join(
        c
        for c in text
        if c in "\t\n\r"
        or "\x20" <= c <= "\ud7ff"
        or "\ue000" <= c <= "\ufffd"
        or c >= "\U00010000"
    )


# --- HTML -------------------------------------------------------------------------------

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.4em} table{border-collapse:collapse}
td,th{padding:.2em .6em;text-align:left;vertical-align:top;border-bottom:1px solid #ddd}
.pass{color:#176317}.fail{color:#b00020}.skip{color:#666}
details{margin:.4em 0 .4em 1em} summary{cursor:pointer}
pre{background:#f6f6f6;padding:.6em;overflow-x:auto;white-space:pre-wrap;font-size:.85em}
.problem{color:#b00020} .cert{font-size:.85em;margin:.3em 0 .3em 1em}
"""


def html_report(report: Report) -> str:
    """The report as one self-contained HTML page (no scripts, no external resources)."""
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        # No script may run, whatever a peer's body contains.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'\">",
        f"<title>{e(report.side.value)} conformance of {e(report.subject)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>IEEE 2030.5 {e(report.side.value)} conformance of "
        f"<code>{e(report.subject)}</code></h1>",
        f"<p>{e(report.tool)}, {e(report.started.isoformat(timespec='seconds'))} to "
        f"{e(report.finished.isoformat(timespec='seconds'))} ({report.duration_s:.1f} s): "
        f"<b>{report.count(Outcome.PASS)}</b> passed, <b>{report.count(Outcome.FAIL)}</b> failed "
        f"({len(report.mandatory_failures)} mandatory), <b>{report.count(Outcome.SKIP)}</b> "
        f'skipped. Overall: <b class="{"pass" if report.passed else "fail"}">'
        f"{'PASS' if report.passed else 'FAIL'}</b></p>",
    ]
    if report.facts:
        parts.append("<table>")
        parts += [f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in report.facts]
        parts.append("</table>")
    parts.append(
        "<h2>Summary</h2><table><tr><th>outcome</th><th>procedure</th><th>clause</th>"
        "<th>title</th><th>why</th></tr>"
    )
    for verdict in report.verdicts:
        p = verdict.procedure
        cls = verdict.outcome.value
        parts.append(
            f'<tr><td class="{cls}">{_MARK[verdict.outcome]}</td>'
            f'<td><a href="#{e(p.id)}">{e(p.id)}</a></td><td>{e(p.clause)}</td>'
            f"<td>{e(p.title)}{'' if p.mandatory else ' (optional)'}</td>"
            f"<td>{e(verdict.reason)}</td></tr>"
        )
    parts.append("</table><h2>Procedures</h2>")
    for verdict in report.verdicts:
        parts.append(_html_verdict(verdict))
    parts.append("</body></html>")
    return "\n".join(parts)


def _html_verdict(verdict: Verdict) -> str:
    e = html.escape
    p = verdict.procedure
    out = [
        f'<section id="{e(p.id)}"><h3 class="{verdict.outcome.value}">'
        f"{_MARK[verdict.outcome]} {e(p.id)}: {e(p.title)} (clause {e(p.clause)})</h3>"
    ]
    if verdict.reason:
        out.append(f"<p>{e(verdict.reason)}</p>")
    if p.steps:
        out.append("<ol>" + "".join(f"<li>{e(s)}</li>" for s in p.steps) + "</ol>")
    for step in verdict.steps:
        out.append(
            f"<details{' open' if step.outcome is Outcome.FAIL else ''}><summary "
            f'class="{step.outcome.value}">{_MARK[step.outcome]} {e(step.title)}</summary>'
        )
        out += [f'<p class="problem">{e(problem)}</p>' for problem in step.problems]
        out += [f"<p>{e(note)}</p>" for note in step.notes]
        if step.request is not None:
            out.append(_html_request(step.request))
        if step.response is not None:
            out.append(_html_response(step.response))
        out += [_html_certificate(cert) for cert in step.certificates]
        out.append("</details>")
    out.append("</section>")
    return "\n".join(out)


def _html_headers(headers: Headers) -> str:
    return "".join(f"{name}: {value}\n" for name, value in headers)


def _html_request(request: HttpRequest) -> str:
    text = f"{request.method} {request.url}\n{_html_headers(request.headers)}"
    if request.body:
        text += "\n" + pretty_body(request.body)
    return f"<p>request</p><pre>{html.escape(text)}</pre>"


def _html_response(response: HttpResponse) -> str:
    text = (
        f"{response.status} ({response.elapsed_s * 1000:.0f} ms)\n{_html_headers(response.headers)}"
    )
    if response.body:
        text += "\n" + pretty_body(response.body)
    return f"<p>response</p><pre>{html.escape(text)}</pre>"


def _html_certificate(cert: CertificateSummary) -> str:
    e = html.escape
    san = ", ".join(cert.san) or "none"
    critical = {None: "", True: " (critical)", False: " (not critical)"}[cert.san_critical]
    rows = [
        ("subject", cert.subject),
        ("issuer", cert.issuer),
        ("serial", cert.serial),
        ("valid", f"{cert.not_before.isoformat()} to {cert.not_after.isoformat()}"),
        ("key", cert.key),
        ("subjectAltName", san + critical),
        ("policies", ", ".join(cert.policies) or "none"),
        ("SHA-256", cert.fingerprint_sha256),
    ]
    body = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in rows)
    problems = "".join(f'<p class="problem">{e(p)}</p>' for p in cert.problems)
    return f'<div class="cert"><p>certificate</p><table>{body}</table>{problems}</div>'
