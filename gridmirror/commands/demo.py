"""``gridmirror demo``: the whole system in one command, nothing to configure.

The PKI, the database and the embedded chain are made in ``data_dir`` the first time and
reused afterwards (a second run continues where the first stopped). The work itself is
:mod:`gridmirror.showcase`; this command turns options into a plan and failures into one
line.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from certs.pki import Pki
    from devices.campus import Campus
    from gateway.db import Database
    from gridmirror.config import Settings
    from oracle.registry import MeterDirectory
    from sep2 import Codec

DEFAULT_REPLAY_HOURS = 24.0
DEFAULT_SPEED = 400.0  # 24 h in 3.6 min: 86,400 s / (400 - 1)


@click.command("demo")
@click.option(
    "--duration", type=click.FloatRange(min=1), help="Stop by itself after this many seconds."
)
@click.option(
    "--meters",
    "count",
    type=click.IntRange(1),
    help="Run the first N campus meters [default: all of the campus file].",
)
@click.option(
    "--replay-hours",
    type=click.FloatRange(min=0),
    default=DEFAULT_REPLAY_HOURS,
    show_default=True,
    help="Start this many hours in the past and replay up to now, then go live (0: live).",
)
@click.option(
    "--speed",
    type=click.FloatRange(min=1, min_open=True),
    default=DEFAULT_SPEED,
    show_default=True,
    help="Replay speed (times real time).",
)
@click.option(
    "--port", type=click.IntRange(0, 65535), help="2030.5 port (default: gateway.port; 0: any)."
)
@click.option(
    "--api-port",
    type=click.IntRange(0, 65535),
    help="REST API port (default: gateway.api_port; 0: any).",
)
@click.option("--no-mdns", is_flag=True, help="No DNS-SD: the meters are given the URL.")
@click.pass_context
def demo(
    ctx: click.Context,
    duration: float | None,
    count: int | None,
    replay_hours: float,
    speed: float,
    port: int | None,
    api_port: int | None,
    no_mdns: bool,
) -> None:
    """Gateway, embedded chain, clearing and the campus meters, with a live view.

    Ctrl-C (or SIGTERM, or --duration) stops the meters, then the gateway and its
    worker, and prints a summary; everything is kept in the data directory.
    """
    import asyncio

    from gridmirror.showcase.prepare import DemoError
    from gridmirror.showcase.run import DemoPlan, run_demo

    settings: Settings = ctx.find_root().obj.settings
    gateway_updates: dict[str, Any] = {}
    if port is not None:
        gateway_updates["port"] = port
    if api_port is not None:
        gateway_updates["api_port"] = api_port
    if no_mdns:
        gateway_updates["mdns"] = False
    campus = _campus(settings, count)
    # the dashboard tells the time on the campus' clock
    gateway_updates["dashboard_utc_offset_hours"] = campus.site.utc_offset_hours
    pki = _pki(settings)
    plan = DemoPlan(
        gateway=settings.gateway.model_copy(update=gateway_updates),
        sep2=settings.sep2,
        pki=pki,
        pki_settings=settings.pki,
        # The replay's first readings are hours old: the oracle must accept them as the
        # meters' baselines (docs/chain-abi.md, "Threat model").
        chain=settings.chain.model_copy(
            update={
                "max_baseline_age_s": min(
                    max(settings.chain.max_baseline_age_s, int(replay_hours * 3600) + 3600),
                    2_592_000,  # the program's limit (30 days)
                )
            }
        ),
        # The meters mirror what is behind them (PV, battery, state of charge): the view
        # and the dashboard show it, and the page tells the campus roles from it.
        fleet=settings.meters.model_copy(
            update={
                "replay_hours": replay_hours,
                "speed": speed if replay_hours else 1.0,
                "der_mirror": True,
            }
        ),
        campus=campus,
        directory=_directory(settings),
        database=_database(settings),
        codec=_codec(settings),
        state_dir=settings.meters.state_dir or settings.data_dir / "meters",
        hw_type=_hw_type(settings),
        duration=duration,
        interactive=sys.stdout.isatty(),
    )
    try:
        outcome = asyncio.run(run_demo(plan, click.echo))
    except DemoError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        plan.database.dispose()
    if outcome.final is not None:
        from gridmirror.showcase.view import summary

        for line in summary(outcome.final):
            click.echo(line)
        click.echo(f"  kept in {settings.data_dir}: run `gridmirror demo` again to continue")
    if outcome.error is not None:
        raise click.ClickException(outcome.error)


def _campus(settings: Settings, count: int | None) -> Campus:
    """The campus file's first ``count`` meters (all by default)."""
    from devices.campus import CampusError, fleet_campus

    try:
        campus = fleet_campus(settings.meters)
    except CampusError as exc:
        raise click.ClickException(str(exc)) from None
    if count is not None:
        if count > len(campus.meters):
            raise click.ClickException(
                f"--meters {count}: the campus has {len(campus.meters)} meters"
            )
        campus = campus.model_copy(update={"meters": campus.meters[:count]})
    return campus


def _pki(settings: Settings) -> Pki:
    """The PKI, made for the gateway and every campus meter if anything is missing."""
    from certs.pki import PkiError, init_pki
    from gridmirror.commands.certs import _fleet_serials

    assert settings.pki.dir is not None  # placed under data_dir by gridmirror.config
    try:
        report = init_pki(
            settings.pki.dir,
            _fleet_serials(settings),
            hw_type=_hw_type(settings),
            host_names=settings.pki.host_names,
            test_pki=settings.pki.test_pki,
            at=datetime.now(UTC),
        )
    except PkiError as exc:
        raise click.ClickException(str(exc)) from None
    if report.changed:
        click.echo(f"PKI: made in {settings.pki.dir} ({len(report.new_devices)} meters)")
    return report.pki


def _hw_type(settings: Settings) -> str:
    from gridmirror.commands.certs import _hw_type as hw_type

    return hw_type(settings)


def _directory(settings: Settings) -> MeterDirectory:
    from gridmirror.commands.chain import _directory as directory

    return directory(settings)


def _database(settings: Settings) -> Database:
    from gridmirror.commands.chain import _database as database

    return database(settings)


def _codec(settings: Settings) -> Codec:
    from schemas import SchemaUnavailable, official_xsd_bytes
    from sep2 import Codec, Schema

    try:
        return Codec(Schema.from_bytes(official_xsd_bytes()), settings.sep2)
    except SchemaUnavailable as exc:
        raise click.ClickException(str(exc)) from None
