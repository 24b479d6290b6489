"""The statements of the ingest hot path, run on the DBAPI connection of the session.

Every readings POST reads its mirror and meter readings, looks up the outbox rows of its
register pairs and upserts its readings. Through SQLAlchemy each statement costs about
60 µs of Python before SQLite spends 5 µs on it; on the driver's own connection (inside
the same transaction: ``session.connection().connection.driver_connection``) the whole
request's SQL costs less than one of those. So these few statements are written in SQL,
once for both databases (``:name`` parameters, rewritten to ``%(name)s`` for psycopg),
and everything else stays in SQLAlchemy.

A write here also counts itself in the connection's ``info["writes"]``, as SQLAlchemy's
statements do through the group committer's event hook, so that a job refusing after a
write is still rolled back (gateway.groupcommit).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from gateway.crud.mirrors import MirrorFacts
from oracle.outbox import ENQUEUE_SQL

_PARAM = re.compile(r":(\w+)")


class _Sql:
    """One statement in both parameter styles."""

    def __init__(self, sql: str) -> None:
        self.sqlite = sql
        self.postgresql = _PARAM.sub(r"%(\1)s", sql)

    def text(self, dialect: str) -> str:
        return self.postgresql if dialect == "postgresql" else self.sqlite


_IN_LISTS_KEPT = 64


class _InList:
    """A statement with an ``IN`` list of ``n`` parameters (``prefix`` 0 to n-1), built once
    per n."""

    def __init__(self, template: str, prefix: str) -> None:
        self._template = template  # with {in_list} where the parameters go
        self._prefix = prefix
        self._built: dict[int, tuple[_Sql, tuple[str, ...]]] = {}

    def get(self, n: int) -> tuple[_Sql, tuple[str, ...]]:
        """The statement for ``n`` values and the names of their parameters."""
        built = self._built.get(n)
        if built is None:
            names = tuple(f"{self._prefix}{i}" for i in range(n))
            built = (_Sql(self._template.format(in_list=", ".join(":" + x for x in names))), names)
            if n <= _IN_LISTS_KEPT:  # the usual few lengths; a rare long list is built anew
                self._built[n] = built
        return built


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


_MIRROR = _Sql(
    "SELECT m.id, m.owner_lfdi, m.device_lfdi, m.role_flags, m.settles, "
    "r.id, r.mrid, r.description, r.version, r.uom, r.kind, r.accumulation_behaviour, "
    "r.flow_direction, r.commodity, r.data_qualifier, r.phase, r.power_of_ten, "
    "r.energy_register, r.reading_type_xml "
    "FROM mirror_usage_point m LEFT JOIN meter_reading r "
    "ON r.mirror_id = m.id AND r.superseded_at IS NULL "
    "WHERE m.id = :id AND m.deleted_at IS NULL"
)

_READING_COLUMNS = (
    "meter_reading_id", "start", "tou_tier", "consumption_block", "reading_set_id",
    "mirror_id", "device_lfdi", "duration", "value", "power_of_ten", "scaled",
    "quality_flags", "local_id", "energy_register", "wh", "received_at",
)  # fmt: skip
_READING_KEY = ("meter_reading_id", "start", "tou_tier", "consumption_block")
# Built from the constant column names only; values always travel as parameters.
_UPSERT_READING = _Sql(
    f"INSERT INTO reading ({', '.join(_READING_COLUMNS)}) "  # noqa: S608
    f"VALUES ({', '.join(':' + c for c in _READING_COLUMNS)}) "
    f"ON CONFLICT ({', '.join(_READING_KEY)}) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _READING_COLUMNS if c not in _READING_KEY)
)


_OUTBOX_ROWS = _InList(
    "SELECT timestamp, state, import_wh, export_wh FROM outbox "
    "WHERE lfdi = :lfdi AND timestamp IN ({in_list})",
    "t",
)
_REGISTER_VALUES = _InList(
    "SELECT start, wh FROM reading WHERE meter_reading_id = :mr AND tou_tier = 0 "
    "AND consumption_block = 0 AND start IN ({in_list})",
    "s",
)
_ENQUEUE = _Sql(ENQUEUE_SQL)


_DRIVER = "gridmirror.direct.driver"  # Session.info key: (transaction, driver, dialect, info)


def _driver(session: Session) -> tuple[Any, str, dict[str, Any]]:
    """The DBAPI connection of the session's transaction, its dialect and its info."""
    # Remembered for the transaction: Session.connection() costs more than most of the
    # statements it serves, and a readings POST asks four times.
    transaction = session.get_transaction()
    cached = session.info.get(_DRIVER)
    if cached is not None and transaction is not None and cached[0] is transaction:
        return cached[1], cached[2], cached[3]
    connection = session.connection()
    found = connection.connection.driver_connection, connection.dialect.name, connection.info
    session.info[_DRIVER] = (session.get_transaction(), *found)
    return found


def mirror_with_meter_readings(
    session: Session, mirror_id: int
) -> tuple[MirrorFacts | None, list[MeterReadingFacts]]:
    """A live mirror and its current meter readings, in one query."""
    driver, dialect, _ = _driver(session)
    rows = driver.execute(_MIRROR.text(dialect), {"id": mirror_id}).fetchall()
    if not rows:
        return None, []
    first = rows[0]
    facts = MirrorFacts(first[0], first[1], first[2], first[3], bool(first[4]))
    meter_readings = [MeterReadingFacts(*row[5:]) for row in rows if row[5] is not None]
    return facts, meter_readings


def outbox_rows(
    session: Session, lfdi: str, timestamps: Sequence[int]
) -> list[tuple[int, str, int, int]]:
    """The outbox rows of ``lfdi`` at ``timestamps``: (timestamp, state, import, export)."""
    if not timestamps:
        return []
    driver, dialect, _ = _driver(session)
    sql, names = _OUTBOX_ROWS.get(len(timestamps))
    params: dict[str, Any] = dict(zip(names, timestamps, strict=True))
    params["lfdi"] = lfdi
    return [
        (int(t), str(s), int(i), int(e)) for t, s, i, e in driver.execute(sql.text(dialect), params)
    ]


def register_values(
    session: Session, meter_reading_id: int, starts: Sequence[int]
) -> dict[int, int | None]:
    """The whole-Wh values of a register's readings at ``starts`` (those that exist)."""
    if not starts:
        return {}
    driver, dialect, _ = _driver(session)
    sql, names = _REGISTER_VALUES.get(len(starts))
    params: dict[str, Any] = dict(zip(names, starts, strict=True))
    params["mr"] = meter_reading_id
    return {int(start): wh for start, wh in driver.execute(sql.text(dialect), params)}


def upsert_readings(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert readings, overwriting any with the same (meter reading, time, tier, block)."""
    if not rows:
        return
    driver, dialect, info = _driver(session)
    values = [_bindable(row, dialect) for row in rows]
    info["writes"] = info.get("writes", 0) + 1
    cursor = driver.cursor()
    try:
        cursor.executemany(_UPSERT_READING.text(dialect), values)
    finally:
        cursor.close()


def enqueue_pairs(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Put register pairs in the outbox: oracle.outbox.enqueue's upsert for each row of
    ``oracle.outbox.pending_row``, on the DBAPI connection."""
    if not rows:
        return
    driver, dialect, info = _driver(session)
    info["writes"] = info.get("writes", 0) + 1
    cursor = driver.cursor()
    try:
        cursor.executemany(_ENQUEUE.text(dialect), rows)
    finally:
        cursor.close()


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


_DEVICE = _Sql("SELECT sfdi FROM end_device WHERE lfdi = :lfdi")
_SIGNATURE = _Sql("SELECT timestamp FROM signed_reading WHERE signature = :sig")
_LATEST_PAIR = _Sql(
    "SELECT timestamp, import_wh, export_wh FROM outbox WHERE lfdi = :lfdi "
    "ORDER BY timestamp DESC LIMIT 1"
)
_LATEST_SIGNED = _Sql(
    "SELECT timestamp, import_mwh, export_mwh FROM signed_reading WHERE lfdi = :lfdi "
    "ORDER BY timestamp DESC LIMIT 1"
)
_LIVE_MIRROR = _Sql(
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
_INSERT_SIGNED = _Sql(
    f"INSERT INTO signed_reading ({', '.join(_SIGNED_COLUMNS)}) "  # noqa: S608
    f"VALUES ({', '.join(':' + c for c in _SIGNED_COLUMNS)})"
)
_PAIR_ID = _Sql("SELECT id FROM outbox WHERE lfdi = :lfdi AND timestamp = :t")


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
    driver, dialect, _ = _driver(session)
    device_sql = _DEVICE.text(dialect) + (" FOR UPDATE" if dialect == "postgresql" else "")
    device = driver.execute(device_sql, {"lfdi": lfdi}).fetchone()
    if device is None:
        return None
    replay = driver.execute(_SIGNATURE.text(dialect), {"sig": signature}).fetchone()
    pair = _triple(driver.execute(_LATEST_PAIR.text(dialect), {"lfdi": lfdi}).fetchone())
    signed = (
        _triple(driver.execute(_LATEST_SIGNED.text(dialect), {"lfdi": lfdi}).fetchone())
        if pair is not None
        else None
    )
    mirror = driver.execute(_LIVE_MIRROR.text(dialect), {"mrid": mirror_mrid}).fetchone()
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
    driver, dialect, info = _driver(session)
    values = {c: row.get(c) for c in _SIGNED_COLUMNS}
    for column in _DECIMAL_COLUMNS:  # models.ExactDecimal: canonical text on SQLite
        value = values[column]
        if value is not None and dialect == "sqlite":
            values[column] = format(Decimal(value), "f")
    info["writes"] = info.get("writes", 0) + 1
    driver.execute(_INSERT_SIGNED.text(dialect), values)
    found = driver.execute(
        _PAIR_ID.text(dialect), {"lfdi": row["lfdi"], "t": row["timestamp"]}
    ).fetchone()
    return int(found[0])
