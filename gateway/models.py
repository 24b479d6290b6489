"""The gateway's tables: devices, their mirrors, the mirrored meter readings and readings.

One row per thing the 2030.5 client created, keyed the way the protocol keys it:

- ``end_device``: a registered device, by LFDI (its certificate), with its Registration
  PIN, the DeviceInformation it PUT (kept as the XML we validated) and the postRate an
  operator gave it (``post_rate``; the server's when NULL), which its EndDevice and its
  mirrors show (gateway.postrate), and the codec profile of the schema it speaks
  (``codec_profile``, learnt from the namespace of its bodies; 2018 when NULL;
  gateway.profiles).
- ``mirror_usage_point``: a MirrorUsagePoint, by mRID among the live ones; ``owner_lfdi``
  is the certificate that created it, ``device_lfdi`` the device it mirrors. The
  UsagePoint at ``/upt/{id}`` is the same row. A deleted mirror keeps its row (and its
  readings, which may already be on chain) with ``deleted_at`` set.
- ``meter_reading``: a MirrorMeterReading (and its MeterReading), by mRID among the
  current ones, with the ReadingType's fields as columns and as the XML we validated. When
  a re-POST changes a ReadingType, the old row is *superseded* (kept, with its readings)
  and a new row takes the mRID: a reading always sits under the type it was measured in.
- ``reading_set``: a MirrorReadingSet (and its ReadingSet), by mRID within its meter
  reading. Readings posted directly in a MirrorMeterReading have no set.
- ``reading``: one Reading as a typed row, unique per (meter reading, time, touTier,
  consumptionBlock): a re-posted reading overwrites, never duplicates. ``value`` is the
  raw Int48, ``scaled`` the exact value times 10^powerOfTenMultiplier, ``wh`` the whole
  Wh an energy register puts in the outbox.

Uniqueness among the *live* rows is a partial unique index, which SQLite and PostgreSQL
both enforce.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Index, Numeric, String, UniqueConstraint, text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine
from sqlmodel import Field, SQLModel

_LIVE_MIRROR = text("deleted_at IS NULL")
_CURRENT = text("superseded_at IS NULL")


def table_of(model: type[SQLModel]) -> Any:
    """The Core table of a model, for typed-enough column expressions in queries."""
    return model.__table__  # type: ignore[attr-defined]


class ExactDecimal(TypeDecorator[Decimal]):
    """An exact decimal: NUMERIC on PostgreSQL, its canonical text on SQLite (whose NUMERIC
    would round through a float)."""

    impl = Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(64))
        return dialect.type_descriptor(Numeric(40, 9))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = Decimal(value)
        return format(value, "f") if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(value).normalize() if not isinstance(value, Decimal) else value.normalize()


class EndDeviceRow(SQLModel, table=True):
    """A registered device."""

    __tablename__ = "end_device"

    id: int | None = Field(default=None, primary_key=True)
    lfdi: str = Field(max_length=40, unique=True)
    sfdi: int = Field(sa_type=BigInteger)
    changed_time: int = Field(sa_type=BigInteger)
    enabled: bool | None = Field(default=None)
    device_category: int | None = Field(default=None, sa_type=BigInteger)
    registered_at: int = Field(sa_type=BigInteger, description="dateTimeRegistered")
    pin: int
    via: str = Field(max_length=16, description="in-band or out-of-band")
    device_information: str | None = Field(default=None, description="DeviceInformation XML")
    post_rate: int | None = Field(
        default=None, description="postRate set by an operator; gateway.post_rate if NULL"
    )
    codec_profile: str | None = Field(
        default=None, max_length=16, description="sep2.profiles name; 2018 if NULL"
    )


class DerResourceRow(SQLModel, table=True):
    """One of the DER function-set resources a device PUT for one of its DERs."""

    __tablename__ = "der_resource"

    end_device_id: int = Field(primary_key=True, description="end_device.id (no FK: see 0004)")
    der_id: int = Field(primary_key=True, description="The n of /edev/{e}/der/{n}")
    part: str = Field(
        primary_key=True, max_length=8, description="dercap, derg, ders or dera (the path)"
    )
    xml: str = Field(description="The document the device PUT, as we validated it, no href")
    updated_at: float


class MirrorRow(SQLModel, table=True):
    """A MirrorUsagePoint and, at the same id, its UsagePoint."""

    __tablename__ = "mirror_usage_point"
    __table_args__ = (
        Index(
            "uq_mirror_live_mrid",
            "mrid",
            unique=True,
            sqlite_where=_LIVE_MIRROR,
            postgresql_where=_LIVE_MIRROR,
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    mrid: str = Field(max_length=32)
    owner_lfdi: str = Field(max_length=40, index=True)
    device_lfdi: str = Field(max_length=40, index=True)
    role_flags: int
    service_category_kind: int
    status: int
    description: str | None = Field(default=None, max_length=32)
    version: int | None = Field(default=None)
    settles: bool = Field(description="Its energy registers go to the outbox.")
    created_at: float
    updated_at: float
    deleted_at: float | None = Field(default=None)


class MeterReadingRow(SQLModel, table=True):
    """A MirrorMeterReading and its MeterReading, with its ReadingType."""

    __tablename__ = "meter_reading"
    __table_args__ = (
        Index(
            "uq_meter_reading_current_mrid",
            "mrid",
            unique=True,
            sqlite_where=_CURRENT,
            postgresql_where=_CURRENT,
        ),
        Index("ix_meter_reading_mirror", "mirror_id", "superseded_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    mirror_id: int = Field(foreign_key="mirror_usage_point.id")
    mrid: str = Field(max_length=32)
    description: str | None = Field(default=None, max_length=32)
    version: int | None = Field(default=None)
    uom: int | None = Field(default=None)
    kind: int | None = Field(default=None)
    accumulation_behaviour: int | None = Field(default=None)
    flow_direction: int | None = Field(default=None)
    commodity: int | None = Field(default=None)
    data_qualifier: int | None = Field(default=None)
    phase: int | None = Field(default=None)
    power_of_ten: int = Field(default=0)
    energy_register: str | None = Field(default=None, max_length=8, description="import or export")
    reading_type_xml: str
    created_at: float
    superseded_at: float | None = Field(default=None)


class ReadingSetRow(SQLModel, table=True):
    """A MirrorReadingSet and its ReadingSet."""

    __tablename__ = "reading_set"
    __table_args__ = (UniqueConstraint("meter_reading_id", "mrid", name="uq_reading_set_mrid"),)

    id: int | None = Field(default=None, primary_key=True)
    meter_reading_id: int = Field(foreign_key="meter_reading.id")
    mrid: str = Field(max_length=32)
    description: str | None = Field(default=None, max_length=32)
    version: int | None = Field(default=None)
    start: int = Field(sa_type=BigInteger)
    duration: int = Field(sa_type=BigInteger)


class ReadingRow(SQLModel, table=True):
    """One Reading, typed: device, mirror, reading type, time, exact value, quality."""

    __tablename__ = "reading"
    __table_args__ = (
        UniqueConstraint(
            "meter_reading_id", "start", "tou_tier", "consumption_block", name="uq_reading_time"
        ),
        Index("ix_reading_device_time", "device_lfdi", "start"),
    )

    id: int | None = Field(default=None, primary_key=True)
    meter_reading_id: int = Field(foreign_key="meter_reading.id")
    reading_set_id: int | None = Field(default=None, foreign_key="reading_set.id")
    mirror_id: int = Field(foreign_key="mirror_usage_point.id", index=True)
    device_lfdi: str = Field(max_length=40)
    start: int = Field(sa_type=BigInteger, description="Unix seconds (UTC)")
    duration: int | None = Field(default=None, sa_type=BigInteger)
    value: int | None = Field(default=None, sa_type=BigInteger, description="raw Int48")
    power_of_ten: int = Field(default=0)
    scaled: Decimal | None = Field(default=None, sa_type=ExactDecimal)
    quality_flags: int | None = Field(default=None)
    local_id: int | None = Field(default=None)
    tou_tier: int = Field(default=0, description="0: none")
    consumption_block: int = Field(default=0, description="0: none")
    energy_register: str | None = Field(default=None, max_length=8, description="import/export")
    wh: int | None = Field(default=None, sa_type=BigInteger)
    received_at: float


# --- the REST API's tables (gateway.api) ----------------------------------------------------


class AuthorityKeyRow(SQLModel, table=True):
    """An engineering authority's Ed25519 public key, which signs REST readings."""

    __tablename__ = "authority_key"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    public_key: str = Field(max_length=44, unique=True, description="base64 of 32 raw bytes")
    created_at: float
    revoked_at: float | None = Field(default=None)


class SignedReadingRow(SQLModel, table=True):
    """A reading accepted over the REST API, as signed: what the 2030.5 tables have no
    room for (the interval's energies, weather, metadata) and the signature that
    vouches for it. Its registers are in ``reading`` and ``outbox`` like any other."""

    __tablename__ = "signed_reading"
    __table_args__ = (UniqueConstraint("lfdi", "timestamp", name="uq_signed_reading_lfdi_time"),)

    id: int | None = Field(default=None, primary_key=True)
    lfdi: str = Field(max_length=40)
    timestamp: int = Field(sa_type=BigInteger, description="Unix seconds (UTC)")
    energy_generated_kwh: Decimal = Field(sa_type=ExactDecimal)
    energy_consumed_kwh: Decimal = Field(sa_type=ExactDecimal)
    solar_irradiance: Decimal | None = Field(default=None, sa_type=ExactDecimal)
    temperature: Decimal | None = Field(default=None, sa_type=ExactDecimal)
    metadata_json: str | None = Field(default=None, description="canonical JSON")
    import_mwh: int = Field(sa_type=BigInteger, description="import register after it, mWh")
    export_mwh: int = Field(sa_type=BigInteger, description="export register after it, mWh")
    key_id: int = Field(foreign_key="authority_key.id")
    signature: str = Field(max_length=88, unique=True, description="base64 Ed25519")
    received_at: float


class MeterOwnerRow(SQLModel, table=True):
    """The wallet an operator chose for a meter's tokens, used when it is registered on
    chain (an on-chain meter keeps the owner it was registered with)."""

    __tablename__ = "meter_owner"

    lfdi: str = Field(primary_key=True, max_length=40)
    wallet: str = Field(max_length=44)
    set_at: float
