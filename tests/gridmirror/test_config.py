from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from gridmirror.cli import cli
from gridmirror.config import ConfigError, load_settings


def test_defaults_place_state_under_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    s = load_settings(data_dir=tmp_path / "d")
    assert s.pki.dir == tmp_path / "d" / "pki"
    assert s.gateway.database_url == f"sqlite:///{tmp_path}/d/gridmirror.db"
    assert s.chain.state_dir == tmp_path / "d" / "chain"


def test_toml_then_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "g.toml"
    cfg.write_text("[gateway]\nport = 9000\npost_rate = 60\n")
    monkeypatch.setenv("GRIDMIRROR_GATEWAY__PORT", "9443")
    s = load_settings(cfg)
    assert s.gateway.port == 9443  # the environment wins over the file
    assert s.gateway.post_rate == 60


def test_bad_values_give_one_line(tmp_path: Path) -> None:
    cfg = tmp_path / "g.toml"
    cfg.write_text('[gateway]\nport = "many"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    assert "\n" not in str(info.value)
    assert "gateway" in str(info.value)


def test_unknown_keys_are_refused(tmp_path: Path) -> None:
    cfg = tmp_path / "g.toml"
    cfg.write_text("[gatway]\nport = 1\n")
    with pytest.raises(ConfigError):
        load_settings(cfg)


def test_cli_reports_a_missing_config_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "nope.toml"), "config"])
    assert result.exit_code != 0
    assert "does not exist" in result.output
    assert "Traceback" not in result.output


def test_poll_rates_per_list_from_toml_and_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "g.toml"
    cfg.write_text("[gateway]\npoll_rate = 600\n[gateway.poll_rates]\ndcap = 300\nmup = 60\n")
    monkeypatch.setenv("GRIDMIRROR_GATEWAY__POLL_RATES__MUP", "120")
    s = load_settings(cfg)
    assert (s.gateway.poll_rate_of("dcap"), s.gateway.poll_rate_of("mup")) == (300, 120)
    assert s.gateway.poll_rate_of("upt") == 600


@pytest.mark.parametrize("spelling", ["off", "OFF"])
def test_the_meters_registration_pin_turns_off_in_toml_and_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spelling: str
) -> None:
    cfg = tmp_path / "g.toml"
    cfg.write_text(
        f'[meters]\nregistration_pin = "{spelling}"\n\n[meters.registration_pins]\nGM-A = 5\n'
    )
    assert load_settings(cfg).meters.registration_pin is None
    assert load_settings(cfg).meters.registration_pins == {"GM-A": 5}
    monkeypatch.setenv("GRIDMIRROR_METERS__REGISTRATION_PIN", spelling)
    assert load_settings().meters.registration_pin is None
    monkeypatch.setenv("GRIDMIRROR_METERS__REGISTRATION_PIN", "123455")
    assert load_settings().meters.registration_pin == 123455
    monkeypatch.setenv("GRIDMIRROR_METERS__REGISTRATION_PIN", "null")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert "registration_pin" in str(info.value)


def test_the_meters_role_flags_follow_the_profile_unless_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert load_settings().meters.role_flags() == (0x13, 0x09)
    assert not load_settings().meters.mirrors_der()
    cfg = tmp_path / "g.toml"
    cfg.write_text('[meters]\nprofile = "csip-aus"\n')
    csip = load_settings(cfg).meters
    assert csip.role_flags() == (0x03, 0x49) and csip.mirrors_der()
    cfg.write_text('[meters]\nprofile = "csip-aus"\nsite_role_flags = 0x13\nder_mirror = false\n')
    own = load_settings(cfg).meters
    assert own.role_flags() == (0x13, 0x49) and not own.mirrors_der()
    monkeypatch.setenv("GRIDMIRROR_METERS__DER_ROLE_FLAGS", "0x09")
    assert load_settings(cfg).meters.role_flags() == (0x13, 0x09)
    monkeypatch.setenv("GRIDMIRROR_METERS__DER_ROLE_FLAGS", "0x80")  # bit 7 is reserved
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    assert "der_role_flags" in str(info.value) and "\n" not in str(info.value)
