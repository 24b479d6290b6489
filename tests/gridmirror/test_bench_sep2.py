"""`gridmirror bench sep2` runs and prints its figures (the figures themselves are not
asserted: speed targets are met in benchmarks, never in timed tests)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from gridmirror.cli import cli
from schemas import official_xsd_bytes


def test_bench_sep2_prints_the_pipeline_and_its_stages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["bench", "sep2", "--seconds", "0.1"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert re.search(
        r"full pipeline: [\d,]+ docs/s per core \([\d,]+ docs/s wall\); target 5,000", out
    )
    for stage in (
        "lxml parse alone",
        "XSD validate alone",
        "extract_readings alone",
        "codec.serialise",
    ):
        assert stage in out


def test_bench_sep2_without_the_xsd_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GRIDMIRROR_XSD", str(tmp_path / "missing.xsd"))
    official_xsd_bytes.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["bench", "sep2", "--seconds", "0.1"])
    finally:
        monkeypatch.delenv("GRIDMIRROR_XSD")
        official_xsd_bytes.cache_clear()
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.output.startswith("Error: cannot read")
    assert result.output.count("\n") == 1
