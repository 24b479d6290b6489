"""Signed REST readings into the gateway's one ingest path.

A REST reading carries the energy generated and consumed since the meter's previous
reading (kWh). The gateway keeps every meter's energy as two cumulative registers, as a
2030.5 meter mirrors them, so a REST reading *adds* to them:

- import register (energy consumed, flowDirection 1) += ``energy_consumed``
- export register (energy generated, flowDirection 19) += ``energy_generated``

exactly, in mWh (kWh have at most 6 decimal places). The registers live in a mirror the
gateway keeps for the meter (mRID ``mrid_for(PEN, LFDI, "rest-api")``, description "REST
API", owned by the meter's LFDI): the readings are built as 2030.5 objects and stored by
:meth:`gateway.ingest.Ingest.mirror_job` (the first, which creates the mirror) or
:meth:`~gateway.ingest.Ingest.readings_job` (the rest), so they land in the same
``reading`` rows and the same outbox pair per (meter, time), in one transaction with
the signed reading's own row (``signed_reading``). A meter is fed either this way or
by its own 2030.5 mirror: the one-settling-mirror rule of ingest refuses the second
(409).

A batch is one job: an item refused after others were written fails the whole job,
which the group committer rolls back (gateway.groupcommit), so nothing of it is stored.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from gateway.api.schemas import ReadingIn, unix
from gateway.api.signatures import (
    SIGNATURE_BYTES,
    EncodingError,
    SignedFields,
    canonical_json,
    decode_base64,
    public_key_from_text,
    verifies,
)
from gateway.crud import direct
from gateway.errors import Refusal
from gateway.groupcommit import Job
from gateway.ingest import Ingest
from gateway.models import AuthorityKeyRow
from gateway.peer import Peer
from gateway.peer import Role as PeerRole
from sep2 import (
    AccumulationBehaviour,
    DateTimeInterval,
    FlowDirection,
    Kind,
    MirrorMeterReading,
    MirrorMeterReadingList,
    MirrorUsagePoint,
    Reading,
    ReadingType,
    RoleFlags,
    Uom,
    mrid_for,
    normalise_lfdi,
)

MWH_PER_KWH = 1_000_000
INT48_MAX = (1 << 47) - 1
POWER_OF_TEN = -3  # the registers count mWh
MIRROR_NAME = "rest-api"


class ItemRefused(Refusal):
    """A refused item of a batch: its index travels with the problem."""

    def __init__(self, index: int, refusal: Refusal) -> None:
        super().__init__(refusal.status, f"reading {index}: {refusal.problem}")
        self.index = index


@dataclass(frozen=True, slots=True)
class Verified:
    """A reading whose signature checked out, normalised."""

    fields: SignedFields
    signature: str
    key: AuthorityKeyRow


@dataclass(frozen=True, slots=True)
class Accepted:
    """A stored reading."""

    pair_id: int
    lfdi: str
    timestamp: int
    import_mwh: int
    export_mwh: int
    key_name: str


def signed_fields(item: ReadingIn) -> SignedFields:
    """The signed content of a request item."""
    return SignedFields(
        meter_id=normalise_lfdi(item.meter_id),
        timestamp=unix(item.timestamp),
        energy_generated_kwh=item.energy_generated,
        energy_consumed_kwh=item.energy_consumed,
        solar_irradiance=item.solar_irradiance,
        temperature=item.temperature,
        metadata=item.metadata,
    )


def verify(item: ReadingIn, keys: Sequence[AuthorityKeyRow]) -> Verified:
    """The item with the key that signed it; a 422 Refusal if none did."""
    fields = signed_fields(item)
    try:
        raw = decode_base64(item.engineering_authority_signature, SIGNATURE_BYTES, "the signature")
    except EncodingError as exc:
        raise Refusal(422, str(exc)) from None
    if not keys:
        raise Refusal(422, "no engineering-authority key is registered: nothing can verify")
    for key in keys:
        if verifies(public_key_from_text(key.public_key), fields, raw):
            # The stored form is canonical base64, whatever spelling the request used.
            return Verified(fields, base64.b64encode(raw).decode("ascii"), key)
    raise Refusal(
        422, "the engineering-authority signature does not verify with any registered key"
    )


def mirror_mrids(pen: int, lfdi: str) -> tuple[str, str, str]:
    """The mRIDs of the REST mirror of ``lfdi`` and of its import and export registers."""
    return (
        mrid_for(pen, lfdi, MIRROR_NAME),
        mrid_for(pen, lfdi, MIRROR_NAME, "import"),
        mrid_for(pen, lfdi, MIRROR_NAME, "export"),
    )


def register_type(direction: FlowDirection) -> ReadingType:
    """A whole-meter mWh summation register."""
    return ReadingType(
        accumulation_behaviour=AccumulationBehaviour.SUMMATION,
        commodity=1,
        flow_direction=direction,
        kind=Kind.ENERGY,
        power_of_ten_multiplier=POWER_OF_TEN,
        uom=Uom.WH,
    )


def _registers(
    latest: tuple[int, int, int] | None, signed: tuple[int, int, int] | None
) -> tuple[int, int]:
    """Where a meter's registers stand (mWh): its last REST reading's, exact, unless a
    later pair (from 2030.5) is on its way to the chain, whose whole Wh it then continues
    from (on chain the registers never decrease)."""
    if latest is None:
        return 0, 0
    if signed is not None and signed[0] == latest[0]:
        return signed[1], signed[2]
    return latest[1] * 1000, latest[2] * 1000


def _mwh(kwh: Decimal) -> int:
    return int(kwh * MWH_PER_KWH)  # exact: at most 6 decimal places (schemas.Kwh)


class Intake:
    """Builds the storage jobs of REST readings."""

    def __init__(
        self, ingest: Ingest, *, pen: int, max_future_skew: int, clock: Callable[[], float]
    ) -> None:
        self._ingest = ingest
        self._pen = pen
        self._skew = max_future_skew
        self._clock = clock

    def job(self, items: Sequence[Verified], *, indexed: bool) -> Job[list[Accepted]]:
        """Store ``items`` in order, all or none (``indexed``: refusals name the item)."""

        def run(session: Session) -> list[Accepted]:
            now = self._clock()
            out = []
            for index, item in enumerate(items):
                try:
                    out.append(self._one(session, item, now))
                except Refusal as refusal:
                    if not indexed:
                        raise
                    raise ItemRefused(index, refusal) from None
            return out

        return run

    def _one(self, session: Session, item: Verified, now: float) -> Accepted:
        f = item.fields
        lfdi = f.meter_id
        mup_mrid, import_mrid, export_mrid = mirror_mrids(self._pen, lfdi)
        meter = direct.rest_meter(session, lfdi, item.signature, mup_mrid)
        if meter is None:
            raise Refusal(404, f"no meter {lfdi} is registered with the gateway")
        if f.timestamp > now + self._skew:
            raise Refusal(
                422,
                f"the reading is stamped {f.timestamp}, {f.timestamp - int(now)} s ahead of the "
                f"gateway's clock (at most {self._skew} s allowed)",
            )
        if meter.replay_of is not None:
            raise Refusal(
                409, f"replay: this signed reading of {lfdi} at {meter.replay_of} is stored"
            )
        latest = meter.latest_pair
        if latest is not None and f.timestamp <= latest[0]:
            raise Refusal(
                409,
                f"the reading of {lfdi} at {f.timestamp} is at or before the meter's last "
                f"one ({latest[0]})",
            )
        base_import, base_export = _registers(latest, meter.latest_signed)
        import_mwh = base_import + _mwh(f.energy_consumed_kwh)
        export_mwh = base_export + _mwh(f.energy_generated_kwh)
        if max(import_mwh, export_mwh) > INT48_MAX:
            raise Refusal(422, f"the registers of {lfdi} would overflow a 2030.5 Int48")
        duration = 0 if latest is None else f.timestamp - latest[0]
        period = DateTimeInterval(duration=duration, start=f.timestamp)
        registers = (
            MirrorMeterReading(
                mrid=import_mrid,
                description="energy import",
                reading_type=register_type(FlowDirection.FORWARD),
                reading=Reading(time_period=period, value=import_mwh),
            ),
            MirrorMeterReading(
                mrid=export_mrid,
                description="energy export",
                reading_type=register_type(FlowDirection.REVERSE),
                reading=Reading(time_period=period, value=export_mwh),
            ),
        )
        peer = Peer(lfdi=lfdi, sfdi=meter.sfdi, role=PeerRole.AGGREGATOR)
        pairs: int
        if meter.mirror_id is not None and meter.mirror_settles:
            # The usual case: the mirror is there, add the readings (ingest's lighter job).
            job = self._ingest.readings_job(
                peer, meter.mirror_id, MirrorMeterReadingList(items=registers), interface="rest"
            )
            pairs = job(session).pairs
        else:  # the first reading (or the mirror was deleted): create it with the readings
            mup = MirrorUsagePoint(
                mrid=mup_mrid,
                description="REST API",
                role_flags=RoleFlags.IS_MIRROR | RoleFlags.IS_PREMISES_AGGREGATION_POINT,
                service_category_kind=0,
                status=1,
                device_lfdi=lfdi,
                mirror_meter_readings=registers,
            )
            try:
                pairs = self._ingest.mirror_job(peer, mup, interface="rest")(session).pairs
            except Refusal as refusal:
                if refusal.status != 409:
                    raise
                # ingest words it for a 2030.5 client; say it in this API's terms
                raise Refusal(
                    409,
                    f"meter {lfdi} reports its energy registers over 2030.5; a meter is "
                    f"fed by the REST API or by its own 2030.5 mirror, not both "
                    f"({refusal.problem})",
                ) from None
        if pairs != 1:  # a new time always makes one new pair; anything else is a bug
            raise RuntimeError(f"REST reading of {lfdi} made {pairs} register pairs")
        pair_id = direct.add_signed(session, self._row(item, import_mwh, export_mwh, now))
        return Accepted(pair_id, lfdi, f.timestamp, import_mwh, export_mwh, item.key.name)

    @staticmethod
    def _row(item: Verified, import_mwh: int, export_mwh: int, now: float) -> dict[str, Any]:
        f = item.fields
        return {
            "lfdi": f.meter_id,
            "timestamp": f.timestamp,
            "energy_generated_kwh": f.energy_generated_kwh,
            "energy_consumed_kwh": f.energy_consumed_kwh,
            "solar_irradiance": f.solar_irradiance,
            "temperature": f.temperature,
            "metadata_json": None if f.metadata is None else canonical_json(f.metadata),
            "import_mwh": import_mwh,
            "export_mwh": export_mwh,
            "key_id": item.key.id,
            "signature": item.signature,
            "received_at": now,
        }
