from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from gridmirror.cli import cli


def test_bench_physics_prints_its_figures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["bench", "physics", "--meters", "30", "--rounds", "3", "--replay-meters", "5",
            "--replay-days", "1"]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    expected = [
        ("live, staggered 15 s", 90),
        ("live, in step 15 s", 90),
        ("replay 1 d, 15-minute steps", 5 * 96),
        ("replay 1 d, one step", 5),
    ]
    for name, steps in expected:
        row = next(line for line in lines if line.startswith(name))
        figures = row[len(name) :].split()
        assert int(figures[0].replace(",", "")) == steps
        assert float(figures[1].replace(",", "")) > 0  # steps per CPU second
    assert re.search(
        r"fleet load 10,000 meters at 15 s = 667 meter-steps/s: [\d.]+% of one core", result.output
    )


def test_bench_physics_bad_campus_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GRIDMIRROR_METERS__CAMPUS_FILE", str(tmp_path / "missing.toml"))
    result = CliRunner().invoke(cli, ["bench", "physics", "--meters", "2"])
    assert result.exit_code == 1
    assert "cannot read campus file" in result.output
    assert "Traceback" not in result.output
