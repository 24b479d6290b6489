"""Settings of the emulated meter fleet."""

from __future__ import annotations

from pydantic import BaseModel, Field


class FleetSettings(BaseModel):
    """The ``[meters]`` section."""

    server_url: str | None = Field(
        default=None, description="Gateway base URL; found by DNS-SD when unset."
    )
    count: int | None = Field(
        default=None, ge=1, description="Synthetic fleet size; the 25 campus meters if unset."
    )
    seed: int = Field(default=2030, description="Seed that makes a run reproducible.")
