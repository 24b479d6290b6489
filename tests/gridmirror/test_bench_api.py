"""`gridmirror bench api` drives a real gateway's REST API and checks what was stored (the
figures themselves are not asserted: speed is for benchmarks, never for timed tests)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from gridmirror.bench import api as api_bench
from gridmirror.cli import cli
from tests.conftest import PG_URL, _postgres_reachable, require


@pytest.mark.slow
@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_a_tiny_run_prints_positive_figures_and_stores_every_accepted_reading(
    tmp_path: Path, db: str
) -> None:
    if db == "postgresql":
        require(_postgres_reachable(), f"PostgreSQL at {PG_URL}")
    args = ["bench", "api", "--clients", "2", "--seconds", "2", "--batch", "20", "--rounds", "1"]
    database = "sqlite" if db == "sqlite" else PG_URL
    result = CliRunner().invoke(cli, [*args, "--db", database, "--scratch", str(tmp_path)])
    assert result.exit_code == 0, result.output
    out = result.output
    singles = re.search(
        r"round 1 singles\s+(\d+) readings/s\s+p50\s+([\d.]+) ms\s+p95\s+([\d.]+) ms\s+"
        r"p99\s+([\d.]+) ms\s+server CPU\s+(\d+) µs/reading\s+refused (\d+)",
        out,
    )
    assert singles is not None, out
    assert all(float(v) > 0 for v in singles.groups()[:5]), out
    assert singles.group(6) == "0", out
    batches = re.search(
        r"round 1 batches\s+(\d+) readings/s\s+\((\d+) x 20 in [\d.]+ s, p50 \d+ ms\)\s+"
        r"server CPU\s+(\d+) µs/reading\s+refused (\d+)",
        out,
    )
    assert batches is not None, out
    assert all(int(v) > 0 for v in batches.groups()[:3]), out
    assert batches.group(4) == "0", out
    stored = re.search(
        r"round 1 stored: (\d+) accepted, (\d+) signed rows, (\d+) outbox pairs: match", out
    )
    assert stored is not None, out
    accepted, signed, pairs = (int(v) for v in stored.groups())
    # at least the batches' readings, and every one of them stored with its pair
    assert accepted >= 20 * int(batches.group(2)) > 0
    assert accepted == signed == pairs
    assert "load average" in out
    assert not any(tmp_path.iterdir())  # the scratch directory is cleaned up


def _round(refused: int, signed: int) -> api_bench.Round:
    phase = api_bench.Phase("singles", 10, 10, refused, 1.0, 1.0, 2.0, 3.0, 0.01)
    return api_bench.Round(phase, phase, 100, refused, None, signed, signed)


@pytest.mark.parametrize(
    ("refused", "signed", "message"),
    [(3, 100, "3 reading(s) refused"), (0, 99, "does not hold every accepted reading")],
)
def test_a_refusal_or_a_missing_row_fails_the_bench(
    monkeypatch: pytest.MonkeyPatch, refused: int, signed: int, message: str
) -> None:
    # Only the verdict is under test here: the run itself is replaced.
    def fake_run(**options: object) -> list[api_bench.Round]:
        echo = options["echo"]
        assert callable(echo)
        echo("figures")
        return [_round(refused, signed)]

    monkeypatch.setattr(api_bench, "run", fake_run)
    result = CliRunner().invoke(cli, ["bench", "api", "--rounds", "1"])
    assert result.exit_code == 1
    assert "figures" in result.output
    assert message in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--db", "mysql://x"], "--db must be sqlite or a postgresql"),
        (["--batch", "5000"], "--batch must be at most 1000"),
    ],
)
def test_bad_options_are_one_line_errors(args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["bench", "api", *args])
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_meter_readings_are_signed_and_15_s_apart() -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from gateway.api.intake import verify
    from gateway.api.schemas import ReadingIn
    from gateway.api.signatures import public_key_text
    from gateway.models import AuthorityKeyRow

    key = Ed25519PrivateKey.generate()
    row = AuthorityKeyRow(
        id=1, name="k", public_key=public_key_text(key.public_key()), created_at=0.0
    )
    (lfdi,) = api_bench.meter_lfdis(1)
    meter = api_bench.Meter(lfdi, key, 1_000)
    # through JSON, as the gateway reads them
    readings = [ReadingIn.model_validate_json(json.dumps(meter.reading())) for _ in range(3)]
    checked = [verify(r, [row]) for r in readings]  # a Refusal if a signature is wrong
    assert [c.fields.timestamp for c in checked] == [1_000, 1_015, 1_030]
    assert len({c.fields.energy_generated_kwh for c in checked}) == 3
