"""Settings of the chain side: backend, worker and clearing."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field


class ChainSettings(BaseModel):
    """The ``[chain]`` section."""

    backend: Literal["embedded", "rpc"] = Field(
        default="embedded", description="embedded LiteSVM in process, or a JSON-RPC endpoint."
    )
    rpc_url: str = Field(default="http://127.0.0.1:8899", description="JSON-RPC endpoint.")
    state_dir: Path | None = Field(
        default=None, description="Embedded chain state and keys; data_dir/chain if unset."
    )
