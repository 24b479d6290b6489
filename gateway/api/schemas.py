"""Request and response bodies of the REST API (pydantic models; they make the OpenAPI)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from gateway.api.signatures import EncodingError, canonical_json
from gateway.api.tokens import Role

LFDI_PATTERN = r"^[0-9A-Fa-f]{40}$"
BIGINT_MAX = 2**63 - 1  # what both databases' BIGINT hold

RowId = Annotated[int, Field(ge=1, le=BIGINT_MAX)]
"""A row id (path parameters and lists of ids)."""
METADATA_MAX_CHARS = 4096

Lfdi = Annotated[
    str,
    Field(
        pattern=LFDI_PATTERN,
        description="A meter: the LFDI (40 hex digits) of a device registered with the "
        "gateway; case does not matter.",
        examples=["3E4F45AB31EDFE5B67E343E5E4562E3100000000"],
    ),
]
Kwh = Annotated[
    Decimal,
    Field(
        ge=0,
        le=1_000_000,
        decimal_places=6,
        description="kWh in the interval since the meter's previous reading (at most 6 "
        "decimal places: the registers count mWh).",
    ),
]


def unix(moment: datetime) -> int:
    """Unix seconds of an aware datetime."""
    return int(moment.timestamp())


def iso(seconds: int) -> str:
    """RFC 3339 in UTC of Unix seconds."""
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


class ReadingIn(BaseModel):
    """One signed reading (the integration plan's payload)."""

    model_config = ConfigDict(extra="forbid")

    meter_id: Lfdi
    timestamp: AwareDatetime = Field(
        description="End of the interval: RFC 3339 with a zone, or Unix seconds; whole "
        "seconds only.",
        examples=["2026-01-01T00:15:00Z"],
    )
    energy_generated: Kwh
    energy_consumed: Kwh
    solar_irradiance: Decimal | None = Field(
        default=None, ge=0, le=10_000, decimal_places=6, description="W/m², if measured."
    )
    temperature: Decimal | None = Field(
        default=None, ge=-100, le=200, decimal_places=6, description="°C, if measured."
    )
    engineering_authority_signature: str = Field(
        min_length=1,
        max_length=200,
        description="Base64 Ed25519 signature of the canonical encoding (docs/rest-api.md) "
        "by a registered engineering-authority key.",
    )
    metadata: dict[str, Any] | None = Field(
        default=None,
        description="Free JSON object (strings, integers, booleans, null, arrays, objects); "
        "signed with the rest.",
    )

    @field_validator("timestamp")
    @classmethod
    def _whole_second(cls, value: datetime) -> datetime:
        if value.microsecond:
            raise ValueError("timestamps are whole seconds")
        if value.timestamp() <= 0:
            raise ValueError("the timestamp is before 1970")
        return value

    @field_validator("metadata")
    @classmethod
    def _canonical(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        try:
            text = canonical_json(value)
        except EncodingError as exc:
            raise ValueError(str(exc)) from None
        if len(text) > METADATA_MAX_CHARS:
            raise ValueError(f"metadata longer than {METADATA_MAX_CHARS} characters")
        return value


class ReadingBatchIn(BaseModel):
    """Many signed readings, stored all or none."""

    model_config = ConfigDict(extra="forbid")

    readings: list[ReadingIn] = Field(min_length=1)


class ReadingAccepted(BaseModel):
    """A stored reading: where its registers now stand."""

    id: int = Field(description="The register pair's id (for /readings/{id}/proof).")
    meter_id: str
    timestamp: int
    time: str
    import_wh: int = Field(description="Import register (energy consumed), whole Wh.")
    export_wh: int = Field(description="Export register (energy generated), whole Wh.")
    import_mwh: int
    export_mwh: int
    authority_key: str = Field(description="Name of the key that signed it.")


class BatchAccepted(BaseModel):
    """A stored batch."""

    accepted: int
    readings: list[ReadingAccepted]


class PairOut(BaseModel):
    """A register pair on its way to (or on) the chain, from REST or 2030.5."""

    id: int
    meter_id: str
    timestamp: int
    time: str
    import_wh: int
    export_wh: int
    state: str
    attempts: int
    last_error: str | None
    signature: str | None
    slot: int | None
    batch: int | None


class Page(BaseModel):
    """A page of a list; ``next`` is the cursor of the following page (None: the last)."""

    next: str | None = Field(description="Opaque cursor: pass it as ?cursor= for more.")


class PairPage(Page):
    """A page of register pairs."""

    items: list[PairOut]


class ProofStepOut(BaseModel):
    """One step of a Merkle inclusion proof, from the leaf up."""

    side: str
    sibling: str


class ProofOut(BaseModel):
    """A confirmed reading's inclusion proof, checked by the gateway."""

    reading: PairOut
    leaf: str
    batch_root: str
    leaf_index: int
    proof: list[ProofStepOut]
    proof_valid: bool = Field(description="The proof folds the leaf up to batch_root.")
    chain_verified: bool | None = Field(
        description="`gridmirror verify`'s verdict against the chain's event (None: no chain)."
    )
    chain_verdict: str | None


class MeterOut(BaseModel):
    """A meter: a registered device, how its readings arrive, where its registers stand."""

    meter_id: str
    sfdi: int
    registered_at: int
    settling_mirror: str | None = Field(description="mRID of the mirror that settles it.")
    last_timestamp: int | None
    import_wh: int | None
    export_wh: int | None
    on_chain: bool
    owner: str | None = Field(description="Owner wallet on chain, else the one chosen.")
    owner_source: str | None


class MeterPage(Page):
    """A page of meters."""

    items: list[MeterOut]


class OwnerIn(BaseModel):
    """The wallet that receives a meter's energy tokens."""

    model_config = ConfigDict(extra="forbid")

    wallet: str = Field(min_length=32, max_length=44, description="Base58 Solana address.")


class SettlementOut(BaseModel):
    """One meter settled for one epoch."""

    id: int
    epoch: int
    meter_id: str
    owner: str
    import_wh: int
    export_wh: int
    import_delta_wh: int
    export_delta_wh: int
    net_export_wh: int
    minted_wh: int
    signature: str
    slot: int


class SettlementPage(Page):
    """A page of settlements."""

    items: list[SettlementOut]


class ChainStatusOut(BaseModel):
    """The bridge and the outbox."""

    bridge_running: bool
    chain: str | None
    outbox: dict[str, int]
    last_cleared_epoch: int | None
    stats: dict[str, Any]


class RedriveIn(BaseModel):
    """Which dead letters to put back: by id, by meter, or all."""

    model_config = ConfigDict(extra="forbid")

    ids: list[RowId] = Field(default_factory=list, max_length=10_000)
    meter_ids: list[Lfdi] = Field(default_factory=list, max_length=10_000)
    all: bool = False


class RedriveOut(BaseModel):
    """How many dead letters went back to pending."""

    redriven: int


class ClearingOut(BaseModel):
    """Epochs cleared by a triggered crank."""

    cleared: list[int]


class AuthorityKeyIn(BaseModel):
    """An engineering authority's public key."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    public_key: str = Field(
        min_length=1, max_length=100, description="Base64 of the 32 raw Ed25519 bytes."
    )


class AuthorityKeyOut(BaseModel):
    """A registered engineering-authority key."""

    id: int
    name: str
    public_key: str
    created_at: float
    revoked_at: float | None


class ValidationIssue(BaseModel):
    """One place where a request does not fit the schema."""

    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """An error (RFC 9457)."""

    type: str
    title: str
    status: int
    detail: str
    index: int | None = Field(default=None, description="The refused item of a batch.")
    errors: list[ValidationIssue] | None = Field(
        default=None, description="Where a request does not fit the schema (422)."
    )


ROLE_NAMES = [r.value for r in Role]
