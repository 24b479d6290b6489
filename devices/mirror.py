"""A meter's 2030.5 mirror: the MirrorUsagePoint it creates and the readings it posts.

One meter mirrors itself as one MirrorUsagePoint (roleFlags isMirror,
isPremisesAggregationPoint, isRevenueQuality; electricity; status on) with six
MirrorMeterReadings:

======================  ======  =====  ====  ====  ====  ====  ======================
role                    uom     kind   acc.  flow  qual  p10   Reading.timePeriod
======================  ======  =====  ====  ====  ====  ====  ======================
``import`` register     72 Wh   12     9     1     -     0     (t, 0): the instant read
``export`` register     72 Wh   12     9     19    -     0     (t, 0)
``power`` net, average  38 W    37     12    1     2     0     (t_prev, t - t_prev)
``voltage`` L-N         29 V    0      12    -     -     -1    (t, 0)
``frequency``           33 Hz   0      12    -     -     -2    (t, 0)
``power_factor``        65      0      12    -     -     -3    (t, 0)
======================  ======  =====  ====  ====  ====  ====  ======================

The two registers are what the gateway settles (sep2.readings.energy_register): whole
meter Wh summations, import and export, read at the same instant ``t`` so they pair up.
Net power is positive when importing and negative when exporting (flowDirection 1 with a
signed value), averaged over the step that ended at ``t``.

With ``meters.der_mirror``, a meter with PV also has a DER mirror (:func:`der_mirror`,
roleFlags isMirror and isDER: stored by the gateway, never settled) with its PV output, and
its battery's power and state of charge if it has one.

Every mRID is deterministic (sep2.mrid_for with the configured PEN over the LFDI and the
object's role), so a meter that restarts finds and re-posts the same objects. The
ReadingTypes go only in the creation POST; readings are posted as a
MirrorMeterReadingList with one MirrorMeterReading per role: a single sample as its
``Reading``, several (a backlog after an outage, or a replay) as one MirrorReadingSet of
Readings, each Reading with its own timePeriod.

What is checked against the XSD, and how often (:class:`ShapeCheck`): the documents are
built by this module from integers that cannot leave their XSD ranges (a Wh register
would need 2^47 Wh to overflow Int48), so what could make them invalid is their
structure, which depends only on their *shape* (which type, one Reading or a set, with or
without telemetry). Each shape is validated the first time the process writes it, and
after that a small random fraction of documents (``xsd_sample_rate``) to catch what no
one foresaw. Tests validate every document (rate 1.0). Writing one sample's
MirrorMeterReadingList costs 75 µs here and 126 µs with the check (re-parse and XSD), so
checking shapes rather than documents saves 40 % of what serialising costs a fleet.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import NamedTuple

from devices.meter import MeterState
from devices.settings import ClientProfile
from sep2 import (
    AccumulationBehaviour,
    Codec,
    Commodity,
    DataQualifier,
    DateTimeInterval,
    FlowDirection,
    Kind,
    MirrorMeterReading,
    MirrorMeterReadingList,
    MirrorReadingSet,
    MirrorUsagePoint,
    PhaseCode,
    QualityFlags,
    Reading,
    ReadingType,
    RoleFlags,
    Sep2Object,
    ServiceKind,
    Uom,
    UsagePointStatus,
    mrid_for,
)

ROLE_FLAGS = (
    RoleFlags.IS_MIRROR | RoleFlags.IS_PREMISES_AGGREGATION_POINT | RoleFlags.IS_REVENUE_QUALITY
)
VALID = int(QualityFlags.VALID)


class Telemetry(NamedTuple):
    """The non-register readings of one sample, as the integers that are posted."""

    since: int
    """Start of the step the power is averaged over (seconds since the epoch)."""
    power_w: int
    """Mean net active power over the step, W (+ import, - export)."""
    voltage_dv: int
    """Phase-to-neutral voltage at the end of the step, 0.1 V."""
    frequency_chz: int
    """Frequency, 0.01 Hz."""
    power_factor_milli: int
    """Power factor, 0.001."""
    pv_w: int = 0
    """Mean PV output over the step, W (what a DER mirror posts)."""
    battery_w: int = 0
    """Mean battery power over the step, W (+ charging, - discharging)."""
    soc_permille: int | None = None
    """Battery state of charge at the end of the step, 0.1 % (None: no battery)."""
    reactive_var: int = 0
    """Mean reactive power over the step, var (+ lagging, what the load draws)."""


class Sample(NamedTuple):
    """What a meter read at one instant: its two registers and, unless shed, telemetry."""

    time: int
    """Seconds since the epoch (UTC) of the reading."""
    import_wh: int
    export_wh: int
    telemetry: Telemetry | None

    def registers_only(self) -> Sample:
        """The sample without its telemetry (what survives when a buffer sheds)."""
        return self._replace(telemetry=None)

    def to_list(self) -> list[object]:
        """A JSON-ready form (integers only); :func:`sample_from_list` reads it back."""
        telemetry = list(self.telemetry) if self.telemetry is not None else None
        return [self.time, self.import_wh, self.export_wh, telemetry]


def sample_from_list(data: object) -> Sample:
    """The sample ``Sample.to_list`` wrote; ValueError if it is not one."""
    if not isinstance(data, list) or len(data) != 4:
        raise ValueError("not a saved sample")
    time_s, import_wh, export_wh, telemetry = data
    if not all(_is_int(v) for v in (time_s, import_wh, export_wh)):
        raise ValueError("not a saved sample")
    if telemetry is None:
        return Sample(time_s, import_wh, export_wh, None)
    # 5 and 8 fields: samples saved before the DER and the reactive power were kept.
    if not isinstance(telemetry, list) or len(telemetry) not in (5, 8, 9):
        raise ValueError("not a saved sample")
    if not all(_is_int(v) or (i == 7 and v is None) for i, v in enumerate(telemetry)):
        raise ValueError("not a saved sample")
    return Sample(time_s, import_wh, export_wh, Telemetry(*telemetry))


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def sample_of(state: MeterState, since_s: int, time_s: int) -> Sample:
    """The sample a meter posts for ``state``, the end of a step from ``since_s`` to
    ``time_s`` (both whole seconds; ``time_s`` may differ from the state's time only by
    a deliberate clock skew)."""
    return Sample(
        time_s,
        state.import_wh,
        state.export_wh,
        Telemetry(
            since_s,
            round(state.power_w),
            round(state.voltage_v * 10),
            round(state.frequency_hz * 100),
            round(state.power_factor * 1000),
            round(state.pv_w),
            round(state.battery_w),
            None if state.soc is None else round(state.soc * 1000),
            round(state.reactive_var),
        ),
    )


# --- The ReadingTypes ---------------------------------------------------------------------


def _register(flow: FlowDirection) -> ReadingType:
    return ReadingType(
        accumulation_behaviour=AccumulationBehaviour.SUMMATION,
        commodity=Commodity.ELECTRICITY_SECONDARY,
        flow_direction=flow,
        kind=Kind.ENERGY,
        power_of_ten_multiplier=0,
        uom=Uom.WH,
    )


def _instant(uom: Uom, power_of_ten: int, phase: PhaseCode | None = None) -> ReadingType:
    return ReadingType(
        accumulation_behaviour=AccumulationBehaviour.INSTANTANEOUS,
        commodity=Commodity.ELECTRICITY_SECONDARY,
        kind=Kind.NOT_APPLICABLE,
        phase=None if phase is None else int(phase),
        power_of_ten_multiplier=power_of_ten,
        uom=uom,
    )


def _import_wh(sample: Sample) -> int:
    return sample.import_wh


def _export_wh(sample: Sample) -> int:
    return sample.export_wh


@dataclass(frozen=True)
class Quantity:
    """One MirrorMeterReading of the mirror: its role, ReadingType and value."""

    role: str
    description: str  # <= 32 characters (IdentifiedObject.description)
    reading_type: ReadingType
    value: Callable[[Sample], int | None]
    averaged: bool = False


def _telemetry(name: str) -> Callable[[Sample], int | None]:
    def value(sample: Sample) -> int | None:
        if sample.telemetry is None:
            return None
        found = getattr(sample.telemetry, name)
        return None if found is None else int(found)

    return value


_AVERAGE_POWER = ReadingType(
    accumulation_behaviour=AccumulationBehaviour.INSTANTANEOUS,
    commodity=Commodity.ELECTRICITY_SECONDARY,
    data_qualifier=DataQualifier.AVERAGE,
    flow_direction=FlowDirection.FORWARD,
    kind=Kind.POWER,
    power_of_ten_multiplier=0,
    uom=Uom.W,
)

QUANTITIES: tuple[Quantity, ...] = (
    Quantity("import", "Energy imported (Wh)", _register(FlowDirection.FORWARD), _import_wh),
    Quantity("export", "Energy exported (Wh)", _register(FlowDirection.REVERSE), _export_wh),
    Quantity("power", "Average net active power (W)", _AVERAGE_POWER, _telemetry("power_w"), True),
    Quantity(
        "voltage", "Voltage, line to neutral (V)", _instant(Uom.V, -1), _telemetry("voltage_dv")
    ),
    Quantity("frequency", "Frequency (Hz)", _instant(Uom.HZ, -2), _telemetry("frequency_chz")),
    Quantity(
        "power_factor",
        "Power factor",
        _instant(Uom.COS_THETA, -3),
        _telemetry("power_factor_milli"),
    ),
)
"""The mirror's MirrorMeterReadings, in the order they are posted."""

REGISTER_ROLES = ("import", "export")
TELEMETRY_ROLES = tuple(q.role for q in QUANTITIES if q.role not in REGISTER_ROLES)

# CSIP-AUS asks a site mirror for active power, reactive power and voltage, per phase on
# three phases. The physics is balanced (one phase-to-neutral voltage for all three), so
# the three phase voltages of a three-phase meter carry the same value.
_REACTIVE_POWER = replace(_AVERAGE_POWER, uom=Uom.VAR)
_REACTIVE = Quantity(
    "reactive_power",
    "Average reactive power (var)",
    _REACTIVE_POWER,
    _telemetry("reactive_var"),
    True,
)
_PHASE_VOLTAGES = tuple(
    Quantity(
        f"voltage_{name}",
        f"Voltage, phase {name.upper()} to neutral (V)",
        _instant(Uom.V, -1, phase),
        _telemetry("voltage_dv"),
    )
    for name, phase in (("a", PhaseCode.AN), ("b", PhaseCode.BN), ("c", PhaseCode.CN))
)


def site_quantities(profile: ClientProfile, phases: int) -> tuple[Quantity, ...]:
    """The site mirror's MirrorMeterReadings under a profile: the six of the module
    docstring for plain 2030.5; under CSIP-AUS also the reactive power, and on a
    three-phase meter a voltage per phase (A, B, C to neutral) instead of one."""
    if profile == "ieee-2030.5":
        return QUANTITIES
    by_role = {q.role: q for q in QUANTITIES}
    voltages = _PHASE_VOLTAGES if phases == 3 else (by_role["voltage"],)
    return (
        by_role["import"],
        by_role["export"],
        by_role["power"],
        _REACTIVE,
        *voltages,
        by_role["frequency"],
        by_role["power_factor"],
    )


# The DER mirror (opt-in, meters.der_mirror): what the PV and the battery behind the
# meter do, for dashboards. Stored by the gateway, never settled (isDER).
_SOC = ReadingType(
    accumulation_behaviour=AccumulationBehaviour.INSTANTANEOUS,
    commodity=Commodity.ELECTRICITY_SECONDARY,
    kind=Kind.NOT_APPLICABLE,
    power_of_ten_multiplier=-1,
    uom=Uom.NOT_APPLICABLE,  # the XSD's UomType has no percent
)
DER_QUANTITIES: tuple[Quantity, ...] = (
    Quantity(
        "pv_power",
        "Average PV output (W)",
        replace(_AVERAGE_POWER, flow_direction=FlowDirection.REVERSE),
        _telemetry("pv_w"),
        True,
    ),
    Quantity(
        "battery_power", "Average battery charge (W)", _AVERAGE_POWER, _telemetry("battery_w"), True
    ),
    Quantity("battery_soc", "Battery state of charge (%)", _SOC, _telemetry("soc_permille")),
)
"""The DER mirror's MirrorMeterReadings: PV output (reverse flow), battery power (+
charging), battery state of charge in 0.1 %; a meter without a battery has only the first."""
DER_ROLE_FLAGS = RoleFlags.IS_MIRROR | RoleFlags.IS_DER


# --- One meter's mirror -------------------------------------------------------------------


class MeterMirror:
    """The documents of one meter's mirror; cheap to build, immutable.

    The site mirror by default; :func:`der_mirror` gives the DER mirror of the same meter.
    """

    def __init__(
        self,
        lfdi: str,
        pen: int,
        serial: str,
        *,
        name: str = "mup",
        quantities: tuple[Quantity, ...] = QUANTITIES,
        role_flags: int = int(ROLE_FLAGS),
        description: str | None = None,
    ) -> None:
        self.lfdi = lfdi
        self.pen = pen
        self.serial = serial
        self.quantities = quantities
        self.role_flags = role_flags
        self.description = (description or serial)[:32]
        self.mup_mrid = mrid_for(pen, lfdi, name)
        self.mmr_mrids = {q.role: mrid_for(pen, lfdi, "mmr", q.role) for q in quantities}

    def usage_point(self, post_rate: int | None = None) -> MirrorUsagePoint:
        """The MirrorUsagePoint to create: its MirrorMeterReadings with their ReadingTypes,
        no readings; ``post_rate`` is a proposal the server may override."""
        return MirrorUsagePoint(
            mrid=self.mup_mrid,
            description=self.description,
            role_flags=self.role_flags,
            service_category_kind=ServiceKind.ELECTRICITY,
            status=UsagePointStatus.ON,
            device_lfdi=self.lfdi,
            mirror_meter_readings=tuple(
                MirrorMeterReading(
                    mrid=self.mmr_mrids[q.role],
                    description=q.description,
                    reading_type=q.reading_type,
                )
                for q in self.quantities
            ),
            post_rate=post_rate,
        )

    def readings(self, samples: Sequence[Sample], post_rate: int) -> MirrorMeterReadingList:
        """The MirrorMeterReadingList carrying ``samples`` (oldest first, at least one)."""
        if not samples:
            raise ValueError("no samples to post")
        last = samples[-1].time
        items = []
        for q in self.quantities:
            readings = [r for s in samples if (r := _reading(q, s)) is not None]
            if not readings:
                continue
            mrid = self.mmr_mrids[q.role]
            if len(readings) == 1:
                mmr = MirrorMeterReading(
                    mrid=mrid,
                    last_update_time=last,
                    next_update_time=last + post_rate,
                    reading=readings[0],
                )
            else:
                mmr = MirrorMeterReading(
                    mrid=mrid,
                    last_update_time=last,
                    mirror_reading_sets=(self._reading_set(q.role, readings),),
                    next_update_time=last + post_rate,
                )
            items.append(mmr)
        return MirrorMeterReadingList(items=tuple(items))

    def _reading_set(self, role: str, readings: list[Reading]) -> MirrorReadingSet:
        periods = [r.time_period for r in readings if r.time_period is not None]
        start = min(p.start for p in periods)
        end = max(p.start + p.duration for p in periods)
        return MirrorReadingSet(
            # Deterministic: the same backlog re-posted after a lost answer is the same set.
            mrid=mrid_for(self.pen, self.lfdi, "mrs", role, str(start), str(end)),
            time_period=DateTimeInterval(duration=end - start, start=start),
            readings=tuple(readings),
        )


def der_mirror(
    lfdi: str, pen: int, serial: str, *, battery: bool, role_flags: int = int(DER_ROLE_FLAGS)
) -> MeterMirror:
    """The DER mirror of a meter with PV (and maybe a battery)."""
    quantities = DER_QUANTITIES if battery else DER_QUANTITIES[:1]
    return MeterMirror(
        lfdi,
        pen,
        serial,
        name="der-mup",
        quantities=quantities,
        role_flags=role_flags,
        description=f"{serial} DER",
    )


def _reading(quantity: Quantity, sample: Sample) -> Reading | None:
    value = quantity.value(sample)
    if value is None:
        return None
    if quantity.averaged and sample.telemetry is not None:
        since = min(sample.telemetry.since, sample.time)
        period = DateTimeInterval(duration=sample.time - since, start=since)
    else:
        period = DateTimeInterval(duration=0, start=sample.time)
    return Reading(quality_flags=VALID, time_period=period, value=value)


# --- XSD checks at a sampling rate --------------------------------------------------------


def shape_of(document: Sep2Object) -> tuple[object, ...]:
    """What decides a document's structure: its type and, for readings, which
    MirrorMeterReadings it has and whether each holds one Reading or a set."""
    if isinstance(document, MirrorMeterReadingList):
        return (
            "MirrorMeterReadingList",
            tuple((m.reading is not None, len(m.mirror_reading_sets)) for m in document.items),
        )
    return (type(document).__name__,)


class ShapeCheck:
    """Decides which outgoing documents are validated against the XSD: the first of each
    shape, then a random ``rate`` of the rest (see the module docstring). One per
    process, shared by every meter."""

    def __init__(self, rate: float, rng: random.Random | None = None) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError("the XSD sample rate is a fraction within 0..1")
        self.rate = rate
        self._seen: set[tuple[object, ...]] = set()
        self._rng = rng or random.Random()
        self.checked = 0
        self.skipped = 0

    def wants(self, document: Sep2Object) -> bool:
        """True if this document is to be validated."""
        shape = shape_of(document)
        if shape not in self._seen:
            self._seen.add(shape)
            wanted = True
        else:
            wanted = self.rate >= 1.0 or self._rng.random() < self.rate
        if wanted:
            self.checked += 1
        else:
            self.skipped += 1
        return wanted

    def serialise(self, codec: Codec, document: Sep2Object) -> bytes:
        """``codec.serialise`` with the XSD check when this document is to be checked."""
        return codec.serialise(document, check=self.wants(document))
