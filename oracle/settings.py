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
    commitment: Literal["processed", "confirmed", "finalized"] = Field(
        default="confirmed",
        description="Commitment a transaction must reach to count as confirmed (rpc backend; "
        "the embedded chain finalizes at once).",
    )
    confirm_timeout: float = Field(
        default=60.0, gt=0, description="Seconds to wait for a transaction to be confirmed."
    )
    poll_interval: float = Field(
        default=0.4, gt=0, description="Seconds between signature-status polls (rpc backend)."
    )
    rpc_timeout: float = Field(
        default=10.0, gt=0, description="Seconds before one JSON-RPC request is given up."
    )
    airdrop_lamports: int = Field(
        default=10_000_000_000,
        ge=0,
        description="Lamports airdropped to fund local keys (local chains only).",
    )
    state_sync: Literal["normal", "full"] = Field(
        default="normal",
        description="SQLite synchronous mode of the embedded chain's state: normal survives a "
        "killed process, full also a power cut (an fsync per transaction).",
    )
    slot_seconds: float = Field(
        default=0.4, gt=0, description="Length of a slot on the embedded chain."
    )
    serve_host: str = Field(
        default="127.0.0.1", description="Address `gridmirror chain serve` listens on."
    )
    serve_port: int = Field(
        default=8899, ge=0, le=65535, description="Port of `gridmirror chain serve` (0: any)."
    )
