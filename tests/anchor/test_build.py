"""The build: deterministic, byte-identical to the committed oracle.so with the same clang.

With a clang of another major version (Debian 13's), the fresh build differs; then every
program test also runs against it (tests/anchor/conftest.py).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from anchor import artifacts
from anchor.build import build, clang_major, clang_version, find_clang, main
from tests.anchor.conftest import programs_under_test
from tests.conftest import require

ROOT = Path(__file__).resolve().parents[2]


def the_clang() -> str:
    clang = find_clang()
    require(clang is not None, "Debian's clang (apt-get install clang llvm)")
    assert clang is not None
    return clang


@pytest.mark.clang
def test_a_rebuild_matches_the_committed_program() -> None:
    clang = the_clang()
    result = build(clang)
    assert result.idl == artifacts.IDL_PATH.read_text()
    assert result.legacy_idl == artifacts.LEGACY_IDL_PATH.read_text()
    committed = artifacts.program_bytes()
    if clang_major(clang_version(clang)) == clang_major(artifacts.CLANG_VERSION.read_text()):
        assert result.program == committed, "rebuild differs: run python -m anchor.build"
    else:
        names = [name for name, _ in programs_under_test()]
        assert names == ["committed", f"clang-{result.clang_major}"]


@pytest.mark.clang
def test_the_build_is_deterministic_and_holds_no_paths() -> None:
    clang = the_clang()
    first, second = build(clang).program, build(clang).program
    assert first == second
    for leak in (str(artifacts.SOURCE_DIR), str(ROOT), "readings.c", "/tmp", "clang version"):
        assert leak.encode() not in first


@pytest.mark.clang
def test_build_check_command(tmp_path: Path) -> None:
    the_clang()
    check = subprocess.run(
        [sys.executable, "-m", "anchor.build", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr
    assert "up to date" in check.stdout
    assert main(["--out-dir", str(tmp_path)]) == 0
    assert (tmp_path / "oracle.so").read_bytes() == build().program
    assert (tmp_path / "oracle.json").read_text() == artifacts.IDL_PATH.read_text()
    assert (tmp_path / "oracle.legacy.json").read_text() == artifacts.LEGACY_IDL_PATH.read_text()


def test_a_missing_compiler_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--clang", "/nonexistent/clang", "--check"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("anchor.build: no clang found") and err.count("\n") == 1
