"""``gridmirror conformance server``: reports written, exit codes, and bad input as one
line (unreachable URL, wrong CA, a server that never answers), never a traceback or a hang."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from click.testing import CliRunner, Result
from lxml import etree

from certs.pki import Pki, default_serials, init_pki
from gridmirror.cli import cli
from tests.certs.seeding import HW_TYPE, PKI_TIME
from tests.conformance import broken
from tests.gateway.conftest import METERS, StartGateway


def _identity(pki: Pki, serial: str = METERS[2]) -> list[str]:
    device = pki.device(serial)
    return ["--ca", str(pki.serca), "--cert", str(device.chain), "--key", str(device.key)]


async def run(tmp_path: Path, *args: str) -> Result:
    """The command in a thread (it runs its own event loop), the gateway in ours."""
    result = await asyncio.to_thread(
        CliRunner().invoke, cli, ["--data-dir", str(tmp_path / "data"), "conformance", *args]
    )
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


async def test_list_names_every_procedure_with_its_clause(tmp_path: Path) -> None:
    result = await run(tmp_path, "server", "--list")
    assert result.exit_code == 0
    ids = [line.split()[0] for line in result.output.splitlines()]
    assert ids[:3] == ["tls", "dcap", "time"] and "discovery" in ids
    assert "10.11.3" in result.output


async def test_a_passing_run_writes_junit_and_html_and_exits_0(
    start_sqlite_gateway: StartGateway, pki: Pki, tmp_path: Path
) -> None:
    junit, page = tmp_path / "report.xml", tmp_path / "report.html"
    async with start_sqlite_gateway() as gateway:
        result = await run(
            tmp_path,
            "server",
            f"{gateway.url}/dcap",
            *_identity(pki),
            "--junit",
            str(junit),
            "--html",
            str(page),
        )
    assert result.exit_code == 0, result.output
    assert "SKIP  discovery" in result.output  # only with --discover
    suite = etree.parse(str(junit)).getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "0" and suite.get("tests") == "12"
    assert "<html" in page.read_text() and "MirrorUsagePoint" in page.read_text()


async def test_a_mandatory_failure_exits_1_and_only_runs_what_is_asked(
    start_sqlite_gateway: StartGateway, pki: Pki, tmp_path: Path
) -> None:
    device = pki.device(METERS[2])
    async with (
        start_sqlite_gateway() as gateway,
        broken.broken_gateway(
            gateway.url,
            serca=pki.serca,
            server_chain=pki.server.chain,
            server_key=pki.server.key,
            device_chain=device.chain,
            device_key=device.key,
            flip=broken.edev_without_location,
        ) as url,
    ):
        failing = await run(
            tmp_path, "server", url, *_identity(pki), "--only", "dcap", "--only", "edev"
        )
        passing = await run(tmp_path, "server", url, *_identity(pki), "--only", "dcap")
    assert failing.exit_code == 1
    assert "FAIL  edev" in failing.output and "no Location header" in failing.output
    assert "mup.create" not in failing.output
    assert passing.exit_code == 0, passing.output


async def test_unreachable_url_fails_with_the_reason(pki: Pki, tmp_path: Path) -> None:
    clock = time.monotonic()
    result = await run(
        tmp_path,
        "server",
        "https://127.0.0.1:9/dcap",
        *_identity(pki),
        "--timeout",
        "2",
        "--only",
        "dcap",
    )
    assert result.exit_code == 1
    assert "FAIL  dcap" in result.output and "onnect" in result.output
    assert time.monotonic() - clock < 30


async def test_wrong_ca_fails_with_the_reason(
    start_sqlite_gateway: StartGateway, pki: Pki, tmp_path: Path
) -> None:
    other = init_pki(tmp_path / "other", default_serials(1), hw_type=HW_TYPE, at=PKI_TIME).pki
    args = _identity(pki)
    args[1] = str(other.serca)
    async with start_sqlite_gateway() as gateway:
        result = await run(
            tmp_path, "server", gateway.url, *args, "--only", "tls", "--only", "dcap"
        )
    assert result.exit_code == 1
    assert "certificate" in result.output.lower()
    assert "FAIL  tls" in result.output and "FAIL  dcap" in result.output


@asynccontextmanager
async def silent_server() -> AsyncIterator[int]:
    """A TCP server that accepts and never says a word (not even a TLS handshake)."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for writer in held:
            writer.close()
        server.close()


async def test_a_hanging_server_fails_within_the_timeout(pki: Pki, tmp_path: Path) -> None:
    async with silent_server() as port:
        clock = time.monotonic()
        result = await run(
            tmp_path,
            "server",
            f"https://127.0.0.1:{port}/dcap",
            *_identity(pki),
            "--timeout",
            "1",
            "--only",
            "tls",
            "--only",
            "dcap",
        )
        took = time.monotonic() - clock
    assert result.exit_code == 1
    assert "within 1 s" in result.output
    assert took < 15


async def test_bad_arguments_are_one_line(tmp_path: Path, pki: Pki) -> None:
    result = await run(tmp_path, "server", "http://x/dcap", *_identity(pki))
    assert result.exit_code == 2 and "https://" in result.output
    result = await run(tmp_path, "server", "https://x/dcap", "--ca", str(pki.serca))
    assert result.exit_code == 2 and "go together" in result.output
    result = await run(tmp_path, "server", "https://x/dcap", *_identity(pki), "--only", "nope")
    assert result.exit_code == 2 and "no procedure nope" in result.output
    result = await run(tmp_path, "server", "https://x/dcap")  # no local PKI in data_dir
    assert result.exit_code == 1 and "--ca/--cert/--key" in result.output
