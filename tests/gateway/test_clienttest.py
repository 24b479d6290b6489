"""The gateway's client-test mode: the recorder keeps each device's conversation, and the
fault plan answers and acts as scripted, on a real gateway over mutual TLS."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from certs.pki import Pki
from certs.settings import PkiSettings
from gateway.clienttest import ClientTestMode, client_test_settings
from gateway.faultplan import DEFAULT_PLAN, ScriptedFault, plan_length_s, plan_of
from gateway.launch import Gateway
from gateway.settings import GatewaySettings
from sep2 import Codec, Error, MirrorUsagePoint, MirrorUsagePointList, Sep2Settings
from tests.gateway.conftest import METERS, client, get, post, readings, register, site_mup

POST_RATE = 10


class SteppedClock:
    """Real time plus an offset the test moves forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@asynccontextmanager
async def client_test_gateway(
    pki: Pki, codec: Codec, tmp_path: Path, faults: tuple[ScriptedFault, ...], clock: SteppedClock
) -> AsyncIterator[tuple[Gateway, ClientTestMode]]:
    base = GatewaySettings(
        host="127.0.0.1",
        port=0,
        database_url=f"sqlite:///{tmp_path / 'gw.db'}",
        mdns=False,
        sqlite_synchronous="normal",
    )
    mode = ClientTestMode(faults)
    gateway = Gateway(
        client_test_settings(base, POST_RATE),
        Sep2Settings(),
        pki,
        PkiSettings(),
        codec=codec,
        clock=clock,
        client_test=mode,
    )
    await gateway.start()
    try:
        yield gateway, mode
    finally:
        await gateway.stop()


async def test_the_recorder_keeps_each_devices_exchanges(
    pki: Pki, codec: Codec, tmp_path: Path
) -> None:
    clock = SteppedClock()
    async with client_test_gateway(pki, codec, tmp_path, (), clock) as (gateway, mode):
        assert gateway.api_server is None  # client-test settings: the 2030.5 port only
        lfdi = pki.device(METERS[0]).lfdi
        async with client(gateway, METERS[0]) as c:
            dcap = await get(c, "/dcap")
            assert dcap.status_code == 200
            guessed = await get(c, "/sep2/edev")  # not ours: the listener's 404
            assert guessed.status_code == 404
            await register(c, pki, METERS[0], codec)
            created = await post(c, "/mup", site_mup(lfdi), codec)
            assert created.status_code == 201
        async with client(gateway, METERS[1]) as c:
            await get(c, "/tm?x=1")
        recorder = mode.recorder
        assert recorder.lfdis() == [lfdi, pki.device(METERS[1]).lfdi]
        first = recorder.exchanges(lfdi)
        assert [(e.method, e.path, e.status) for e in first] == [
            ("GET", "/dcap", 200),
            ("GET", "/sep2/edev", 404),
            ("POST", "/edev", 201),
            ("POST", "/mup", 201),
        ]
        assert first[0].response_body == dcap.content
        assert first[3].request_body == codec.serialise(site_mup(lfdi))
        assert first[3].request_content_type == "application/sep+xml"
        assert ("location", created.headers["location"]) in first[3].response_headers
        device_pem = pki.device(METERS[0]).cert.read_text()
        assert first[0].client_chain == [device_pem]
        assert all(e.injected_fault is None for e in first)
        other = recorder.exchanges(pki.device(METERS[1]).lfdi)
        assert [(e.path, e.query) for e in other] == [("/tm", "x=1")]
        assert other[0].as_dict()["lfdi"] == pki.device(METERS[1]).lfdi


async def test_the_fault_plan_answers_and_acts_on_each_device_in_turn(
    pki: Pki, codec: Codec, tmp_path: Path
) -> None:
    faults = (
        ScriptedFault("server_error", at_periods=1, count=2, status=503, retry_after_s=3),
        ScriptedFault("reject", at_periods=2, status=400),
        ScriptedFault("post_rate", at_periods=3, factor=3),
        ScriptedFault("missing_link", at_periods=4, status=404),
        ScriptedFault("delete_mirror", at_periods=5),
    )
    clock = SteppedClock()
    async with client_test_gateway(pki, codec, tmp_path, faults, clock) as (gateway, mode):
        serial = METERS[0]
        lfdi = pki.device(serial).lfdi
        async with client(gateway, serial) as c:
            await register(c, pki, serial, codec)
            mup = (await post(c, "/mup", site_mup(lfdi), codec)).headers["location"]
            t = int(clock())

            async def post_readings(k: int) -> int:
                body = readings(lfdi, t + k, 1000 + k, 10)
                return (await post(c, mup, body, codec)).status_code

            assert await post_readings(0) == 201  # the device's timeline starts here
            assert await post_readings(1) == 201  # nothing due yet
            clock.offset += POST_RATE
            first = await post(c, mup, readings(lfdi, t + 2, 1002, 10), codec)
            assert first.status_code == 503
            assert first.headers["retry-after"] == "3"
            assert (await get(c, "/dcap")).status_code == 200  # GETs are not touched
            assert await post_readings(3) == 503
            assert await post_readings(4) == 201  # the burst is over
            clock.offset += POST_RATE
            rejected = await post(c, mup, readings(lfdi, t + 5, 1005, 10), codec)
            assert rejected.status_code == 400
            assert codec.parse(rejected.content, Error).reason_code == 1
            clock.offset += POST_RATE
            shown = codec.parse((await get(c, mup)).content, MirrorUsagePoint)
            assert shown.post_rate == 3 * POST_RATE  # stored, not only answered
            clock.offset += POST_RATE
            assert (await get(c, "/mup")).status_code == 404
            listed = await get(c, "/mup")
            assert codec.parse(listed.content, MirrorUsagePointList).all == 1
            clock.offset += POST_RATE
            assert await post_readings(6) == 404  # its mirror was deleted server-side
            listed = await get(c, "/mup")
            assert codec.parse(listed.content, MirrorUsagePointList).all == 0
        recorder = mode.recorder
        injected = [
            (e.status, e.injected_fault) for e in recorder.exchanges(lfdi) if e.injected_fault
        ]
        assert injected == [
            (503, "server_error"),
            (503, "server_error"),
            (400, "reject"),
            (404, "missing_link"),
        ]
        kinds = [a.kind for a in recorder.actions(lfdi)]
        assert kinds == ["server_error", "reject", "post_rate", "missing_link", "delete_mirror"]
        assert recorder.actions(lfdi)[-1].detail == f"deleted {mup}"


def test_plans_are_chosen_by_kind() -> None:
    assert plan_of(None) == DEFAULT_PLAN
    assert [f.kind for f in plan_of(["reject", "server_error"])] == ["server_error", "reject"]
    with pytest.raises(ValueError, match="unknown fault bogus"):
        plan_of(["bogus"])
    # The last fault (missing_link at 28 P) plus four of the doubled postRates.
    assert plan_length_s(DEFAULT_PLAN, 2) == 28 * 2 + 4 * 2 * 2
    assert plan_length_s((), 2) == 0.0
