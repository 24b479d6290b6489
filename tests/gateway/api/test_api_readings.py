"""POST /api/v1/meters/readings(/batch) through the real application and database."""

from __future__ import annotations

import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.api.tokens import Role
from tests.gateway.api.conftest import EPOCH, METER_IDS, ApiHarness, payload

URL = "/api/v1/meters/readings"
BATCH = "/api/v1/meters/readings/batch"
A, B, C = METER_IDS
STORED = ("signed_reading", "reading", "outbox")


def stored(api: ApiHarness) -> dict[str, int]:
    return {t: api.count(t) for t in STORED}


def test_accepted_reading_enters_registers_and_outbox(api: ApiHarness) -> None:
    body = payload(
        api.key, A, EPOCH, "1.5", "0.25", metadata={"location": "lab"}, temperature="31.5"
    )
    response = api.client.post(URL, json=body, headers=api.headers(Role.OPERATOR))
    assert response.status_code == 201, response.text
    out = response.json()
    assert (out["import_mwh"], out["export_mwh"]) == (250_000, 1_500_000)
    assert (out["import_wh"], out["export_wh"]) == (250, 1500)
    assert out["authority_key"] == "ea-1"
    # The same tables as 2030.5 readings: two register readings and one outbox pair.
    assert api.sql("SELECT lfdi, timestamp, import_wh, export_wh, state FROM outbox") == [
        (A, EPOCH, 250, 1500, "pending")
    ]
    regs = api.sql(
        "SELECT energy_register, value, power_of_ten, wh FROM reading ORDER BY energy_register"
    )
    assert regs == [("export", 1_500_000, -3, 1500), ("import", 250_000, -3, 250)]
    (meta,) = api.sql("SELECT metadata_json, temperature FROM signed_reading")
    assert meta[0] == '{"location":"lab"}'
    # A second reading adds its interval's energy to the registers.
    second = payload(api.key, A, EPOCH + 900, "0.000001", "2")
    response = api.client.post(URL, json=second, headers=api.headers(Role.OPERATOR))
    assert response.status_code == 201, response.text
    assert (response.json()["import_mwh"], response.json()["export_mwh"]) == (
        2_250_000,
        1_500_001,
    )
    assert api.sql(
        "SELECT import_wh, export_wh FROM outbox WHERE timestamp = :t", t=EPOCH + 900
    ) == [(2250, 1500)]


def test_replay_is_409_and_stores_nothing(api: ApiHarness) -> None:
    body = payload(api.key, A, EPOCH, "1", "1")
    assert api.client.post(URL, json=body, headers=api.headers()).status_code == 201
    before = stored(api)
    again = api.client.post(URL, json=body, headers=api.headers())
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert "replay" in again.json()["detail"]
    assert stored(api) == before


def test_timestamp_at_or_before_last_is_409(api: ApiHarness) -> None:
    assert (
        api.client.post(
            URL, json=payload(api.key, A, EPOCH + 900, "1", "1"), headers=api.headers()
        ).status_code
        == 201
    )
    before = stored(api)
    for when in (EPOCH + 900, EPOCH):
        response = api.client.post(
            URL, json=payload(api.key, A, when, "2", "0"), headers=api.headers()
        )
        assert response.status_code == 409, response.text
        assert "at or before" in response.json()["detail"]
    assert stored(api) == before


def test_future_timestamp_is_refused(api: ApiHarness) -> None:
    body = payload(api.key, A, int(time.time()) + 3600, "1", "1")
    response = api.client.post(URL, json=body, headers=api.headers())
    assert response.status_code == 422
    assert "ahead of the gateway's clock" in response.json()["detail"]
    assert stored(api) == dict.fromkeys(STORED, 0)


def test_bad_signatures_are_refused(api: ApiHarness) -> None:
    good = payload(api.key, A, EPOCH, "1", "1")
    other_key = Ed25519PrivateKey.generate()
    cases = [
        {**good, "energy_generated": 1.000001},  # altered after signing
        {**good, "meter_id": B},  # signed for another meter
        payload(other_key, A, EPOCH, "1", "1"),  # an unregistered key
        {**good, "engineering_authority_signature": "not base64!"},
        {**good, "engineering_authority_signature": "AAAA"},  # too short
    ]
    for body in cases:
        response = api.client.post(URL, json=body, headers=api.headers())
        assert response.status_code == 422, (body, response.text)
    missing = {k: v for k, v in good.items() if k != "engineering_authority_signature"}
    assert api.client.post(URL, json=missing, headers=api.headers()).status_code == 422
    assert stored(api) == dict.fromkeys(STORED, 0)


def test_unknown_meter_is_404(api: ApiHarness) -> None:
    body = payload(api.key, "EE" * 20, EPOCH, "1", "1")
    response = api.client.post(URL, json=body, headers=api.headers())
    assert response.status_code == 404
    assert stored(api) == dict.fromkeys(STORED, 0)


def test_revoked_key_no_longer_verifies(api: ApiHarness) -> None:
    (key_id,) = api.sql("SELECT id FROM authority_key")[0]
    response = api.client.delete(f"/api/v1/admin/authority-keys/{key_id}", headers=api.headers())
    assert response.status_code == 200
    body = payload(api.key, A, EPOCH, "1", "1")
    assert api.client.post(URL, json=body, headers=api.headers()).status_code == 422


def test_batch_is_all_or_nothing(api: ApiHarness) -> None:
    good = [payload(api.key, m, EPOCH + 900 * i, "1", "0.5") for i in range(3) for m in (A, B)]
    good.sort(key=lambda b: b["timestamp"])
    bad = list(good)
    bad[4] = {**bad[4], "energy_consumed": 9}  # altered: its signature breaks
    response = api.client.post(BATCH, json={"readings": bad}, headers=api.headers())
    assert response.status_code == 422, response.text
    assert response.json()["index"] == 4
    assert stored(api) == dict.fromkeys(STORED, 0)
    # A refusal found while storing (item 5 repeats item 3's time) undoes items 0-4.
    late = list(good)
    late[5] = payload(api.key, B, EPOCH + 900, "1", "1")
    response = api.client.post(BATCH, json={"readings": late}, headers=api.headers())
    assert response.status_code == 409, response.text
    assert response.json()["index"] == 5
    assert stored(api) == dict.fromkeys(STORED, 0)
    response = api.client.post(BATCH, json={"readings": good}, headers=api.headers())
    assert response.status_code == 201, response.text
    assert response.json()["accepted"] == 6
    assert api.count("outbox") == 6
    assert api.sql(
        "SELECT import_wh, export_wh FROM outbox WHERE lfdi = :m ORDER BY timestamp DESC", m=B
    )[0] == (1500, 3000)


def test_batch_over_the_limit_is_413(sqlite_api: ApiHarness) -> None:
    api = sqlite_api  # gateway.api_batch_limit is 1000 by default
    bodies = [payload(api.key, A, EPOCH + i, "0", "0") for i in range(1001)]
    response = api.client.post(BATCH, json={"readings": bodies}, headers=api.headers())
    assert response.status_code == 413
    assert stored(api) == dict.fromkeys(STORED, 0)


def test_meter_token_posts_only_for_its_meter(api: ApiHarness) -> None:
    mine = payload(api.key, A, EPOCH, "1", "1")
    theirs = payload(api.key, B, EPOCH, "1", "1")
    meter = api.headers(Role.METER, subject=A.lower())
    assert api.client.post(URL, json=mine, headers=meter).status_code == 201
    response = api.client.post(URL, json=theirs, headers=meter)
    assert response.status_code == 403
    response = api.client.post(BATCH, json={"readings": [theirs]}, headers=meter)
    assert response.status_code == 403
    assert response.json()["index"] == 0
    assert api.count("outbox") == 1


def test_a_2030_5_settled_meter_refuses_rest_readings(api: ApiHarness) -> None:
    from gateway.models import MirrorRow

    with api.runtime.database.write_session() as session:
        session.add(
            MirrorRow(
                mrid="AB" * 16, owner_lfdi=C, device_lfdi=C, role_flags=3,
                service_category_kind=0, status=1, settles=True, created_at=0, updated_at=0,
            )
        )  # fmt: skip
    response = api.client.post(
        URL, json=payload(api.key, C, EPOCH, "1", "1"), headers=api.headers()
    )
    assert response.status_code == 409
    assert "already settles" in response.json()["detail"]
    assert stored(api) == dict.fromkeys(STORED, 0)


def test_rest_continues_a_meter_from_its_last_pair(api: ApiHarness) -> None:
    """A meter whose earlier (2030.5) readings left a pair in the outbox continues from it:
    on chain its registers never decrease."""
    from oracle.outbox import enqueue

    with api.runtime.database.write_session() as session:
        enqueue(session, lfdi=B, timestamp=EPOCH, import_wh=5000, export_wh=7000, now=0.0)
    response = api.client.post(
        URL, json=payload(api.key, B, EPOCH + 60, "1", "0.5"), headers=api.headers()
    )
    assert response.status_code == 201, response.text
    assert (response.json()["import_wh"], response.json()["export_wh"]) == (5500, 8000)
    assert api.sql(
        "SELECT import_wh, export_wh FROM outbox WHERE timestamp = :t", t=EPOCH + 60
    ) == [(5500, 8000)]


def test_rest_readings_are_counted_for_prometheus(sqlite_api: ApiHarness) -> None:
    from gateway.metrics.instruments import READINGS_RECEIVED

    api = sqlite_api
    counter = READINGS_RECEIVED.labels("rest")
    before = counter._value.get()
    bodies = [payload(api.key, A, EPOCH + 60 * i, "0.1", "0.1") for i in range(3)]
    bad = [*bodies[:2], bodies[0]]  # refused in the job, after two were written
    assert api.client.post(BATCH, json={"readings": bad}, headers=api.headers()).status_code == 409
    assert counter._value.get() == before
    assert (
        api.client.post(BATCH, json={"readings": bodies}, headers=api.headers()).status_code == 201
    )
    assert counter._value.get() == before + 6  # import and export register of each


def test_a_meter_reporting_over_2030_5_is_not_also_fed_by_rest(api: ApiHarness) -> None:
    from gateway.peer import Peer
    from gateway.peer import Role as PeerRole
    from tests.gateway.conftest import site_mup

    # meter C mirrors its own registers over 2030.5 (as the campus meters do)
    with api.runtime.database.write_session() as session:
        api.runtime.ingest.mirror_job(Peer(C, 0, PeerRole.DEVICE), site_mup(C))(session)
    before = stored(api)
    response = api.client.post(
        URL, json=payload(api.key, C, EPOCH, "1", "1"), headers=api.headers()
    )
    assert response.status_code == 409, response.text
    assert "fed by the REST API or by its own 2030.5 mirror, not both" in response.json()["detail"]
    assert stored(api) == before
