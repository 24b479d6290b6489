from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from gridmirror.cli import cli


def run(tmp_path: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--data-dir", str(tmp_path / "data"), *args])


def one_line_error(result: Result) -> str:
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


def test_init_defaults_to_the_campus_meters_and_is_idempotent(tmp_path: Path) -> None:
    from devices.campus import load_campus

    first = run(tmp_path, "certs", "init")
    assert first.exit_code == 0, first.output
    pki = tmp_path / "data" / "pki"
    index = json.loads((pki / "devices" / "index.json").read_text())
    campus = sorted(meter.serial for meter in load_campus().meters)
    assert len(campus) == 25 and "GM-ENG-01" in campus
    assert [d["serial"] for d in index["devices"]] == campus
    assert stat.S_IMODE((pki / "private" / "mica.key").stat().st_mode) == 0o600
    stamps = {p: p.stat().st_mtime_ns for p in pki.rglob("*") if p.is_file()}
    again = run(tmp_path, "certs", "init")
    assert again.exit_code == 0 and "unchanged" in again.output
    assert {p: p.stat().st_mtime_ns for p in pki.rglob("*") if p.is_file()} == stamps


def test_init_with_named_serials_and_hosts(tmp_path: Path) -> None:
    serials = tmp_path / "serials.txt"
    serials.write_text("# campus\nGM-ENG-01\nGM-LIB-02  # library\n\n")
    result = run(
        tmp_path,
        "certs",
        "init",
        "--dir",
        str(tmp_path / "p"),
        "--serials-file",
        str(serials),
        "--serial",
        "GM-GYM-03",
        "--host",
        "gateway.local",
    )
    assert result.exit_code == 0, result.output
    index = json.loads((tmp_path / "p" / "devices" / "index.json").read_text())
    assert [d["serial"] for d in index["devices"]] == ["GM-ENG-01", "GM-GYM-03", "GM-LIB-02"]
    assert "gateway.local" in result.output


def test_init_errors_are_one_line(tmp_path: Path) -> None:
    line = one_line_error(run(tmp_path, "certs", "init", "--serial", "../x"))
    assert "bad meter serial" in line
    line = one_line_error(run(tmp_path, "certs", "init", "--devices", "2", "--serial", "A"))
    assert "either --devices or serial names" in line
    blocker = tmp_path / "file"
    blocker.write_text("")
    line = one_line_error(run(tmp_path, "certs", "init", "--dir", str(blocker / "pki")))
    assert "cannot write the PKI" in line


def test_init_refuses_a_pki_that_lost_its_cas(tmp_path: Path) -> None:
    assert run(tmp_path, "certs", "init", "--devices", "1").exit_code == 0
    (tmp_path / "data" / "pki" / "mica.pem").unlink()
    assert "incomplete" in one_line_error(run(tmp_path, "certs", "init", "--devices", "1"))


@pytest.fixture
def made(tmp_path: Path) -> Path:
    result = run(tmp_path, "certs", "init", "--devices", "2")
    assert result.exit_code == 0, result.output
    return tmp_path / "data" / "pki"


def test_show_a_device(tmp_path: Path, made: Path) -> None:
    index = json.loads((made / "devices" / "index.json").read_text())["devices"][1]
    result = run(tmp_path, "certs", "show", str(made / index["cert"]))
    assert result.exit_code == 0, result.output
    assert f"LFDI       {index['lfdi']}" in result.output
    assert f"SFDI       {index['sfdi']}" in result.output
    assert "hwSerial   GM-SYN-00002" in result.output
    assert "profile    ok" in result.output
    assert "chain      ok" in result.output


def test_show_the_server_chain_and_a_ca(tmp_path: Path, made: Path) -> None:
    for name in ("server/chain.pem", "mica.pem", "serca.pem"):
        result = run(tmp_path, "certs", "show", str(made / name))
        assert result.exit_code == 0, result.output
        assert "profile    ok" in result.output and "chain      ok" in result.output


def test_show_a_foreign_certificate_fails_the_chain(tmp_path: Path, made: Path) -> None:
    other = tmp_path / "other"
    assert run(tmp_path, "certs", "init", "--dir", str(other), "--devices", "1").exit_code == 0
    result = run(tmp_path, "certs", "show", str(other / "devices/GM-SYN-00001/chain.pem"))
    assert result.exit_code == 1
    assert "profile    ok" in result.output
    assert "chain      FAILED" in result.output
    with_serca = run(
        tmp_path,
        "certs",
        "show",
        str(other / "devices/GM-SYN-00001/chain.pem"),
        "--serca",
        str(other / "serca.pem"),
    )
    assert with_serca.exit_code == 0, with_serca.output


def test_show_errors_are_one_line(tmp_path: Path, made: Path) -> None:
    assert "holds no certificate" in one_line_error(
        run(tmp_path, "certs", "show", str(made / "devices/GM-SYN-00001/key.pem"))
    )
    assert "cannot read" in one_line_error(run(tmp_path, "certs", "show", str(tmp_path / "no")))
    junk = tmp_path / "junk.der"
    junk.write_bytes(b"\x30\x03\x02\x01\x01")
    assert "not a PEM or DER certificate" in one_line_error(
        run(tmp_path, "certs", "show", str(junk))
    )


def test_show_without_a_pki_still_reports(tmp_path: Path) -> None:
    other = tmp_path / "other"
    assert run(tmp_path, "certs", "init", "--dir", str(other), "--devices", "1").exit_code == 0
    result = run(tmp_path, "certs", "show", str(other / "server/cert.pem"))
    assert result.exit_code == 0, result.output
    assert "chain      not checked" in result.output


def test_bench_certs_prints_rates(tmp_path: Path) -> None:
    result = run(
        tmp_path, "bench", "certs", "--count", "20", "--workers", "1", "--scratch", str(tmp_path)
    )
    assert result.exit_code == 0, result.output
    assert "workers=1:" in result.output and "certs/s" in result.output
    assert list(tmp_path.iterdir()) == []  # the scratch PKIs are gone


def test_show_checks_validity_at_a_given_time(tmp_path: Path, made: Path) -> None:
    cert = str(made / "devices/GM-SYN-00001/cert.pem")
    result = run(tmp_path, "certs", "show", cert, "--at", "2001-01-01")
    assert result.exit_code == 1
    assert "is not valid until" in result.output
    assert run(tmp_path, "certs", "show", cert, "--at", "2999-01-01T00:00:00").exit_code == 0


def test_init_follows_a_synthetic_fleet_and_devices_n(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRIDMIRROR_METERS__COUNT", "3")
    assert run(tmp_path, "certs", "init", "--dir", str(tmp_path / "a")).exit_code == 0
    index = json.loads((tmp_path / "a/devices/index.json").read_text())
    assert [d["serial"] for d in index["devices"]] == [
        "GM-SYN-00001",
        "GM-SYN-00002",
        "GM-SYN-00003",
    ]
    assert (
        run(tmp_path, "certs", "init", "--dir", str(tmp_path / "b"), "--devices", "2").exit_code
        == 0
    )
    index = json.loads((tmp_path / "b/devices/index.json").read_text())
    assert [d["serial"] for d in index["devices"]] == ["GM-SYN-00001", "GM-SYN-00002"]


def test_init_reports_a_bad_campus_file_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "campus.toml"
    bad.write_text("not = [valid")
    monkeypatch.setenv("GRIDMIRROR_METERS__CAMPUS_FILE", str(bad))
    assert "campus" in one_line_error(run(tmp_path, "certs", "init")).lower()


def test_init_p12_bundles_each_device_once(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.serialization import pkcs12

    from certs import pemfile
    from certs.pki import Pki

    plain = run(tmp_path, "certs", "init", "--devices", "2")
    assert plain.exit_code == 0 and "  bundles  " not in plain.output
    pki = Pki.open(tmp_path / "data" / "pki")
    assert not any((d.key.parent / "device.p12").exists() for d in pki.devices.values())
    first = run(tmp_path, "certs", "init", "--devices", "3", "--p12")  # one more device
    assert first.exit_code == 0, first.output
    assert "bundles  3 written" in first.output
    pki = Pki.open(tmp_path / "data" / "pki")
    for device in pki.devices.values():
        path = device.key.parent / "device.p12"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it holds the key
        key, cert, extra = pkcs12.load_key_and_certificates(path.read_bytes(), None)
        chain = pemfile.load_certificates(device.chain)
        assert (
            key is not None
            and key.public_key() == pemfile.load_private_key(device.key).public_key()
        )
        assert cert == chain[0] and extra == chain[1:] and len(extra) == 2  # MICA, MCA
    again = run(tmp_path, "certs", "init", "--devices", "3", "--p12")
    assert again.exit_code == 0 and "bundles  0 written" in again.output
