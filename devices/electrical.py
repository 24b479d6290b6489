"""What a meter's voltage, current, frequency and power-factor readings say.

Consistent with the power by construction: per phase, ``|P| / n = V x I x PF``, where
``n`` is 1 (single phase, 230 V) or 3 (three phase, 400 V line to line, 230 V to
neutral). The load draws reactive power by its power factor; the PV inverter and the
battery converter run at unity, so exporting meters show a poor power factor and their
current is still the apparent power over the voltage. Voltage sags with import and rises
with export along the service cable; both the site's voltage and the grid frequency
wander slowly (shared AR(1) processes of the site).
"""

from __future__ import annotations

import math
from typing import NamedTuple

NOMINAL_PHASE_V = 230.0
NOMINAL_HZ = 50.0
SQRT3 = math.sqrt(3.0)
VOLTAGE_SPREAD = 0.012  # relative deviation per unit of the site's voltage process
FREQUENCY_SPREAD_HZ = 0.03  # Hz per unit of the grid's frequency process
SERVICE_DROP = 0.02  # relative voltage drop at rated import (rise at rated export)


class Electrical(NamedTuple):
    """Instantaneous electrical readings of a meter."""

    voltage_v: float
    """Phase-to-neutral RMS voltage."""
    current_a: float
    """RMS current per phase."""
    frequency_hz: float
    power_factor: float
    """Displacement power factor of the metered flow, 0..1."""
    reactive_var: float
    """Reactive power (positive: drawn by the load)."""


def reactive_power(load_w: float, power_factor: float) -> float:
    """Reactive power in var of a load of ``load_w`` at ``power_factor``."""
    return load_w * math.sqrt(1.0 - power_factor * power_factor) / power_factor


def measure(
    power_w: float,
    reactive_var: float,
    phases: int,
    rated_w: float,
    voltage_offset: float,
    voltage_dev: float,
    frequency_dev: float,
) -> Electrical:
    """Electrical readings for a net active power (+ import) and reactive power.

    ``voltage_offset`` is the meter's own steady deviation (its transformer tap and
    cable); ``voltage_dev`` and ``frequency_dev`` are the site's processes (unit scale).
    """
    v = NOMINAL_PHASE_V * (
        1.0 + voltage_offset + VOLTAGE_SPREAD * voltage_dev - SERVICE_DROP * power_w / rated_w
    )
    apparent = math.hypot(power_w, reactive_var)
    pf = abs(power_w) / apparent if apparent > 0.0 else 1.0
    current = apparent / (phases * v)
    return Electrical(
        v, current, NOMINAL_HZ + FREQUENCY_SPREAD_HZ * frequency_dev, pf, reactive_var
    )


def line_voltage(phase_voltage: float) -> float:
    """Line-to-line voltage of a balanced three-phase supply."""
    return phase_voltage * SQRT3
