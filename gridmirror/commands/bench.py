"""``gridmirror bench``: one subcommand per benchmark; each prints its figures."""

from __future__ import annotations

import click


@click.group()
def bench() -> None:
    """Measure a target of the architecture and print the figures."""


# Each benchmark adds a subcommand below: `@bench.command("name")` in this module,
# importing its gridmirror.bench.<name> module inside the function.


@bench.command("sep2")
@click.option(
    "--seconds",
    type=click.FloatRange(min=0.1),
    default=2.0,
    show_default=True,
    help="CPU seconds to spend on each stage.",
)
@click.pass_context
def bench_sep2(ctx: click.Context, seconds: float) -> None:
    """Parse + XSD-check + extract a MirrorMeterReadingList: documents/s on one core."""
    from gridmirror.bench import sep2 as sep2_bench
    from schemas import SchemaUnavailable, official_xsd_bytes
    from sep2 import Codec, Schema

    try:
        xsd = official_xsd_bytes()
    except SchemaUnavailable as exc:
        raise click.ClickException(str(exc)) from exc
    settings = ctx.obj.settings.sep2
    body = sep2_bench.sample_document(Codec(Schema.from_bytes(xsd), settings), settings.pen)
    rates = sep2_bench.run(xsd, settings, seconds)
    click.echo(sep2_bench.report(rates, len(body)))
