"""The ``gridmirror`` command: one entry point for every part of the system.

Subcommands stay thin: they read the settings, call into the layers and turn every
expected failure into a one-line message and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from gridmirror import logs
from gridmirror.commands.auth import auth
from gridmirror.commands.bench import bench
from gridmirror.commands.certs import certs
from gridmirror.commands.chain import chain
from gridmirror.commands.conformance import conformance
from gridmirror.commands.db import db
from gridmirror.commands.demo import demo
from gridmirror.commands.gateway import gateway
from gridmirror.commands.meters import meters
from gridmirror.commands.readings import readings
from gridmirror.commands.verify import verify
from gridmirror.config import ConfigError, Settings, load_settings

log = logging.getLogger("gridmirror")


class Context:
    """What every subcommand gets: the settings, read once."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings


pass_context = click.make_pass_decorator(Context)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="TOML settings file (default: ./gridmirror.toml if present).",
)
@click.option("--data-dir", type=click.Path(path_type=Path), help="Overrides data_dir.")
@click.option("-v", "--verbose", count=True, help="-v for info logs, -vv for debug.")
@click.option("--log-json", is_flag=True, help="Log JSON lines instead of text.")
@click.version_option(package_name="gridmirror")
@click.pass_context
def cli(
    ctx: click.Context,
    config_file: Path | None,
    data_dir: Path | None,
    verbose: int,
    log_json: bool,
) -> None:
    """gridmirror: IEEE 2030.5 meter emulator and gateway that settles energy on Solana."""
    overrides = {"data_dir": data_dir} if data_dir is not None else {}
    try:
        settings = load_settings(config_file, **overrides)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    level = {0: settings.log_level, 1: "info"}.get(verbose, "debug")
    logs.configure(level, "json" if log_json else settings.log_format)
    ctx.obj = Context(settings)


@cli.command("config")
@pass_context
def show_config(ctx: Context) -> None:
    """Print the effective settings as JSON."""
    click.echo(ctx.settings.model_dump_json(indent=2))


# Subcommands: each lives in gridmirror/commands/<name>.py and is added here.
COMMANDS: list[click.Command] = [
    auth,
    bench,
    certs,
    chain,
    conformance,
    db,
    demo,
    gateway,
    meters,
    readings,
    verify,
]
for command in COMMANDS:
    cli.add_command(command)


def main() -> None:
    """Console-script entry point: run the CLI and turn stray failures into one line."""
    try:
        cli.main(standalone_mode=True)
    except SystemExit:
        raise
    except Exception as exc:  # last resort: a user never sees a traceback
        log.debug("unhandled error", exc_info=True)
        click.echo(f"gridmirror: error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
