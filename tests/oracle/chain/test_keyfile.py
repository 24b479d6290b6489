from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from solders.keypair import Keypair

from oracle.chain.keyfile import KeyfileError, load_keypair, load_or_create_keypair, save_keypair


def test_round_trip_in_the_solana_cli_format(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "gateway.json"
    kp = Keypair()
    save_keypair(path, kp)
    values = json.loads(path.read_text())
    assert values == list(bytes(kp))  # 64 numbers: secret key then public key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_keypair(path).pubkey() == kp.pubkey()
    assert not list(path.parent.glob(".*tmp"))  # no temporary file left behind


def test_reads_a_key_written_by_solana_keygen(tmp_path: Path) -> None:
    # solana-keygen writes the same bytes as one JSON line without spaces.
    kp = Keypair.from_seed(bytes(range(32)))
    path = tmp_path / "id.json"
    path.write_text("[" + ",".join(str(b) for b in bytes(kp)) + "]")
    assert load_keypair(path) == kp


def test_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    save_keypair(path, Keypair())
    before = path.read_bytes()
    with pytest.raises(KeyfileError, match="already exists"):
        save_keypair(path, Keypair())
    assert path.read_bytes() == before


def test_load_or_create_creates_once(tmp_path: Path) -> None:
    path = tmp_path / "wallet.json"
    first = load_or_create_keypair(path)
    assert load_or_create_keypair(path) == first


@pytest.mark.parametrize(
    "body, message",
    [
        ("not json", "not JSON"),
        ("[1, 2, 3]", "64 bytes"),
        (json.dumps([300] * 64), "64 bytes"),
        (json.dumps([7] * 64), "inconsistent"),  # public half does not match the secret
    ],
)
def test_bad_files_are_refused_in_one_line(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(body)
    with pytest.raises(KeyfileError, match=message) as info:
        load_keypair(path)
    assert "\n" not in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(KeyfileError, match="cannot read"):
        load_keypair(tmp_path / "nope.json")


def test_world_readable_key_is_reported(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "open.json"
    save_keypair(path, Keypair())
    path.chmod(0o644)
    load_keypair(path)
    assert "readable by others" in caplog.text
