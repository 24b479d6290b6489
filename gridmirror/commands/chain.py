"""``gridmirror chain``: the local chain and the tools around it."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from gridmirror.cli import Context


@click.group()
def chain() -> None:
    """The Solana side: a local chain and its JSON-RPC server."""


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
@click.pass_obj
def serve(
    obj: Context,
    host: str | None,
    port: int | None,
    state_dir: Path | None,
    programs: tuple[str, ...],
) -> None:
    """Serve the embedded chain over Solana JSON-RPC, keeping its state on disk.

    The server is the chain's only writer: gateways and workers in other processes
    share the chain by setting chain.backend = "rpc" and chain.rpc_url to this URL.
    """
    settings = obj.settings.chain
    where = state_dir or settings.state_dir
    assert where is not None  # the settings place it under data_dir
    asyncio.run(
        _serve(
            where,
            host or settings.serve_host,
            settings.serve_port if port is None else port,
            _programs(programs),
            settings.slot_seconds,
            settings.state_sync,
        )
    )


async def _serve(
    state_dir: Path,
    host: str,
    port: int,
    programs: list[tuple[str, Path]],
    slot_seconds: float,
    state_sync: str,
) -> None:
    from solders.pubkey import Pubkey

    from oracle.chain.backend import ChainError
    from oracle.chain.local import LocalChain
    from oracle.chain.server import RpcServer

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
                try:
                    local.deploy(program_id, elf)
                except ChainError as exc:
                    raise click.ClickException(str(exc)) from exc
                click.echo(f"deployed {program_id} from {path}")
        server = RpcServer(local, host, port)
        try:
            await server.start()
        except OSError as exc:
            raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
        click.echo(f"chain RPC listening on {server.url} (state: {state_dir})")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            await server.stop()
    finally:
        local.close()
