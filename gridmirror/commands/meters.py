"""``gridmirror meters``: run the emulated meters against the gateway.

The 25 campus meters by default, or ``--count N`` synthetic ones, in one asyncio process,
each a 2030.5 client with its own device certificate from the PKI (``gridmirror certs
init`` makes them; the command says which one to run if any are missing). The gateway
is found by DNS-SD unless ``--server-url`` (or ``meters.server_url``) names it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from devices.stats import FleetStats


@click.command("meters")
@click.option("--count", type=click.IntRange(1, 99_999), help="Run N synthetic meters.")
@click.option("--server-url", help="Gateway URL (https://host:port[/dcap]); else DNS-SD.")
@click.option(
    "--replay-hours",
    type=click.FloatRange(min=0),
    help="Start this many hours in the past and replay up to now (needs --speed).",
)
@click.option("--speed", type=click.FloatRange(min=1.0), help="Replay speed (times real time).")
@click.option("--duration", type=click.FloatRange(min=0.1), help="Stop after this many seconds.")
@click.option(
    "--fault",
    "faults",
    multiple=True,
    help="Inject a fault: KIND[:key=value,...], e.g. drop:fraction=0.1,probability=0.2 "
    "(kinds: drop, duplicate, skew, corrupt, backwards, foreign_cert). Repeatable.",
)
@click.option(
    "--profile",
    type=click.Choice(["ieee-2030.5", "csip-aus"]),
    help="Behave as a plain IEEE 2030.5 client (default) or as one for CSIP-AUS servers "
    "(readings on the minute, whole-minute intervals).",
)
@click.option(
    "--status-every",
    type=click.FloatRange(min=0),
    default=60.0,
    show_default=True,
    help="Seconds between status lines (0: only at the end).",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(1, 65535),
    help="Serve the fleet's Prometheus metrics (simulator_*) on 127.0.0.1:PORT/metrics.",
)
@click.pass_context
def meters(
    ctx: click.Context,
    count: int | None,
    server_url: str | None,
    replay_hours: float | None,
    speed: float | None,
    duration: float | None,
    faults: tuple[str, ...],
    profile: str | None,
    status_every: float,
    metrics_port: int | None,
) -> None:
    """Run the emulated meters (2030.5 clients) until Ctrl-C, SIGTERM or --duration."""
    import asyncio

    from pydantic import ValidationError

    from certs.pki import Pki, PkiError
    from devices.campus import CampusError, fleet_campus
    from devices.discovery import DiscoveryError
    from devices.faults import parse_fault
    from devices.fleet import Fleet, FleetError, dcap_url_of, missing_certificates
    from devices.settings import FleetSettings
    from schemas import SchemaUnavailable, official_xsd_bytes
    from sep2 import Codec, Schema

    settings = ctx.find_root().obj.settings
    update: dict[str, Any] = {}
    for key, value in (
        ("count", count),
        ("server_url", server_url),
        ("replay_hours", replay_hours),
        ("speed", speed),
        ("profile", profile),
    ):
        if value is not None:
            update[key] = value
    try:
        if faults:
            update["faults"] = [*settings.meters.faults, *(parse_fault(f) for f in faults)]
        fleet_settings = FleetSettings.model_validate({**settings.meters.model_dump(), **update})
    except (ValueError, ValidationError) as exc:
        raise click.ClickException(_first_line(exc)) from None

    try:
        campus = fleet_campus(fleet_settings)
    except CampusError as exc:
        raise click.ClickException(str(exc)) from None
    pki_dir: Path = settings.pki.dir
    try:
        pki = Pki.open(pki_dir)
    except PkiError as exc:
        raise click.ClickException(f"{exc}") from None
    serials = [m.serial for m in campus.meters]
    missing = missing_certificates(pki, serials)
    if missing:
        fix = (
            f"gridmirror certs init --devices {fleet_settings.count}"
            if fleet_settings.count
            else "gridmirror certs init"
        )
        raise click.ClickException(
            f"no device certificate for {len(missing)} of {len(serials)} meters "
            f"(first: {missing[0]}) in {pki_dir}: run `{fix}`"
        )
    try:
        codec = Codec(Schema.from_bytes(official_xsd_bytes()), settings.sep2)
    except SchemaUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    state_dir = fleet_settings.state_dir or Path(settings.data_dir) / "meters"
    hw_type = settings.pki.hw_type or f"1.3.6.1.4.1.{settings.sep2.pen}.1"
    try:
        if fleet_settings.server_url:
            dcap_url_of(fleet_settings.server_url)
        fleet = Fleet(
            campus,
            fleet_settings,
            pki,
            codec,
            settings.sep2.pen,
            state_dir=state_dir,
            hw_type=hw_type,
        )
    except FleetError as exc:
        raise click.ClickException(str(exc)) from None

    if metrics_port is not None:
        from prometheus_client import start_http_server

        try:
            start_http_server(metrics_port, addr="127.0.0.1")
        except OSError as exc:
            raise click.ClickException(
                f"cannot serve metrics on port {metrics_port}: {exc}"
            ) from None
        click.echo(f"meters: metrics at http://127.0.0.1:{metrics_port}/metrics")

    mode = (
        f"replaying {fleet_settings.replay_hours:g} h at {fleet_settings.speed:g}x, then live"
        if fleet_settings.replay_hours
        else "live"
    )
    where = fleet_settings.server_url or "the gateway found by DNS-SD"
    click.echo(f"meters: {len(serials)} meters ({mode}) -> {where}; Ctrl-C stops")

    async def main() -> FleetStats:
        import signal

        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if duration is not None:
            loop.call_later(duration, stop.set)
        reporter = None
        if status_every > 0:
            reporter = asyncio.create_task(_report_every(fleet, status_every))
        try:
            return await fleet.run(
                stop, on_ready=lambda url: click.echo(f"meters: gateway at {url}")
            )
        finally:
            if reporter is not None:
                reporter.cancel()

    try:
        stats = asyncio.run(main())
    except (DiscoveryError, FleetError) as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"cannot run the meters: {exc}") from None
    click.echo(_status_line(stats))
    click.echo(f"meters: state saved in {state_dir}")


async def _report_every(fleet: Any, seconds: float) -> None:
    import asyncio

    while True:
        await asyncio.sleep(seconds)
        click.echo(_status_line(fleet.stats))


def _status_line(stats: FleetStats) -> str:
    phases = stats.by_phase()
    errors = ", ".join(f"{k} {v}" for k, v in stats.snapshot()["errors"].items() if v) or "none"
    return (
        f"meters: {len(stats.meters)} ({phases['online']} online, {phases['retrying']} "
        f"retrying, {phases['refused']} refused, {phases['starting']} starting) | readings "
        f"generated {stats.readings_generated}, published {stats.readings_published} in "
        f"{stats.posts} posts | errors: {errors}"
    )


def _first_line(exc: Exception) -> str:
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        return f"invalid meters settings: {where + ': ' if where else ''}{message}"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
