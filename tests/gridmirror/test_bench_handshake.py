"""`gridmirror bench handshake` runs and prints its figures (not asserted: speed is shown
in benchmarks, never in timed tests)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from gridmirror.bench.handshake import run
from gridmirror.cli import cli


def test_bench_handshake_prints_the_handshake_beside_the_verdicts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["bench", "handshake", "--count", "3"])
    assert result.exit_code == 0, result.output
    assert "TLS 1.2 ECDHE-ECDSA-AES128-CCM8" in result.output
    for line in ("full handshake", "new certificate", "known certificate"):
        assert re.search(rf"{line}.*\d+(\.\d)? µs", result.output), result.output


def test_every_meter_of_the_run_gets_a_verdict() -> None:
    figures = run(2)
    assert (
        figures.handshake_us > 0 and figures.first_verdict_us > 0 and figures.cached_verdict_us > 0
    )
