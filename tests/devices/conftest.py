"""Shared pieces of the physics tests: the shipped campus and a configurable site."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from devices.campus import Campus, load_campus
from devices.spec import ClimateSpec, SiteSpec

BANGKOK_OFFSET_S = 7 * 3600


@pytest.fixture(scope="session")
def campus() -> Campus:
    return load_campus()


def bangkok_site(
    cloud_cover: float | None = None, variability: float | None = None, anomaly: float = 1.0
) -> SiteSpec:
    """The campus site, optionally with a uniform cloud cover and variability."""
    spec = load_campus().site
    climate: ClimateSpec = spec.climate
    update: dict[str, object] = {"temperature_anomaly_k": anomaly}
    if cloud_cover is not None:
        update["cloud_cover"] = (cloud_cover,) * 12
    if variability is not None:
        update["cloud_variability"] = variability
    return spec.model_copy(update={"climate": climate.model_copy(update=update)})


def local_midnight(year: int, month: int, day: int) -> int:
    """Epoch seconds of 00:00 Bangkok time on a date."""
    return int(datetime(year, month, day, tzinfo=UTC).timestamp()) - BANGKOK_OFFSET_S
