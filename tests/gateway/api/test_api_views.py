"""GET views: cursor paging without gaps or duplicates, meters, settlements, dead letters."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.api.tokens import Role
from tests.gateway.api.conftest import EPOCH, METER_IDS, ApiHarness, payload

A, B, C = METER_IDS


def _fill(api: ApiHarness, per_meter: int) -> None:
    bodies = [
        payload(api.key, m, EPOCH + 900 * i, "0.5", "0.25")
        for i in range(per_meter)
        for m in METER_IDS
    ]
    response = api.client.post(
        "/api/v1/meters/readings/batch", json={"readings": bodies}, headers=api.headers()
    )
    assert response.status_code == 201, response.text


def _walk(api: ApiHarness, query: str, limit: int) -> list[int]:
    seen: list[int] = []
    cursor = None
    for _ in range(1000):
        url = f"/api/v1/readings?limit={limit}{query}" + (f"&cursor={cursor}" if cursor else "")
        page = api.client.get(url, headers=api.headers(Role.VIEWER)).json()
        assert len(page["items"]) <= limit
        seen.extend(item["id"] for item in page["items"])
        cursor = page["next"]
        if cursor is None:
            return seen
    raise AssertionError("paging does not end")


def test_paging_has_no_gaps_or_duplicates(api: ApiHarness) -> None:
    _fill(api, 7)
    everything = [r[0] for r in api.sql("SELECT id FROM outbox ORDER BY timestamp, id")]
    assert len(everything) == 21
    for limit in (1, 2, 5, 21, 50):
        assert _walk(api, "", limit) == everything
    only_b = [
        r[0]
        for r in api.sql(
            "SELECT id FROM outbox WHERE lfdi = :m AND timestamp >= :s AND timestamp < :u "
            "ORDER BY timestamp",
            m=B,
            s=EPOCH + 900,
            u=EPOCH + 900 * 5,
        )
    ]
    assert len(only_b) == 4
    query = f"&meter_id={B.lower()}&since={EPOCH + 900}&until={EPOCH + 900 * 5}"
    assert _walk(api, query, 3) == only_b


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(limit=st.integers(1, 8), inserted_after=st.integers(0, 5))
def test_paging_while_readings_arrive(
    sqlite_api: ApiHarness, limit: int, inserted_after: int
) -> None:
    """Readings stored between pages appear once (or not at all), never twice."""
    api = sqlite_api
    last = api.sql("SELECT max(timestamp) FROM outbox")[0][0]
    start = EPOCH if last is None else last + 60
    for i in range(6):
        body = payload(api.key, A, start + i * 60, "1", "1")
        assert (
            api.client.post("/api/v1/meters/readings", json=body, headers=api.headers()).status_code
            == 201
        )
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        url = f"/api/v1/readings?limit={limit}&since={start}" + (
            f"&cursor={cursor}" if cursor else ""
        )
        page = api.client.get(url, headers=api.headers()).json()
        seen.extend(item["id"] for item in page["items"])
        pages += 1
        if pages == inserted_after + 1:
            late = payload(api.key, A, start + 6 * 60 + pages, "1", "1")
            api.client.post("/api/v1/meters/readings", json=late, headers=api.headers())
        cursor = page["next"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen))
    assert set(seen) >= {
        r[0]
        for r in api.sql(
            "SELECT id FROM outbox WHERE timestamp >= :s AND timestamp < :e",
            s=start,
            e=start + 6 * 60,
        )
    }


def test_bad_cursor_is_400(sqlite_api: ApiHarness) -> None:
    for cursor in ("%%%", "bm90IGpzb24", "WzEsMiwzXQ"):  # garbage, "not json", [1,2,3]
        response = sqlite_api.client.get(
            f"/api/v1/readings?cursor={cursor}", headers=sqlite_api.headers()
        )
        assert response.status_code == 400, cursor


def test_meters_show_their_registers(api: ApiHarness) -> None:
    _fill(api, 2)
    response = api.client.get("/api/v1/meters", headers=api.headers(Role.VIEWER))
    assert response.status_code == 200
    items = {m["meter_id"]: m for m in response.json()["items"]}
    assert set(items) == set(METER_IDS)
    assert (items[A]["import_wh"], items[A]["export_wh"]) == (500, 1000)
    assert items[A]["last_timestamp"] == EPOCH + 900
    assert items[A]["settling_mirror"] is not None
    one = api.client.get(f"/api/v1/meters/{A.lower()}", headers=api.headers()).json()
    assert one == items[A]
    assert api.client.get(f"/api/v1/meters/{'EF' * 20}", headers=api.headers()).status_code == 404


def test_owner_wallet(api: ApiHarness) -> None:
    wallet = "4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T"
    url = f"/api/v1/meters/{A}/owner"
    response = api.client.put(url, json={"wallet": wallet}, headers=api.headers())
    assert response.status_code == 200, response.text
    assert (response.json()["owner"], response.json()["owner_source"]) == (wallet, "api")
    bad = api.client.put(url, json={"wallet": "0" * 40}, headers=api.headers())
    assert bad.status_code == 422
    assert api.sql("SELECT wallet FROM meter_owner") == [(wallet,)]


def test_dead_letters_and_redrive(api: ApiHarness) -> None:
    _fill(api, 2)
    api.runtime.database.write.dispose()
    with api.runtime.database.write_session() as session:
        from sqlalchemy import text

        session.execute(
            text("UPDATE outbox SET state = 'dead', last_error = 'boom' WHERE lfdi = :m"),
            {"m": B},
        )
    dead = api.client.get("/api/v1/dead-letters", headers=api.headers(Role.VIEWER)).json()
    assert {d["meter_id"] for d in dead["items"]} == {B}
    assert {d["last_error"] for d in dead["items"]} == {"boom"}
    response = api.client.post(
        "/api/v1/admin/dead-letters/redrive",
        json={"meter_ids": [B]},
        headers=api.headers(Role.OPERATOR),
    )
    assert response.json() == {"redriven": 2}
    assert api.client.get("/api/v1/dead-letters", headers=api.headers()).json()["items"] == []
    status = api.client.get("/api/v1/chain/status", headers=api.headers()).json()
    assert status["outbox"]["pending"] == 6
    assert status["bridge_running"] is False


def test_chain_actions_without_a_bridge_are_503(sqlite_api: ApiHarness) -> None:
    response = sqlite_api.client.post("/api/v1/admin/clearing", headers=sqlite_api.headers())
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"


def test_proof_of_an_unconfirmed_reading_is_409(sqlite_api: ApiHarness) -> None:
    _fill(sqlite_api, 1)
    (pair_id,) = sqlite_api.sql("SELECT min(id) FROM outbox")[0]
    response = sqlite_api.client.get(
        f"/api/v1/readings/{pair_id}/proof", headers=sqlite_api.headers()
    )
    assert response.status_code == 409
    assert (
        sqlite_api.client.get(
            "/api/v1/readings/999999/proof", headers=sqlite_api.headers()
        ).status_code
        == 404
    )


def test_owner_of_a_meter_on_chain_is_fixed(sqlite_api: ApiHarness) -> None:
    from oracle.records import ChainMeter

    api = sqlite_api
    first = "4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T"
    with api.runtime.database.write_session() as session:
        session.add(
            ChainMeter(
                lfdi=A, address="11111111111111111111111111111111", owner=first,
                token_account="11111111111111111111111111111111", rated_power_w=10_000,
                owner_source="config", registered_at=0.0,
            )
        )  # fmt: skip
    url = f"/api/v1/meters/{A}/owner"
    other = "11111111111111111111111111111112"
    response = api.client.put(url, json={"wallet": other}, headers=api.headers())
    assert response.status_code == 409, response.text
    assert api.sql("SELECT count(*) FROM meter_owner") == [(0,)]
    same = api.client.put(url, json={"wallet": first}, headers=api.headers())
    assert same.status_code == 200
    assert (same.json()["owner"], same.json()["on_chain"]) == (first, True)
