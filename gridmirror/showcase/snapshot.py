"""One moment of the demo as plain data: a pure function of what the parts report.

The meters report into :class:`devices.stats.FleetStats` (phases, last samples, Readings
the gateway accepted); the database into :class:`gridmirror.showcase.ledger.Ledger`
(register pairs stored, confirmed, dead; minted Wh; epochs cleared). :func:`take` joins
them per meter and derives rates against an earlier moment, so that the view only
draws, and tests can check the arithmetic without running anything.

Units: the meters count 2030.5 *Readings* (a sample of a meter posts six: two registers
and four telemetry values); the chain counts *register pairs* (one per sample, the import
and export registers at one instant). The view names both as such.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from devices.spec import MeterSpec
from devices.stats import FleetStats, MeterPhase
from gridmirror.showcase.ledger import Ledger


@dataclass(frozen=True)
class Counters:
    """Cumulative counts at one real instant, the baseline of rates."""

    at: float
    readings: int
    confirmed: int


@dataclass(frozen=True)
class ReplayClock:
    """Where the meters' simulated time is."""

    sim_time: float
    """Simulated time now (Unix seconds)."""
    fraction: float
    """Share of the replay window done (1.0 once live, or with no replay)."""
    utc_offset_hours: float = 0.0
    """The campus' offset from UTC, to tell the time of day the PV curve follows."""

    @property
    def live(self) -> bool:
        """True once simulated time is real time."""
        return self.fraction >= 1.0


@dataclass(frozen=True)
class Links:
    """Where to look while the demo runs."""

    sep2_url: str
    """The 2030.5 server's base URL (mutual TLS: meters only)."""
    api_url: str | None = None
    """The REST API listener's base URL, if the gateway has one."""
    dnssd_name: str | None = None
    """The DNS-SD instance the gateway advertises, if any."""


@dataclass(frozen=True)
class MeterRow:
    """One meter's line in the view."""

    serial: str
    building: str
    role: str
    phase: str
    power_w: int | None
    """Average net power over its last sample (positive: importing)."""
    pv_w: int | None
    """Average PV output over its last sample (None: no PV)."""
    battery_w: int | None
    """Average battery power over its last sample, + charging (None: no battery)."""
    soc_pct: float | None
    """Battery state of charge at its last sample, % (None: no battery)."""
    import_wh: int | None
    export_wh: int | None
    confirmed: int
    """Its register pairs confirmed on chain."""
    minted_wh: int


@dataclass(frozen=True)
class Snapshot:
    """The demo at one moment."""

    at: float
    elapsed_s: float
    clock: ReplayClock
    links: Links
    meters: tuple[MeterRow, ...]
    meters_online: int
    readings: int
    """2030.5 Readings the gateway accepted (as the meters counted them)."""
    readings_per_s: float
    accepted: int
    """Register pairs the gateway stored for the chain."""
    confirmed: int
    confirmed_per_s: float
    open: int
    """Register pairs pending or in flight."""
    dead: int
    epochs_cleared: int
    minted_wh: int
    bridge_error: str | None

    @property
    def counters(self) -> Counters:
        """This moment's counts, a baseline for a later snapshot's rates."""
        return Counters(self.at, self.readings, self.confirmed)


def _rate(now: int, before: int, seconds: float) -> float:
    return max(0.0, (now - before) / seconds) if seconds > 0 else 0.0


def take(
    *,
    at: float,
    started_at: float,
    specs: Sequence[MeterSpec],
    lfdis: Mapping[str, str],
    fleet: FleetStats,
    ledger: Ledger,
    clock: ReplayClock,
    links: Links,
    baseline: Counters | None = None,
    bridge_error: str | None = None,
) -> Snapshot:
    """The demo at real time ``at``: one row per meter of ``specs`` (in their order).

    ``lfdis`` maps each serial to its LFDI (the ledger is keyed by LFDI); ``baseline`` is
    an earlier moment's counters, for the rates (none: rates are 0).
    """
    rows = []
    for spec in specs:
        status = fleet.meters.get(spec.serial)
        sample = status.last_sample if status is not None else None
        telemetry = sample.telemetry if sample is not None else None
        lfdi = lfdis.get(spec.serial, "")
        rows.append(
            MeterRow(
                serial=spec.serial,
                building=spec.building,
                role=spec.role,
                phase=status.phase.value if status is not None else MeterPhase.STARTING.value,
                power_w=telemetry.power_w if telemetry is not None else None,
                pv_w=telemetry.pv_w if telemetry is not None and spec.pv_kwp > 0 else None,
                battery_w=(telemetry.battery_w if telemetry is not None and spec.battery else None),
                soc_pct=(
                    telemetry.soc_permille / 10
                    if telemetry is not None and telemetry.soc_permille is not None
                    else None
                ),
                import_wh=sample.import_wh if sample is not None else None,
                export_wh=sample.export_wh if sample is not None else None,
                confirmed=ledger.confirmed_by_meter.get(lfdi, 0),
                minted_wh=ledger.minted_wh_by_meter.get(lfdi, 0),
            )
        )
    online = sum(1 for row in rows if row.phase == MeterPhase.ONLINE.value)
    seconds = at - baseline.at if baseline is not None else 0.0
    return Snapshot(
        at=at,
        elapsed_s=max(0.0, at - started_at),
        clock=clock,
        links=links,
        meters=tuple(rows),
        meters_online=online,
        readings=fleet.readings_published,
        readings_per_s=(
            _rate(fleet.readings_published, baseline.readings, seconds) if baseline else 0.0
        ),
        accepted=ledger.accepted,
        confirmed=ledger.confirmed,
        confirmed_per_s=_rate(ledger.confirmed, baseline.confirmed, seconds) if baseline else 0.0,
        open=ledger.open,
        dead=ledger.dead,
        epochs_cleared=ledger.epochs_cleared,
        minted_wh=ledger.minted_wh,
        bridge_error=bridge_error,
    )
