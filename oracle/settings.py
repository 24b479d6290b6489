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

    # --- the oracle: keys, deployment and the meters' owners -------------------------------
    keys_dir: Path | None = Field(
        default=None,
        description="Keypair files (admin, gateway, mint, generated owner wallets), 0600; "
        "state_dir/keys if unset.",
    )
    clearing_interval_s: int = Field(
        default=900,
        ge=1,
        le=86_400,
        description="Epoch length `chain init` gives the oracle (fixed once initialized).",
    )
    max_future_skew_s: int = Field(
        default=60,
        ge=0,
        le=86_400,
        description="How far past the chain's clock a reading may be stamped (`chain init`); "
        "the worker holds back readings stamped further ahead until the chain catches up.",
    )
    max_rated_power_w: int = Field(
        default=1_000_000,
        ge=1,
        le=10_000_000_000,
        description="The highest rating (W) the gateway's key may register a meter with "
        "(`chain init`; the admin may change it with update_limits). A meter's rating "
        "bounds all it can ever mint, so this bounds what a stolen gateway key can mint.",
    )
    max_baseline_age_s: int = Field(
        default=900,
        ge=0,
        le=2_592_000,
        description="How far behind the chain's clock a meter's first reading may be stamped "
        "(`chain init`): older first readings are refused, so no meter's mint window opens "
        "in the past. A fleet that replays history before its first reading needs this to "
        "cover the replay (the demo sets it).",
    )
    default_rated_power_w: int = Field(
        default=100_000,
        gt=0,
        description="Rated power (W) a meter is registered with when neither meter_rated_power_w "
        "nor the campus file names one. The program rejects readings whose energy this "
        "power could not deliver, so it must cover the meter's service.",
    )
    meter_owners: dict[str, str] = Field(
        default_factory=dict,
        description="Owner wallet (base58) by meter LFDI; a meter with none (here or in the "
        "campus file) gets a generated wallet, saved as keys_dir/owners/<LFDI>.json.",
    )
    meter_rated_power_w: dict[str, int] = Field(
        default_factory=dict, description="Rated power (W) by meter LFDI."
    )

    # --- the submission worker --------------------------------------------------------------
    worker_in_gateway: bool = Field(
        default=True,
        description="The gateway process runs the submission worker (and clearing) itself; "
        "set false when `gridmirror chain worker` processes do it.",
    )
    max_attempts: int = Field(
        default=8,
        ge=1,
        description="Failed tries of a reading (a transaction that failed or never landed, "
        "its meter's registration failing) before it goes to the dead-letter state; an "
        "unreachable chain does not count.",
    )
    backoff_base_s: float = Field(
        default=0.5, gt=0, description="First retry delay; doubles with every attempt."
    )
    backoff_cap_s: float = Field(default=60.0, gt=0, description="Longest retry delay.")
    lease_s: float = Field(
        default=30.0,
        gt=0,
        description="How long a worker's claim on a meter lasts without renewal; a crashed "
        "worker's meters pass to another worker after this.",
    )
    claim_meters: int = Field(
        default=256, ge=1, description="Most meters one worker holds at a time."
    )
    concurrent_batches: int = Field(
        default=8, ge=1, description="Transactions a worker has in flight at once."
    )
    idle_poll_s: float = Field(
        default=0.1, gt=0, description="Seconds between outbox polls while there is no work."
    )
    clearing: bool = Field(
        default=True, description="The worker clears ended epochs (anyone may; we do)."
    )
    clearing_delay_s: float = Field(
        default=20.0,
        ge=0,
        description="Seconds after an epoch ends before it is cleared, for the readings "
        "stamped at its end to arrive (more than the postRate).",
    )
    clearing_silence_s: float = Field(
        default=120.0,
        gt=0,
        description="A registered meter whose newest reading the gateway stored within this "
        "many seconds is still delivering, and no epoch past its latest reading is cleared "
        "until it has delivered past that epoch's end (a meter catching up, or replaying a "
        "past window, gets its energy in the epochs it was produced in). The bound: a meter "
        "silent, or not moving forward, for longer than this holds nothing back.",
    )
    reconcile_every_s: float = Field(
        default=600.0,
        ge=0,
        description="The worker reconciles the settlement table with the chain at start and "
        "this often (0: only at start), logging each difference (`chain reconcile`).",
    )
    clearing_grace_s: float = Field(
        default=600.0,
        ge=0,
        description="An epoch waits for the outbox to confirm every reading stamped in it, "
        "but no longer than this after its end (a dead letter must not stop settlement; its "
        "energy goes to a later epoch).",
    )
