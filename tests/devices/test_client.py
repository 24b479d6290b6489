"""One meter's 2030.5 conversation, over real mutual TLS with a small test server.

The meter is driven step by step with a hand-moved clock (its Timeline's real clock), so
each test says exactly when readings fall due; the HTTP and TLS underneath are real.
"""

from __future__ import annotations

import itertools
import logging
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from yarl import URL

from certs.foreign import foreign_pki
from certs.pki import Pki
from certs.settings import PkiSettings
from certs.tls import client_context, meter_context
from devices.campus import load_campus, synthetic_fleet
from devices.client import GatewayLink, MeterClient
from devices.faults import MeterFaults
from devices.meter import MeterModel
from devices.mirror import QUANTITIES, Sample, ShapeCheck
from devices.settings import FleetSettings
from devices.site import Site
from devices.stats import ErrorKind, FleetObserver, FleetStats, MeterPhase, MeterStatus
from devices.timeline import Timeline
from sep2 import Codec, DerAvailability, DerCapability, DerSettings, DerStatus, DerType
from tests.devices.conftest import CLIENT_HW_TYPE
from tests.devices.fake_gateway import FakeGateway

START = 1_780_000_000  # 2026-05-28T20:26:40Z
SERIAL = "GM-SYN-00001"


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


class Recorder(FleetObserver):
    """What the gateway accepted, as the meters saw it."""

    def __init__(self) -> None:
        self.delivered: list[Sample] = []
        self.failures: list[ErrorKind] = []

    def published(self, meter: MeterStatus, samples: list[Sample], seconds: float) -> None:
        self.delivered.extend(samples)

    def failed(self, meter: MeterStatus, kind: ErrorKind, seconds: float) -> None:
        self.failures.append(kind)


@dataclass
class Rig:
    """A meter wired to the fake gateway, with its clock and its stats."""

    gateway: FakeGateway
    pki: Pki
    codec: Codec
    session: aiohttp.ClientSession
    clock: Clock
    stats: FleetStats
    recorder: Recorder

    def meter(
        self,
        settings: FleetSettings | None = None,
        *,
        faults: MeterFaults | None = None,
        start: int = START,
        timeline: Timeline | None = None,
        context: object | None = None,
        model: MeterModel | None = None,
        pending: list[Sample] | None = None,
        post_rate: int | None = None,
        serial: str = SERIAL,
    ) -> MeterClient:
        settings = settings or FleetSettings(backoff_base_s=1.0, backoff_cap_s=8.0)
        campus = synthetic_fleet(3, 2030, load_campus().site)
        model = model or MeterModel(campus.meter(serial), Site(campus.site, 2030), start)
        device = self.pki.device(serial)
        status = MeterStatus(serial, device.lfdi, device.sfdi)
        self.stats.add_meter(status)
        link = GatewayLink(
            self.session,
            URL(self.gateway.url),
            self.codec,
            ShapeCheck(1.0),  # every document we send is checked against the XSD
            aiohttp.ClientTimeout(total=5),
        )
        return MeterClient(
            model,
            status,
            context or meter_context(self.pki, serial, PkiSettings()),  # type: ignore[arg-type]
            link,
            settings,
            32473,
            timeline or Timeline(clock=self.clock),
            self.stats,
            faults,
            pending,
            post_rate,
        )

    async def turn(self, client: MeterClient, seconds: float = 0.0) -> None:
        """Move the clock, then let the meter read and talk once."""
        self.clock.t += seconds
        client._read_due()
        await client._talk()

    def stored_registers(self) -> dict[int, tuple[int | None, int | None]]:
        """(import, export) the gateway stored, by reading time."""
        mirror_imp = mirror_exp = None
        for mup in self.gateway.mups.values():
            for mmr in mup.mirror_meter_readings:
                rt = mmr.reading_type
                if rt is not None and rt.uom == 72:
                    if rt.flow_direction == 1:
                        mirror_imp = mmr.mrid
                    else:
                        mirror_exp = mmr.mrid
        out: dict[int, tuple[int | None, int | None]] = {}
        for r in self.gateway.readings.values():
            if r.start is None or r.mmr_mrid not in (mirror_imp, mirror_exp):
                continue
            imp, exp = out.get(r.start, (None, None))
            out[r.start] = (r.value, exp) if r.mmr_mrid == mirror_imp else (imp, r.value)
        return out


@pytest.fixture
async def rig(fake_gateway: FakeGateway, meter_pki: Pki, codec: Codec) -> AsyncIterator[Rig]:
    recorder = Recorder()
    stats = FleetStats()
    stats.subscribe(recorder)
    clock = Clock(START)
    fake_gateway.clock = clock  # the server's clock agrees with the meter's unless told
    async with aiohttp.ClientSession() as session:
        yield Rig(fake_gateway, meter_pki, codec, session, clock, stats, recorder)


def registers_of(samples: list[Sample]) -> dict[int, tuple[int | None, int | None]]:
    return {s.time: (s.import_wh, s.export_wh) for s in samples}


# --- setting up ----------------------------------------------------------------------------


async def test_registers_creates_its_mirror_and_finds_them_again(rig: Rig) -> None:
    meter = rig.meter()
    await rig.turn(meter)
    assert meter.ready and meter.status.phase is MeterPhase.ONLINE
    assert meter.post_rate == 15 and meter.status.mup_href == "/mup/1"
    (edev,) = rig.gateway.edevs.values()
    assert edev.sfdi == meter.status.sfdi and edev.lfdi == meter.status.lfdi
    (mup,) = rig.gateway.mups.values()
    assert mup.mrid == meter.mirror.mup_mrid
    assert len(mup.mirror_meter_readings) == len(QUANTITIES)
    # A restarted meter (same certificate, same mRIDs) finds both and creates nothing.
    again = rig.meter()
    await rig.turn(again)
    assert again.ready and again.mup_url == meter.mup_url
    assert rig.gateway.requests["POST /edev"] == 1
    assert rig.gateway.requests["POST /mup"] == 1


async def test_registered_already_is_a_409_with_its_location(rig: Rig) -> None:
    await rig.turn(rig.meter())
    rig.gateway.hide_edevs = True
    again = rig.meter()
    await rig.turn(again)
    assert again.ready and rig.gateway.requests["POST /edev"] == 2
    assert len(rig.gateway.edevs) == 1


async def test_registration_pin(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    right = rig.meter(FleetSettings(registration_pin=111115))
    await rig.turn(right)
    assert right.ready and rig.gateway.requests["GET /edev/1/rg"] == 1
    own = rig.meter(FleetSettings(registration_pin=222220, registration_pins={SERIAL: 111115}))
    await rig.turn(own)
    assert own.ready
    unchecked = rig.meter(FleetSettings(registration_pin=None))
    await rig.turn(unchecked)
    assert unchecked.ready and rig.gateway.requests["GET /edev/1/rg"] == 2
    wrong = rig.meter(FleetSettings(registration_pin=222220))
    with caplog.at_level(logging.WARNING):
        await rig.turn(wrong)
    assert not wrong.ready and wrong.status.phase is MeterPhase.REFUSED
    assert "Registration PIN 111115 is not ours (222220)" in caplog.text
    # It does not try again before the backoff cap has passed.
    requests = sum(rig.gateway.requests.values())
    await rig.turn(wrong, 1.0)
    assert sum(rig.gateway.requests.values()) == requests


# --- posting -------------------------------------------------------------------------------


async def test_posts_every_post_rate_and_the_gateway_stores_each_reading(rig: Rig) -> None:
    meter = rig.meter()
    await rig.turn(meter)
    for _ in range(4):
        await rig.turn(meter, 15)
    assert len(rig.recorder.delivered) == 4
    times = [s.time for s in rig.recorder.delivered]
    assert all(b - a == 15 for a, b in itertools.pairwise(times))
    assert all(t <= rig.clock.t for t in times)  # never in the future
    assert rig.stored_registers() == registers_of(rig.recorder.delivered)
    assert len(rig.gateway.readings) == 4 * len(QUANTITIES)
    assert rig.stats.readings_published == rig.stats.readings_generated == 24
    assert [status for _, status in rig.gateway.posts] == [201] * 4


async def test_5xx_backs_off_buffers_and_sends_in_order(rig: Rig) -> None:
    meter = rig.meter()
    await rig.turn(meter)
    rig.gateway.fail_posts = [503, 500, 502]
    for _ in range(12):
        await rig.turn(meter, 5)
    assert meter.status.phase is MeterPhase.ONLINE
    assert [s for _, s in rig.gateway.posts][:3] == [503, 500, 502]
    assert rig.recorder.failures.count(ErrorKind.SERVER) == 3
    # Everything read during the outage arrived, in order, none twice.
    assert len(meter.buffer) == 0
    delivered = rig.recorder.delivered
    assert [s.time for s in delivered] == sorted({s.time for s in delivered})
    assert rig.stored_registers() == registers_of(delivered)
    assert len(delivered) == rig.stats.samples_generated == 4


async def test_backoff_waits_grow_and_are_capped(rig: Rig) -> None:
    meter = rig.meter(FleetSettings(backoff_base_s=2.0, backoff_cap_s=10.0))
    meter.backoff._rng = random.Random(4)
    await rig.turn(meter)
    rig.gateway.fail_posts = [500] * 50
    await rig.turn(meter, 15)
    waits = []
    for _ in range(8):
        waits.append(meter._retry_at - rig.clock.t)
        rig.clock.t = meter._retry_at
        await rig.turn(meter)
    assert all(0 <= w <= 10.0 for w in waits)
    assert meter.backoff.failures == 9
    assert rig.gateway.posts and all(s == 500 for _, s in rig.gateway.posts)


async def test_4xx_is_logged_once_and_not_retried(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    meter = rig.meter()
    await rig.turn(meter)
    rig.gateway.fail_posts = [400]
    with caplog.at_level(logging.WARNING):
        await rig.turn(meter, 15)
        await rig.turn(meter, 1)
        await rig.turn(meter, 1)
    assert [s for _, s in rig.gateway.posts] == [400]  # no retry storm
    assert "gateway refused 1 sample(s)" in caplog.text and "reasonCode 0" in caplog.text
    assert rig.stats.refused_readings == len(QUANTITIES)
    await rig.turn(meter, 15)  # the next reading goes through
    assert [s for _, s in rig.gateway.posts] == [400, 201]
    assert meter.status.phase is MeterPhase.ONLINE


async def test_413_splits_the_batch(rig: Rig) -> None:
    meter = rig.meter()
    await rig.turn(meter)
    rig.gateway.fail_posts = [503]
    await rig.turn(meter, 15)
    for _ in range(4):
        rig.clock.t += 15
        meter._read_due()
    rig.gateway.fail_posts = [413]
    rig.clock.t = max(rig.clock.t, meter._retry_at)
    await rig.turn(meter)
    assert meter._batch == 2
    assert len(meter.buffer) == 0 and len(rig.recorder.delivered) == 5
    assert rig.stored_registers() == registers_of(rig.recorder.delivered)


async def test_a_vanished_mirror_is_created_again(rig: Rig) -> None:
    meter = rig.meter()
    await rig.turn(meter)
    await rig.turn(meter, 15)
    rig.gateway.mups.clear()
    await rig.turn(meter, 15)
    assert rig.gateway.requests["POST /mup"] == 2
    assert [s for _, s in rig.gateway.posts] == [201, 404, 201]
    assert len(rig.recorder.delivered) == 2


async def test_the_servers_poll_rate_paces_the_mirror_re_reads(rig: Rig) -> None:
    rig.gateway.poll_rate = 30
    meter = rig.meter()
    await rig.turn(meter)
    assert meter.poll_s == 30
    for _ in range(4):
        await rig.turn(meter, 15)
    # The list at setup, then re-read after 30 and 60 s (it shows the postRate, so the
    # mirror itself is read only once, after it was created).
    assert rig.gateway.requests["GET /mup"] == 3
    assert rig.gateway.requests["GET /mup/1"] == 1
    ours = rig.meter(FleetSettings(mup_poll_s=600))
    await rig.turn(ours)
    assert ours.poll_s == 600


async def test_post_rate_change_is_noticed(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    meter = rig.meter(FleetSettings(mup_poll_s=60))
    await rig.turn(meter)
    rig.gateway.post_rate = 60
    with caplog.at_level(logging.INFO):
        for _ in range(17):
            await rig.turn(meter, 15)
    assert meter.post_rate == 60 and meter.status.post_rate == 60
    assert "postRate changed from 15 s to 60 s" in caplog.text
    times = [s.time for s in rig.recorder.delivered]
    # Every 15 s until the change was read, then every 60 s (the first gap is shorter:
    # the meter moves to its place in the new period).
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps[:3] == [15, 15, 15] and gaps[-2:] == [60, 60]
    assert meter._next_due - times[-1] == 60


async def test_a_refused_connection_is_retried_until_the_gateway_is_back(rig: Rig) -> None:
    meter = rig.meter()
    await rig.turn(meter)
    await rig.gateway.stop()
    for _ in range(3):
        rig.clock.t = max(rig.clock.t + 15, meter._retry_at)
        await rig.turn(meter)
    assert ErrorKind.CONNECTION in rig.recorder.failures
    assert meter.status.phase is MeterPhase.RETRYING and len(meter.buffer) == 3
    await rig.gateway.start()  # same port
    rig.clock.t = max(rig.clock.t + 15, meter._retry_at)
    await rig.turn(meter)
    assert len(meter.buffer) == 0 and len(rig.recorder.delivered) == 4
    assert rig.stored_registers() == registers_of(rig.recorder.delivered)


async def test_a_der_mirror_carries_pv_and_battery(rig: Rig) -> None:
    prosumer = rig.meter(FleetSettings(der_mirror=True), serial="GM-SYN-00002")
    consumer = rig.meter(FleetSettings(der_mirror=True))
    await rig.turn(prosumer)
    await rig.turn(consumer)
    assert consumer.der is None  # no PV, no DER mirror
    assert prosumer.der is not None and prosumer.der_url is not None
    der = next(m for m in rig.gateway.mups.values() if m.role_flags & 0x08)
    assert der.mrid == prosumer.der.mup_mrid
    assert [m.mrid for m in der.mirror_meter_readings] == [prosumer.der.mmr_mrids["pv_power"]]
    await rig.turn(prosumer, 15)
    pv = [
        r for r in rig.gateway.readings.values() if r.mmr_mrid == prosumer.der.mmr_mrids["pv_power"]
    ]
    (sample,) = rig.recorder.delivered
    assert sample.telemetry is not None
    assert [r.value for r in pv] == [sample.telemetry.pv_w]
    assert rig.stats.der_readings_published == 1
    assert len(rig.gateway.mups) == 3


# --- faults --------------------------------------------------------------------------------


async def test_dropped_answer_is_sent_again_and_stored_once(rig: Rig) -> None:
    faults = MeterFaults(drop=1.0)
    meter = rig.meter(faults=faults)
    await rig.turn(meter)
    await rig.turn(meter, 15)
    assert ErrorKind.CONNECTION in rig.recorder.failures and len(meter.buffer) == 1
    faults.drop = 0.0
    rig.clock.t = meter._retry_at
    await rig.turn(meter)
    assert [s for _, s in rig.gateway.posts] == [201, 201]  # the gateway got it twice
    assert len(rig.gateway.readings) == len(QUANTITIES)  # and kept it once
    assert len(rig.recorder.delivered) == 1


async def test_duplicate_posts_are_stored_once(rig: Rig) -> None:
    meter = rig.meter(faults=MeterFaults(duplicate=1.0))
    await rig.turn(meter)
    await rig.turn(meter, 15)
    await rig.turn(meter, 15)
    assert [s for _, s in rig.gateway.posts] == [201] * 4
    assert rig.gateway.bodies[-1] == rig.gateway.bodies[-2]
    assert len(rig.gateway.readings) == 2 * len(QUANTITIES)


async def test_corrupted_xml_is_refused_and_not_resent(rig: Rig) -> None:
    faults = MeterFaults(corrupt=1.0, rng=random.Random(2))
    meter = rig.meter(faults=faults)
    await rig.turn(meter)
    await rig.turn(meter, 15)
    assert [s for _, s in rig.gateway.posts] == [400]
    assert not rig.gateway.readings and len(meter.buffer) == 0
    assert rig.stats.refused_readings == len(QUANTITIES)


async def test_skew_and_backwards(rig: Rig) -> None:
    meter = rig.meter(faults=MeterFaults(skew_s=3600, backwards=1.0, backwards_wh=10))
    await rig.turn(meter)
    await rig.turn(meter, 15)
    await rig.turn(meter, 15)
    delivered = rig.recorder.delivered
    assert all(s.time > rig.clock.t for s in delivered)  # stamped an hour ahead
    physics = meter.model.state
    assert delivered[-1].import_wh == max(0, physics.import_wh - 10)


async def test_a_foreign_certificate_fails_the_handshake(rig: Rig, tmp_path: Path) -> None:
    foreign = foreign_pki(tmp_path, [SERIAL], hw_type=CLIENT_HW_TYPE).pki
    device = foreign.device(SERIAL)
    context = client_context(device.chain, device.key, rig.pki.serca)
    meter = rig.meter(context=context)
    await rig.turn(meter)
    assert rig.recorder.failures == [ErrorKind.TLS]
    assert not meter.ready and meter.status.phase is MeterPhase.RETRYING
    assert "TLS handshake failed" in (meter.status.last_error or "")
    assert not rig.gateway.edevs


async def test_an_untrusted_server_is_refused(rig: Rig, tmp_path: Path) -> None:
    """The meter trusts only its SERCA: a server from another PKI fails the handshake."""
    foreign = foreign_pki(tmp_path, [SERIAL], hw_type=CLIENT_HW_TYPE).pki
    device = rig.pki.device(SERIAL)
    context = client_context(device.chain, device.key, foreign.serca)
    meter = rig.meter(context=context)
    await rig.turn(meter)
    assert rig.recorder.failures == [ErrorKind.TLS] and not rig.gateway.edevs


# --- time ----------------------------------------------------------------------------------


async def test_replay_batches_the_past_and_never_stamps_the_future(rig: Rig) -> None:
    timeline = Timeline(replay_s=3600, speed=300, clock=rig.clock)  # live after ~12 s
    meter = rig.meter(
        FleetSettings(samples_per_post=60), timeline=timeline, start=int(timeline.start)
    )
    await rig.turn(meter)
    for _ in range(20):
        await rig.turn(meter, 0.5)  # two and a half simulated minutes each
    delivered = rig.recorder.delivered
    assert len(delivered) == 20 * 150 // 15
    assert all(s.time <= timeline.now() <= rig.clock.t for s in delivered)
    assert len(rig.gateway.posts) <= 12  # one POST a real second, not one per reading
    assert rig.stored_registers() == registers_of(delivered)
    rig.clock.t = timeline.caught_up_at + 30
    await rig.turn(meter)
    assert timeline.live()
    assert all(s.time <= rig.clock.t for s in delivered)
    assert rig.clock.t - delivered[-1].time < 15  # caught up with the present
    times = [s.time for s in delivered]
    assert all(b - a == 15 for a, b in itertools.pairwise(times))  # no gap, no repeat


async def test_a_long_absence_is_stepped_over(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    settings = FleetSettings(buffer_samples=10, buffer_registers=20)
    meter = rig.meter(settings, start=START - 7 * 86_400)
    with caplog.at_level(logging.WARNING):
        meter._read_due()
    assert "behind; registers stepped over the gap" in caplog.text
    assert len(meter.buffer) <= 30
    imp = meter.model.state.import_wh
    assert imp > 0  # a week of energy is in the registers
    await rig.turn(meter)
    assert len(meter.buffer) == 0 and rig.recorder.delivered[-1].import_wh == imp


async def test_state_resumes_exactly(rig: Rig) -> None:
    meter = rig.meter()
    await rig.turn(meter)
    await rig.turn(meter, 15)
    rig.gateway.fail_posts = [503] * 3
    await rig.turn(meter, 15)
    saved = meter.state()
    # Meanwhile the first meter goes on reading (readings a restart must reproduce).
    for _ in range(3):
        rig.clock.t += 15
        meter._read_due()
    later = list(meter.buffer.samples())
    from devices.meter import MeterSnapshot
    from devices.mirror import sample_from_list

    campus = synthetic_fleet(3, 2030, load_campus().site)
    model = MeterModel.restore(
        campus.meter(SERIAL),
        Site(campus.site, 2030),
        MeterSnapshot.from_dict(saved["snapshot"]),
    )
    pending = [sample_from_list(s) for s in saved["pending"]]
    resumed = rig.meter(model=model, pending=pending, post_rate=saved["post_rate"])
    resumed._read_due()
    assert resumed.buffer.samples() == later


async def test_a_server_with_csip_aus_extensions_gets_every_reading_once(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 20: a CSIP-AUS server ends every EndDevice with csipaus:ConnectionPointLink;
    the meter sets it aside (logged once, kept) and mirrors and posts as usual."""
    rig.gateway.extensions = True
    meter = rig.meter()
    with caplog.at_level(logging.DEBUG, logger="devices.client"):
        await rig.turn(meter)
        for _ in range(4):
            await rig.turn(meter, 15)
    assert meter.ready and rig.gateway.edevs and rig.gateway.mups
    delivered = len(rig.recorder.delivered)
    assert delivered == 4
    assert len(rig.gateway.readings) == delivered * len(
        next(iter(rig.gateway.mups.values())).mirror_meter_readings
    )
    kept = {e.name for extensions in meter.extensions.values() for e in extensions}
    assert kept == {"ConnectionPointLink", "profileVersion"}
    note = "set aside the extension {https://csipaus.org/ns}ConnectionPointLink"
    assert caplog.text.count(note) == 1


async def test_the_mirror_list_is_re_read_and_its_post_rate_followed(rig: Rig) -> None:
    rig.gateway.poll_rate = 30
    meter = rig.meter()
    await rig.turn(meter)
    assert rig.gateway.requests["GET /mup"] == 1
    rig.gateway.post_rate = 60
    await rig.turn(meter, 30)
    assert rig.gateway.requests["GET /mup"] == 2 and meter.post_rate == 60
    # A mirror the list no longer shows is gone: the meter sets up again.
    rig.gateway.mups.clear()
    await rig.turn(meter, 30)
    assert not meter.ready
    await rig.turn(meter)
    assert rig.gateway.requests["POST /mup"] == 2 and meter.ready


async def test_registration_pin_off_accepts_a_server_without_registration(rig: Rig) -> None:
    rig.gateway.registration_links = False
    checked = rig.meter(FleetSettings(registration_pin=111115))
    await rig.turn(checked)
    assert not checked.ready and checked.status.phase is MeterPhase.REFUSED
    off = rig.meter(FleetSettings(registration_pin="off"))  # type: ignore[arg-type]
    await rig.turn(off)
    assert off.ready


@pytest.mark.parametrize("post_rate", [60, 15, 90])
async def test_csip_aus_readings_fall_on_the_minute_in_whole_minutes(
    rig: Rig, post_rate: int
) -> None:
    """Under --profile csip-aus every reading is stamped on the minute and every interval
    (the first after a start, from START at :40 s, too) lasts whole minutes."""
    rig.gateway.post_rate = post_rate
    meter = rig.meter(FleetSettings(profile="csip-aus"))
    await rig.turn(meter)
    for _ in range(12):
        await rig.turn(meter, 30)
    stored = list(rig.gateway.readings.values())
    assert len(rig.recorder.delivered) >= 3
    assert all(s.time % 60 == 0 for s in rig.recorder.delivered)
    assert all(r.start is None or r.start % 60 == 0 for r in stored)
    durations = {r.duration for r in stored if r.duration is not None}
    # Instants (registers, power) have duration 0; averaged telemetry whole minutes.
    assert all(d % 60 == 0 for d in durations) and max(durations) >= 60
    plain = rig.meter(serial="GM-SYN-00002")
    assert plain._grid_after(START) % 60 != 0 or plain._grid_after(START + 1) % 60 != 0


# --- issue 19: the server's time, function sets, pollRate on everything read again -------


async def test_time_is_read_at_start_and_again_at_its_poll_rate(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    rig.gateway.time_poll_rate = 60
    meter = rig.meter()
    with caplog.at_level(logging.INFO, logger="devices.servertime"):
        await rig.turn(meter)
        assert rig.gateway.requests["GET /tm"] == 1 and meter.server_clock.offset == 0
        await rig.turn(meter, 59)
        assert rig.gateway.requests["GET /tm"] == 1
        await rig.turn(meter, 1)
        assert rig.gateway.requests["GET /tm"] == 2
    assert meter.polls["tm"].every == 60
    assert "server's clock" not in caplog.text  # a clock that agrees is not worth a line


async def test_readings_are_stamped_in_the_servers_time_and_a_lying_clock_is_said(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    rig.gateway.clock_offset_s = 3600
    rig.gateway.time_quality = 3  # it claims NTP
    rig.gateway.time_poll_rate = 60
    meter = rig.meter()
    with caplog.at_level(logging.WARNING):
        await rig.turn(meter)
        for _ in range(4):
            await rig.turn(meter, 15)
    assert meter.server_clock.offset == 3600
    assert "the server's clock is 3600 s ahead of ours" in caplog.text
    assert "claims to be synchronised from an authoritative source (NTP)" in caplog.text
    (edev,) = rig.gateway.edevs.values()
    assert edev.changed_time >= START + 3600
    starts = sorted(rig.stored_registers())
    assert len(starts) == 4
    assert all(START + 3600 < t <= rig.clock.t + 3600 for t in starts)
    # The clock jumps back ten minutes: said again; readings wait for the server's time to
    # pass the last one (never stamped twice, never back in time).
    rig.gateway.clock_offset_s = 3000
    caplog.clear()
    reads = rig.gateway.requests["GET /tm"]
    with caplog.at_level(logging.WARNING):
        while rig.gateway.requests["GET /tm"] == reads:  # until its pollRate says read it
            await rig.turn(meter, 15)
    assert meter.server_clock.offset == 3000
    assert "3000 s ahead of ours, it jumped -600 s" in caplog.text
    starts = sorted(rig.stored_registers())
    for _ in range(8):
        await rig.turn(meter, 15)
    assert sorted(rig.stored_registers()) == starts


async def test_a_server_clock_within_tolerance_is_followed_quietly(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    rig.gateway.clock_offset_s = -3
    meter = rig.meter(FleetSettings(clock_tolerance_s=5))
    with caplog.at_level(logging.INFO):
        await rig.turn(meter)
        await rig.turn(meter, 15)
    # currentTime is whole seconds, truncated: the meter counts the half second it hides.
    assert meter.server_clock.offset in (-3, -2)
    assert "server's clock" not in caplog.text
    (t,) = rig.stored_registers()
    assert t <= rig.clock.t - 2


async def test_function_set_assignments_are_walked_and_their_time_link_followed(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    rig.gateway.time_in = "fsa"  # DeviceCapability links no Time: only the FSA does
    rig.gateway.clock_offset_s = 120
    meter = rig.meter()
    with caplog.at_level(logging.DEBUG, logger="devices.client"):
        await rig.turn(meter)
    assert meter.ready
    assert rig.gateway.requests["GET /edev/1/fsa"] == 1
    assert rig.gateway.requests["GET /edev/1/upt"] == 1
    assert rig.gateway.requests["GET /tm"] == 1 and meter.server_clock.offset == 120
    assert list(meter.function_sets) == ["/edev/1/fsa/1"]
    assert "left unread: tariff_profile_list_link" in caplog.text
    assert "GET /tp" not in rig.gateway.requests


async def test_every_resource_read_again_is_read_at_its_poll_rate(rig: Rig) -> None:
    rig.gateway.poll_rate = 30  # DeviceCapability, EndDeviceList, FSA list, mirror list
    rig.gateway.time_poll_rate = 30
    meter = rig.meter()
    await rig.turn(meter)
    for _ in range(60):  # 300 s in 5 s turns
        await rig.turn(meter, 5)
        assert meter._sleep_for() <= 30
    # Read at setup, then every 30 s: neither more often nor less.
    for path in ("/dcap", "/tm", "/edev/1", "/edev/1/fsa", "/mup"):
        assert rig.gateway.requests[f"GET {path}"] == 11, path
    assert {kind: p.every for kind, p in meter.polls.items()} == {
        "dcap": 30,
        "tm": 30,
        "edev": 30,
        "fsa": 30,
    }


async def test_an_end_device_gone_from_the_server_is_registered_again(rig: Rig) -> None:
    rig.gateway.poll_rate = 30
    meter = rig.meter()
    await rig.turn(meter)
    rig.gateway.edevs.clear()
    await rig.turn(meter, 30)
    assert not meter.ready
    await rig.turn(meter)
    assert meter.ready and rig.gateway.requests["POST /edev"] == 2
    assert len(rig.gateway.edevs) == 1


# --- issue 19: roleFlags per profile; reactive power and voltage per phase ---------------


async def test_csip_aus_mirrors_are_0x03_and_0x49_with_var_and_a_voltage_per_phase(
    rig: Rig,
) -> None:
    settings = FleetSettings(profile="csip-aus")
    prosumer = rig.meter(settings, serial="GM-SYN-00002")
    assert prosumer.model.spec.phases == 3 and prosumer.model.spec.pv_kwp > 0
    await rig.turn(prosumer)
    assert prosumer.der is not None  # on by default under CSIP-AUS
    site, der = (
        next(m for m in rig.gateway.mups.values() if m.mrid == mirror.mup_mrid)
        for mirror in (prosumer.mirror, prosumer.der)
    )
    assert (site.role_flags, der.role_flags) == (0x03, 0x49)
    types = {m.description: m.reading_type for m in site.mirror_meter_readings}
    assert types["Average reactive power (var)"] is not None
    assert types["Average reactive power (var)"].uom == 63  # VAr
    phases = {
        d: t.phase
        for d, t in types.items()
        if t is not None and t.uom == 29  # V
    }
    assert sorted(phases.values()) == [33, 65, 129]  # CN, BN, AN
    await rig.turn(prosumer, 120)  # the first reading on the minute after a start
    (sample,) = rig.recorder.delivered
    assert sample.telemetry is not None
    stored = {
        role: [r.value for r in rig.gateway.readings.values() if r.mmr_mrid == mrid]
        for role, mrid in prosumer.mirror.mmr_mrids.items()
    }
    # From the physics: the step's mean reactive power and its phase-to-neutral voltage.
    assert stored["reactive_power"] == [sample.telemetry.reactive_var] != [0]
    v = sample.telemetry.voltage_dv
    assert stored["voltage_a"] == stored["voltage_b"] == stored["voltage_c"] == [v]
    assert "voltage" not in stored
    assert rig.stats.readings_published == 2 + 7  # registers, P, Q, 3 x V, f, PF


async def test_plain_2030_5_keeps_its_six_readings_and_0x13(rig: Rig) -> None:
    meter = rig.meter(FleetSettings(), serial="GM-SYN-00002")
    await rig.turn(meter)
    assert meter.der is None
    (site,) = rig.gateway.mups.values()
    assert site.role_flags == 0x13
    assert [m.mrid for m in site.mirror_meter_readings] == [
        meter.mirror.mmr_mrids[q.role] for q in QUANTITIES
    ]
    own = rig.meter(FleetSettings(site_role_flags=0x03, der_mirror=True), serial="GM-SYN-00002")
    await rig.turn(own)
    assert {m.role_flags for m in rig.gateway.mups.values()} == {0x03, 0x09}


# --- issue 19: the DER function sets -------------------------------------------------------


def _hybrid(rig: Rig, serial: str = "GM-SYN-00003") -> MeterClient:
    """A campus hybrid (PV and a battery) under one of the test PKI's serials."""
    campus = load_campus()
    spec = next(m for m in campus.meters if m.battery is not None)
    spec = spec.model_copy(update={"serial": serial})
    return rig.meter(model=MeterModel(spec, Site(campus.site, 2030), START), serial=serial)


async def test_a_hybrid_walks_to_its_der_and_puts_its_four_parts(rig: Rig) -> None:
    rig.gateway.der_list = True
    meter = _hybrid(rig)
    await rig.turn(meter)
    assert meter.ready and meter.der_resource is not None
    assert [part for _, part, _ in rig.gateway.der_puts] == ["dercap", "derg", "ders", "dera"]
    docs = {part: doc for _, part, doc in rig.gateway.der_puts}
    spec = meter.model.spec
    assert spec.battery is not None
    cap, settings = docs["dercap"], docs["derg"]
    assert isinstance(cap, DerCapability) and isinstance(settings, DerSettings)
    assert cap.type == DerType.COMBINED_PV_AND_STORAGE
    watts = cap.rtg_max_w.value * 10**cap.rtg_max_w.multiplier
    expected = min(spec.rated_power_w, (spec.pv_kwp + spec.battery.discharge_kw) * 1000)
    assert abs(watts - expected) <= 10**cap.rtg_max_w.multiplier / 2
    assert cap.rtg_max_wh is not None
    assert cap.rtg_max_wh.value * 10**cap.rtg_max_wh.multiplier == spec.battery.capacity_kwh * 1e3
    assert settings.set_max_w == cap.rtg_max_w and settings.updated_time == START
    status = docs["ders"]
    assert isinstance(status, DerStatus) and status.state_of_charge_status is not None
    state = meter.model.state
    assert state.soc is not None
    assert status.state_of_charge_status.value == round(state.soc * 10_000)
    assert status.storage_mode_status is not None and status.storage_mode_status.value in (0, 1, 2)
    assert status.reading_time == START
    assert isinstance(docs["dera"], DerAvailability)
    assert rig.stats.der_reports_published == 1


async def test_der_status_is_put_every_post_rate_and_the_der_list_read_at_its_poll_rate(
    rig: Rig,
) -> None:
    rig.gateway.der_list = True
    rig.gateway.der_poll_rate = 60
    meter = _hybrid(rig)
    await rig.turn(meter)
    assert meter.polls["derstatus"].every == 15 and meter.polls["der"].every == 60
    for _ in range(24):  # 120 s in 5 s turns
        await rig.turn(meter, 5)
    parts = [part for _, part, _ in rig.gateway.der_puts]
    # Capability and settings once; status and availability at start and every 15 s.
    assert parts.count("dercap") == parts.count("derg") == 1
    assert parts.count("ders") == parts.count("dera") == 1 + 120 // 15
    assert rig.gateway.requests["GET /edev/1/der"] == 1 + 120 // 60
    statuses = [d for _, p, d in rig.gateway.der_puts if isinstance(d, DerStatus)]
    assert [s.reading_time for s in statuses] == [START + 15 * n for n in range(9)]
    # A value's dateTime is when it last changed: never after the report, never moving
    # while the value stays.
    for earlier, later in itertools.pairwise(statuses):
        for name in ("operational_mode_status", "inverter_status", "storage_mode_status"):
            a, b = getattr(earlier, name), getattr(later, name)
            assert b.date_time <= later.reading_time
            assert (b.date_time == a.date_time) == (b.value == a.value), name


async def test_a_server_without_a_der_list_is_not_asked(rig: Rig) -> None:
    meter = _hybrid(rig)  # rig.gateway.der_list is False: no DERListLink
    await rig.turn(meter)
    await rig.turn(meter, 15)
    assert meter.ready and meter.der_resource is None
    assert "der" not in meter.polls and "derstatus" not in meter.polls
    assert not any("/der" in request for request in rig.gateway.requests)
    assert sum(rig.stats.errors.values()) == 0


async def test_a_consumer_has_no_der_to_report(rig: Rig) -> None:
    rig.gateway.der_list = True
    meter = rig.meter()  # GM-SYN-00001: no PV, no battery
    await rig.turn(meter)
    assert meter.ready and meter.der_resource is None and rig.gateway.der_puts == []


async def test_a_pv_meter_reports_a_photovoltaic_der_without_storage(rig: Rig) -> None:
    rig.gateway.der_list = True
    meter = rig.meter(serial="GM-SYN-00002")
    await rig.turn(meter)
    docs = {part: doc for _, part, doc in rig.gateway.der_puts}
    cap, status = docs["dercap"], docs["ders"]
    assert isinstance(cap, DerCapability) and isinstance(status, DerStatus)
    assert cap.type == DerType.PHOTOVOLTAIC and cap.rtg_max_wh is None
    assert status.state_of_charge_status is None and status.stor_connect_status is None
    assert status.gen_connect_status is not None and status.inverter_status is not None
