"""Prometheus metrics: 2030.5 requests, readings received, the database's and the bridge's
figures, scraped from a running gateway over real TLS."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine

from certs.pki import Pki
from gateway.launch import Gateway
from gateway.metrics.bridge import BridgeCollector
from gateway.metrics.storage import StorageCollector
from oracle.status import BridgeStats
from sep2 import Codec
from tests.gateway.conftest import (
    METERS,
    StartGateway,
    client,
    post,
    readings,
    register,
    rows,
    site_mup,
)

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    """Every sample of an exposition, by (name, sorted labels)."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def metrics_client(gateway: Gateway) -> httpx.AsyncClient:
    """A client of the API listener, which serves /metrics (plain HTTP, no certificate)."""
    return httpx.AsyncClient(base_url=gateway.api_url)


async def scrape(gateway: Gateway) -> Samples:
    async with metrics_client(gateway) as c:
        answer = await c.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    return parse(answer.text)


async def test_a_running_gateway_counts_what_it_serves_and_stores(
    start_sqlite_gateway: StartGateway, pki: Pki, codec: Codec
) -> None:
    meter = pki.device(METERS[0])
    now = int(time.time()) - 600
    async with start_sqlite_gateway(metrics_cache_seconds=0) as gw:
        before = await scrape(gw)
        async with client(gw, METERS[0]) as c:
            await register(c, pki, METERS[0], codec)
            mup = (await post(c, "/mup", site_mup(meter.lfdi), codec)).headers["location"]
            for k in range(3):
                posted = await post(
                    c, mup, readings(meter.lfdi, now + 15 * k, 10 + k, k, power=40), codec
                )
                assert posted.status_code == 201
            future = readings(meter.lfdi, int(time.time()) + 3600, 99, 9, power=40)
            assert (await post(c, mup, future, codec)).status_code == 400
            assert (await post(c, "/mup/987", future, codec)).status_code == 404
            assert (await c.get("/nowhere/1")).status_code == 404
        after = await scrape(gw)
        async with client(gw, METERS[0]) as c:  # not on the device port
            assert (await c.get("/metrics")).status_code == 404
        stored = rows(gw, "select count(*) from reading")[0][0]
        pairs = rows(gw, "select count(*) from outbox where state = 'pending'")[0][0]

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    requests = "gridmirror_sep2_requests_total"
    assert delta(requests, resource="/mup/{m}", method="POST", status="201") == 3
    assert delta(requests, resource="/mup/{m}", method="POST", status="400") == 1
    assert delta(requests, resource="/mup/{m}", method="POST", status="404") == 1
    assert delta(requests, resource="/mup", method="POST", status="201") == 1
    assert delta(requests, resource="/edev", method="POST", status="201") == 1
    assert (
        delta("gridmirror_sep2_request_duration_seconds_count", resource="/mup/{m}", method="POST")
        == 5
    )
    # a path outside the 2030.5 resources is not counted as one
    assert not any(labels and dict(labels).get("resource") == "/nowhere/1" for _, labels in after)
    # the refused request stored nothing and counted nothing
    assert stored == 9
    assert delta("api_gateway_meter_readings_received_total", interface="sep2") == stored
    assert value(after, "gridmirror_outbox_rows", state="pending") == pairs == 3
    assert value(after, "gridmirror_outbox_depth") == 3
    assert value(after, "gridmirror_dead_letters") == 0
    assert value(after, "gridmirror_registered_devices") == 1
    assert value(after, "gridmirror_database_up") == 1


def test_the_bridge_collector_exports_the_stats_as_they_are() -> None:
    stats = BridgeStats()
    stats.submissions["landed"] += 4
    stats.submissions["dropped"] += 1
    stats.error("timeout", "slow")
    stats.readings["confirmed"] += 96
    stats.minted_wh = 1234
    for seconds in (0.004, 0.3, 0.3, 7.0):
        stats.submission_seconds.observe(seconds)
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry()
    registry.register(BridgeCollector(stats))
    samples = parse(generate_latest(registry).decode())
    assert value(samples, "api_gateway_blockchain_submissions_total", outcome="landed") == 4
    assert value(samples, "api_gateway_blockchain_submissions_total", outcome="dropped") == 1
    assert value(samples, "api_gateway_blockchain_errors_total", kind="timeout") == 1
    assert value(samples, "gridmirror_chain_readings_total", status="confirmed") == 96
    assert value(samples, "gridmirror_minted_wh_total") == 1234
    name = "api_gateway_blockchain_submission_duration_seconds"
    assert value(samples, name + "_bucket", le="0.005") == 1
    assert value(samples, name + "_bucket", le="0.5") == 3
    assert value(samples, name + "_bucket", le="+Inf") == 4
    assert value(samples, name + "_count") == 4
    assert value(samples, name + "_sum") == pytest.approx(7.604)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_storage_collector_reads_at_most_once_per_ttl(tmp_path: Path) -> None:
    from gateway.db import open_database

    database = open_database(f"sqlite:///{tmp_path}/m.db")
    database.ensure_schema()
    clock = FakeClock()
    collector = StorageCollector(database.read, ttl=5.0, clock=clock)
    for _ in range(3):
        list(collector.collect())
    assert collector.reads == 1
    clock.now = 5.0
    list(collector.collect())
    assert collector.reads == 2
    database.dispose()


def test_a_database_away_reads_as_down_not_as_a_failed_scrape(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path}/missing/dir/x.db")
    metrics = {m.name: m for m in StorageCollector(engine, ttl=0).collect()}
    assert set(metrics) == {"gridmirror_database_up"}
    assert metrics["gridmirror_database_up"].samples[0].value == 0


async def test_readings_count_under_the_interface_they_came_through(
    start_sqlite_gateway: StartGateway, pki: Pki, codec: Codec
) -> None:
    from dataclasses import replace

    from gateway.peer import Peer, Role
    from tests.gateway.conftest import mrids, reading

    meter = pki.device(METERS[0])
    now = int(time.time()) - 600
    ids = mrids(meter.lfdi)
    mup = site_mup(
        meter.lfdi,
        readings=(reading(ids["import"], now, 5), reading(ids["export"], now, 1)),
    )
    async with start_sqlite_gateway(metrics_cache_seconds=0) as gw:
        before = await scrape(gw)
        peer = Peer(meter.lfdi, meter.sfdi, Role.OPERATOR)  # as the REST intake acts
        rt = gw.runtime
        await rt.write(rt.ingest.mirror_job(peer, mup, interface="rest"))
        later = replace(mup, mirror_meter_readings=site_mup(
            meter.lfdi,
            readings=(reading(ids["import"], now + 15, 6), reading(ids["export"], now + 15, 1)),
        ).mirror_meter_readings)  # fmt: skip
        await rt.write(rt.ingest.mirror_job(peer, later))
        after = await scrape(gw)
    received = "api_gateway_meter_readings_received_total"
    assert value(after, received, interface="rest") - value(before, received, interface="rest") == 2
    assert value(after, received, interface="sep2") - value(before, received, interface="sep2") == 2
