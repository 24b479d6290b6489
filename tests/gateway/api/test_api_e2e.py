"""End to end over HTTP: a signed reading POSTed to the gateway's API listener ends up
confirmed on the embedded chain by the bridge in the gateway's lifespan; its proof
verifies against the chain, and clearing settles and mints it."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from certs.pki import Pki
from certs.settings import PkiSettings
from gateway.api import build_api
from gateway.api.signatures import public_key_text
from gateway.api.tokens import Role
from gateway.launch import Gateway
from gateway.registration import pre_register
from gateway.settings import GatewaySettings
from oracle.bridge import bridge_lifespan
from oracle.chain import open_chain
from oracle.deployment import init_oracle
from oracle.registry import MeterDirectory
from sep2 import Codec, Sep2Settings
from tests.gateway.api.conftest import SECRET, payload
from tests.oracle.harness import bridge_settings

pytestmark = pytest.mark.timeout(240)
METERS = ("D1" * 20, "D2" * 20)
WALLET = "4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T"


async def _until(check: object, what: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while not await check():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.2)


async def test_rest_reading_to_chain(pki: Pki, codec: Codec, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    chain_settings = bridge_settings(tmp_path, clearing=True, clearing_delay_s=1)
    chain = open_chain(chain_settings)
    oracle = await init_oracle(chain, chain_settings)
    interval = oracle.config.clearing_interval_s
    await chain.close()
    settings = GatewaySettings(
        host="127.0.0.1", port=0, api_port=0, database_url=url, mdns=False,
        sqlite_synchronous="normal",
    )  # fmt: skip
    directory = MeterDirectory.from_settings(chain_settings)
    api = build_api(settings, SECRET, directory=directory)
    gateway = Gateway(
        settings, Sep2Settings(), pki, PkiSettings(), codec=codec,
        routers=[api.router],
        lifespans=[
            api.lifespan,
            bridge_lifespan(
                chain_settings, directory,
                lambda app: (app.state.runtime.database.write, app.state.runtime.database.read),
            ),
        ],
    )  # fmt: skip
    key = Ed25519PrivateKey.generate()
    admin = {"Authorization": f"Bearer {api.authority.issue(Role.ADMIN, 'e2e', 600)}"}
    await gateway.start()
    try:
        assert gateway.api_url is not None
        with gateway.runtime.database.write_session() as session:
            for lfdi in METERS:
                pre_register(session, lfdi, 111115, int(time.time()))
        async with httpx.AsyncClient(base_url=gateway.api_url, headers=admin) as c:
            added = await c.post(
                "/api/v1/admin/authority-keys",
                json={"name": "ea", "public_key": public_key_text(key.public_key())},
            )
            assert added.status_code == 201, added.text
            owner = await c.put(f"/api/v1/meters/{METERS[0]}/owner", json={"wallet": WALLET})
            assert owner.status_code == 200, owner.text
            # Two ended epochs' worth of readings (clearing settles ended epochs only), each
            # within what the program deems possible for the meter's rated power.
            now = int(time.time())
            first_epoch = now // interval - 2
            times = [first_epoch * interval + 60 * (i + 1) for i in range(4)]
            bodies = [payload(key, m, t, "0.02", "0.005") for t in times for m in METERS]
            response = await c.post("/api/v1/meters/readings/batch", json={"readings": bodies})
            assert response.status_code == 201, response.text
            one = payload(key, METERS[0], (first_epoch + 1) * interval + 30, "0.01", "0")
            single = await c.post("/api/v1/meters/readings", json=one)
            assert single.status_code == 201, single.text
            pair_id = single.json()["id"]

            async def all_confirmed() -> bool:
                page = (await c.get("/api/v1/readings", params={"limit": 100})).json()
                return len(page["items"]) == 9 and all(
                    i["state"] == "confirmed" for i in page["items"]
                )

            await _until(all_confirmed, "the bridge did not confirm the REST readings")
            proof = await c.get(f"/api/v1/readings/{pair_id}/proof")
            assert proof.status_code == 200, proof.text
            assert proof.json()["proof_valid"] is True
            assert proof.json()["chain_verified"] is True, proof.json()["chain_verdict"]
            status = (await c.get("/api/v1/chain/status")).json()
            assert status["bridge_running"] is True
            cleared = await c.post("/api/v1/admin/clearing")
            assert cleared.status_code in (200, 409), cleared.text

            async def settled() -> bool:
                page = (await c.get("/api/v1/settlements")).json()
                return {s["meter_id"] for s in page["items"]} == set(METERS)

            await _until(settled, "clearing did not settle the REST meters")
            items = (await c.get("/api/v1/settlements")).json()["items"]
            minted = sum(s["minted_wh"] for s in items if s["meter_id"] == METERS[1])
            assert minted > 0
            meter = (await c.get(f"/api/v1/meters/{METERS[0]}")).json()
            assert meter["on_chain"] is True
            assert meter["owner"] == WALLET
            # The API listener does not serve 2030.5 paths.
            assert (await c.get("/dcap")).status_code == 404
    finally:
        await gateway.stop()
