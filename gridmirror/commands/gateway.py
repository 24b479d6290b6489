"""``gridmirror gateway``: run the 2030.5 server, and register devices out of band.

``gridmirror gateway`` (no subcommand) serves until Ctrl-C or SIGTERM, then drains the
requests in flight, withdraws its DNS-SD records and exits 0. The other subcommands act
on the database directly and need no running gateway.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from gateway import admin as admin_types
    from gateway.db import Database
    from gridmirror.config import Settings


@click.group("gateway", invoke_without_command=True)
@click.option("--host", help="Address to listen on (default: gateway.host).")
@click.option("--port", type=click.IntRange(0, 65535), help="Port (default: gateway.port).")
@click.option(
    "--api-port",
    type=click.IntRange(0, 65535),
    help="REST API / dashboard port (default: gateway.api_port).",
)
@click.option("--no-api", is_flag=True, help="Serve no REST API, /metrics or dashboard.")
@click.option("--no-mdns", is_flag=True, help="Do not advertise over DNS-SD.")
@click.pass_context
def gateway(
    ctx: click.Context,
    host: str | None,
    port: int | None,
    api_port: int | None,
    no_api: bool,
    no_mdns: bool,
) -> None:
    """The IEEE 2030.5 server: serve (no subcommand), or manage its devices."""
    if ctx.invoked_subcommand is not None:
        return
    import asyncio

    from certs.pki import Pki, PkiError
    from gateway.db import DatabaseError
    from gateway.heap import settle_heap
    from gateway.launch import Gateway
    from gateway.runtime import ConfigurationError
    from gateway.server import ServerStartError
    from schemas import SchemaUnavailable

    settings = _settings()
    overrides: dict[str, object] = {}
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    if api_port is not None:
        overrides["api_port"] = api_port
    if no_api:
        overrides["api_enabled"] = False
    if no_mdns:
        overrides["mdns"] = False
    gateway_settings = settings.gateway.model_copy(update=overrides)
    pki_dir = settings.pki.dir
    assert pki_dir is not None  # placed under data_dir by gridmirror.config
    if not (pki_dir / "server" / "cert.pem").is_file():
        raise click.ClickException(
            f"no server certificate in {pki_dir}: run `gridmirror certs init` first"
        )
    from gridmirror.extensions import ExtensionError, gateway_extensions

    directory = None
    if settings.chain.worker_in_gateway:  # the oracle bridge in this process
        from gridmirror.commands.chain import _directory

        directory = _directory(settings)
    try:
        extensions = gateway_extensions(gateway_settings, settings.chain, directory)
    except ExtensionError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        pki = Pki.open(pki_dir)
        server = Gateway(
            gateway_settings,
            settings.sep2,
            pki,
            settings.pki,
            routers=extensions.routers,
            lifespans=extensions.lifespans,
        )
    except (PkiError, DatabaseError, ConfigurationError, SchemaUnavailable) as exc:
        raise click.ClickException(str(exc)) from None

    async def run() -> None:
        async def started() -> None:
            settle_heap()
            mdns = f", DNS-SD {server.advertiser.name}" if server.advertiser else ""
            click.echo(f"gridmirror gateway: {server.url}/dcap{mdns} (Ctrl-C to stop)")
            if server.api_url is not None:
                click.echo(f"gridmirror gateway: REST API and docs at {server.api_url}/docs")

        await server.run_until_signalled(on_started=started)

    try:
        asyncio.run(run())
    except (ServerStartError, DatabaseError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo("gridmirror gateway: stopped")


@gateway.command("register-device")
@click.option("--lfdi", help="The device's LFDI (40 hex digits).")
@click.option(
    "--cert",
    "cert_file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="The device's certificate (PEM or DER) instead of --lfdi.",
)
@click.option(
    "--pin",
    type=click.IntRange(0, 999_999),
    help="Registration PIN (default: gateway.registration_pins, else gateway.default_pin).",
)
def register_device(lfdi: str | None, cert_file: Path | None, pin: int | None) -> None:
    """Register a device out of band, before it first connects."""
    from gateway import admin

    settings = _settings()
    lfdi = _lfdi(lfdi, cert_file)
    if pin is None:
        pin = settings.gateway.registration_pins.get(lfdi, settings.gateway.default_pin)
    registered = admin.register_device(_database(settings), lfdi, pin)
    device = registered.device
    verb = "registered" if registered.created else "updated"
    click.echo(
        f"{verb} EndDevice /edev/{device.id}: LFDI {device.lfdi} SFDI {device.sfdi} PIN {pin:06d}"
    )


@gateway.command("unregister-device")
@click.option("--lfdi", help="The device's LFDI (40 hex digits).")
@click.option(
    "--cert",
    "cert_file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="The device's certificate instead of --lfdi.",
)
def unregister_device(lfdi: str | None, cert_file: Path | None) -> None:
    """Remove a device's registration (its mirrors and readings stay)."""
    from gateway import admin

    lfdi = _lfdi(lfdi, cert_file)
    if admin.unregister_device(_database(_settings()), lfdi):
        click.echo(f"unregistered {lfdi}")
    else:
        click.echo(f"{lfdi} was not registered")


@gateway.command("delete-mirrors")
@click.option("--lfdi", help="The device's LFDI (40 hex digits).")
@click.option(
    "--cert",
    "cert_file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="The device's certificate instead of --lfdi.",
)
def delete_mirrors(lfdi: str | None, cert_file: Path | None) -> None:
    """Delete every mirror a device owns or is mirrored by (readings stay)."""
    from gateway import admin

    lfdi = _lfdi(lfdi, cert_file)
    count = admin.delete_mirrors(_database(_settings()), lfdi)
    click.echo(f"deleted {count} mirror(s) of {lfdi}")


@gateway.command("set-post-rate")
@click.option("--lfdi", help="The device (default: every registered device).")
@click.option("--seconds", type=click.IntRange(1, 86_400), help="The postRate to give it.")
@click.option("--reset", is_flag=True, help="Give it the server's postRate again.")
def set_post_rate(lfdi: str | None, seconds: int | None, reset: bool) -> None:
    """Give a device its own postRate, at run time: its EndDevice, its mirrors and the
    mirrors it creates show it (clients see it when they re-read)."""
    from gateway import admin

    if (seconds is None) == (not reset):
        raise click.ClickException("give exactly one of --seconds and --reset")
    settings = _settings()
    default = settings.gateway.post_rate
    device = _lfdi(lfdi, None) if lfdi is not None else None
    try:
        change = admin.set_post_rate(_database(settings), device, seconds, default)
    except admin.NotRegistered as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(post_rate_report(change, seconds, default, every=device is None))


def post_rate_report(
    change: admin_types.PostRateChange, seconds: int | None, default: int, *, every: bool
) -> str:
    """What ``set-post-rate`` tells the operator (one line)."""
    now = f"postRate {seconds} s" if seconds is not None else f"the server's postRate, {default} s"
    shown = ", ".join(
        f"{rate} s" + (f" ({count})" if len(change.mirrors) > 1 else "")
        for rate, count in change.mirrors.items()
    )
    mirrors = sum(change.mirrors.values())
    if every:
        later = f"devices registered later get the server's ({default} s)"
        return (
            f"{len(change.devices)} EndDevice(s) now show {now}; "
            + (f"{mirrors} mirror(s) show {shown}" if mirrors else "there are no mirrors")
            + f"; {later}"
        )
    ((device_id, lfdi, before),) = change.devices
    was = f"{before} s, its own" if before is not None else f"the server's, {default} s"
    rate = seconds if seconds is not None else default
    have = f"its {mirrors} mirror(s) show {shown}" if mirrors else "it has no mirrors yet"
    theirs = f"{have}; new mirrors of it will show {rate} s"
    return f"EndDevice /edev/{device_id} (LFDI {lfdi}): {now} (was {was}); {theirs}"


def _lfdi(lfdi: str | None, cert_file: Path | None) -> str:
    from sep2 import IdentityError, normalise_lfdi

    if (lfdi is None) == (cert_file is None):
        raise click.ClickException("give exactly one of --lfdi and --cert")
    if cert_file is not None:
        return _lfdi_of_file(cert_file)
    assert lfdi is not None
    try:
        return normalise_lfdi(lfdi)
    except IdentityError as exc:
        raise click.ClickException(str(exc)) from None


def _lfdi_of_file(path: Path) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding

    from certs.pemfile import PemError, parse_certificates
    from sep2 import lfdi_from_der

    data = path.read_bytes()
    if data[:1] == b"\x30":
        return lfdi_from_der(data)
    try:
        certs = parse_certificates(data)
    except PemError as exc:
        raise click.ClickException(f"{path}: {exc}") from None
    if not certs:
        raise click.ClickException(f"{path}: no certificate")
    return lfdi_from_der(certs[0].public_bytes(Encoding.DER))


def _database(settings: Settings) -> Database:
    from gateway.db import DatabaseError, open_database

    url = settings.gateway.database_url
    assert url is not None  # placed under data_dir by gridmirror.config
    try:
        database = open_database(url, synchronous=settings.gateway.sqlite_synchronous)
        database.ensure_schema()
    except DatabaseError as exc:
        raise click.ClickException(str(exc)) from None
    except Exception as exc:  # a database that cannot be reached: one line
        raise click.ClickException(f"database {url}: {type(exc).__name__}: {exc}") from None
    return database


def _settings() -> Settings:
    root = click.get_current_context().find_root().obj
    settings = getattr(root, "settings", None)
    if settings is None:
        from gridmirror.config import ConfigError, load_settings

        try:
            settings = load_settings()
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from None
    return settings  # type: ignore[no-any-return]
