"""The command-line recipe of docs/gateway.md ("From the command line"), run as written
with the real curl and openssl against a gateway: CCM8, the chain file, the .p12 bundle."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from certs.bundles import write_bundles
from certs.pki import Pki
from tests.gateway.conftest import METERS, StartGateway

DOC = Path(__file__).parents[2] / "docs" / "gateway.md"
HEADING = "### From the command line: curl and openssl"

pytestmark = pytest.mark.skipif(
    not (shutil.which("curl") and shutil.which("openssl")), reason="needs curl and openssl"
)


def recipe() -> tuple[str, list[str]]:
    """The block's first line (the variables) and its commands, continuations joined."""
    text = DOC.read_text()
    block = re.search(re.escape(HEADING) + r".*?```sh\n(.*?)```", text, re.S)
    assert block is not None, "the recipe is gone from docs/gateway.md"
    first, *rest = block.group(1).splitlines()
    commands: list[str] = []
    joined = ""
    for line in rest:
        joined += line.rstrip("\\").rstrip() + " " if line.endswith("\\") else line
        if not line.endswith("\\"):
            commands.append(joined.strip())
            joined = ""
    return first, commands


def test_the_recipe_names_its_variables() -> None:
    first, commands = recipe()
    assert first.split() == ["PKI=.gridmirror/pki", "SERIAL=GM-ENG-01", "PORT=8443"]
    assert [c.split()[0] for c in commands] == ["curl", "printf", "curl"]
    assert all("ECDHE-ECDSA-AES128-CCM8" in c for c in commands)


async def test_the_recipe_runs_against_a_gateway(
    start_sqlite_gateway: StartGateway, pki: Pki, tmp_path: Path
) -> None:
    # a copy of the session's PKI (which tests must not change), with the bundles
    copy = Pki.open(Path(shutil.copytree(pki.dir, tmp_path / "pki")))
    assert write_bundles(copy.devices.values()) == len(copy.devices)
    _, commands = recipe()
    async with start_sqlite_gateway() as gateway:
        port = str(gateway.port)
        env = dict(os.environ, PKI=str(copy.dir), SERIAL=METERS[0], PORT=port)

        def run(command: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                ["sh", "-c", command], capture_output=True, text=True, env=env, timeout=60
            )

        dcap, tm, edev = [await asyncio.to_thread(run, c) for c in commands]
        assert dcap.returncode == 0, dcap.stderr
        assert dcap.stdout.startswith('<DeviceCapability xmlns="urn:ieee:std:2030.5:ns"')
        assert tm.returncode == 0, tm.stderr
        assert tm.stdout.startswith("HTTP/1.1 200")
        assert "<Time " in tm.stdout and "<currentTime>" in tm.stdout
        assert edev.returncode == 0, edev.stderr
        assert "<EndDeviceList " in edev.stdout
        # and what the recipe says fails: no client certificate, or cert.pem without its
        # intermediates
        bare = commands[0].replace(
            "--cert $PKI/devices/$SERIAL/chain.pem --key $PKI/devices/$SERIAL/key.pem", ""
        )
        assert bare != commands[0]
        assert (await asyncio.to_thread(run, bare)).returncode != 0
        short = commands[0].replace("$SERIAL/chain.pem", "$SERIAL/cert.pem")
        assert (await asyncio.to_thread(run, short)).returncode != 0
