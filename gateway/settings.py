"""Settings of the gateway: the 2030.5 server, its storage and its REST API."""

from __future__ import annotations

from pydantic import BaseModel, Field


class GatewaySettings(BaseModel):
    """The ``[gateway]`` section."""

    host: str = Field(default="127.0.0.1", description="Address the HTTPS server binds.")
    port: int = Field(default=8443, ge=0, le=65535, description="HTTPS port (0: any free one).")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; SQLite under data_dir if unset."
    )
    post_rate: int = Field(
        default=15, ge=1, description="Seconds between a mirror's readings (postRate)."
    )
    timezone: str = Field(default="Asia/Bangkok", description="Zone the /tm resource reports.")
    mdns: bool = Field(default=True, description="Advertise _smartenergy._tcp.local.")
