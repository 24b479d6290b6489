"""``gridmirror auth``: tokens the API accepts, keys, signing, registration; one-line errors."""

from __future__ import annotations

import json
from pathlib import Path
from stat import S_IMODE

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, text

from gateway.api import authority_of
from gateway.api.intake import signed_fields
from gateway.api.schemas import ReadingIn
from gateway.api.signatures import decode_base64, public_key_from_text, verifies
from gateway.api.tokens import Role
from gateway.settings import GatewaySettings
from gridmirror.cli import cli

LFDI = "3E4F45AB31EDFE5B67E343E5E4562E3100000000"


def run(data: Path, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["--data-dir", str(data), "auth", *args], input=stdin)


def test_token_is_accepted_by_the_gateway_settings(tmp_path: Path) -> None:
    result = run(tmp_path, "token", "--role", "operator", "--subject", "sim", "--ttl", "60")
    assert result.exit_code == 0, result.output
    key_file = tmp_path / "api-jwt.key"
    assert S_IMODE(key_file.stat().st_mode) == 0o600
    authority = authority_of(GatewaySettings(api_jwt_secret_file=key_file))
    claims = authority.verify(result.output.strip())
    assert (claims.role, claims.subject) == (Role.OPERATOR, "sim")
    again = run(tmp_path, "token", "--role", "meter", "--subject", LFDI.lower())
    assert authority.verify(again.output.strip()).subject == LFDI


def test_keygen_sign_and_add_key(tmp_path: Path) -> None:
    key = tmp_path / "ea.pem"
    made = run(tmp_path, "keygen", "--out", str(key))
    assert made.exit_code == 0, made.output
    assert S_IMODE(key.stat().st_mode) == 0o600
    public = made.output.strip()
    reading = {
        "meter_id": LFDI,
        "timestamp": "2026-01-01T00:15:00Z",
        "energy_generated": 1.25,
        "energy_consumed": 0.4,
        "solar_irradiance": None,
        "temperature": 31.5,
        "engineering_authority_signature": "simulated-signature",
        "metadata": {"location": "Building A"},
    }
    signed = run(tmp_path, "sign-reading", "--key", str(key), stdin=json.dumps(reading))
    assert signed.exit_code == 0, signed.output
    body = json.loads(signed.output)
    item = ReadingIn.model_validate(body)
    signature = decode_base64(body["engineering_authority_signature"], 64, "signature")
    assert verifies(public_key_from_text(public), signed_fields(item), signature)
    batch = run(
        tmp_path, "sign-reading", "--key", str(key), stdin=json.dumps({"readings": [reading] * 2})
    )
    assert len(json.loads(batch.output)["readings"]) == 2
    added = run(tmp_path, "add-key", "--name", "ea-1", "--key", str(key))
    assert added.exit_code == 0, added.output
    engine = create_engine(f"sqlite:///{tmp_path / 'gridmirror.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name, public_key FROM authority_key")).all() == [
            ("ea-1", public)
        ]
    engine.dispose()
    twice = run(tmp_path, "add-key", "--name", "ea-2", "--public-key", public)
    assert twice.exit_code == 1
    assert twice.output.strip() == "Error: this public key is registered already"


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["token", "--role", "meter", "--subject", "METER_001"], None, "subject is its LFDI"),
        (["add-key", "--name", "x", "--public-key", "AAAA"], None, "holds 3 bytes"),
        (["add-key", "--name", "x"], None, "exactly one of"),
        (["sign-reading", "--key", "{missing}"], "{}", "cannot read"),
        (["sign-reading", "--key", "{key}"], "not json", "not JSON"),
        (["sign-reading", "--key", "{key}"], '{"meter_id": "x"}', "meter_id"),
        (["keygen", "--out", "{key}"], None, "exists"),
    ],
)
def test_one_line_errors(tmp_path: Path, args: list[str], stdin: str | None, message: str) -> None:
    key = tmp_path / "ea.pem"
    assert run(tmp_path, "keygen", "--out", str(key)).exit_code == 0
    args = [a.format(key=key, missing=tmp_path / "none.pem") for a in args]
    result = run(tmp_path, *args, stdin=stdin)
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert message in lines[0], result.output
    assert "Traceback" not in result.output
