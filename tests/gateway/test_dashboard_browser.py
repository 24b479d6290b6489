"""The dashboard in Debian's chromium (headless, driven by playwright) against a running
gateway, real meters posting over mutual TLS, and the bridge on the embedded chain: the
page names the meters, shows the database's values, and updates. A screenshot is saved."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest
import sqlalchemy

from certs.pki import Pki, init_pki
from certs.settings import PkiSettings
from devices.campus import Campus, load_campus
from devices.fleet import Fleet
from devices.settings import FleetSettings
from gateway.launch import Gateway
from gateway.settings import GatewaySettings
from oracle.bridge import bridge_lifespan
from oracle.chain import open_chain
from oracle.deployment import init_oracle
from sep2 import Codec, Sep2Settings
from tests.conftest import require
from tests.devices.conftest import CLIENT_HW_TYPE
from tests.oracle.harness import bridge_settings

CHROMIUM = "/usr/bin/chromium"
METERS = 6
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(150)]


def database_view(url: str) -> dict[str, dict[str, int]]:
    """Per meter name: its latest import and export registers and confirmed pairs."""
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            found: dict[str, dict[str, int]] = {}
            for name, register, wh in conn.execute(
                sqlalchemy.text(
                    "select m.description, r.energy_register, r.wh from reading r "
                    "join mirror_usage_point m on m.id = r.mirror_id "
                    "where r.energy_register is not null and r.start = (select max(start) "
                    "from reading r2 where r2.meter_reading_id = r.meter_reading_id)"
                )
            ):
                found.setdefault(name, {})[f"{register}_wh"] = wh
            for name, confirmed in conn.execute(
                sqlalchemy.text(
                    "select m.description, count(*) from outbox o join mirror_usage_point m "
                    "on m.device_lfdi = o.lfdi and m.role_flags & 8 = 0 "
                    "where o.state = 'confirmed' group by m.description"
                )
            ):
                found.setdefault(name, {})["confirmed"] = confirmed
            return found
    finally:
        engine.dispose()


async def test_the_dashboard_shows_the_meters_and_updates(
    tmp_path: Path, codec: Codec, request: pytest.FixtureRequest
) -> None:
    require(os.access(CHROMIUM, os.X_OK), f"Debian's chromium at {CHROMIUM}")
    from playwright.async_api import async_playwright

    full = load_campus()
    campus = Campus(site=full.site, meter=full.meters[:METERS])
    serials = [m.serial for m in campus.meters]
    pki: Pki = init_pki(tmp_path / "pki", serials, hw_type=CLIENT_HW_TYPE).pki
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    chain_settings = bridge_settings(tmp_path, clearing=False)
    chain = open_chain(chain_settings)
    await init_oracle(chain, chain_settings)
    await chain.close()
    gateway = Gateway(
        GatewaySettings(
            port=0, api_port=0, database_url=url, post_rate=1, mdns=False,
            sqlite_synchronous="normal", dashboard_interval=0.5,
        ),
        Sep2Settings(),
        pki,
        PkiSettings(),
        codec=codec,
        lifespans=[
            bridge_lifespan(
                chain_settings,
                None,
                lambda app: (app.state.runtime.database.write, app.state.runtime.database.read),
            )
        ],
    )  # fmt: skip
    await gateway.start()
    fleet = Fleet(
        campus,
        FleetSettings(server_url=gateway.url, start_rate=200, der_mirror=True),
        pki,
        codec,
        32473,
        state_dir=tmp_path / "meters",
        hw_type=CLIENT_HW_TYPE,
    )
    stop = asyncio.Event()
    runner = asyncio.create_task(fleet.run(stop))
    shot = tmp_path / "dashboard.png"
    try:
        base = gateway.api_url  # the API listener: plain HTTP on 127.0.0.1, no certificate
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
            )
            page = await browser.new_page(viewport={"width": 1400, "height": 1800})
            await page.goto(f"{base}/dashboard")
            # the page fills in while the meters post: every meter named, and live
            await page.wait_for_function(
                f"document.querySelectorAll('#fleet tbody tr.online').length === {METERS}",
                timeout=60_000,
            )
            first = await page.get_attribute("#updated", "data-generated-at")
            names = await page.locator("#fleet tbody td[data-field=name]").all_inner_texts()
            assert sorted(names) == sorted(serials)
            # it updates by itself
            await page.wait_for_function(
                f"document.getElementById('updated').dataset.generatedAt !== '{first}'",
                timeout=10_000,
            )
            # stop the meters (the registers stay put), then the page must show what the
            # database holds: registers exactly, confirmations as of a recent snapshot (the
            # bridge may still be confirming, so compare until a snapshot catches up)
            stop.set()
            await runner

            async def shown_values() -> dict[str, dict[str, int]]:
                shown = {}
                for serial in serials:
                    row = page.locator(
                        f"#fleet tbody tr:has(td[data-field=name]:text-is('{serial}'))"
                    )
                    shown[serial] = {
                        field: int(
                            (await row.locator(f"td[data-field={field}]").inner_text()).replace(
                                ",", ""
                            )
                        )
                        for field in ("import_wh", "export_wh", "confirmed")
                    }
                return shown

            deadline = time.monotonic() + 30
            while True:
                expected = {s: database_view(url).get(s, {}) for s in serials}
                for values in expected.values():
                    values.setdefault("confirmed", 0)
                shown = await shown_values()
                if shown == expected or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.3)
            assert shown == expected
            assert sum(v["confirmed"] for v in shown.values()) > 0  # the chain is in the picture
            pv = await page.locator("#fleet tbody td[data-field=pv_w]").all_inner_texts()
            assert any(text not in ("–", "") for text in pv)  # the PV meters' DER mirrors
            await page.screenshot(path=str(shot), full_page=True)
            await browser.close()
    finally:
        stop.set()
        if not runner.done():
            await runner
        await gateway.stop()
    print(f"dashboard screenshot: {shot}")
    assert shot.stat().st_size > 10_000


async def test_the_dashboard_draws_the_replayed_day(
    tmp_path: Path, codec: Codec, request: pytest.FixtureRequest
) -> None:
    """Meters replay the last 24 h in seconds; the history chart, read from the database,
    then spans the day: PV around the campus' solar noon, none at night."""
    require(os.access(CHROMIUM, os.X_OK), f"Debian's chromium at {CHROMIUM}")
    from playwright.async_api import async_playwright

    full = load_campus()
    campus = Campus(site=full.site, meter=full.meters[:METERS])
    serials = [m.serial for m in campus.meters]
    pki: Pki = init_pki(tmp_path / "pki", serials, hw_type=CLIENT_HW_TYPE).pki
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    offset = campus.site.utc_offset_hours
    gateway = Gateway(
        GatewaySettings(
            port=0, api_port=0, database_url=url, post_rate=300, mdns=False,
            sqlite_synchronous="normal", dashboard_interval=0.5,
            dashboard_utc_offset_hours=offset,
        ),
        Sep2Settings(), pki, PkiSettings(), codec=codec,
    )  # fmt: skip
    await gateway.start()
    fleet = Fleet(
        campus,
        FleetSettings(
            server_url=gateway.url,
            start_rate=200,
            der_mirror=True,
            replay_hours=24,
            speed=4000,
        ),
        pki,
        codec,
        32473,
        state_dir=tmp_path / "meters",
        hw_type=CLIENT_HW_TYPE,
    )
    stop = asyncio.Event()
    runner = asyncio.create_task(fleet.run(stop))
    shot = tmp_path / "dashboard-history.png"
    try:
        deadline = time.monotonic() + 90
        while not fleet.timeline.live() and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        assert fleet.timeline.live(), "the replay did not finish"
        await asyncio.sleep(2)  # the last replayed POSTs
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
            )
            page = await browser.new_page(viewport={"width": 1400, "height": 1800})
            await page.goto(f"{gateway.api_url}/dashboard")
            await page.wait_for_function(
                "Number(document.getElementById('chart-history').dataset.epochs || 0) >= 90",
                timeout=30_000,
            )
            history = await page.evaluate("fetch('/dashboard/history.json').then((r) => r.json())")
            caption = await page.locator("figcaption .zone").first.inner_text()
            await page.screenshot(path=str(shot), full_page=True)
            await browser.close()
    finally:
        stop.set()
        if not runner.done():
            await runner
        await gateway.stop()
    print(f"dashboard history screenshot: {shot}")
    assert caption == "UTC+7"
    epochs = history["epochs"]
    assert len(epochs) >= 90  # points across the replayed day

    def local_hour(epoch: dict[str, float]) -> float:
        return ((epoch["start"] + 450) / 3600 + offset) % 24

    noon = [e["pv_w"] for e in epochs if 11 <= local_hour(e) < 14]
    night = [e["pv_w"] for e in epochs if local_hour(e) < 4 or local_hour(e) >= 21]
    assert noon and all(pv is not None and pv > 1_000 for pv in noon)
    assert night and all(pv == 0 for pv in night)
    # the campus imports all day (a meter's first epoch has no register base: from the
    # third epoch on, every meter has one)
    assert [e for e in epochs[2:] if e["import_w"] <= 0] == []
    assert shot.stat().st_size > 10_000
