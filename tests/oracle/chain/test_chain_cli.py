"""``gridmirror chain serve`` as a real process: kill -9, restart, one writer per state."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair

from gridmirror.cli import cli
from oracle.chain import open_chain
from oracle.chain.embedded import EmbeddedBackend
from oracle.chain.rpc import RpcBackend
from oracle.chain.served import SERVED_FILE, served_url
from oracle.settings import ChainSettings
from tests.oracle.chain.conftest import signed, transfer_tx


def serve_command(data_dir: Path, *extra: str) -> list[str]:
    """``gridmirror --data-dir D chain serve --port 0 ...`` in this interpreter."""
    return [
        sys.executable,
        "-m",
        "gridmirror",
        "--data-dir",
        str(data_dir),
        "chain",
        "serve",
        "--port",
        "0",
        *extra,
    ]


class Serve:
    """A running ``gridmirror chain serve`` subprocess."""

    def __init__(self, data_dir: Path, *extra: str) -> None:
        self.proc = subprocess.Popen(
            serve_command(data_dir, *extra),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            if "listening on" in line:
                self.url = line.split("listening on ")[1].split()[0]
                return
        raise AssertionError(f"serve did not start: {self.proc.stderr.read()}")  # type: ignore[union-attr]

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=10)


@pytest.fixture
def processes() -> Iterator[list[Serve]]:
    started: list[Serve] = []
    yield started
    for p in started:
        if p.proc.poll() is None:
            p.proc.kill()
            p.proc.wait()


async def test_serve_survives_kill_9(tmp_path: Path, processes: list[Serve]) -> None:
    first = Serve(tmp_path)
    processes.append(first)
    chain = RpcBackend(first.url, poll_interval=0.02, confirm_timeout=5)
    payer, to = Keypair(), Keypair().pubkey()
    await chain.confirm_transaction(await chain.request_airdrop(payer.pubkey(), 10**10))
    latest = await chain.latest_blockhash()
    sent = await chain.send_transaction(transfer_tx(payer, to, 5_000_000, latest.blockhash))
    assert (await chain.confirm_transaction(sent)) is not None
    await chain.close()
    assert first.stop(signal.SIGKILL) == -signal.SIGKILL

    second = Serve(tmp_path)
    processes.append(second)
    chain = RpcBackend(second.url, poll_interval=0.02, confirm_timeout=5)
    assert await chain.get_balance(to) == 5_000_000
    (status,) = await chain.signature_statuses([sent])
    assert status is not None and status.ok
    await chain.close()
    assert second.stop() == 0  # SIGTERM is a clean stop


async def test_a_served_chain_is_found_through_its_state_dir(
    tmp_path: Path, processes: list[Serve]
) -> None:
    """Another process opening the held chain gets the holder's RPC server; once the
    holder is killed its leftover file is not followed: the chain is opened in place."""
    settings = ChainSettings(state_dir=tmp_path / "chain", poll_interval=0.02)
    first = Serve(tmp_path)
    processes.append(first)
    assert served_url(tmp_path / "chain") == first.url
    beside = open_chain(settings)
    assert isinstance(beside, RpcBackend) and beside.url == first.url
    payer = Keypair()
    await beside.confirm_transaction(await beside.request_airdrop(payer.pubkey(), 10**9))
    await beside.close()
    assert first.stop(signal.SIGKILL) == -signal.SIGKILL
    assert (tmp_path / "chain" / SERVED_FILE).exists()  # nobody withdrew it
    alone = open_chain(settings)
    try:
        assert isinstance(alone, EmbeddedBackend)
        assert await alone.get_balance(payer.pubkey()) == 10**9  # the same chain
        # held now by a process that serves nothing: the old URL is not offered
        assert served_url(tmp_path / "chain") is None
    finally:
        await alone.close()
    second = Serve(tmp_path)
    processes.append(second)
    assert served_url(tmp_path / "chain") == second.url
    assert second.stop() == 0
    assert not (tmp_path / "chain" / SERVED_FILE).exists()  # withdrawn at a clean stop


def test_one_server_per_state_dir(tmp_path: Path, processes: list[Serve]) -> None:
    processes.append(Serve(tmp_path))
    other = subprocess.run(
        serve_command(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert other.returncode == 1
    assert "in use by pid" in other.stderr
    assert len(other.stderr.strip().splitlines()) == 1  # one line, no traceback


async def test_serve_deploys_a_program(
    tmp_path: Path, processes: list[Serve], memo_elf: bytes
) -> None:
    elf = tmp_path / "memo.so"
    elf.write_bytes(memo_elf)
    program = Keypair().pubkey()
    server = Serve(tmp_path / "d", "--program", f"{program}={elf}")
    processes.append(server)
    assert any(f"deployed {program}" in line for line in server.lines)
    chain = RpcBackend(server.url, poll_interval=0.02, confirm_timeout=5)
    payer = Keypair()
    await chain.confirm_transaction(await chain.request_airdrop(payer.pubkey(), 10**10))
    latest = await chain.latest_blockhash()
    ix = Instruction(program, b"served", [AccountMeta(payer.pubkey(), True, False)])
    sig = await chain.send_transaction(signed(payer, [ix], latest.blockhash))
    record = await chain.get_transaction(sig)
    assert record is not None and any('"served"' in line for line in record.logs)
    await chain.close()
    server.stop()
    # the same bytes again: nothing to deploy
    again = Serve(tmp_path / "d", "--program", f"{program}={elf}")
    processes.append(again)
    assert not any("deployed" in line for line in again.lines)
    again.stop()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--program", "nonsense"], "PROGRAM_ID=PATH"),
        (["--program", "notakey=/dev/null"], "not a public key"),
        (["--program", f"{Keypair().pubkey()}=/nonexistent.so"], "cannot read"),
    ],
)
def test_bad_program_options(tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(
        cli, ["--data-dir", str(tmp_path), "chain", "serve", "--port", "0", *args]
    )
    assert result.exit_code != 0
    assert message in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_serve_refuses_a_port_in_use(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        result = CliRunner().invoke(
            cli, ["--data-dir", str(tmp_path), "chain", "serve", "--port", str(port)]
        )
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.output


def test_help_lists_serve_without_loading_the_chain() -> None:
    result = CliRunner().invoke(cli, ["chain", "--help"])
    assert result.exit_code == 0 and "serve" in result.output
    probe = "import sys, gridmirror.cli; print('solders.litesvm' in sys.modules)"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert loaded.stdout.strip() == "False"  # heavy layers load inside the command only
