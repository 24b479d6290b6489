"""``gridmirror bench meters`` prints its figures (a short run: 3 meters, one window)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from gridmirror.cli import cli


@pytest.mark.slow
def test_bench_meters_prints_its_figures(tmp_path: Path) -> None:
    args = ["bench", "meters", "--meters", "3", "--window", "15", "--scratch", str(tmp_path)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "all 3 meters set up and posting" in out
    posts = int(re.search(r"window: [\d.]+ s, ([\d,]+) posts", out).group(1))  # type: ignore[union-attr]
    assert 2 <= posts <= 6  # 3 meters, 15 s, one post each per 15 s
    per_core = re.search(r"=> ([\d,]+) meters per core", out)
    assert per_core and int(per_core.group(1).replace(",", "")) > 0
    assert re.search(r"memory: [\d.]+ KiB RSS per meter", out)
    assert "0 errors" in out
