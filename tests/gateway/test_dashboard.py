"""The dashboard's snapshot: the pure function over hand-made rows, the queries over a
gateway's real database (SQLite and PostgreSQL), and the JSON and SSE routes."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import httpx
from hypothesis import given
from hypothesis import strategies as st

from certs.pki import Pki
from gateway.dashboard.rows import (
    DashboardRows,
    DeadLetter,
    Device,
    Epoch,
    Latest,
    MeterMinted,
    Mirror,
    OutboxCount,
    Settled,
)
from gateway.dashboard.snapshot import build_snapshot, role_flag_names, why
from gateway.launch import Gateway
from sep2 import Codec, RoleFlags
from tests.gateway.conftest import METERS, StartGateway, client, post, readings, register, site_mup

SITE = int(RoleFlags.IS_MIRROR | RoleFlags.IS_PREMISES_AGGREGATION_POINT)
DER = int(RoleFlags.IS_MIRROR | RoleFlags.IS_DER)
NOW = 1_800_000_000.0


def latest(
    mirror: int, uom: int, kind: int, flow: int | None, value: float, **kw: object
) -> Latest:
    values: dict[str, object] = {
        "mirror_id": mirror, "uom": uom, "kind": kind, "flow_direction": flow,
        "energy_register": None, "start": int(NOW) - 5, "scaled": Decimal(str(value)),
        "wh": None, "received_at": NOW - 1,
    }  # fmt: skip
    values.update(kw)
    return Latest(**values)  # type: ignore[arg-type]


def campus_rows(
    net: float,
    pv: float,
    battery: float,
    received_at: float = NOW - 1,
    own_post_rate: int | None = None,
) -> DashboardRows:
    a, b = "A" * 40, "B" * 40
    return DashboardRows(
        devices=[Device(a, 1, 0, own_post_rate), Device(b, 2, 0)],
        mirrors=[
            Mirror(1, a, "house-1", SITE, True, a),
            Mirror(2, a, "house-1 DER", DER, False, a),
            Mirror(3, b, "flat-2", SITE, True, b),
        ],
        latest=[
            latest(1, 72, 12, 1, 1500, energy_register="import", wh=1500, received_at=received_at),
            latest(1, 72, 12, 19, 700, energy_register="export", wh=700, received_at=received_at),
            latest(1, 38, 37, 1, net, received_at=received_at),
            latest(2, 38, 37, 19, pv, received_at=received_at),
            latest(2, 38, 37, 1, battery, received_at=received_at),
            latest(2, 0, 0, None, 55.5, received_at=received_at),
            latest(3, 38, 37, 1, 300, received_at=NOW - 100),
        ],
        outbox_totals={a: 45, b: 3},
        outbox=[
            OutboxCount(a, "pending", 2),
            OutboxCount(a, "in_flight", 1),
            OutboxCount(a, "duplicate", 2),
            OutboxCount(b, "dead", 3),
        ],
        minted=[MeterMinted(a, 900, 2)],
        epochs=[Epoch(2_000_001, 1, 400, NOW), Epoch(2_000_000, 1, 500, NOW)],
        settlements=[
            Settled(2_000_000, a, 500, 500),
            Settled(2_000_001, a, 400, 400),
            Settled(2_000_001, b, 0, -250),
        ],
        dead_letters=[DeadLetter(7, b, int(NOW) - 60, 9, "refused: too much energy")],
        owners={a: "Owner1111"},
    )


@given(
    net=st.floats(-20_000, 20_000, allow_nan=False),
    pv=st.floats(0, 20_000, allow_nan=False),
    battery=st.floats(-5_000, 5_000, allow_nan=False),
)
def test_load_is_what_the_premises_consume(net: float, pv: float, battery: float) -> None:
    snap = build_snapshot(campus_rows(net, pv, battery), {}, now=NOW, post_rate=15)
    house = next(m for m in snap["meters"] if m["name"] == "house-1")
    assert house["net_w"] == net and house["pv_w"] == pv and house["battery_w"] == battery
    assert house["load_w"] is not None
    # energy balance: what comes from the grid and the PV goes to the load and the battery
    assert abs(net + pv - (house["load_w"] + battery)) < 1e-6
    assert snap["totals"]["net_w"] == net + 300
    assert snap["totals"]["pv_w"] == pv


def test_the_snapshot_of_a_small_campus() -> None:
    snap = build_snapshot(campus_rows(200, 1000, 300), {"minted_wh": 0}, now=NOW, post_rate=15)
    house, flat = snap["meters"][1], snap["meters"][0]  # sorted by name
    assert (flat["name"], house["name"]) == ("flat-2", "house-1")
    assert house["role"] == "hybrid" and flat["role"] == "consumer"
    assert house["role_flags"] == "isMirror|isPremisesAggregationPoint"
    assert (house["import_wh"], house["export_wh"], house["soc_pct"]) == (1500, 700, 55.5)
    assert (house["confirmed"], house["pending"], house["dead"]) == (40, 3, 0)
    assert (house["minted_wh"], house["settled_epochs"], house["owner"]) == (900, 2, "Owner1111")
    assert house["online"] and not flat["online"]  # flat-2 last heard 100 s > 3 x 15 s ago
    assert flat["load_w"] == 300 and flat["pv_w"] is None
    assert [e["epoch"] for e in snap["epochs"]] == [2_000_000, 2_000_001]
    assert snap["epochs"][0]["start"] == 2_000_000 * 900
    assert snap["epochs"][1]["by_meter"] == {"house-1": 400}
    # every meter settled in the epoch, minted or not, and why
    assert snap["epochs"][1]["meters"] == [
        {"meter": "flat-2", "net_export_wh": -250, "minted_wh": 0, "withheld_wh": 0,
         "why": "net import: no generation behind the meter"},
        {"meter": "house-1", "net_export_wh": 400, "minted_wh": 400, "withheld_wh": 0,
         "why": "net export minted"},
    ]  # fmt: skip
    assert snap["dead_letters"][0]["meter"] == "flat-2"
    totals = snap["totals"]
    assert (totals["meters"], totals["online"], totals["dead"], totals["minted_wh"]) == (
        2,
        1,
        3,
        900,
    )
    json.dumps(snap)  # JSON-ready as it is


@given(
    net=st.integers(-(10**9), 10**9),
    withheld=st.integers(0, 10**6),
    role=st.sampled_from(["consumer", "prosumer", "hybrid"]),
)
def test_why_names_the_reason_of_every_settlement(net: int, withheld: int, role: str) -> None:
    minted = max(0, net - withheld) if net > 0 else 0
    withheld = min(withheld, max(0, net))
    said = why(net, minted, withheld, role)
    if withheld:
        assert f"{withheld:,} Wh withheld" in said
    elif minted:
        assert said == "net export minted"
    elif net < 0:
        assert said.startswith("net import")
        assert ("battery" in said) == (role == "hybrid")
    else:
        assert said == "no net flow in the epoch"


def test_role_flags_by_their_schema_names() -> None:
    assert role_flag_names(DER) == "isMirror|isDER"
    assert role_flag_names(0) == "none"
    assert role_flag_names(int(RoleFlags.IS_SUBMETER | RoleFlags.IS_REVENUE_QUALITY)) == (
        "isRevenueQuality|isSubmeter"
    )


def test_a_meter_goes_offline_after_three_post_rates() -> None:
    def house_online(received_at: float) -> bool:
        snap = build_snapshot(campus_rows(1, 1, 1, received_at), {}, now=NOW, post_rate=15)
        return snap["meters"][1]["online"]

    assert house_online(NOW - 45) and not house_online(NOW - 46)


def test_a_meter_with_its_own_post_rate_is_online_by_it() -> None:
    def house_online(received_at: float) -> bool:
        rows = campus_rows(1, 1, 1, received_at, own_post_rate=60)
        return build_snapshot(rows, {}, now=NOW, post_rate=15)["meters"][1]["online"]

    assert house_online(NOW - 180) and not house_online(NOW - 181)


def test_the_fleet_list_is_capped_but_the_totals_are_not() -> None:
    snap = build_snapshot(campus_rows(1, 1, 1), {}, now=NOW, post_rate=15, max_meters=1)
    assert len(snap["meters"]) == snap["meters_shown"] == 1
    assert snap["totals"]["meters"] == 2


def api(gateway: Gateway) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=gateway.api_url)


async def test_state_json_reads_the_gateway_database(
    start_gateway: StartGateway, pki: Pki, codec: Codec
) -> None:
    meter = pki.device(METERS[0])
    start = int(time.time()) - 300
    async with start_gateway(dashboard_interval=0.05) as gw:
        async with client(gw, METERS[0]) as c:
            await register(c, pki, METERS[0], codec)
            mup = (await post(c, "/mup", site_mup(meter.lfdi), codec)).headers["location"]
            for k in range(3):
                body = readings(meter.lfdi, start + 15 * k, 1000 + 10 * k, 5 * k, power=-250 + k)
                assert (await post(c, mup, body, codec)).status_code == 201
        async with api(gw) as c:
            snap = (await c.get("/dashboard/state.json")).json()
            page = await c.get("/dashboard")
            script = await c.get("/dashboard/static/dashboard.js")
            async with c.stream("GET", "/dashboard/events") as events:
                assert events.headers["content-type"].startswith("text/event-stream")
                lines = events.aiter_lines()
                streamed = None
                async for line in lines:
                    if line.startswith("data: "):
                        streamed = json.loads(line[6:])
                        break
    assert page.status_code == 200 and "<canvas" in page.text
    assert script.status_code == 200 and "EventSource" in script.text
    (view,) = snap["meters"]
    assert view["lfdi"] == meter.lfdi and view["name"] == "site"
    assert (view["import_wh"], view["export_wh"], view["net_w"]) == (1020, 10, -248)
    assert view["last_reading"] == start + 30 and view["online"]
    assert (view["pending"], view["confirmed"]) == (3, 0)
    assert snap["totals"]["pending"] == 3
    assert streamed is not None and streamed["meters"][0]["import_wh"] == 1020
