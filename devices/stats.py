"""What the fleet has done and what each meter is doing: one small place for both.

The meters' client code reports into :class:`FleetStats` and nowhere else. Counters and
per-meter state live here for a dashboard (``FleetStats.meters``, ``snapshot()``), and
anything else (Prometheus metrics, a test's record of what was delivered) subscribes a
:class:`FleetObserver` and is called on every event, without the client code knowing.

Counts are of *Readings* (one value of one MirrorMeterReading: a sample of a meter posts
six, or two when its telemetry was shed) and of *samples* (one instant of one meter).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from devices.mirror import TELEMETRY_ROLES, Sample


class MeterPhase(Enum):
    """Where a meter is in its conversation with the gateway."""

    STARTING = "starting"
    """Not yet set up (waiting for its turn, discovering, registering, creating its mirror)."""
    ONLINE = "online"
    """Its last request succeeded."""
    RETRYING = "retrying"
    """Its last request failed for a reason that may pass; it is backing off."""
    REFUSED = "refused"
    """The gateway refused it (a 4xx it cannot fix by itself); it tries again much later."""
    STOPPED = "stopped"


class ErrorKind(Enum):
    """Why a request failed, for counting."""

    TIMEOUT = "timeout"
    CONNECTION = "connection"  # refused, reset, dropped, DNS
    TLS = "tls"  # handshake failed: certificate refused or untrusted
    SERVER = "server"  # 5xx
    CLIENT = "client"  # 4xx
    PROTOCOL = "protocol"  # an answer that is not what 2030.5 says it should be


@dataclass
class MeterStatus:
    """The live state of one meter, for a dashboard."""

    serial: str
    lfdi: str
    sfdi: int
    phase: MeterPhase = MeterPhase.STARTING
    mup_href: str | None = None
    post_rate: int | None = None
    last_sample: Sample | None = None
    load_w: float | None = None
    pv_w: float | None = None
    battery_w: float | None = None
    soc: float | None = None
    last_post: float | None = None
    """Real time of the last delivered POST of readings."""
    buffered: int = 0
    """Samples waiting to be posted."""
    failures: int = 0
    """Consecutive failed requests."""
    last_error: str | None = None
    telemetry_readings: int = len(TELEMETRY_ROLES)
    """Readings besides the two registers a full sample posts (the site mirror's under
    the meter's profile)."""

    def readings_of(self, sample: Sample) -> int:
        """How many Readings ``sample`` posts to this meter's site mirror."""
        return 2 if sample.telemetry is None else 2 + self.telemetry_readings

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        sample = self.last_sample
        telemetry = sample.telemetry if sample is not None else None
        return {
            "serial": self.serial,
            "lfdi": self.lfdi,
            "sfdi": self.sfdi,
            "phase": self.phase.value,
            "mup": self.mup_href,
            "post_rate": self.post_rate,
            "time": sample.time if sample else None,
            "import_wh": sample.import_wh if sample else None,
            "export_wh": sample.export_wh if sample else None,
            "power_w": telemetry.power_w if telemetry else None,
            "voltage_v": telemetry.voltage_dv / 10 if telemetry else None,
            "frequency_hz": telemetry.frequency_chz / 100 if telemetry else None,
            "power_factor": telemetry.power_factor_milli / 1000 if telemetry else None,
            "load_w": self.load_w,
            "pv_w": self.pv_w,
            "battery_w": self.battery_w,
            "soc": self.soc,
            "last_post": self.last_post,
            "buffered": self.buffered,
            "failures": self.failures,
            "last_error": self.last_error,
        }


class FleetObserver:
    """Subscribe one to :class:`FleetStats` to hear every event; override what you need.

    Called on the event loop of the fleet: keep the work small.
    """

    def generated(self, meter: MeterStatus, sample: Sample) -> None:
        """A meter read a sample (its readings are counted as generated)."""

    def published(self, meter: MeterStatus, samples: list[Sample], seconds: float) -> None:
        """The gateway accepted a POST carrying ``samples`` after ``seconds``."""

    def failed(self, meter: MeterStatus, kind: ErrorKind, seconds: float) -> None:
        """A request of ``meter`` failed after ``seconds``."""

    def refused(self, meter: MeterStatus, samples: list[Sample]) -> None:
        """The gateway refused ``samples`` with a 4xx; they are not sent again."""

    def phase_changed(self, meter: MeterStatus, before: MeterPhase) -> None:
        """``meter`` moved from ``before`` to ``meter.phase``."""

    def shed(self, meter: MeterStatus, telemetry: int, registers: int) -> None:
        """``meter``'s buffer dropped telemetry of ``telemetry`` samples and ``registers``
        register pairs."""


@dataclass
class FleetStats:
    """Counters of the fleet and the state of each meter."""

    meters: dict[str, MeterStatus] = field(default_factory=dict)
    readings_generated: int = 0
    readings_published: int = 0
    samples_generated: int = 0
    samples_published: int = 0
    posts: int = 0
    """POSTs of readings the gateway accepted."""
    errors: Counter[ErrorKind] = field(default_factory=Counter)
    shed_telemetry: int = 0
    shed_registers: int = 0
    refused_readings: int = 0
    """Readings the gateway refused with a 4xx and that were not retried."""
    der_readings_published: int = 0
    """Readings of DER mirrors (PV, battery) the gateway accepted (meters.der_mirror)."""
    der_reports_published: int = 0
    """DERStatus + DERAvailability pairs the server accepted (the DER function sets)."""
    connections: int = 0
    """TLS connections opened (each a handshake): about one per meter while keep-alive
    holds; more when the gateway closes idle connections or requests fail."""
    observers: list[FleetObserver] = field(default_factory=list)

    def subscribe(self, observer: FleetObserver) -> None:
        """Call ``observer`` on every event from now on."""
        self.observers.append(observer)

    def add_meter(self, status: MeterStatus) -> None:
        """Start tracking a meter."""
        self.meters[status.serial] = status

    # Events, reported by the meters.

    def generated(self, meter: MeterStatus, sample: Sample) -> None:
        """A meter read a sample."""
        self.samples_generated += 1
        self.readings_generated += meter.readings_of(sample)
        meter.last_sample = sample
        for observer in self.observers:
            observer.generated(meter, sample)

    def published(self, meter: MeterStatus, samples: list[Sample], seconds: float) -> None:
        """The gateway accepted ``samples`` of ``meter``."""
        self.posts += 1
        self.samples_published += len(samples)
        self.readings_published += sum(map(meter.readings_of, samples))
        for observer in self.observers:
            observer.published(meter, samples, seconds)

    def failed(self, meter: MeterStatus, kind: ErrorKind, seconds: float, message: str) -> None:
        """A request of ``meter`` failed."""
        self.errors[kind] += 1
        meter.failures += 1
        meter.last_error = message
        for observer in self.observers:
            observer.failed(meter, kind, seconds)

    def refused(self, meter: MeterStatus, samples: list[Sample]) -> None:
        """The gateway refused ``samples`` with a 4xx; they are not sent again."""
        self.refused_readings += sum(map(meter.readings_of, samples))
        for observer in self.observers:
            observer.refused(meter, samples)

    def set_phase(self, meter: MeterStatus, phase: MeterPhase) -> None:
        """Move ``meter`` to ``phase``."""
        before = meter.phase
        if before is phase:
            return
        meter.phase = phase
        if phase is MeterPhase.ONLINE:
            meter.failures = 0
        for observer in self.observers:
            observer.phase_changed(meter, before)

    def shed(self, meter: MeterStatus, telemetry: int, registers: int) -> None:
        """``meter``'s buffer shed readings."""
        self.shed_telemetry += telemetry
        self.shed_registers += registers
        for observer in self.observers:
            observer.shed(meter, telemetry, registers)

    # Views.

    def active_meters(self) -> int:
        """Meters whose last request succeeded."""
        return sum(1 for m in self.meters.values() if m.phase is MeterPhase.ONLINE)

    def by_phase(self) -> dict[str, int]:
        """How many meters are in each phase."""
        counts = Counter(m.phase.value for m in self.meters.values())
        return {phase.value: counts.get(phase.value, 0) for phase in MeterPhase}

    def snapshot(self) -> dict[str, Any]:
        """The fleet's counters (not the meters), JSON-ready."""
        return {
            "meters": len(self.meters),
            "phases": self.by_phase(),
            "readings_generated": self.readings_generated,
            "readings_published": self.readings_published,
            "samples_generated": self.samples_generated,
            "samples_published": self.samples_published,
            "posts": self.posts,
            "errors": {kind.value: self.errors.get(kind, 0) for kind in ErrorKind},
            "shed_telemetry": self.shed_telemetry,
            "shed_registers": self.shed_registers,
            "refused_readings": self.refused_readings,
            "der_readings_published": self.der_readings_published,
            "der_reports_published": self.der_reports_published,
            "connections": self.connections,
        }
