"""The dashboard's history query (gateway.dashboard.history) at fleet scale.

A gateway database is filled with a day of readings of ``meters`` meters, as the
emulated meters post them (per sample: the import and export registers and the net
power on the site mirror; PV and battery power on a DER mirror for every third meter),
then :func:`gateway.dashboard.history.fleet_history` is timed over that day. The rows
go in by bulk insert, not through the 2030.5 server: what is measured is the query.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Engine, insert

from gateway.dashboard.history import EPOCH_SECONDS, Window, fleet_history
from gateway.models import MeterReadingRow, MirrorRow, ReadingRow, table_of
from sep2 import RoleFlags

SITE = int(RoleFlags.IS_MIRROR | RoleFlags.IS_PREMISES_AGGREGATION_POINT)
DER = int(RoleFlags.IS_MIRROR | RoleFlags.IS_DER)
_BATCH = 20_000


@dataclass(frozen=True)
class Seeded:
    """What was written: enough to compute the expected history independently."""

    meters: int
    samples: int
    rows: int
    start: int
    """Unix time of the first sample."""
    step_s: int
    readings: list[tuple[str, str, int, int]]
    """(lfdi, register, start, wh) of every register reading (kept only when asked)."""
    der: list[tuple[int, int, int, int]]
    """(mirror id, flowDirection, start, W) of every DER power reading (when kept)."""


def _meter_reading(
    mid: int, mirror: int, uom: int, kind: int, flow: int | None
) -> dict[str, object]:
    return {
        "id": mid, "mirror_id": mirror, "mrid": f"{mid:032X}", "uom": uom, "kind": kind,
        "flow_direction": flow, "power_of_ten": 0, "reading_type_xml": "<ReadingType/>",
        "energy_register": {1: "import", 19: "export"}.get(flow or 0) if uom == 72 else None,
        "created_at": 0.0,
    }  # fmt: skip


def seed(
    engine: Engine,
    meters: int,
    *,
    start: int,
    hours: float = 24.0,
    step_s: int = 300,
    seed_value: int = 1,
    keep: bool = False,
) -> Seeded:
    """Write ``hours`` of readings every ``step_s`` of ``meters`` meters from ``start``."""
    rng = random.Random(seed_value)
    mirrors, meter_readings = [], []
    kinds: list[tuple[int, str, int, int]] = []  # (meter reading id, what, mirror, meter)
    mr_id = 0
    for i in range(meters):
        lfdi = f"{i:040X}"
        mirrors.append({
            "id": 2 * i + 1, "mrid": f"{2 * i + 1:032X}", "owner_lfdi": lfdi,
            "device_lfdi": lfdi, "role_flags": SITE, "service_category_kind": 0, "status": 1,
            "description": f"M{i}", "settles": True, "created_at": 0.0, "updated_at": 0.0,
        })  # fmt: skip
        for what, uom, kind, flow in (
            ("import", 72, 12, 1),
            ("export", 72, 12, 19),
            ("net", 38, 37, 1),
        ):
            mr_id += 1
            meter_readings.append(_meter_reading(mr_id, 2 * i + 1, uom, kind, flow))
            kinds.append((mr_id, what, 2 * i + 1, i))
        if i % 3 == 0:
            mirrors.append({**mirrors[-1], "id": 2 * i + 2, "mrid": f"{2 * i + 2:032X}",
                            "role_flags": DER, "settles": False})  # fmt: skip
            for what, flow in (("pv", 19), ("battery", 1)):
                mr_id += 1
                meter_readings.append(_meter_reading(mr_id, 2 * i + 2, 38, 37, flow))
                kinds.append((mr_id, what, 2 * i + 2, i))
    samples = int(hours * 3600) // step_s
    registers = {(i, w): rng.randrange(10**6) for i in range(meters) for w in ("import", "export")}
    kept_r: list[tuple[str, str, int, int]] = []
    kept_d: list[tuple[int, int, int, int]] = []

    def rows() -> Iterator[dict[str, object]]:
        rid = 0
        for k in range(samples):
            t = start + k * step_s
            for mid, what, mirror, i in kinds:
                rid += 1
                lfdi = f"{i:040X}"
                row: dict[str, object] = {
                    "id": rid, "meter_reading_id": mid, "mirror_id": mirror,
                    "device_lfdi": lfdi, "start": t, "duration": step_s, "power_of_ten": 0,
                    "tou_tier": 0, "consumption_block": 0, "received_at": float(t),
                    "energy_register": None, "wh": None,
                }  # fmt: skip
                if what in ("import", "export"):
                    registers[i, what] += rng.randrange(0, 400)
                    wh = registers[i, what]
                    row.update(value=wh, scaled=Decimal(wh), energy_register=what, wh=wh)
                    if keep:
                        kept_r.append((lfdi, what, t, wh))
                else:
                    w = (
                        rng.randrange(0, 50_000)
                        if what != "battery"
                        else rng.randrange(-20_000, 20_000)
                    )
                    row.update(value=w, scaled=Decimal(w))
                    if keep and what != "net":
                        kept_d.append((mirror, 19 if what == "pv" else 1, t, w))
                yield row

    with engine.begin() as conn:
        conn.execute(insert(table_of(MirrorRow)), mirrors)
        conn.execute(insert(table_of(MeterReadingRow)), meter_readings)
    total = 0
    batch: list[dict[str, object]] = []
    table = table_of(ReadingRow)
    for row in rows():
        batch.append(row)
        if len(batch) >= _BATCH:
            with engine.begin() as conn:
                conn.execute(insert(table), batch)
            total += len(batch)
            batch = []
    if batch:
        with engine.begin() as conn:
            conn.execute(insert(table), batch)
        total += len(batch)
    return Seeded(meters, samples, total, start, step_s, kept_r, kept_d)


@dataclass(frozen=True)
class Timing:
    dialect: str
    meters: int
    rows: int
    epochs: int
    seconds: list[float]


def time_history(engine: Engine, seeded: Seeded, repeats: int = 3) -> Timing:
    """Run the day's history query ``repeats`` times; wall time of each."""
    from sqlmodel import Session

    window = Window(
        seeded.start // EPOCH_SECONDS,
        (seeded.start + seeded.samples * seeded.step_s) // EPOCH_SECONDS,
    )
    seconds, epochs = [], 0
    for _ in range(repeats):
        with Session(engine) as session:
            t0 = time.perf_counter()
            epochs = len(fleet_history(session, window))
            seconds.append(time.perf_counter() - t0)
    return Timing(engine.dialect.name, seeded.meters, seeded.rows, epochs, seconds)


def report(t: Timing) -> str:
    """One line of figures."""
    return (
        f"history {t.dialect}: {t.meters:,} meters, {t.rows:,} readings, {t.epochs} epochs: "
        f"median {statistics.median(t.seconds) * 1000:,.0f} ms, best "
        f"{min(t.seconds) * 1000:,.0f} ms over {len(t.seconds)} runs"
    )
