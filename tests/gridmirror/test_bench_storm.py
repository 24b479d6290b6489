"""`gridmirror bench storm` runs and prints the gateway's RSS (figures not asserted)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from gridmirror.cli import cli


def test_bench_storm_holds_its_connections_and_prints_rss(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["bench", "storm", "--count", "20"])
    assert result.exit_code == 0, result.output
    assert "20 idle TLS connections held (0 refused)" in result.output
    for when in ("before", "during", "after"):
        assert re.search(rf"gateway RSS {when} +\d+\.\d MiB", result.output), result.output
