"""`gridmirror bench gateway` runs both servers and prints its figures (the figures
themselves are not asserted: speed targets are met in benchmarks, never in timed tests)."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from gridmirror.cli import cli

pytestmark = pytest.mark.slow


def test_bench_gateway_prints_both_servers_and_the_ratios() -> None:
    result = CliRunner().invoke(
        cli,
        [
            "bench",
            "gateway",
            "--seconds",
            "0.5",
            "--rounds",
            "1",
            "--connections",
            "2",
            "--rate",
            "20",
            "--open-connections",
            "3",
        ],
    )
    assert result.exit_code == 0, result.output
    out = result.output
    for kind, meters in (("closed", 2), ("open", 3)):
        for mode in ("bare", "gateway"):
            line = re.search(
                rf"{kind}\s+{mode}\s+{meters} conn\s+(\d+) req/s .* RSS\s+(\d+) MiB\s+errors (\d+)",
                out,
            )
            assert line is not None, out
            assert int(line.group(1)) > 0 and int(line.group(2)) > 0, out
            assert line.group(3) == "0", out
    assert re.search(r"throughput ratio gateway/bare: median \d\.\d\d", out)
    assert re.search(r"server CPU per request: bare \d+ µs, gateway \d+ µs", out)
