"""The one place gridmirror's configuration comes from.

A typed :class:`Settings` is read from, in rising priority: the defaults below, a TOML
file (``gridmirror.toml`` in the working directory, or the file named by
``GRIDMIRROR_CONFIG`` or ``--config``), and ``GRIDMIRROR_*`` environment variables, where a
double underscore walks into a section (``GRIDMIRROR_GATEWAY__PORT=9443``).

Each layer owns the model of its own section (``gateway.settings.GatewaySettings`` and so
on) so that no layer has to import this shell; this module only composes them and
derives the paths that default to places under ``data_dir``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from certs.settings import PkiSettings
from devices.settings import FleetSettings
from gateway.settings import GatewaySettings
from oracle.settings import ChainSettings
from sep2.settings import Sep2Settings

DEFAULT_CONFIG_FILE = Path("gridmirror.toml")


class Settings(BaseSettings):
    """Everything gridmirror can be told, with defaults that just work."""

    model_config = SettingsConfigDict(
        env_prefix="GRIDMIRROR_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    # Set by load_settings before construction; pydantic-settings reads it from here.
    _toml_file: ClassVar[Path | None] = None

    data_dir: Path = Field(
        default=Path(".gridmirror"),
        description="Where the PKI, the database and the embedded chain live.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = "warning"
    log_format: Literal["text", "json"] = "text"

    sep2: Sep2Settings = Field(default_factory=Sep2Settings)
    pki: PkiSettings = Field(default_factory=PkiSettings)
    gateway: GatewaySettings = Field(default_factory=GatewaySettings)
    meters: FleetSettings = Field(default_factory=FleetSettings)
    chain: ChainSettings = Field(default_factory=ChainSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if cls._toml_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=cls._toml_file))
        return tuple(sources)

    @model_validator(mode="after")
    def _place_under_data_dir(self) -> Settings:
        """Paths left unset default to places under data_dir."""
        d = self.data_dir
        if self.pki.dir is None:
            self.pki.dir = d / "pki"
        if self.gateway.database_url is None:
            self.gateway.database_url = f"sqlite:///{(d / 'gridmirror.db').as_posix()}"
        if self.gateway.api_jwt_secret_file is None:
            self.gateway.api_jwt_secret_file = d / "api-jwt.key"
        if self.chain.state_dir is None:
            self.chain.state_dir = d / "chain"
        return self


class ConfigError(Exception):
    """The configuration cannot be read; the message is one line for the CLI."""


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Read the settings from the TOML file (if any), the environment and overrides.

    ``config_file`` wins over ``GRIDMIRROR_CONFIG``, which wins over ``./gridmirror.toml``;
    a file that is named explicitly must exist.
    """
    named = config_file or (Path(p) if (p := os.environ.get("GRIDMIRROR_CONFIG")) else None)
    if named is not None and not named.is_file():
        raise ConfigError(f"config file {named} does not exist")
    toml_file = named or (DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None)
    Settings._toml_file = toml_file
    try:
        return Settings(**overrides)
    except ValueError as exc:  # pydantic's ValidationError and TOML decode errors
        where = f" in {toml_file}" if toml_file else ""
        first = str(exc).splitlines()
        detail = "; ".join(line.strip() for line in first[1:3]) if len(first) > 1 else first[0]
        raise ConfigError(f"invalid configuration{where}: {detail}") from exc
    finally:
        Settings._toml_file = None
