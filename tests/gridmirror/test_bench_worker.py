"""``gridmirror bench worker`` runs both measurements and prints their figures."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from gridmirror.bench.worker import Steady
from gridmirror.cli import cli


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_bench_worker_prints_rates_and_lags() -> None:
    result = CliRunner().invoke(
        cli,
        ["bench", "worker", "--meters", "20", "--backlog", "200", "--rate", "10", "--seconds", "2"],
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "registration: 20 meters" in out
    drained = re.search(r"backlog: 200 readings drained in [\d.]+ s = ([\d,]+) readings/s", out)
    assert drained and int(drained[1].replace(",", "")) > 0
    lag = re.search(r"p50 ([\d.]+) s  p95 ([\d.]+) s", out)
    assert lag and 0 < float(lag[1]) <= float(lag[2])


def test_percentiles() -> None:
    s = Steady(rate=1, seconds=1, lags=[float(i) for i in range(1, 101)], transactions=1)
    assert (s.percentile(50), s.percentile(95), s.percentile(100)) == (51.0, 96.0, 100.0)


def test_bench_worker_refuses_a_rate_faster_than_a_meter_can_post() -> None:
    result = CliRunner().invoke(cli, ["bench", "worker", "--meters", "5", "--rate", "10"])
    assert result.exit_code != 0 and "--rate" in result.output
