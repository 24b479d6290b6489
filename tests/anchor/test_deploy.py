"""oracle.so passes Solana's strict deployment path (BPF upgradeable loader, solders 0.29).

The main environment pins solders 0.26 (anchorpy 0.21), whose LiteSVM only offers
add_program, which skips the deployment checks. This test makes (once, cached in
.venv-solders029/ at the repository root, gitignored) a venv with solders 0.29 and runs
deploy_check.py there: deploy through the upgradeable loader, then drive the program.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from solders.litesvm import LiteSVM
from solders.pubkey import Pubkey

from anchor import artifacts
from anchor.sbpf_link import SYSCALLS, link
from tests.anchor.elf_objects import EXIT, ObjectBuilder, call, mov64_imm
from tests.conftest import require

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv-solders029"
SOLDERS = "solders==0.29.*"


def solders029_python() -> Path:
    """The cached venv's python, made on first use (atomically: built aside, then renamed)."""
    python = VENV / "bin" / "python"
    if python.exists():
        probe = subprocess.run(
            [python, "-c", "import solders; print(solders.__version__)"],
            capture_output=True,
            text=True,
        )
        if probe.returncode == 0 and probe.stdout.startswith("0.29."):
            return python
        shutil.rmtree(VENV, ignore_errors=True)
    staging = ROOT / f".venv-solders029.{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(staging)], check=True)
    install = subprocess.run(
        [staging / "bin" / "python", "-m", "pip", "install", "-q", SOLDERS],
        capture_output=True,
        text=True,
    )
    if install.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        require(False, f"pip install {SOLDERS} (PyPI reachable): {install.stderr.strip()[-300:]}")
    try:
        staging.rename(VENV)
    except OSError:  # another run made it first
        shutil.rmtree(staging, ignore_errors=True)
    return python


@pytest.mark.slow
def test_the_program_deploys_through_the_upgradeable_loader(program: bytes, tmp_path: Path) -> None:
    python = solders029_python()
    so = tmp_path / "oracle.so"
    so.write_bytes(program)
    run = subprocess.run(
        [python, ROOT / "tests" / "anchor" / "deploy_check.py", so, artifacts.PROGRAM_KEYPAIR],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads(run.stdout)
    assert report["deployed"] and report["executable"]
    assert report["program_id"] == str(artifacts.load_idl()["address"])
    assert report["minted_wh"] == 600  # (2700 - 2000) exported - (1100 - 1000) imported
    assert report["squatter_refused"]  # only the upgrade authority initializes


@pytest.mark.slow
def test_the_strict_path_refuses_what_add_program_would_take(tmp_path: Path) -> None:
    # A call to a syscall the runtime does not have, linked by overriding the linker's
    # list: solders 0.26's add_program loads it, the deployment refuses it. This shows
    # that the check above has teeth.
    o = ObjectBuilder()
    text = o.section(".text", call() + mov64_imm(0, 0) + EXIT)
    o.symbol("entrypoint", text, 0)
    o.reloc(text, 0, 10, o.symbol("sol_no_such_syscall_", -1))
    so = tmp_path / "broken.so"
    so.write_bytes(link([o.build()], syscalls=SYSCALLS | {"sol_no_such_syscall_"}).elf)
    LiteSVM().add_program(Pubkey.new_unique(), so.read_bytes())  # lenient: accepted
    python = solders029_python()
    run = subprocess.run(
        [python, ROOT / "tests" / "anchor" / "deploy_check.py", so, artifacts.PROGRAM_KEYPAIR],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 1
    error = json.loads(run.stdout)["error"]
    assert "Unresolved symbol (sol_no_such_syscall_)" in error, error
