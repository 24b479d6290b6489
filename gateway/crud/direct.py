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

_PARAM = re.compile(r":(\w+)")


class _Sql:
    """One statement in both parameter styles."""

    def __init__(self, sql: str) -> None:
        self.sqlite = sql
        self.postgresql = _PARAM.sub(r"%(\1)s", sql)

    def text(self, dialect: str) -> str:
        return self.postgresql if dialect == "postgresql" else self.sqlite


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


def _driver(session: Session) -> tuple[Any, str, dict[str, Any]]:
    """The DBAPI connection of the session's transaction, its dialect and its info."""
    connection = session.connection()
    return connection.connection.driver_connection, connection.dialect.name, connection.info


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
    names = [f"t{i}" for i in range(len(timestamps))]
    sql = _Sql(
        "SELECT timestamp, state, import_wh, export_wh FROM outbox "  # noqa: S608
        f"WHERE lfdi = :lfdi AND timestamp IN ({', '.join(':' + n for n in names)})"
    )
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
    names = [f"s{i}" for i in range(len(starts))]
    sql = _Sql(
        "SELECT start, wh FROM reading WHERE meter_reading_id = :mr AND tou_tier = 0 "  # noqa: S608
        f"AND consumption_block = 0 AND start IN ({', '.join(':' + n for n in names)})"
    )
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


def _bindable(row: Mapping[str, Any], dialect: str) -> dict[str, Any]:
    # reading.scaled is models.ExactDecimal: its canonical text on SQLite, NUMERIC elsewhere.
    values = {c: row.get(c) for c in _READING_COLUMNS}
    scaled = values["scaled"]
    if scaled is not None and dialect == "sqlite":
        values["scaled"] = format(Decimal(scaled), "f")
    return values
