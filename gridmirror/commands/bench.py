"""``gridmirror bench``: one subcommand per benchmark; each prints its figures."""

from __future__ import annotations

import click


@click.group()
def bench() -> None:
    """Measure a target of the architecture and print the figures."""


# Each benchmark adds a subcommand below: `@bench.command("name")` in this module,
# importing its gridmirror.bench.<name> module inside the function.


@bench.command("physics")
@click.option(
    "--meters", default=2_000, show_default=True, type=click.IntRange(1, 99_999),
    help="Synthetic meters in the live runs.",
)  # fmt: skip
@click.option(
    "--rounds", default=30, show_default=True, type=click.IntRange(1, 100_000),
    help="15-second steps per meter in the live runs.",
)  # fmt: skip
@click.option(
    "--replay-meters", default=100, show_default=True, type=click.IntRange(1, 99_999),
    help="Meters in the replay runs (at most --meters).",
)  # fmt: skip
@click.option(
    "--replay-days", default=7, show_default=True, type=click.IntRange(1, 3_650),
    help="Days each replaying meter catches up on.",
)  # fmt: skip
@click.pass_context
def physics(
    ctx: click.Context, meters: int, rounds: int, replay_meters: int, replay_days: int
) -> None:
    """Meter-steps per second of the meter physics on one core."""
    from devices.campus import CampusError, load_campus
    from gridmirror.bench import physics as bench_physics

    fleet_settings = ctx.find_root().obj.settings.meters
    try:
        campus = load_campus(fleet_settings.campus_file)
    except CampusError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"physics: {meters:,} synthetic meters on {campus.site.name}, seed "
        f"{fleet_settings.seed}; live {rounds} x 15 s from local noon; replay "
        f"{min(replay_meters, meters)} meters x {replay_days} d"
    )
    runs = bench_physics.run(
        meters, rounds, min(replay_meters, meters), replay_days, fleet_settings.seed, campus
    )
    memory = bench_physics.memory_per_meter(meters, fleet_settings.seed, campus)
    for line in bench_physics.report(runs, memory):
        click.echo(line)
