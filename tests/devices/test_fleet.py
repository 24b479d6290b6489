"""A fleet in one process, against the small test server, in real time."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest

from certs.pki import Pki
from devices.campus import fleet_campus
from devices.fleet import Fleet, FleetError, dcap_url_of
from devices.mirror import Sample
from devices.settings import FaultSpec, FleetSettings
from devices.state import STATE_FILE
from devices.stats import FleetObserver, FleetStats, MeterStatus
from sep2 import Codec
from tests.devices.conftest import CLIENT_HW_TYPE
from tests.devices.fake_gateway import FakeGateway


class Delivered(FleetObserver):
    def __init__(self) -> None:
        self.by_meter: dict[str, list[Sample]] = {}

    def published(self, meter: MeterStatus, samples: list[Sample], seconds: float) -> None:
        self.by_meter.setdefault(meter.lfdi, []).extend(samples)


async def run_for(fleet: Fleet, seconds: float) -> FleetStats:
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(seconds, stop.set)
    return await fleet.run(stop)


def stored_imports(gateway: FakeGateway) -> dict[str, dict[int, int | None]]:
    """Import register readings the gateway stored, by LFDI and time."""
    imports = {
        mmr.mrid
        for mup in gateway.mups.values()
        for mmr in mup.mirror_meter_readings
        if mmr.reading_type is not None
        and mmr.reading_type.uom == 72
        and mmr.reading_type.flow_direction == 1
    }
    out: dict[str, dict[int, int | None]] = {}
    for r in gateway.readings.values():
        if r.mmr_mrid in imports and r.start is not None:
            out.setdefault(r.lfdi, {})[r.start] = r.value
    return out


async def test_a_fleet_posts_saves_and_resumes(
    fake_gateway: FakeGateway, meter_pki: Pki, codec: Codec, tmp_path: Path
) -> None:
    fake_gateway.post_rate = 1
    settings = FleetSettings(
        count=3, server_url=fake_gateway.url, xsd_sample_rate=1.0, start_rate=100
    )
    campus = fleet_campus(settings)

    def fleet() -> tuple[Fleet, Delivered]:
        f = Fleet(
            campus, settings, meter_pki, codec, 32473, state_dir=tmp_path, hw_type=CLIENT_HW_TYPE
        )
        delivered = Delivered()
        f.stats.subscribe(delivered)
        return f, delivered

    first, delivered = fleet()
    stats = await run_for(first, 3.5)
    assert stats.active_meters() == 0  # all stopped
    assert stats.connections == 3  # one keep-alive TLS connection per meter
    assert set(delivered.by_meter) == {m.lfdi for m in stats.meters.values()}
    assert all(len(samples) >= 2 for samples in delivered.by_meter.values())
    stored = stored_imports(fake_gateway)
    for lfdi, samples in delivered.by_meter.items():
        assert stored[lfdi] == {s.time: s.import_wh for s in samples}
    saved = json.loads((tmp_path / STATE_FILE).read_text())
    assert set(saved["meters"]) == {m.serial for m in campus.meters}
    assert all(entry["post_rate"] == 1 for entry in saved["meters"].values())

    # A second run carries on: later times, registers never lower than before.
    second, more = fleet()
    await run_for(second, 2.5)
    for lfdi, samples in more.by_meter.items():
        before = delivered.by_meter[lfdi][-1]
        assert samples[0].time > before.time
        assert samples[0].import_wh >= before.import_wh
        assert samples[0].export_wh >= before.export_wh
    assert fake_gateway.requests["POST /mup"] == 3  # the mirrors were found, not re-made
    assert fake_gateway.requests["POST /edev"] == 3


async def test_foreign_certificates_are_issued_and_refused(
    fake_gateway: FakeGateway, meter_pki: Pki, codec: Codec, tmp_path: Path
) -> None:
    fake_gateway.post_rate = 1
    settings = FleetSettings(
        count=2,
        server_url=fake_gateway.url,
        faults=[FaultSpec(kind="foreign_cert", serials=["GM-SYN-00002"])],
    )
    fleet = Fleet(
        fleet_campus(settings),
        settings,
        meter_pki,
        codec,
        32473,
        state_dir=tmp_path,
        hw_type=CLIENT_HW_TYPE,
    )
    stats = await run_for(fleet, 1.5)
    good, bad = stats.meters["GM-SYN-00001"], stats.meters["GM-SYN-00002"]
    assert good.mup_href is not None and good.last_error is None
    assert bad.mup_href is None and "TLS handshake failed" in (bad.last_error or "")
    assert (tmp_path / "foreign-pki" / "devices" / "GM-SYN-00002" / "cert.pem").is_file()
    assert len(fake_gateway.edevs) == 1


def test_missing_certificates_are_named(meter_pki: Pki, codec: Codec, tmp_path: Path) -> None:
    settings = FleetSettings(count=5, server_url="https://127.0.0.1:1/dcap")
    with pytest.raises(
        FleetError, match=r"no device certificate for 2 of 5 meters \(first: GM-SYN-00004\)"
    ):
        Fleet(
            fleet_campus(settings),
            settings,
            meter_pki,
            codec,
            32473,
            state_dir=tmp_path,
            hw_type=CLIENT_HW_TYPE,
        )


def test_server_url() -> None:
    assert str(dcap_url_of("https://gw:8443")) == "https://gw:8443/dcap"
    assert str(dcap_url_of("https://gw:8443/sep2/dcap")) == "https://gw:8443/sep2/dcap"
    for bad in ("http://gw:8443/dcap", "gw:8443", "https:///dcap"):
        with pytest.raises(FleetError):
            dcap_url_of(bad)


async def test_failures_are_summed_up_for_the_fleet(
    meter_pki: Pki,
    codec: Codec,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import socket

    from devices import fleet as fleet_module

    monkeypatch.setattr(fleet_module, "FAILURE_SUMMARY_S", 0.5)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = FleetSettings(count=3, server_url=f"https://127.0.0.1:{port}/dcap")
    fleet = Fleet(
        fleet_campus(settings),
        settings,
        meter_pki,
        codec,
        32473,
        state_dir=tmp_path,
        hw_type=CLIENT_HW_TYPE,
    )
    with caplog.at_level(logging.WARNING):
        stats = await run_for(fleet, 1.8)
    summaries = [r.getMessage() for r in caplog.records if r.name == "devices.fleet"]
    assert summaries and summaries[0].startswith("3 of 3 meters retrying, 0 refused")
    assert "connection" in summaries[0]
    # Each meter's own failures stay below WARNING.
    assert not [r for r in caplog.records if r.name == "devices.client"]
    assert stats.errors
