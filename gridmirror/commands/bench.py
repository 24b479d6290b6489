"""``gridmirror bench``: one subcommand per benchmark; each prints its figures."""

from __future__ import annotations

import click


@click.group()
def bench() -> None:
    """Measure a target of the architecture and print the figures."""


# Each benchmark adds a subcommand below: `@bench.command("name")` in this module,
# importing its gridmirror.bench.<name> module inside the function.
