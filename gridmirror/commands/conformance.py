"""``gridmirror conformance``: test other IEEE 2030.5 servers (``server``) and clients
(``client``), with terminal, JUnit XML and HTML reports (conformance/)."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import click

if TYPE_CHECKING:
    from cryptography import x509

    from conformance.model import Procedure, Report, Verdict
    from gridmirror.cli import Context


@click.group("conformance")
def conformance() -> None:
    """Conformance runs against a 2030.5 server or client, with reports for a vendor."""


_FILE = click.Path(path_type=Path, dir_okay=False)


@conformance.command("server")
@click.argument("url", required=False)
@click.option("--ca", type=_FILE, help="The SERCA (PEM) the server must chain to.")
@click.option("--cert", type=_FILE, help="Our device certificate (PEM, chain after it).")
@click.option("--key", type=_FILE, help="Its private key (PEM).")
@click.option("--device", "serial", help="Serial of the local PKI's device to act as.")
@click.option("--pin", type=int, help="The Registration PIN the server should give us.")
@click.option(
    "--timeout",
    "timeout_s",
    type=float,
    default=10.0,
    show_default=True,
    help="Seconds every request may take.",
)
@click.option("--junit", type=_FILE, help="Write a JUnit XML report here.")
@click.option("--html", "html_file", type=_FILE, help="Write a self-contained HTML report here.")
@click.option("--only", multiple=True, help="Run only these procedures (id or id prefix).")
@click.option("--skip", multiple=True, help="Do not run these procedures.")
@click.option("--list", "list_only", is_flag=True, help="List the procedures and exit.")
@click.option("--discover", is_flag=True, help="Also run the DNS-SD discovery procedure.")
@click.option("-v", "--verbose", is_flag=True, help="Show every step.")
@click.pass_obj
def server(
    obj: Context,
    url: str | None,
    ca: Path | None,
    cert: Path | None,
    key: Path | None,
    serial: str | None,
    pin: int | None,
    timeout_s: float,
    junit: Path | None,
    html_file: Path | None,
    only: tuple[str, ...],
    skip: tuple[str, ...],
    list_only: bool,
    discover: bool,
    verbose: bool,
) -> None:
    """Test the 2030.5 server at URL (its DeviceCapability, e.g. https://host:8443/dcap).

    Acts as one device over mutual TLS (TLS 1.2, CCM8): the local PKI's first device, or
    --ca/--cert/--key for a foreign PKI. Exits 1 when a mandatory procedure fails.
    """
    from conformance.model import select
    from conformance.server import PROCEDURES

    if list_only:
        for p in PROCEDURES:
            kind = "mandatory" if p.mandatory else "optional"
            click.echo(f"{p.id:<12} {p.clause:<9} {kind:<9} {p.title}")
        return
    if url is None:
        raise click.UsageError("give the server's URL (or --list)")
    if timeout_s <= 0:
        raise click.BadParameter("must be more than 0", param_hint="--timeout")
    dcap_url = _dcap_url(url)
    chosen, unknown = select(PROCEDURES, only, skip)
    if unknown:
        raise click.BadParameter(f"no procedure {', '.join(unknown)} (see --list)")
    context, chain = _identity(obj, ca, cert, key, serial)
    report = asyncio.run(_run(dcap_url, context, chain, chosen, timeout_s, pin, discover))
    _write_reports(report, junit, html_file, verbose)
    if not report.passed:
        raise SystemExit(1)


def _dcap_url(url: str) -> str:
    parts = urlsplit(url if "://" in url else f"https://{url}")
    if parts.scheme != "https" or not parts.hostname:
        raise click.BadParameter(f"{url!r} is not an https:// URL", param_hint="URL")
    path = parts.path if parts.path not in ("", "/") else "/dcap"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def _identity(
    obj: Context, ca: Path | None, cert: Path | None, key: Path | None, serial: str | None
) -> tuple[ssl.SSLContext, tuple[x509.Certificate, ...]]:
    """The TLS context and certificate chain we act as: a foreign PKI, or the local one."""
    from certs import pemfile
    from certs.pki import Pki, PkiError
    from certs.tls import client_context

    given = [name for name, value in (("--ca", ca), ("--cert", cert), ("--key", key)) if value]
    if given and len(given) != 3:
        raise click.UsageError("--ca, --cert and --key go together")
    if ca is None or cert is None or key is None:
        assert obj.settings.pki.dir is not None
        try:
            pki = Pki.open(obj.settings.pki.dir)
            if serial is None:
                if not pki.devices:
                    raise PkiError(f"the PKI at {pki.dir} has no devices")
                serial = sorted(pki.devices)[0]
            device = pki.device(serial)
        except PkiError as exc:
            raise click.ClickException(f"{exc} (or give --ca/--cert/--key)") from None
        ca, cert, key = pki.serca, device.chain, device.key
    for path in (ca, cert, key):
        if not path.is_file():
            raise click.ClickException(f"no such file: {path}")
    try:
        context = client_context(cert, key, ca)
        chain = tuple(pemfile.load_certificates(cert))
    except (ssl.SSLError, ValueError, OSError) as exc:
        raise click.ClickException(f"cannot use {cert} / {key} / {ca}: {exc}") from None
    if not chain:
        raise click.ClickException(f"no certificate in {cert}")
    return context, chain


async def _run(
    dcap_url: str,
    context: ssl.SSLContext,
    chain: tuple[x509.Certificate, ...],
    procedures: list[Procedure],
    timeout_s: float,
    pin: int | None,
    discover: bool,
) -> Report:
    from conformance.exchange import ServerLink
    from conformance.server import run_server_conformance
    from schemas import official_xsd_bytes
    from sep2 import Codec, Schema, Sep2Settings

    codec = Codec(Schema.from_bytes(official_xsd_bytes()), Sep2Settings())

    def progress(verdict: Verdict) -> None:
        click.echo(f"  {verdict.outcome.value:<4} {verdict.procedure.id}", err=True)

    async with ServerLink(dcap_url, context, timeout_s) as link:
        return await run_server_conformance(
            link, codec, dcap_url, chain, procedures, pin=pin, discover=discover, progress=progress
        )


def _write_reports(
    report: Report, junit: Path | None, html_file: Path | None, verbose: bool
) -> None:
    from conformance.report import html_report, junit_xml, terminal_summary

    click.echo(terminal_summary(report, verbose=verbose))
    try:
        if junit is not None:
            junit.write_bytes(junit_xml(report))
            click.echo(f"JUnit report: {junit}")
        if html_file is not None:
            html_file.write_text(html_report(report), encoding="utf-8")
            click.echo(f"HTML report: {html_file}")
    except OSError as exc:
        raise click.ClickException(f"cannot write the report: {exc}") from None
