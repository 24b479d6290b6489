"""Shared pieces of the devices tests: the shipped campus, a configurable site, and for
the meters' client the XSD codec, a PKI and a small 2030.5 test server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from certs.pki import Pki, default_serials, init_pki
from devices.campus import Campus, load_campus
from devices.spec import ClimateSpec, SiteSpec
from schemas import official_xsd_bytes
from sep2 import Codec, Schema, Sep2Settings
from tests.devices.fake_gateway import FakeGateway

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


# --- the meters' client: XSD codec, a PKI, a small 2030.5 server over mutual TLS ----------

CLIENT_HW_TYPE = "1.3.6.1.4.1.32473.1"


@pytest.fixture(scope="session")
def codec() -> Codec:
    """A codec over the official XSD (every document checked)."""
    return Codec(Schema.from_bytes(official_xsd_bytes()), Sep2Settings())


@pytest.fixture(scope="session")
def meter_pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A PKI with the gateway and synthetic meters GM-SYN-00001..00003."""
    return init_pki(
        tmp_path_factory.mktemp("meter-pki"), default_serials(3), hw_type=CLIENT_HW_TYPE
    ).pki


@pytest.fixture
async def fake_gateway(meter_pki: Pki, codec: Codec) -> AsyncIterator[FakeGateway]:
    """A running FakeGateway on a free port."""
    gateway = FakeGateway(meter_pki, codec)
    await gateway.start()
    try:
        yield gateway
    finally:
        await gateway.stop()
