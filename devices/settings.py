"""Settings of the emulated meter fleet."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field


class FleetSettings(BaseModel):
    """The ``[meters]`` section."""

    server_url: str | None = Field(
        default=None, description="Gateway base URL; found by DNS-SD when unset."
    )
    count: int | None = Field(
        default=None,
        ge=1,
        le=99_999,
        description="Synthetic fleet size (GM-SYN-00001, …) on the campus site; the "
        "campus file's meters if unset.",
    )
    seed: int = Field(
        default=2030,
        description="Seed of the weather, the load noise and synthetic meters: the same "
        "seed and the same time steps give identical registers.",
    )
    campus_file: Path | None = Field(
        default=None,
        description="Campus TOML (site, climate, meters); the shipped Bangkok campus "
        "(devices/campus.toml) if unset.",
    )
