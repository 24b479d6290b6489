"""``gridmirror chain``: the local chain, the oracle on it, and the submission worker."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from solders.pubkey import Pubkey

    from gateway.db import Database
    from gridmirror.cli import Context
    from gridmirror.config import Settings
    from oracle.bridge import Bridge
    from oracle.registry import MeterDirectory
    from oracle.settings import ChainSettings


@click.group()
def chain() -> None:
    """The Solana side: a local chain, the oracle, the submission worker."""


def _programs(values: tuple[str, ...]) -> list[tuple[str, Path]]:
    out = []
    for value in values:
        program_id, sep, path = value.partition("=")
        if not sep or not program_id or not path:
            raise click.BadParameter(
                f"{value!r}: expected PROGRAM_ID=PATH.so", param_hint="--program"
            )
        out.append((program_id, Path(path)))
    return out


@chain.command()
@click.option("--host", help="Address to listen on (default: chain.serve_host).")
@click.option(
    "--port", type=click.IntRange(0, 65535), help="Port (default: chain.serve_port; 0: any)."
)
@click.option(
    "--state-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="The chain's state directory (default: chain.state_dir).",
)
@click.option(
    "--program",
    "programs",
    multiple=True,
    metavar="ID=PATH",
    help="Deploy an sBPF program at ID before serving (again if its bytes changed).",
)
@click.option(
    "--upgrade-authority",
    metavar="PUBKEY",
    help="Upgrade authority of programs deployed now (default: the oracle's admin key in "
    "chain.keys_dir, made if missing): only it may initialize the oracle.",
)
@click.pass_obj
def serve(
    obj: Context,
    host: str | None,
    port: int | None,
    state_dir: Path | None,
    programs: tuple[str, ...],
    upgrade_authority: str | None,
) -> None:
    """Serve the embedded chain over Solana JSON-RPC, keeping its state on disk.

    The server is the chain's only writer: gateways and workers in other processes
    share the chain by setting chain.backend = "rpc" and chain.rpc_url to this URL.
    Programs are deployed through the BPF upgradeable loader.
    """
    settings = obj.settings.chain
    where = state_dir or settings.state_dir
    assert where is not None  # the settings place it under data_dir
    parsed = _programs(programs)
    authority = _upgrade_authority(settings, upgrade_authority) if parsed else None
    asyncio.run(
        _serve(
            where,
            host or settings.serve_host,
            settings.serve_port if port is None else port,
            parsed,
            authority,
            settings.slot_seconds,
            settings.state_sync,
        )
    )


def _upgrade_authority(settings: ChainSettings, value: str | None) -> Pubkey:
    """--upgrade-authority, or the admin key's public key (the key made if missing)."""
    from solders.pubkey import Pubkey

    from oracle.chain import ChainError
    from oracle.chain.keyfile import load_or_create_keypair
    from oracle.deployment import ADMIN_KEY, keys_dir

    if value is not None:
        try:
            return Pubkey.from_string(value)
        except ValueError:
            raise click.BadParameter(
                f"{value!r} is not a public key", param_hint="--upgrade-authority"
            ) from None
    try:
        return load_or_create_keypair(keys_dir(settings) / ADMIN_KEY).pubkey()
    except ChainError as exc:
        raise click.ClickException(str(exc)) from None


async def _serve(
    state_dir: Path,
    host: str,
    port: int,
    programs: list[tuple[str, Path]],
    upgrade_authority: Pubkey | None,
    slot_seconds: float,
    state_sync: str,
) -> None:
    from solders.pubkey import Pubkey

    from oracle.chain.backend import ChainError
    from oracle.chain.local import LocalChain
    from oracle.chain.served import ServedChain

    try:
        local = LocalChain(
            state_dir,
            slot_seconds=slot_seconds,
            synchronous="full" if state_sync == "full" else "normal",
        )
    except ChainError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        for text, path in programs:
            try:
                program_id = Pubkey.from_string(text)
            except ValueError:
                raise click.ClickException(f"--program: {text!r} is not a public key") from None
            try:
                elf = path.read_bytes()
            except OSError as exc:
                raise click.ClickException(
                    f"--program: cannot read {path}: {exc.strerror}"
                ) from exc
            if local.deployed_program(program_id) != elf:
                assert upgrade_authority is not None
                try:
                    local.deploy(program_id, elf, upgrade_authority)
                except ChainError as exc:
                    raise click.ClickException(str(exc)) from exc
                click.echo(f"deployed {program_id} from {path}")
        server = ServedChain(local, host, port)  # also named in the state dir, for the CLI
        try:
            await server.start()
        except OSError as exc:
            raise click.ClickException(
                f"cannot listen on {host}:{port} (RPC) and port {port + 1} (PubSub): {exc.strerror}"
            ) from exc
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        # Only now: whoever read this line may stop us with SIGTERM and see a clean exit.
        click.echo(
            f"chain RPC listening on {server.url} (PubSub {server.pubsub_url}; state: {state_dir})"
        )
        try:
            await stop.wait()
        finally:
            await server.stop()
    finally:
        local.close()


# --------------------------------------------------------------------------- the bridge
# init, worker, redrive, status: the oracle side of the gateway's database.


def _database(settings: Settings) -> Database:
    """The gateway's database (its write engine is the one the bridge uses), tables made."""
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


def _directory(settings: Settings) -> MeterDirectory:
    """Owners and ratings: the chain settings, then the campus file's meters by LFDI."""
    from certs.pki import Pki, PkiError
    from devices.campus import CampusError, fleet_campus
    from oracle.registry import CampusMeter, DirectoryError, MeterDirectory

    campus: list[CampusMeter] = []
    try:
        fleet = fleet_campus(settings.meters)
    except CampusError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        assert settings.pki.dir is not None
        pki = Pki.open(settings.pki.dir)
    except PkiError:
        pki = None  # no certificates yet: campus meters cannot be matched to LFDIs
    if pki is not None:
        for spec in fleet.meters:
            device = pki.devices.get(spec.serial)
            if device is not None:
                campus.append(CampusMeter(device.lfdi, spec.rated_power_w, spec.owner))
    try:
        return MeterDirectory.from_settings(settings.chain, campus)
    except DirectoryError as exc:
        raise click.ClickException(str(exc)) from None


def _with_chosen_owners(directory: MeterDirectory, database: Database) -> MeterDirectory:
    """``directory`` with the owner wallets chosen through the REST API (meter_owner),
    which win over the configured ones, as in the gateway's own bridge."""
    from gateway.crud import owners
    from oracle.registry import DirectoryError

    with database.read_session() as session:
        chosen = owners.every(session)
    for lfdi, wallet in chosen.items():
        try:
            directory.set_owner(lfdi, wallet)
        except DirectoryError as exc:
            raise click.ClickException(f"meter_owner: {exc}") from None
    return directory


def _known_meters(database: Database) -> list[str]:
    """The meters the gateway knows: registered EndDevices, settling mirrors, the outbox."""
    from sqlmodel import Session, col, select

    from gateway.models import EndDeviceRow, MirrorRow
    from oracle.outbox import OutboxEntry

    with Session(database.write) as session:
        found = set(session.exec(select(EndDeviceRow.lfdi)))
        found |= set(
            session.exec(
                select(MirrorRow.device_lfdi).where(
                    col(MirrorRow.settles).is_(True), col(MirrorRow.deleted_at).is_(None)
                )
            )
        )
        found |= set(session.exec(select(OutboxEntry.lfdi).distinct()))
    return sorted(found)


def _issued_meters(settings: Settings) -> list[str]:
    """The LFDIs of the devices the PKI issued certificates to (none without a PKI): the
    meters that will connect, registered before their first reading."""
    from certs.pki import Pki, PkiError

    assert settings.pki.dir is not None  # placed under data_dir by gridmirror.config
    try:
        pki = Pki.open(settings.pki.dir)
    except PkiError:
        return []
    return [device.lfdi for device in pki.devices.values()]


@chain.command("init")
@click.option(
    "--meter",
    "meters",
    multiple=True,
    metavar="LFDI",
    help="Also register this meter (besides those the gateway's database and the PKI know).",
)
@click.pass_obj
def init(obj: Context, meters: tuple[str, ...]) -> None:
    """Deploy (embedded chain) and initialize the oracle, and register the known meters.

    The meters known are those the gateway's database knows (registered EndDevices,
    mirrors, the outbox), the devices in the PKI index (`certs init`) and any --meter;
    a meter first seen later is registered by the worker before its first reading.

    Creates what is missing and changes nothing else: the keys (0600, in chain.keys_dir),
    the program on the embedded chain, the energy mint, the Config naming this gateway's
    key, a Meter account, owner token account and lookup-table entry per meter.
    """
    from oracle.registry import DirectoryError
    from sep2.identity import IdentityError, normalise_lfdi

    settings = obj.settings
    try:
        extra = [normalise_lfdi(m) for m in meters]
    except IdentityError as exc:
        raise click.BadParameter(str(exc), param_hint="--meter") from None
    database = _database(settings)
    directory = _with_chosen_owners(_directory(settings), database)
    try:
        known = set(_known_meters(database))
        issued = set(_issued_meters(settings))
        click.echo(
            f"meters known: {len(known)} to the gateway's database, {len(issued)} in the PKI"
            f" index, {len(set(extra))} named"
        )
        lfdis = sorted(known | issued | set(extra))
        asyncio.run(_init(settings, database, directory, lfdis))
    except DirectoryError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        database.dispose()


async def _init(
    settings: Settings, database: Database, directory: MeterDirectory, lfdis: list[str]
) -> None:
    from oracle.chain import ChainError, open_chain
    from oracle.deployment import init_oracle, keys_dir, open_oracle
    from oracle.registry import MeterRegistry

    try:
        chain_backend = open_chain(settings.chain)
    except ChainError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        report = await init_oracle(chain_backend, settings.chain)
        oracle = await open_oracle(chain_backend, settings.chain)
        registry = MeterRegistry(
            database.write, chain_backend, oracle, directory, read_engine=database.read
        )
        before = {m.lfdi for m in await registry.load()}
        failed = await registry.ensure(lfdis)
    except ChainError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        await chain_backend.close()
    config = report.config
    click.echo(f"chain: {chain_backend.name}")
    click.echo(
        f"program: {report.program_id}"
        + (" (deployed now)" if report.deployed else "")
        + (", initialized now" if report.initialized else "")
    )
    click.echo(f"gateway key: {config.gateway} (keys in {keys_dir(settings.chain)})")
    click.echo(f"energy mint: {config.mint} (3 decimals: 1 unit = 1 Wh)")
    click.echo(
        f"epochs: {config.clearing_interval_s} s; readings may be {config.max_future_skew_s} s "
        "ahead of the chain's clock"
    )
    ready = [lfdi for lfdi in lfdis if lfdi not in failed]
    new = [lfdi for lfdi in ready if lfdi not in before]
    click.echo(f"meters: {len(ready)} ready ({len(new)} registered now)")
    if not lfdis:
        click.echo(
            "  none known yet: a meter is registered when the worker sends its first "
            "reading (or name it with --meter, or issue its certificate with `certs init`)"
        )
    for lfdi, reason in sorted(failed.items()):
        click.echo(f"  {lfdi}: {reason}", err=True)
    if failed:
        raise click.ClickException(f"{len(failed)} meter(s) could not be registered")


@chain.command("worker")
@click.option("--drain", is_flag=True, help="Exit once nothing is left to send.")
@click.option("--id", "worker_id", help="This worker's name in leases (default host:pid:rand).")
@click.pass_obj
def worker(obj: Context, drain: bool, worker_id: str | None) -> None:
    """Submit the outbox to the chain, confirm, record proofs, and clear epochs.

    Several may run against one PostgreSQL database (and one chain over RPC): each meter's
    readings are sent by one worker at a time, in time order. Stops on Ctrl-C or SIGTERM.
    """
    settings = obj.settings
    database = _database(settings)
    directory = _with_chosen_owners(_directory(settings), database)
    try:
        asyncio.run(_work(settings, database, directory, drain, worker_id))
    finally:
        database.dispose()


async def _work(
    settings: Settings,
    database: Database,
    directory: MeterDirectory,
    drain: bool,
    worker_id: str | None,
) -> None:
    from oracle.bridge import open_bridge
    from oracle.chain import ChainError, open_chain
    from oracle.chain.served import serving

    async with contextlib.AsyncExitStack() as held:
        try:
            chain_backend = open_chain(settings.chain)
            held.push_async_callback(chain_backend.close)
            # Holding an embedded chain: serve it, so `verify` and others work beside us.
            await held.enter_async_context(serving(chain_backend))
            bridge = await open_bridge(
                database.write, settings.chain, directory, chain=chain_backend,
                worker_id=worker_id, read_engine=database.read,
            )  # fmt: skip
        except ChainError as exc:
            raise click.ClickException(str(exc)) from None
        await _run_worker(bridge, drain)


async def _run_worker(bridge: Bridge, drain: bool) -> None:
    from oracle.status import STATS

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    click.echo(f"chain worker {bridge.worker.id} on {bridge.chain.name} (Ctrl-C to stop)")
    s = STATS  # the process's counters (metrics read them too): report this run's share
    before = (
        s.submissions["landed"], s.readings["confirmed"], s.readings["dead"],
        s.epochs_cleared, s.minted_wh,
    )  # fmt: skip
    try:
        await bridge.run(stop, drain=drain)
    finally:
        await bridge.close()
    landed, confirmed, dead, epochs, minted = (
        now - then
        for now, then in zip(
            (s.submissions["landed"], s.readings["confirmed"], s.readings["dead"],
             s.epochs_cleared, s.minted_wh),
            before,
            strict=True,
        )
    )  # fmt: skip
    click.echo(
        f"chain worker stopped: {landed} transactions, {confirmed} readings confirmed, "
        f"{dead} dead, {epochs} epochs cleared, {minted} Wh minted"
    )


@chain.command("reconcile")
@click.pass_obj
def reconcile_command(obj: Context) -> None:
    """Prove the database's settlements agree with the chain, meter by meter.

    First records settlements that someone else cranked (from the Meter accounts), then
    compares per meter the database's minted Wh and settlements with the Meter account,
    per owner's token account its balance with what was minted to it, and the totals
    with the Config and the mint's supply. Prints one line per difference and exits 1
    if there is any.
    """
    settings = obj.settings
    database = _database(settings)
    directory = _with_chosen_owners(_directory(settings), database)
    try:
        differences = asyncio.run(_reconcile(settings, database, directory))
    finally:
        database.dispose()
    if differences:
        raise SystemExit(1)


async def _reconcile(settings: Settings, database: Database, directory: MeterDirectory) -> int:
    from oracle.chain import ChainError, open_chain
    from oracle.clearing import Clearer
    from oracle.deployment import open_oracle
    from oracle.reconcile import reconcile
    from oracle.registry import MeterRegistry

    try:
        chain_backend = open_chain(settings.chain)
    except ChainError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        oracle = await open_oracle(chain_backend, settings.chain)
        registry = MeterRegistry(
            database.write, chain_backend, oracle, directory, read_engine=database.read
        )
        clearer = Clearer(
            database.write, chain_backend, oracle, registry, settings.chain,
            read_engine=database.read,
        )  # fmt: skip
        added = await clearer.follow()
        report = await reconcile(database.write, chain_backend, oracle, registry)
    except ChainError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        await chain_backend.close()
    if added:
        click.echo(f"recorded {added} settlement(s) someone else cranked, from the chain")
    for line in report.differences:
        click.echo(line)
    if report.agrees:
        click.echo(
            f"reconciled: {report.meters} meters, {report.minted_wh} Wh minted: the database, "
            "the Meter accounts, the token accounts and the mint agree"
        )
    return len(report.differences)


@chain.command("redrive")
@click.option("--all", "every", is_flag=True, help="Every dead letter.")
@click.option("--id", "ids", multiple=True, type=int, help="A dead reading by its id.")
@click.option("--lfdi", "lfdis", multiple=True, help="Every dead reading of a meter.")
@click.pass_obj
def redrive(obj: Context, every: bool, ids: tuple[int, ...], lfdis: tuple[str, ...]) -> None:
    """Put dead letters back in the outbox, with their attempts reset."""
    from oracle.submissions import redrive as put_back
    from sep2.identity import IdentityError, normalise_lfdi

    if not (every or ids or lfdis):
        raise click.UsageError("say which: --all, --id N or --lfdi LFDI")
    try:
        meters = [normalise_lfdi(x) for x in lfdis]
    except IdentityError as exc:
        raise click.BadParameter(str(exc), param_hint="--lfdi") from None
    database = _database(obj.settings)
    try:
        count = put_back(database.write, ids=ids, lfdis=meters, every=every)
    finally:
        database.dispose()
    click.echo(f"re-driven: {count} reading(s) back to pending")


@chain.command("status")
@click.option("--dead", "show_dead", default=10, show_default=True, help="Dead letters to list.")
@click.pass_obj
def status(obj: Context, show_dead: int) -> None:
    """The outbox by state, dead letters with their reasons, clearing and minting so far."""
    from sqlmodel import Session, col, func, select

    from oracle.outbox import OutboxEntry
    from oracle.records import EpochClearing, Settlement
    from oracle.status import outbox_counts

    database = _database(obj.settings)
    try:
        counts = outbox_counts(database.write)
        with Session(database.write) as session:
            dead = list(
                session.exec(
                    select(OutboxEntry)
                    .where(OutboxEntry.state == "dead")
                    .order_by(col(OutboxEntry.lfdi), col(OutboxEntry.timestamp))
                    .limit(show_dead)
                )
            )
            last_epoch = session.exec(select(func.max(EpochClearing.epoch))).one()
            minted = session.exec(select(func.coalesce(func.sum(Settlement.minted_wh), 0))).one()
    finally:
        database.dispose()
    click.echo("outbox: " + ", ".join(f"{state} {n}" for state, n in counts.items()))
    for row in dead:
        click.echo(f"  dead {row.id} {row.lfdi}@{row.timestamp}: {row.last_error}")
    click.echo(f"last cleared epoch: {last_epoch if last_epoch is not None else 'none'}")
    click.echo(f"minted: {minted} Wh")
