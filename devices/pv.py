"""A photovoltaic array: AC power from irradiance and the air temperature.

Modules lie close to horizontal (flat roofs at 13.8° N), so their plane receives the
global horizontal irradiance. Cell temperature follows the NOCT model,
``T_cell = T_air + (NOCT - 20) / 800 x G``, and power falls 0.4 %/K above 25 °C. A
fixed performance ratio covers soiling, wiring, mismatch and the inverter, whose AC
output is limited to the array's kWp.
"""

from __future__ import annotations

NOCT_C = 45.0
CELL_HEATING = (NOCT_C - 20.0) / 800.0  # K per W/m²
TEMPERATURE_COEFFICIENT = -0.004  # per K above 25 °C
STC_C = 25.0
PERFORMANCE_RATIO = 0.86  # soiling, wiring, mismatch, inverter


class PvArray:
    """An array of ``kwp`` kW peak with its inverter."""

    __slots__ = ("_ac_limit_w", "_w_per_irradiance")

    def __init__(self, kwp: float) -> None:
        # kWp x 1000 W/kWp x G / 1000 W/m² at STC: W per (W/m²) equals kWp.
        self._w_per_irradiance = kwp * PERFORMANCE_RATIO
        self._ac_limit_w = kwp * 1000.0

    def power(self, ghi: float, ambient_c: float) -> float:
        """AC output in W for irradiance ``ghi`` (W/m²) and air temperature (°C)."""
        if ghi <= 0.0:
            return 0.0
        cell = ambient_c + CELL_HEATING * ghi
        w = self._w_per_irradiance * ghi * (1.0 + TEMPERATURE_COEFFICIENT * (cell - STC_C))
        return w if w < self._ac_limit_w else self._ac_limit_w
