"""Mirror ingest: MirrorUsagePoints, their readings and the outbox, one transaction each.

Every write of the Metering Mirror function set is a *job* for the group committer
(gateway.groupcommit): a function of a Session that first checks everything (ownership,
mRIDs, reading times and values, what is already on its way to the chain) and only then
writes, so a refusal never leaves anything behind. The rules are in docs/gateway.md; in
short:

- POST /mup creates a mirror (201) or overwrites the caller's mirror with the same mRID
  (204): its fields, its MirrorMeterReadings (a ReadingType that changed supersedes the
  old MeterReading, which keeps its readings), and any readings it carries.
- POST /mup/{id} stores the readings of a MirrorMeterReading(List). A MirrorMeterReading
  mRID the mirror does not know yet must bring its ReadingType; one another mirror uses
  is a conflict (409).
- Readings are upserted by (MeterReading, time, touTier, consumptionBlock). A reading's
  time is sep2's (``extract_readings``); without one, at or before 0, or further ahead of
  our clock than ``max_future_skew``, it is refused.
- Energy registers (sep2.energy_register): for each time at which a settling mirror has
  both its import and its export register, one outbox row per (deviceLFDI, time) with
  both in whole Wh (floored), written with the second of the pair, in this request or a
  later one. A pair that has left for the chain is never changed: the same values again
  are fine, different ones are a 409.

Readings stored are counted by interface (``sep2``, ``rest``) for Prometheus
(api_gateway_meter_readings_received_total) with :func:`tally_received`: the count waits
in the session until its transaction commits, so a batch the group committer rolls back
and runs again, or a refused request, counts nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session

from gateway import access
from gateway.crud import devices, direct, mirrors
from gateway.crud.direct import MeterReadingFacts
from gateway.crud.mirrors import MirrorFacts
from gateway.errors import Refusal, bad_request, conflict, not_found
from gateway.groupcommit import Job
from gateway.mappers import reading_type_columns, reading_type_of_columns
from gateway.metrics.instruments import READINGS_RECEIVED
from gateway.peer import Peer
from oracle.outbox import OutboxState, enqueue_pairs
from sep2 import (
    Codec,
    EnergyRegister,
    MirroredReading,
    MirrorMeterReading,
    MirrorMeterReadingList,
    MirrorUsagePoint,
    ReadingType,
    ReasonCode,
    RoleFlags,
    energy_register,
    extract_readings,
)

IMPORT, EXPORT = EnergyRegister.IMPORT.value, EnergyRegister.EXPORT.value
# Registers of these mirrors are part of a site total the site meter already counts.
NOT_SETTLED_ROLES = RoleFlags.IS_DER | RoleFlags.IS_SUBMETER

_RECEIVED = "gridmirror.readings_received"  # Session.info key: {interface: readings}


def tally_received(session: Session, interface: str, readings: int) -> None:
    """Count ``readings`` stored through ``interface`` once ``session`` commits."""
    if readings:
        tally: dict[str, int] = session.info.setdefault(_RECEIVED, {})
        tally[interface] = tally.get(interface, 0) + readings


@event.listens_for(OrmSession, "after_commit")
def _count_committed(session: OrmSession) -> None:
    tally = session.info.pop(_RECEIVED, None)
    if tally:
        for interface, readings in tally.items():
            READINGS_RECEIVED.labels(interface).inc(readings)


@event.listens_for(OrmSession, "after_rollback")
def _forget_rolled_back(session: OrmSession) -> None:
    session.info.pop(_RECEIVED, None)


@dataclass(frozen=True, slots=True)
class IngestRules:
    """The settings ingest follows."""

    mirrors_per_device: int
    max_future_skew: int


@dataclass(frozen=True, slots=True)
class MirrorWritten:
    """The outcome of POST /mup."""

    mirror_id: int
    created: bool
    readings: int
    pairs: int


@dataclass(frozen=True, slots=True)
class ReadingsWritten:
    """The outcome of POST /mup/{id}: the MeterReadings the readings went to."""

    mirror_id: int
    meter_reading_ids: tuple[int, ...]
    readings: int
    pairs: int


@dataclass
class _Target:
    """A MeterReading a request writes to (or that pairs with one it writes to)."""

    mrid: str
    reading_type: ReadingType  # the fields ingest uses (see mappers.reading_type_of_columns)
    register: str | None
    power_of_ten: int
    xml: str
    row_id: int | None = None  # None until inserted
    action: str = "keep"  # keep | update | new | retype
    old_id: int | None = None  # the row a retype supersedes
    description: str | None = None
    version: int | None = None

    @classmethod
    def of_row(cls, row: Any) -> _Target:
        return cls(
            mrid=row.mrid,
            reading_type=reading_type_of_columns(row),
            register=row.energy_register,
            power_of_ten=row.power_of_ten,
            xml=row.reading_type_xml,
            row_id=row.id,
            description=row.description,
            version=row.version,
        )


@dataclass
class _Plan:
    """What a request will do to a mirror's meter readings."""

    targets: dict[str, _Target]  # every meter reading the mirror has afterwards, by mRID
    superseded: list[int] = field(default_factory=list)
    touched: list[str] = field(default_factory=list)  # the document's mRIDs, in order

    def register(self, which: str) -> _Target | None:
        return next((t for t in self.targets.values() if t.register == which), None)

    @property
    def has_registers(self) -> bool:
        return any(t.register is not None for t in self.targets.values())


class Ingest:
    """Builds the jobs of the Metering Mirror function set."""

    def __init__(self, codec: Codec, rules: IngestRules, clock: Callable[[], float]) -> None:
        self._codec = codec
        self._rules = rules
        self._clock = clock

    # --- the jobs ---------------------------------------------------------------------------

    def mirror_job(
        self, peer: Peer, mup: MirrorUsagePoint, *, interface: str = "sep2"
    ) -> Job[MirrorWritten]:
        """POST /mup: create or overwrite the mirror with ``mup``'s mRID (``interface``:
        what the readings it carries are counted under, see :func:`tally_received`)."""

        def job(session: Session) -> MirrorWritten:
            now = self._clock()
            if not peer.privileged and not devices.is_registered(session, peer.lfdi):
                raise Refusal(403, "register first: POST your EndDevice to /edev")
            access.require_may_mirror(peer, mup.device_lfdi)
            existing = direct.live_mirror_by_mrid(session, mup.mrid)
            if existing is not None:
                access.require_owner(peer, existing.owner_lfdi, f"mirror {mup.mrid}")
            elif (
                mirrors.count_for_device(session, mup.device_lfdi) >= self._rules.mirrors_per_device
            ):
                raise conflict(
                    f"device {mup.device_lfdi} has {self._rules.mirrors_per_device} mirrors, "
                    "the most this server hosts",
                    ReasonCode.RESOURCE_LIMIT_REACHED,
                )
            current = (
                direct.mirror_with_meter_readings(session, existing.id)[1]
                if existing is not None
                else []
            )
            plan = self._plan(session, current, mup.mirror_meter_readings, full=True)
            settles = self._settles(plan, mup.role_flags)
            if settles:
                self._check_one_settling_mirror(
                    session, mup.device_lfdi, existing.id if existing else None
                )
            extracted = extract_readings(mup, reading_types=_types(plan))
            checked = self._check_readings(extracted, plan, now)
            pairs = self._pairs(session, plan, checked, mup.device_lfdi) if settles else {}
            # --- writes from here on
            mirror_id = self._write_mirror(session, existing, mup, peer, settles, now)
            self._write_meter_readings(session, mirror_id, plan, now)
            stored = self._write_readings(
                session, mirror_id, mup.device_lfdi, plan, mup.mirror_meter_readings, checked, now
            )
            tally_received(session, interface, stored)
            enqueue_pairs(session, mup.device_lfdi, pairs, now)
            return MirrorWritten(mirror_id, existing is None, stored, len(pairs))

        return job

    def readings_job(
        self,
        peer: Peer,
        mirror_id: int,
        resource: MirrorMeterReading | MirrorMeterReadingList,
        *,
        interface: str = "sep2",
    ) -> Job[ReadingsWritten]:
        """POST /mup/{id}: store the readings of a MirrorMeterReading(List)."""
        mmrs = resource.items if isinstance(resource, MirrorMeterReadingList) else (resource,)

        def job(session: Session) -> ReadingsWritten:
            now = self._clock()
            mirror, current = direct.mirror_with_meter_readings(session, mirror_id)
            if mirror is None:
                raise not_found(f"no mirror {mirror_id}")
            access.require_owner(peer, mirror.owner_lfdi, f"mirror {mirror_id}")
            plan = self._plan(session, current, mmrs, full=False)
            settles = self._settles(plan, mirror.role_flags)
            if settles and not mirror.settles:
                self._check_one_settling_mirror(session, mirror.device_lfdi, mirror.id)
            extracted = extract_readings(resource, reading_types=_types(plan))
            checked = self._check_readings(extracted, plan, now)
            pairs = self._pairs(session, plan, checked, mirror.device_lfdi) if settles else {}
            # --- writes from here on
            if settles != mirror.settles:
                direct.set_settles(session, mirror_id, settles, now)
            self._write_meter_readings(session, mirror_id, plan, now)
            stored = self._write_readings(
                session, mirror_id, mirror.device_lfdi, plan, mmrs, checked, now
            )
            tally_received(session, interface, stored)
            enqueue_pairs(session, mirror.device_lfdi, pairs, now)
            ids = tuple(dict.fromkeys(plan.targets[m].row_id or 0 for m in plan.touched))
            return ReadingsWritten(mirror_id, ids, stored, len(pairs))

        return job

    def delete_mirror_job(self, peer: Peer, mirror_id: int) -> Job[None]:
        """DELETE /mup/{id}: the mirror goes; its readings (maybe on chain already) stay."""

        def job(session: Session) -> None:
            mirror = direct.mirror_with_meter_readings(session, mirror_id)[0]
            if mirror is None:
                raise not_found(f"no mirror {mirror_id}")
            access.require_owner(peer, mirror.owner_lfdi, f"mirror {mirror_id}")
            direct.delete_mirror(session, mirror_id, self._clock())

        return job

    # --- checks (no writes) -----------------------------------------------------------------

    def _plan(
        self,
        session: Session,
        current_rows: Sequence[MeterReadingFacts],
        mmrs: Sequence[MirrorMeterReading],
        *,
        full: bool,
    ) -> _Plan:
        """What the document does to the mirror's meter readings (``current_rows``);
        ``full`` for a MUP POST, whose list of MirrorMeterReadings replaces the mirror's."""
        current = {row.mrid: row for row in current_rows}
        targets: dict[str, _Target] = {}
        if not full:
            targets = {mrid: _Target.of_row(row) for mrid, row in current.items()}
        plan = _Plan(targets)
        seen: set[str] = set()
        for mmr in mmrs:
            mrid = mmr.mrid
            plan.touched.append(mrid)
            xml = self._codec.serialise(mmr.reading_type).decode() if mmr.reading_type else None
            if mrid in seen:
                if xml is not None and xml != targets[mrid].xml:
                    raise bad_request(f"MirrorMeterReading {mrid} declares two ReadingTypes")
                continue
            seen.add(mrid)
            row = current.get(mrid)
            if row is not None and (xml is None or xml == row.reading_type_xml):
                # Without ``full`` the targets start as the current rows, still untouched.
                target = targets[mrid] if not full else _Target.of_row(row)
                if full and (mmr.description, mmr.version) != (row.description, row.version):
                    target.action = "update"
                    target.description, target.version = mmr.description, mmr.version
                targets[mrid] = target
                continue
            if row is None:
                if mmr.reading_type is None or xml is None:
                    raise bad_request(
                        f"MirrorMeterReading {mrid} is new to this mirror and has no ReadingType"
                    )
                if mirrors.meter_reading_by_mrid(session, mrid) is not None:
                    raise conflict(f"MirrorMeterReading mRID {mrid} belongs to another mirror")
            assert mmr.reading_type is not None and xml is not None
            targets[mrid] = self._new_target(mmr, mmr.reading_type, xml, row)
        if full:
            plan.superseded = [row.id for mrid, row in current.items() if mrid not in targets]
        for which in (IMPORT, EXPORT):
            if sum(1 for t in targets.values() if t.register == which) > 1:
                raise bad_request(f"a mirror has at most one {which} energy register")
        return plan

    @staticmethod
    def _new_target(
        mmr: MirrorMeterReading, reading_type: ReadingType, xml: str, old: Any
    ) -> _Target:
        register = energy_register(reading_type)
        return _Target(
            mrid=mmr.mrid,
            reading_type=reading_type,
            register=register.value if register else None,
            power_of_ten=reading_type.power_of_ten_multiplier or 0,
            xml=xml,
            action="new" if old is None else "retype",
            old_id=old.id if old is not None else None,
            description=mmr.description,
            version=mmr.version,
        )

    @staticmethod
    def _settles(plan: _Plan, role_flags: int) -> bool:
        return plan.has_registers and not role_flags & NOT_SETTLED_ROLES

    @staticmethod
    def _check_one_settling_mirror(session: Session, device_lfdi: str, this: int | None) -> None:
        others = [m for m in mirrors.settling_for_device(session, device_lfdi) if m.id != this]
        if others:
            raise conflict(
                f"device {device_lfdi} already settles its energy registers through mirror "
                f"{others[0].mrid}; mark this one isDER or isSubmeter, or drop its registers"
            )

    def _check_readings(
        self, extracted: Iterable[MirroredReading], plan: _Plan, now: float
    ) -> list[tuple[MirroredReading, int | None]]:
        """Refuse readings without a usable time or value; each with its whole Wh."""
        latest = now + self._rules.max_future_skew
        checked: list[tuple[MirroredReading, int | None]] = []
        for reading in extracted:
            where = f"a Reading of MirrorMeterReading {reading.mmr_mrid}"
            if reading.start is None:
                raise bad_request(
                    f"{where} has no time: give it a timePeriod (or its MirrorReadingSet one, "
                    "or the MirrorMeterReading a lastUpdateTime)"
                )
            if reading.start <= 0:
                raise bad_request(f"{where} is stamped {reading.start}, not a time")
            if reading.start > latest:
                raise bad_request(
                    f"{where} is stamped {reading.start}, {reading.start - int(now)} s ahead of "
                    f"the server's clock (at most {self._rules.max_future_skew} s allowed)"
                )
            wh: int | None = None
            if reading.register is not None:
                if reading.value is None:
                    raise bad_request(f"{where} is an energy register without a value")
                if reading.value < 0:
                    raise bad_request(f"{where} is an energy register with a negative value")
                wh = _floor(reading.value)
            checked.append((reading, wh))
        return checked

    def _pairs(
        self,
        session: Session,
        plan: _Plan,
        checked: Sequence[tuple[MirroredReading, int | None]],
        device_lfdi: str,
    ) -> dict[int, tuple[int, int]]:
        """The complete register pairs this request makes, by time; a 409 if one of them
        would change a pair that has left for the chain."""
        imp, exp = plan.register(IMPORT), plan.register(EXPORT)
        if imp is None or exp is None:
            return {}
        sides: dict[int, dict[str, int]] = {}
        for reading, wh in checked:
            if reading.register is not None and wh is not None and reading.start is not None:
                which = reading.register.value
                if plan.targets[reading.mmr_mrid].register == which:
                    sides.setdefault(reading.start, {})[which] = wh
        if not sides:
            return {}
        for target, which in ((imp, IMPORT), (exp, EXPORT)):
            missing = [t for t, side in sides.items() if which not in side]
            if missing and target.row_id is not None and target.action in ("keep", "update"):
                for start, wh in direct.register_values(session, target.row_id, missing).items():
                    if wh is not None:
                        sides[start][which] = wh
        pairs = {t: (s[IMPORT], s[EXPORT]) for t, s in sides.items() if len(s) == 2}
        for start, state, import_wh, export_wh in direct.outbox_rows(
            session, device_lfdi, list(pairs)
        ):
            if state == OutboxState.PENDING.value:
                if (import_wh, export_wh) == pairs[start]:
                    del pairs[start]  # already queued as is
                continue
            if (import_wh, export_wh) != pairs[start]:
                raise conflict(
                    f"the registers of {device_lfdi} at {start} have left for the chain as "
                    f"import {import_wh} Wh, export {export_wh} Wh and cannot change"
                )
            del pairs[start]
        return pairs

    # --- writes -----------------------------------------------------------------------------

    @staticmethod
    def _write_mirror(
        session: Session,
        existing: MirrorFacts | None,
        mup: MirrorUsagePoint,
        peer: Peer,
        settles: bool,
        now: float,
    ) -> int:
        fields = {
            "mrid": mup.mrid,
            "owner_lfdi": peer.lfdi,
            "device_lfdi": mup.device_lfdi,
            "role_flags": mup.role_flags,
            "service_category_kind": mup.service_category_kind,
            "status": mup.status,
            "description": mup.description,
            "version": mup.version,
            "settles": settles,
            "created_at": now,
            "updated_at": now,
        }
        if existing is None:
            return direct.insert_mirror(session, fields)
        direct.update_mirror(session, existing.id, fields)
        return existing.id

    @staticmethod
    def _write_meter_readings(session: Session, mirror_id: int, plan: _Plan, now: float) -> None:
        gone = plan.superseded + [t.old_id for t in plan.targets.values() if t.old_id is not None]
        direct.supersede_meter_readings(session, gone, now)
        for target in plan.targets.values():
            if target.action == "update":
                assert target.row_id is not None
                direct.rename_meter_reading(
                    session, target.row_id, target.description, target.version
                )
            elif target.action in ("new", "retype"):
                target.row_id = direct.insert_meter_reading(
                    session,
                    {
                        "mirror_id": mirror_id,
                        "mrid": target.mrid,
                        "description": target.description,
                        "version": target.version,
                        "energy_register": target.register,
                        "reading_type_xml": target.xml,
                        "created_at": now,
                        "superseded_at": None,
                        **reading_type_columns(target.reading_type),
                    },
                )

    @staticmethod
    def _write_readings(
        session: Session,
        mirror_id: int,
        device_lfdi: str,
        plan: _Plan,
        mmrs: Sequence[MirrorMeterReading],
        checked: Sequence[tuple[MirroredReading, int | None]],
        now: float,
    ) -> int:
        set_rows: dict[tuple[int, str], dict[str, Any]] = {}
        for mmr in mmrs:
            mr_id = plan.targets[mmr.mrid].row_id
            assert mr_id is not None
            for reading_set in mmr.mirror_reading_sets:
                set_rows[(mr_id, reading_set.mrid)] = {
                    "meter_reading_id": mr_id,
                    "mrid": reading_set.mrid,
                    "description": reading_set.description,
                    "version": reading_set.version,
                    "start": reading_set.time_period.start,
                    "duration": reading_set.time_period.duration,
                }
        set_ids = direct.upsert_reading_sets(session, list(set_rows.values())) if set_rows else {}
        rows: dict[tuple[int, int, int, int], dict[str, Any]] = {}
        for reading, wh in checked:
            target = plan.targets[reading.mmr_mrid]
            mr_id = target.row_id
            assert mr_id is not None and reading.start is not None
            tier, block = reading.tou_tier or 0, reading.consumption_block or 0
            set_id = (
                set_ids[(mr_id, reading.reading_set_mrid)] if reading.reading_set_mrid else None
            )
            rows[(mr_id, reading.start, tier, block)] = {
                "meter_reading_id": mr_id,
                "start": reading.start,
                "tou_tier": tier,
                "consumption_block": block,
                "reading_set_id": set_id,
                "mirror_id": mirror_id,
                "device_lfdi": device_lfdi,
                "duration": reading.duration,
                "value": reading.raw_value,
                "power_of_ten": target.power_of_ten,
                "scaled": None if reading.value is None else Decimal(reading.value),
                "quality_flags": reading.quality_flags,
                "local_id": reading.local_id,
                "energy_register": reading.register.value if reading.register else None,
                "wh": wh,
                "received_at": now,
            }
        direct.upsert_readings(session, list(rows.values()))
        return len(rows)


def _types(plan: _Plan) -> dict[str, ReadingType]:
    return {mrid: t.reading_type for mrid, t in plan.targets.items()}


def _floor(value: int | Decimal) -> int:
    return value if isinstance(value, int) else math.floor(value)
