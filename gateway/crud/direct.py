"""Every write of the Metering Mirror ingest and of the DER function sets, and the reads
of their hot paths, in SQL.

Mirrors, their meter readings, reading sets, readings, signed REST readings and the DER
resources devices PUT are written here and nowhere else; the outbox's one write is
``oracle.outbox.enqueue_pairs``.
Each statement is written once for SQLite and PostgreSQL and run with
``oracle.statements.run``/``run_many`` on the DBAPI connection of the session's
transaction: through SQLAlchemy each would cost about 60 µs of Python before SQLite spends
5 µs on it. Those two functions record every writing statement for the group committer
(gateway.groupcommit), so that a job refusing after a write is rolled back without any
function here counting by hand.

Ingest reads mirrors as :class:`~gateway.crud.mirrors.MirrorFacts`, not ORM objects: an
ORM object loaded in a batch's session would not see this module's later writes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from gateway.crud.mirrors import MirrorFacts
from oracle.statements import InList, Statement, dialect_of, run, run_many, upsert


@dataclass(frozen=True, slots=True)
class MeterReadingFacts:
    """What ingest needs of a current meter reading (attribute names as the table's)."""

    id: int
    mrid: str
    description: str | None
    version: int | None
    uom: int | None
    kind: int | None
    accumulation_behaviour: int | None
    flow_direction: int | None
    commodity: int | None
    data_qualifier: int | None
    phase: int | None
    power_of_ten: int
    energy_register: str | None
    reading_type_xml: str


_MIRROR = Statement(
    "SELECT m.id, m.owner_lfdi, m.device_lfdi, m.role_flags, m.settles, "
    "r.id, r.mrid, r.description, r.version, r.uom, r.kind, r.accumulation_behaviour, "
    "r.flow_direction, r.commodity, r.data_qualifier, r.phase, r.power_of_ten, "
    "r.energy_register, r.reading_type_xml "
    "FROM mirror_usage_point m LEFT JOIN meter_reading r "
    "ON r.mirror_id = m.id AND r.superseded_at IS NULL "
    "WHERE m.id = :id AND m.deleted_at IS NULL"
)
_MIRROR_BY_MRID = Statement(
    "SELECT id, owner_lfdi, device_lfdi, role_flags, settles FROM mirror_usage_point "
    "WHERE mrid = :mrid AND deleted_at IS NULL"
)
_MIRROR_FIELDS = (
    "device_lfdi", "role_flags", "service_category_kind", "status", "description", "version",
    "settles", "updated_at",
)  # fmt: skip
_MIRROR_COLUMNS = ("mrid", "owner_lfdi", *_MIRROR_FIELDS, "created_at")
# Built from the constant column names only; values always travel as parameters.
_INSERT_MIRROR = Statement(
    f"INSERT INTO mirror_usage_point ({', '.join(_MIRROR_COLUMNS)}) "  # noqa: S608
    f"VALUES ({', '.join(':' + c for c in _MIRROR_COLUMNS)}) RETURNING id"
)
_UPDATE_MIRROR = Statement(
    "UPDATE mirror_usage_point SET "  # noqa: S608
    + ", ".join(f"{c} = :{c}" for c in _MIRROR_FIELDS)
    + " WHERE id = :id"
)
_SET_SETTLES = Statement(
    "UPDATE mirror_usage_point SET settles = :settles, updated_at = :now WHERE id = :id"
)
_DELETE_MIRROR = Statement(
    "UPDATE mirror_usage_point SET deleted_at = :now, settles = :settles WHERE id = :id"
)
_SUPERSEDE_ALL = Statement(
    "UPDATE meter_reading SET superseded_at = :now "
    "WHERE mirror_id = :mirror AND superseded_at IS NULL"
)
_SUPERSEDE = InList("UPDATE meter_reading SET superseded_at = :now WHERE id IN ({in_list})", "m")
_RENAME_METER_READING = Statement(
    "UPDATE meter_reading SET description = :description, version = :version WHERE id = :id"
)
_INSERT_METER_READING: dict[tuple[str, ...], Statement] = {}  # by column names

_READING_SET_COLUMNS = ("meter_reading_id", "mrid", "description", "version", "start", "duration")
_UPSERT_READING_SET = upsert("reading_set", _READING_SET_COLUMNS, ("meter_reading_id", "mrid"))
_READING_SET_IDS = InList(
    "SELECT id, mrid FROM reading_set WHERE meter_reading_id = :mr AND mrid IN ({in_list})", "s"
)
_READING_COLUMNS = (
    "meter_reading_id", "start", "tou_tier", "consumption_block", "reading_set_id",
    "mirror_id", "device_lfdi", "duration", "value", "power_of_ten", "scaled",
    "quality_flags", "local_id", "energy_register", "wh", "received_at",
)  # fmt: skip
_UPSERT_READING = upsert(
    "reading", _READING_COLUMNS, ("meter_reading_id", "start", "tou_tier", "consumption_block")
)

_OUTBOX_ROWS = InList(
    "SELECT timestamp, state, import_wh, export_wh FROM outbox "
    "WHERE lfdi = :lfdi AND timestamp IN ({in_list})",
    "t",
)
_REGISTER_VALUES = InList(
    "SELECT start, wh FROM reading WHERE meter_reading_id = :mr AND tou_tier = 0 "
    "AND consumption_block = 0 AND start IN ({in_list})",
    "s",
)


def _facts(row: Sequence[Any]) -> MirrorFacts:
    return MirrorFacts(int(row[0]), str(row[1]), str(row[2]), int(row[3]), bool(row[4]))


def mirror_with_meter_readings(
    session: Session, mirror_id: int
) -> tuple[MirrorFacts | None, list[MeterReadingFacts]]:
    """A live mirror and its current meter readings, in one query."""
    rows = run(session, _MIRROR, {"id": mirror_id})
    if not rows:
        return None, []
    meter_readings = [MeterReadingFacts(*row[5:]) for row in rows if row[5] is not None]
    return _facts(rows[0]), meter_readings


def live_mirror_by_mrid(session: Session, mrid: str) -> MirrorFacts | None:
    """The live mirror with this mRID, or None."""
    rows = run(session, _MIRROR_BY_MRID, {"mrid": mrid})
    return _facts(rows[0]) if rows else None


def outbox_rows(
    session: Session, lfdi: str, timestamps: Sequence[int]
) -> list[tuple[int, str, int, int]]:
    """The outbox rows of ``lfdi`` at ``timestamps``: (timestamp, state, import, export)."""
    if not timestamps:
        return []
    statement, names = _OUTBOX_ROWS.get(len(timestamps))
    params: dict[str, Any] = dict(zip(names, timestamps, strict=True))
    params["lfdi"] = lfdi
    return [(int(t), str(s), int(i), int(e)) for t, s, i, e in run(session, statement, params)]


def register_values(
    session: Session, meter_reading_id: int, starts: Sequence[int]
) -> dict[int, int | None]:
    """The whole-Wh values of a register's readings at ``starts`` (those that exist)."""
    if not starts:
        return {}
    statement, names = _REGISTER_VALUES.get(len(starts))
    params: dict[str, Any] = dict(zip(names, starts, strict=True))
    params["mr"] = meter_reading_id
    return {int(start): wh for start, wh in run(session, statement, params)}


# --- writes ---------------------------------------------------------------------------------


def insert_mirror(session: Session, fields: Mapping[str, Any]) -> int:
    """Create a mirror from ``fields`` (the columns of mirror_usage_point but its id and
    deleted_at); its id."""
    rows = run(session, _INSERT_MIRROR, {c: fields[c] for c in _MIRROR_COLUMNS})
    return int(rows[0][0])


def update_mirror(session: Session, mirror_id: int, fields: Mapping[str, Any]) -> None:
    """Overwrite a mirror's fields (those :func:`insert_mirror` takes but mRID, owner and
    creation time)."""
    params = {c: fields[c] for c in _MIRROR_FIELDS}
    params["id"] = mirror_id
    run(session, _UPDATE_MIRROR, params)


def set_settles(session: Session, mirror_id: int, settles: bool, now: float) -> None:
    """Record whether a mirror's registers settle on chain."""
    run(session, _SET_SETTLES, {"settles": settles, "now": now, "id": mirror_id})


def delete_mirror(session: Session, mirror_id: int, now: float) -> None:
    """Delete a mirror: it leaves the lists and frees its mRIDs; its rows and readings stay
    (some may be on chain already)."""
    run(session, _DELETE_MIRROR, {"now": now, "settles": False, "id": mirror_id})
    run(session, _SUPERSEDE_ALL, {"now": now, "mirror": mirror_id})


def supersede_meter_readings(session: Session, ids: Sequence[int], now: float) -> None:
    """Mark meter readings superseded (a newer ReadingType, or gone from the mirror)."""
    if not ids:
        return
    statement, names = _SUPERSEDE.get(len(ids))
    params: dict[str, Any] = dict(zip(names, ids, strict=True))
    params["now"] = now
    run(session, statement, params)


def rename_meter_reading(
    session: Session, meter_reading_id: int, description: str | None, version: int | None
) -> None:
    """Give a meter reading its MirrorMeterReading's new description and version."""
    params = {"description": description, "version": version, "id": meter_reading_id}
    run(session, _RENAME_METER_READING, params)


def insert_meter_reading(session: Session, values: Mapping[str, Any]) -> int:
    """Add a meter reading (``values``: its columns but the id); its id."""
    columns = tuple(values)
    statement = _INSERT_METER_READING.get(columns)
    if statement is None:
        # Built from the callers' column names only; values always travel as parameters.
        statement = _INSERT_METER_READING[columns] = Statement(
            f"INSERT INTO meter_reading ({', '.join(columns)}) "  # noqa: S608
            f"VALUES ({', '.join(':' + c for c in columns)}) RETURNING id"
        )
    return int(run(session, statement, values)[0][0])


def upsert_reading_sets(
    session: Session, rows: Sequence[Mapping[str, Any]]
) -> dict[tuple[int, str], int]:
    """Insert or update reading sets; their ids by (meter_reading_id, mRID)."""
    run_many(session, _UPSERT_READING_SET, [{c: r[c] for c in _READING_SET_COLUMNS} for r in rows])
    wanted: dict[int, list[str]] = {}
    for row in rows:
        wanted.setdefault(row["meter_reading_id"], []).append(row["mrid"])
    found: dict[tuple[int, str], int] = {}
    for mr_id, mrids in wanted.items():
        statement, names = _READING_SET_IDS.get(len(mrids))
        params: dict[str, Any] = dict(zip(names, mrids, strict=True))
        params["mr"] = mr_id
        for row_id, mrid in run(session, statement, params):
            found[(mr_id, mrid)] = int(row_id)
    return found


def upsert_readings(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert readings, overwriting any with the same (meter reading, time, tier, block)."""
    if rows:
        dialect = dialect_of(session)
        run_many(session, _UPSERT_READING, [_bindable(row, dialect) for row in rows])


def _bindable(row: Mapping[str, Any], dialect: str) -> dict[str, Any]:
    # reading.scaled is models.ExactDecimal: its canonical text on SQLite, NUMERIC elsewhere.
    values = {c: row.get(c) for c in _READING_COLUMNS}
    scaled = values["scaled"]
    if scaled is not None and dialect == "sqlite":
        values["scaled"] = format(Decimal(scaled), "f")
    return values


# --- signed REST readings (gateway.api.intake): the same hot path, per reading -------------


@dataclass(frozen=True, slots=True)
class RestMeterFacts:
    """What a REST reading of a meter needs to know before it is stored."""

    sfdi: int
    replay_of: int | None  # time of the stored reading with the same signature, if any
    latest_pair: tuple[int, int, int] | None  # (time, import Wh, export Wh) in the outbox
    latest_signed: tuple[int, int, int] | None  # (time, import mWh, export mWh)
    mirror_id: int | None  # the live REST mirror
    mirror_settles: bool


_DEVICE = Statement("SELECT sfdi FROM end_device WHERE lfdi = :lfdi")
_DEVICE_LOCKED = Statement(_DEVICE.sqlite + " FOR UPDATE")
_SIGNATURE = Statement("SELECT timestamp FROM signed_reading WHERE signature = :sig")
_LATEST_PAIR = Statement(
    "SELECT timestamp, import_wh, export_wh FROM outbox WHERE lfdi = :lfdi "
    "ORDER BY timestamp DESC LIMIT 1"
)
_LATEST_SIGNED = Statement(
    "SELECT timestamp, import_mwh, export_mwh FROM signed_reading WHERE lfdi = :lfdi "
    "ORDER BY timestamp DESC LIMIT 1"
)
_LIVE_MIRROR = Statement(
    "SELECT id, settles FROM mirror_usage_point WHERE mrid = :mrid AND deleted_at IS NULL"
)
_SIGNED_COLUMNS = (
    "lfdi", "timestamp", "energy_generated_kwh", "energy_consumed_kwh", "solar_irradiance",
    "temperature", "metadata_json", "import_mwh", "export_mwh", "key_id", "signature",
    "received_at",
)  # fmt: skip
_DECIMAL_COLUMNS = (
    "energy_generated_kwh",
    "energy_consumed_kwh",
    "solar_irradiance",
    "temperature",
)
# Built from the constant column names only; values always travel as parameters.
_INSERT_SIGNED = Statement(
    f"INSERT INTO signed_reading ({', '.join(_SIGNED_COLUMNS)}) "  # noqa: S608
    f"VALUES ({', '.join(':' + c for c in _SIGNED_COLUMNS)})"
)
_PAIR_ID = Statement("SELECT id FROM outbox WHERE lfdi = :lfdi AND timestamp = :t")


def _first(rows: list[Any]) -> Any:
    return rows[0] if rows else None


def _triple(row: Any) -> tuple[int, int, int] | None:
    return None if row is None else (int(row[0]), int(row[1]), int(row[2]))


def rest_meter(
    session: Session, lfdi: str, signature: str, mirror_mrid: str
) -> RestMeterFacts | None:
    """The facts of a registered meter for a REST reading, or None if it is not registered.

    On PostgreSQL the device row stays locked (FOR UPDATE) until the transaction ends, so
    two gateway processes adding to one meter's registers take turns; SQLite's single
    writer needs no lock.
    """
    locked = _DEVICE_LOCKED if dialect_of(session) == "postgresql" else _DEVICE
    device = _first(run(session, locked, {"lfdi": lfdi}))
    if device is None:
        return None
    replay = _first(run(session, _SIGNATURE, {"sig": signature}))
    pair = _triple(_first(run(session, _LATEST_PAIR, {"lfdi": lfdi})))
    signed = (
        _triple(_first(run(session, _LATEST_SIGNED, {"lfdi": lfdi}))) if pair is not None else None
    )
    mirror = _first(run(session, _LIVE_MIRROR, {"mrid": mirror_mrid}))
    return RestMeterFacts(
        sfdi=int(device[0]),
        replay_of=None if replay is None else int(replay[0]),
        latest_pair=pair,
        latest_signed=signed,
        mirror_id=None if mirror is None else int(mirror[0]),
        mirror_settles=False if mirror is None else bool(mirror[1]),
    )


def add_signed(session: Session, row: Mapping[str, Any]) -> int:
    """Store an accepted REST reading; the id of its register pair in the outbox."""
    dialect = dialect_of(session)
    values = {c: row.get(c) for c in _SIGNED_COLUMNS}
    for column in _DECIMAL_COLUMNS:  # models.ExactDecimal: canonical text on SQLite
        value = values[column]
        if value is not None and dialect == "sqlite":
            values[column] = format(Decimal(value), "f")
    run(session, _INSERT_SIGNED, values)
    return int(run(session, _PAIR_ID, {"lfdi": row["lfdi"], "t": row["timestamp"]})[0][0])


# --- the DER function sets ------------------------------------------------------------------

_PUT_DER = upsert(
    "der_resource", ("end_device_id", "der_id", "part", "xml", "updated_at"),
    ("end_device_id", "der_id", "part"),
)  # fmt: skip
_DER_PART = Statement(
    "SELECT xml FROM der_resource WHERE end_device_id = :e AND der_id = :d AND part = :part"
)
_DELETE_DERS = Statement("DELETE FROM der_resource WHERE end_device_id = :e")


def put_der_resource(
    session: Session, device_id: int, der_id: int, part: str, xml: str, now: float
) -> None:
    """Keep (create or replace) the ``part`` (dercap, derg, ders, dera) a device PUT for
    its DER ``der_id``."""
    run(
        session,
        _PUT_DER,
        {"end_device_id": device_id, "der_id": der_id, "part": part, "xml": xml, "updated_at": now},
    )


def der_resource(session: Session, device_id: int, der_id: int, part: str) -> str | None:
    """The document last PUT as ``part`` of the device's DER ``der_id``, or None."""
    row = _first(run(session, _DER_PART, {"e": device_id, "d": der_id, "part": part}))
    return None if row is None else str(row[0])


def delete_der_resources(session: Session, device_id: int) -> None:
    """Forget every DER resource of a device (it is being unregistered)."""
    run(session, _DELETE_DERS, {"e": device_id})
