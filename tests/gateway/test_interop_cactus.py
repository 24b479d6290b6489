"""cactus-client (PyPI; the CSIP-AUS server conformance client) against the gateway.

cactus-client needs Python 3.12: its venv is made once under .venv-peers/cactus in the
repository (gitignored) from ``python3.12`` (pyenv's 3.12.1 if present). Each procedure is
run by tests/gateway/cactus_driver.py, which answers the procedure's admin instructions
with ``gridmirror gateway`` commands and runs ``cactus run --headless --allow-skips``.
cactus-client checks every answer against the 2030.5 XSD; it exits 0 only if every step
passed (or was skipped by the admin plugin) and no answer had an XSD error.

Steps that need a DER function set (gridmirror serves Metering Mirror, not DER) are skipped
by the plugin, and the test states exactly which ones.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from certs.pki import Pki
from certs.settings import PkiSettings
from gateway.launch import Gateway
from gateway.settings import GatewaySettings
from sep2 import Codec, Sep2Settings, sfdi_from_lfdi
from tests.conftest import require
from tests.gateway.conftest import AGGREGATOR, METERS

pytestmark = [pytest.mark.interop, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
CACTUS_VERSION = "1.3.3"
DRIVER = Path(__file__).with_name("cactus_driver.py")
PIN = 111115
# The LFDI the aggregator client registers its DER under (not its certificate's).
AGGREGATED_LFDI = "5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A"


def python312() -> str | None:
    pyenv = Path.home() / ".pyenv" / "versions" / "3.12.1" / "bin" / "python"
    if pyenv.exists():
        return str(pyenv)
    return shutil.which("python3.12")


@pytest.fixture(scope="session")
def cactus_python() -> Path:
    """The python of a venv with cactus-client, made once under .venv-peers/cactus."""
    base = python312()
    require(base is not None, "Python 3.12 (for cactus-client)")
    assert base is not None
    venv = REPO / ".venv-peers" / "cactus"
    python = venv / "bin" / "python"
    probe = [
        str(python),
        "-c",
        f"import importlib.metadata as m; assert m.version('cactus-client') == '{CACTUS_VERSION}'",
    ]
    if not python.exists() or subprocess.run(probe, capture_output=True).returncode != 0:
        subprocess.run([base, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", f"cactus-client=={CACTUS_VERSION}"],
            check=True,
            timeout=600,
        )
    return python


def cactus_config(tmp: Path, pki: Pki, dcap: str) -> Path:
    """A .cactus.yaml (JSON is YAML) for two device clients and an aggregator."""

    def device(
        alias: str, serial: str, kind: str = "device", lfdi: str | None = None
    ) -> dict[str, object]:
        identity = pki.device(serial)
        lfdi = lfdi or identity.lfdi
        return {
            "id": alias,
            "type": kind,
            "certificate_file": str(identity.chain),
            "key_file": str(identity.key),
            "lfdi": lfdi,
            "sfdi": sfdi_from_lfdi(lfdi),
            "pen": 32473,
            "pin": PIN,
            "max_watts": 5000,
        }

    (tmp / "out").mkdir()
    config = {
        "output_dir": str(tmp / "out"),
        "server": {
            "device_capability_uri": dcap,
            "verify_ssl": True,
            "verify_host_name": True,
            "serca_pem_file": str(pki.serca),
            "pen": 32473,
        },
        "clients": [
            device("device-a", METERS[0]),
            device("device-b", METERS[1]),
            device("agg", AGGREGATOR, "aggregator", AGGREGATED_LFDI),
        ],
    }
    path = tmp / ".cactus.yaml"
    path.write_text(json.dumps(config, indent=2))
    return path


@pytest.fixture(scope="module")
def procedures() -> dict[str, tuple[tuple[str, ...], set[str]]]:
    """Procedure -> (clients, the steps the plugin skips because they need DER)."""
    return {
        "S-ALL-02": (("device-a",), {"FETCHING DER INFO"}),
        "S-ALL-03": (("agg",), {"FETCHING DER INFO"}),
        "S-ALL-06": (("device-a",), set()),
        "S-ALL-07": (("device-a",), set()),
        "S-ALL-51": (("device-a",), set()),
        "S-ALL-52": (("device-a", "device-b"), set()),
        "S-ALL-56": (("device-a",), set()),
        "S-OPT-01": (("device-a",), set()),
        "S-OPT-04": (("device-a",), set()),
        "S-OPT-05": (("device-a",), set()),
    }


@pytest.mark.timeout(900)
async def test_cactus_server_procedures(
    cactus_python: Path,
    pki: Pki,
    codec: Codec,
    tmp_path: Path,
    procedures: dict[str, tuple[tuple[str, ...], set[str]]],
) -> None:
    data = tmp_path / "data"
    shutil.copytree(pki.dir, data / "pki")
    settings = GatewaySettings(
        port=0,
        api_enabled=False,
        database_url=f"sqlite:///{data / 'gridmirror.db'}",
        mdns=False,
        post_rate=1,  # cactus posts its readings postRate apart
        aggregator_lfdis=[pki.device(AGGREGATOR).lfdi],
        sqlite_synchronous="normal",
    )
    gateway = Gateway(settings, Sep2Settings(), Pki.open(data / "pki"), PkiSettings(), codec=codec)
    await gateway.start()
    env = dict(
        os.environ,
        GM_GRIDMIRROR=json.dumps([sys.executable, "-m", "gridmirror", "--data-dir", str(data)]),
    )
    failures: list[str] = []
    try:
        config = cactus_config(tmp_path, pki, f"https://127.0.0.1:{gateway.port}/dcap")
        only = os.environ.get("GM_CACTUS_ONLY")
        for procedure, (clients, der_steps) in procedures.items():
            if only and procedure not in only.split(","):
                continue
            run = await asyncio.create_subprocess_exec(
                str(cactus_python),
                str(DRIVER),
                "-c",
                str(config),
                "--timeout",
                "300",
                procedure,
                *clients,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                env=env,
                cwd=tmp_path,
            )
            output, _ = await run.communicate()
            text = output.decode(errors="replace")
            # (warnings, answers with XSD errors, skipped steps) must be (0, 0, the DER steps)
            result = _result(tmp_path / "out", procedure)
            if run.returncode != 0 or result != (0, 0, der_steps):
                failures.append(f"{procedure}: exit {run.returncode}, {result}\n{text[-6000:]}")
    finally:
        await gateway.stop()
    assert not failures, "\n\n".join(failures)


def _result(out: Path, procedure: str) -> tuple[int, int, set[str]] | None:
    """(warnings, answers with XSD errors, skipped steps) of the latest run of a procedure."""
    runs = sorted(out.glob(f"run * - {procedure}"), key=lambda p: p.stat().st_mtime)
    if not runs:
        return None
    log = (runs[-1] / "cactus.log").read_text()
    found = re.search(r"total_warnings=(\d+), total_xsd_errors=(\d+)", log)
    if found is None:
        return None
    skips = runs[-1] / ".skips"
    skipped = (
        {line.split("\t")[0] for line in skips.read_text().splitlines()}
        if skips.exists()
        else set()
    )
    return int(found.group(1)), int(found.group(2)), skipped
