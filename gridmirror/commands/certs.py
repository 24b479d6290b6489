"""``gridmirror certs``: make the 2030.5 PKI, and look at any certificate against it.

Which meters ``certs init`` issues for: by default, the fleet the emulator runs
(``devices.campus.fleet_campus``: the 25 meters of the campus file, GM-ENG-01 …, or
GM-SYN-00001 … when ``meters.count`` is set); ``--devices N`` gives the synthetic serials
GM-SYN-00001 … GM-SYN-N; ``--serial`` / ``--serials-file`` name them. The layout it
writes is documented in :mod:`certs.pki`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from cryptography import x509

    from gridmirror.config import Settings


@click.group("certs")
def certs() -> None:
    """The 2030.5 PKI: SERCA, MCA, MICA, the gateway's and the meters' certificates."""


@certs.command("init")
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path, file_okay=False),
    help="PKI directory (default: the pki.dir setting, data_dir/pki).",
)
@click.option(
    "--devices",
    "count",
    type=click.IntRange(0, 1_000_000),
    help="Issue for N synthetic meters GM-SYN-00001… [default: the meters of the fleet "
    "settings, the 25 campus meters unless meters.count is set].",
)
@click.option("--serial", "serials", multiple=True, help="A meter serial (repeatable).")
@click.option(
    "--serials-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="A file with one meter serial per line (# starts a comment).",
)
@click.option(
    "--host",
    "hosts",
    multiple=True,
    help="A DNS name or IP for the server certificate, besides pki.host_names (repeatable).",
)
@click.option("--workers", type=click.IntRange(1, 64), help="Processes for bulk issuing.")
@click.option(
    "--p12",
    is_flag=True,
    help="Also write devices/<serial>/device.p12 (key, certificate, chain; no password) for "
    "every meter that has none.",
)
def init(
    directory: Path | None,
    count: int | None,
    serials: tuple[str, ...],
    serials_file: Path | None,
    hosts: tuple[str, ...],
    workers: int | None,
    p12: bool,
) -> None:
    """Create the PKI for the gateway and the meters; running it again changes nothing."""
    from certs.pki import PkiError, default_serials, init_pki

    settings = _settings()
    named = list(serials) + (_read_serials(serials_file) if serials_file else [])
    if named and count is not None:
        raise click.ClickException("give either --devices or serial names, not both")
    if named:
        wanted = named
    elif count is not None:
        wanted = default_serials(count)
    else:
        wanted = _fleet_serials(settings)
    directory = directory or _pki_dir(settings)
    try:
        report = init_pki(
            directory,
            wanted,
            hw_type=_hw_type(settings),
            host_names=[*settings.pki.host_names, *hosts],
            test_pki=settings.pki.test_pki,
            workers=workers,
            at=datetime.now(UTC),
        )
    except PkiError as exc:
        raise click.ClickException(str(exc)) from None
    pki = report.pki
    new = len(report.new_devices)
    click.echo(f"PKI in {pki.dir}" + ("" if report.changed else ": unchanged"))
    click.echo(f"  CAs      {'created' if report.created_cas else 'kept':8} {pki.serca}")
    click.echo(
        f"  server   {'issued' if report.issued_server else 'kept':8} LFDI {pki.server.lfdi}"
        f"  hosts {', '.join(pki.server.host_names)}"
    )
    click.echo(
        f"  devices  {len(wanted)} asked, {new} issued, {len(pki.devices)} in "
        f"{pki.dir / 'devices' / 'index.json'}"
    )
    if p12:
        from certs.bundles import P12_FILE, write_bundles
        from certs.pemfile import PemError

        try:
            bundled = write_bundles(pki.devices.values())
        except (PemError, OSError) as exc:
            raise click.ClickException(f"PKCS#12 bundles: {exc}") from None
        click.echo(f"  bundles  {bundled} written ({P12_FILE} beside each device's PEM files)")


@certs.command("show")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--serca",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The SERCA to verify the chain against (default: serca.pem of the PKI directory).",
)
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path, file_okay=False),
    help="PKI directory whose SERCA, MICA and MCA to use (default: the pki.dir setting).",
)
@click.option(
    "--role",
    type=click.Choice(["serca", "intermediate", "device", "server"]),
    help="Check as this role (default: inferred from the certificate).",
)
@click.option(
    "--at",
    type=click.DateTime(["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]),
    help="Check validity at this UTC time instead of now.",
)
def show(
    file: Path, serca: Path | None, directory: Path | None, role: str | None, at: datetime | None
) -> None:
    """Print a certificate's LFDI, SFDI, profile check and chain; exit 1 if either fails."""
    from cryptography.hazmat.primitives.serialization import Encoding

    from certs import pemfile
    from certs.chain import verify_chain
    from certs.hwname import hardware_module_names
    from certs.profile import Role, check_certificate, infer_role, policy_oids
    from sep2.identity import lfdi_from_der, sfdi_from_lfdi

    settings = _settings()
    directory = directory or _pki_dir(settings)
    chain = _load_certs(file)
    leaf = chain[0]
    cert_role = Role(role) if role else infer_role(leaf)
    lfdi = lfdi_from_der(leaf.public_bytes(Encoding.DER))
    click.echo(f"file       {file}")
    click.echo(f"role       {cert_role}")
    click.echo(f"subject    {leaf.subject.rfc4514_string() or '(empty)'}")
    click.echo(f"issuer     {leaf.issuer.rfc4514_string() or '(empty)'}")
    try:
        for hw in hardware_module_names(leaf):
            click.echo(f"hwSerial   {hw.serial}  (hwType {hw.hw_type})")
    except ValueError as exc:
        click.echo(f"hwSerial   malformed HardwareModuleName: {exc}")
    click.echo(f"LFDI       {lfdi}")
    click.echo(f"SFDI       {sfdi_from_lfdi(lfdi)}")
    click.echo(
        f"validity   {leaf.not_valid_before_utc:%Y-%m-%dT%H:%M:%SZ} .. "
        f"{leaf.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ}"
    )
    policies = policy_oids(leaf)
    click.echo(f"policies   {', '.join(sorted(p.dotted_string for p in policies or ())) or '-'}")

    violations = check_certificate(leaf, cert_role)
    if violations:
        click.echo(f"profile    {len(violations)} violation(s):")
        for v in violations:
            click.echo(f"  - {v.message} [{v.rule}]")
    else:
        click.echo("profile    ok")

    chain_ok = True
    serca_path = serca or directory / "serca.pem"
    if serca is None and not serca_path.is_file():
        click.echo(f"chain      not checked: no {serca_path} (give --serca FILE)")
    else:
        anchor = _load_certs(serca_path)[0]
        known = [
            c
            for name in ("mica.pem", "mca.pem")
            if (directory / name).is_file()
            for c in pemfile.load_certificates(directory / name)
        ]
        result = verify_chain(
            leaf,
            [*chain[1:], *known],
            anchor,
            at.replace(tzinfo=UTC) if at else datetime.now(UTC),
            leaf_may_be_ca=cert_role in (Role.SERCA, Role.INTERMEDIATE),
        )
        chain_ok = result.ok
        click.echo(f"chain      {'ok' if result.ok else 'FAILED'} against {serca_path}")
        if result.ok:
            click.echo("           " + " <- ".join(_short(c) for c in result.path))
        for problem in result.problems:
            click.echo(f"  - {problem}")
    if violations or not chain_ok:
        raise SystemExit(1)


def _settings() -> Settings:
    """The settings the root command read, or fresh ones when run on its own."""
    root = click.get_current_context().find_root().obj
    settings = getattr(root, "settings", None)
    if settings is None:
        from gridmirror.config import ConfigError, load_settings

        try:
            settings = load_settings()
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from None
    return settings  # type: ignore[no-any-return]


def _fleet_serials(settings: Settings) -> list[str]:
    """The serials of the meters the emulator runs with these settings."""
    from devices.campus import CampusError, fleet_campus

    try:
        return [meter.serial for meter in fleet_campus(settings.meters).meters]
    except CampusError as exc:
        raise click.ClickException(str(exc)) from None


def _pki_dir(settings: Settings) -> Path:
    assert settings.pki.dir is not None  # config.Settings places it under data_dir
    return settings.pki.dir


def _hw_type(settings: Settings) -> str:
    return settings.pki.hw_type or f"1.3.6.1.4.1.{settings.sep2.pen}.1"


def _read_serials(path: Path) -> list[str]:
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"cannot read {path}: {exc}") from None
    return [s for line in lines if (s := line.split("#", 1)[0].strip())]


def _load_certs(path: Path) -> Sequence[x509.Certificate]:
    from certs.pemfile import PemError, load_certificates

    try:
        return load_certificates(path)
    except PemError as exc:
        raise click.ClickException(str(exc)) from None


def _short(cert: x509.Certificate) -> str:
    from certs.hwname import hardware_module_names

    if len(cert.subject) > 0:
        return cert.subject.rfc4514_string()
    try:
        names = hardware_module_names(cert)
    except ValueError:
        names = []
    return names[0].serial if names else "(no name)"
