from __future__ import annotations

from click.testing import CliRunner

from gridmirror.bench.chainrt import MODES, run
from gridmirror.cli import cli


def test_bench_chainrt_prints_every_mode_side_by_side() -> None:
    result = CliRunner().invoke(cli, ["bench", "chainrt", "-n", "20", "--batch", "4"])
    assert result.exit_code == 0, result.output
    rows = [
        line.split()
        for line in result.output.splitlines()
        if line.startswith(("transfer", "batch4"))
    ]
    assert [(r[0], r[1]) for r in rows] == [(w, m) for w in ("transfer", "batch4") for m in MODES]
    for r in rows:
        assert float(r[2]) > 0 and float(r[3]) > 0
    assert [r[4] for r in rows if r[1] == "litesvm"] == ["1.00", "1.00"]


def test_bench_figures_count_what_was_run() -> None:
    figures = run(10, 3, echo=lambda _: None)
    assert len(figures) == 8
    assert all(f.transactions == 10 and f.micros > 0 for f in figures)


def test_bench_refuses_silly_sizes() -> None:
    result = CliRunner().invoke(cli, ["bench", "chainrt", "--batch", "0"])
    assert result.exit_code != 0 and "--batch" in result.output
