"""`gridmirror bench chain` runs and prints both ways side by side (no speed is asserted)."""

from __future__ import annotations

import re

from click.testing import CliRunner

from gridmirror.cli import cli


def test_bench_chain_prints_batch_and_single_figures() -> None:
    result = CliRunner().invoke(cli, ["bench", "chain", "--batches", "2", "--singles", "2"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "batch (v0 + ALT)" in out and "single (1 per tx)" in out
    per_tx = re.search(r"readings per transaction\s+(\d+)\s+1\n", out)
    assert per_tx is not None
    # how many readings fit is a matter of bytes, not speed: 25 per reading, 1 per meter
    assert int(per_tx.group(1)) >= 24
    assert re.search(r"compute units per reading\s+[\d,]+\s+[\d,]+", out)
    assert "clear_epoch: 16 meters in one tx" in out
