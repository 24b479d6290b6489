"""``gridmirror bench``: one subcommand per benchmark; each prints its figures."""

from __future__ import annotations

from pathlib import Path

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


@bench.command("chainrt")
@click.option("--transactions", "-n", default=2000, show_default=True, help="Per run.")
@click.option(
    "--batch", default=24, show_default=True, help="Recipients per transaction in the batch run."
)
def chainrt(transactions: int, batch: int) -> None:
    """Embedded chain: transactions/s bare, with bookkeeping, and persisted to disk."""
    from gridmirror.bench import chainrt as bench_chainrt

    if transactions < 1 or not 1 <= batch <= 60:
        raise click.ClickException("--transactions must be >= 1 and --batch within 1..60")
    bench_chainrt.run(transactions, batch, click.echo)


@bench.command("certs")
@click.option(
    "--count",
    type=click.IntRange(1, 1_000_000),
    default=10_000,
    show_default=True,
    help="Device certificates per run.",
)
@click.option(
    "--workers",
    "workers",
    type=click.IntRange(1, 64),
    multiple=True,
    help="Worker processes of one run (repeatable) [default: 1 and the number of cores].",
)
@click.option(
    "--scratch",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where to make the scratch PKIs (default: the system temp directory).",
)
def bench_certs(count: int, workers: tuple[int, ...], scratch: Path | None) -> None:
    """Bulk-issue device certificates (key, cert, chain, index) and print the rate."""
    import os

    from gridmirror.bench import certs as certs_bench

    counts = list(dict.fromkeys(workers or (1, max(1, os.cpu_count() or 1))))
    # Any valid hwType will do: the rate does not depend on it.
    runs = certs_bench.run(count, counts, "1.3.6.1.4.1.32473.1", scratch)
    click.echo(f"certs: {count} device certificates per run (P-256 key, cert, chain, index)")
    base = runs[0].rate
    for r in runs:
        click.echo(
            f"  workers={r.workers}: {r.seconds:6.2f} s  {r.rate:8.0f} certs/s  "
            f"(x{r.rate / base:.2f})  re-run issuing nothing: {r.rerun_seconds:.2f} s"
        )


@bench.command("handshake")
@click.option(
    "--count",
    type=click.IntRange(1, 100_000),
    default=300,
    show_default=True,
    help="Handshakes (and new client certificates) per run.",
)
def bench_handshake(count: int) -> None:
    """Print a mutual TLS handshake's CPU beside the client-certificate profile verdict."""
    from gridmirror.bench import handshake

    f = handshake.run(count)
    click.echo(f"handshake: {count} meters, TLS 1.2 ECDHE-ECDSA-AES128-CCM8, mutual")
    click.echo(f"  full handshake, both sides in memory  {f.handshake_us:9.0f} µs")
    click.echo(
        f"  profile verdict, new certificate      {f.first_verdict_us:9.0f} µs  "
        f"({f.first_verdict_us / f.handshake_us:.1%} of a handshake)"
    )
    click.echo(
        f"  profile verdict, known certificate    {f.cached_verdict_us:9.1f} µs  "
        f"({f.cached_verdict_us / f.handshake_us:.2%})"
    )


@bench.command("storm")
@click.option(
    "--count",
    type=click.IntRange(1, 19_000),
    default=3_000,
    show_default=True,
    help="Idle mutual-TLS connections to open and hold.",
)
def bench_storm(count: int) -> None:
    """Print the gateway's RSS before, during and after a storm of idle connections."""
    from gridmirror.bench import storm

    f = storm.run(count)
    click.echo(f"storm: {f.held} idle TLS connections held ({f.refused} refused)")
    click.echo(f"  gateway RSS before {f.before_mib:7.1f} MiB")
    click.echo(f"  gateway RSS during {f.during_mib:7.1f} MiB")
    click.echo(f"  gateway RSS after  {f.after_mib:7.1f} MiB (5 s after they closed)")


@bench.command("chain")
@click.option(
    "--batches", default=20, show_default=True, type=click.IntRange(1, 10_000),
    help="Full submit_readings transactions to measure.",
)  # fmt: skip
@click.option(
    "--singles", default=64, show_default=True, type=click.IntRange(1, 10_000),
    help="One-reading transactions to measure.",
)  # fmt: skip
def bench_chain(batches: int, singles: int) -> None:
    """The Oracle program: compute units per reading and readings per transaction."""
    from anchor.artifacts import PROGRAM_SO
    from gridmirror.bench import chain as chain_bench

    click.echo(
        f"chain: oracle.so ({PROGRAM_SO.stat().st_size:,} bytes) on LiteSVM; "
        f"{chain_bench.METERS} meters, one reading per meter every {chain_bench.STEP_S} s"
    )
    for line in chain_bench.report(chain_bench.run(batches, singles)):
        click.echo(line)


@bench.command("gateway")
@click.option(
    "--connections", default=32, show_default=True, type=click.IntRange(1, 1000),
    help="Meters posting at once, each on its own keep-alive TLS connection.",
)  # fmt: skip
@click.option(
    "--open-connections", type=click.IntRange(1, 20_000),
    help="Meters of the open-loop run, each on its own connection (default: --connections; "
    "10000 is the architecture's 667 posts/s from 10,000 meters at 15 s).",
)  # fmt: skip
@click.option(
    "--warmup", default=1.0, show_default=True, type=click.FloatRange(0, 600),
    help="Seconds of load before each measured window (a server that has just taken "
    "thousands of connections needs about 15 to settle).",
)  # fmt: skip
@click.option(
    "--seconds", default=10.0, show_default=True, type=click.FloatRange(0.5, 3600),
    help="Length of each measured run (after 1 s of warm-up).",
)  # fmt: skip
@click.option(
    "--rate", default=667.0, show_default=True, type=click.FloatRange(1, 100_000),
    help="Requests per second of the open-loop run (667: 10,000 meters at 15 s).",
)  # fmt: skip
@click.option(
    "--rounds", default=3, show_default=True, type=click.IntRange(1, 20),
    help="Closed-loop rounds, each running bare then gateway (the median ratio counts).",
)  # fmt: skip
@click.option(
    "--sync", "synchronous", default="full", show_default=True,
    type=click.Choice(["full", "normal"]), help="SQLite synchronous mode of the gateway.",
)  # fmt: skip
@click.option(
    "--scratch", type=click.Path(path_type=Path, file_okay=False),
    help="Where the PKI and database go (default: the system temp directory).",
)  # fmt: skip
def bench_gateway(
    connections: int,
    open_connections: int | None,
    warmup: float,
    seconds: float,
    rate: float,
    rounds: int,
    synchronous: str,
    scratch: Path | None,
) -> None:
    """MirrorMeterReadingList POSTs over mutual TLS: gateway vs a bare server, same stack."""
    from gridmirror.bench import gateway as gateway_bench

    click.echo(
        f"gateway: {connections} meters on keep-alive TLS 1.2 CCM8 connections, {seconds:g} s "
        f"per run, SQLite synchronous={synchronous.upper()}; server and load in separate "
        "processes"
    )
    try:
        gateway_bench.run(
            connections=connections,
            seconds=seconds,
            rate=rate,
            rounds=rounds,
            synchronous=synchronous,
            echo=click.echo,
            scratch=scratch,
            open_connections=open_connections,
            warmup=warmup,
        )
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None


@bench.command("worker")
@click.option(
    "--meters", default=2_000, show_default=True, type=click.IntRange(1, 100_000),
    help="Meters registered on chain, and posting.",
)  # fmt: skip
@click.option(
    "--backlog", default=10_000, show_default=True, type=click.IntRange(1, 10_000_000),
    help="Readings already in the outbox for the drain run.",
)  # fmt: skip
@click.option(
    "--rate", default=667.0, show_default=True, type=click.FloatRange(min=0.1),
    help="Readings accepted per second in the steady run (10,000 meters at 15 s: 667).",
)  # fmt: skip
@click.option(
    "--seconds", default=20.0, show_default=True, type=click.FloatRange(min=1),
    help="Length of the steady run.",
)  # fmt: skip
@click.option(
    "--tick", default=0.02, show_default=True, type=click.FloatRange(min=0.001),
    help="Seconds between the producer's commits (the gateway's group commits).",
)  # fmt: skip
@click.option(
    "--scratch",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where to make the scratch database and chain (default: the system temp directory).",
)
@click.option(
    "--database-url",
    help="A PostgreSQL to run on (a scratch schema, dropped afterwards) instead of SQLite.",
)
def bench_worker(
    meters: int,
    backlog: int,
    rate: float,
    seconds: float,
    tick: float,
    scratch: Path | None,
    database_url: str | None,
) -> None:
    """Outbox to confirmed on the embedded chain: readings/s, lag p50/p95, readings per tx."""
    from gridmirror.bench import worker as worker_bench

    click.echo(
        f"worker: {'PostgreSQL' if database_url else 'SQLite (WAL, synchronous full)'} and "
        f"the embedded chain on disk; "
        f"{meters:,} meters; backlog {backlog:,}; steady {rate:,.0f} readings/s for "
        f"{seconds:.0f} s from a producer process committing every {tick * 1000:.0f} ms"
    )
    if meters / rate < 1:
        raise click.ClickException("--rate must leave each meter at least 1 s between readings")
    if database_url is not None and not database_url.startswith("postgresql"):
        raise click.ClickException("--database-url must be a postgresql+psycopg:// URL")
    figures = worker_bench.run(
        meters, backlog, rate, seconds, tick=tick, scratch=scratch, database_url=database_url
    )
    worker_bench.report(figures, click.echo)


@bench.command("meters")
@click.option(
    "--meters", "count", default=1_000, show_default=True, type=click.IntRange(1, 99_999),
    help="Synthetic meters to run.",
)  # fmt: skip
@click.option(
    "--window", default=60.0, show_default=True, type=click.FloatRange(min=15.0),
    help="Seconds of steady state measured (whole 15 s periods are best).",
)  # fmt: skip
@click.option(
    "--server-url",
    help="A running gateway to use (its postRate should be 15 s) instead of starting one.",
)
@click.option(
    "--scratch",
    type=click.Path(path_type=Path, file_okay=False),
    help="Scratch directory (PKI kept between runs) [default: the system temp directory].",
)
def bench_meters(count: int, window: float, server_url: str | None, scratch: Path | None) -> None:
    """Meters per CPU core at a 15 s postRate, against the gateway in another process."""
    import tempfile

    from gridmirror.bench import meters as meters_bench

    scratch = scratch or Path(tempfile.gettempdir()) / f"gridmirror-bench-meters-{count}"
    click.echo(f"meters: {count:,} synthetic meters at a 15 s postRate, window {window:g} s")
    try:
        result = meters_bench.run(count, window, scratch, server_url, click.echo)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc
    for line in meters_bench.report(result):
        click.echo(line)


@bench.command("api")
@click.option(
    "--clients", default=16, show_default=True, type=click.IntRange(1, 1000),
    help="Clients posting at once, each its own meter's readings on a keep-alive connection.",
)  # fmt: skip
@click.option(
    "--seconds", default=10.0, show_default=True, type=click.FloatRange(0.5, 3600),
    help="Length of each phase (singles after 1 s of warm-up, then batches).",
)  # fmt: skip
@click.option(
    "--batch", default=500, show_default=True, type=click.IntRange(1, 100_000),
    help="Readings per request in the batch phase (at most gateway.api_batch_limit).",
)  # fmt: skip
@click.option(
    "--rounds", default=3, show_default=True, type=click.IntRange(1, 20),
    help="Rounds, each on a fresh gateway and database (the medians are printed).",
)  # fmt: skip
@click.option(
    "--db", "database", default="sqlite", show_default=True,
    help="sqlite (a scratch file, synchronous=FULL) or a postgresql+psycopg:// URL "
    "(a scratch schema, dropped afterwards).",
)  # fmt: skip
@click.option(
    "--scratch", type=click.Path(path_type=Path, file_okay=False),
    help="Where the PKI and database go (default: the system temp directory).",
)  # fmt: skip
def bench_api(
    clients: int, seconds: float, batch: int, rounds: int, database: str, scratch: Path | None
) -> None:
    """Signed readings POSTed to the REST API: readings/s, latency, server CPU per reading."""
    import os

    from gateway.settings import GatewaySettings
    from gridmirror.bench import api as api_bench

    if database != "sqlite" and not database.startswith("postgresql"):
        raise click.ClickException("--db must be sqlite or a postgresql+psycopg:// URL")
    limit = GatewaySettings().api_batch_limit
    if batch > limit:
        raise click.ClickException(f"--batch must be at most {limit} (gateway.api_batch_limit)")
    where = "SQLite synchronous=FULL" if database == "sqlite" else "PostgreSQL"
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    click.echo(
        f"api: {clients} clients on keep-alive HTTP/1.1, operator JWT, Ed25519-signed "
        f"readings 15 s apart; {seconds:g} s singles then {seconds:g} s batches of {batch}, "
        f"{rounds} round(s); {where}; gateway and load in separate processes; "
        f"load average {load}"
    )
    try:
        results = api_bench.run(
            clients=clients,
            seconds=seconds,
            batch=batch,
            rounds=rounds,
            database_url=None if database == "sqlite" else database,
            echo=click.echo,
            scratch=scratch,
        )
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None
    refused = sum(r.refused for r in results)
    if refused:
        raise click.ClickException(f"{refused} reading(s) refused: the figures do not count")
    if not all(r.consistent for r in results):
        raise click.ClickException("the database does not hold every accepted reading")


@bench.command("history")
@click.option(
    "--meters", default=10_000, show_default=True, type=click.IntRange(1, 99_999),
    help="Meters whose day of readings the database holds.",
)  # fmt: skip
@click.option(
    "--step", "step_s", default=900, show_default=True, type=click.IntRange(60, 3600),
    help="Seconds between a meter's samples.",
)  # fmt: skip
@click.option(
    "--database-url", help="An empty database to fill (default: a SQLite file in a temp dir)."
)
@click.option("--repeats", default=3, show_default=True, type=click.IntRange(1, 100))
def history(meters: int, step_s: int, database_url: str | None, repeats: int) -> None:
    """Time the dashboard's fleet history (15-minute epochs) over a day of readings."""
    import tempfile
    import time

    from gateway.db import DatabaseError, open_database
    from gridmirror.bench import history as bench_history

    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite:///{Path(tmp) / 'history.db'}"
        try:
            database = open_database(url, synchronous="normal")
            database.ensure_schema()
        except DatabaseError as exc:
            raise click.ClickException(str(exc)) from None
        try:
            t0 = time.perf_counter()
            seeded = bench_history.seed(database.write, meters, start=1_800_000_000, step_s=step_s)
            click.echo(
                f"history: {seeded.rows:,} readings of {meters:,} meters (a sample every "
                f"{step_s} s for 24 h) written in {time.perf_counter() - t0:,.0f} s"
            )
            click.echo(
                bench_history.report(bench_history.time_history(database.read, seeded, repeats))
            )
        finally:
            database.dispose()
