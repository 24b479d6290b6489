"""The Grafana dashboard in docs/grafana: importable JSON, and every metric its queries
name is one the code exports (names taken from a real gateway's /metrics after serving
readings, with the fleet's instruments in the same registry)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from certs.pki import Pki
from devices.metrics import FleetMetrics
from sep2 import Codec
from tests.gateway.conftest import METERS, StartGateway, client, post, readings, register, site_mup
from tests.gateway.test_metrics import metrics_client

DASHBOARD = Path(__file__).parents[2] / "docs" / "grafana" / "gridmirror.json"
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and",
                "or", "unless", "offset", "inf", "nan"}  # fmt: skip


def exprs() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings (label values)
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges and subqueries
    text = re.sub(r"\b(?:by|without|on|ignoring)\s*\([^)]*\)", " ", text)  # grouping labels
    text = re.sub(r"\$\w+", " ", text)  # Grafana variables
    text = re.sub(r"(?<![A-Za-z0-9_:])\d[\d.]*(?:e[+-]?\d+)?[a-z]*", " ", text)  # 0.95, 5m
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        following = text[match.end() :].lstrip()[:1]
        word = match.group(0)
        if following != "(" and word.lower() not in PROMQL_WORDS:
            names.add(word)
    return names


def test_the_parser_finds_metric_names() -> None:
    assert metric_names(
        'histogram_quantile(0.95, sum by (le) (rate(a_bucket{x="y{z}",r="/mup/{m}"}[5m])))'
    ) == {"a_bucket"}
    assert metric_names("max(b) / 1000 + sum without (q) (c_total offset 5m)") == {"b", "c_total"}
    assert metric_names("deriv(max(d)[5m:])") == {"d"}


def test_the_dashboard_is_importable() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["title"] and dashboard["uid"]
    variables = dashboard["templating"]["list"]
    assert any(v["type"] == "datasource" and v["query"] == "prometheus" for v in variables)
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}"
            assert panel["targets"]
    titles = " ".join(p["title"].lower() for p in dashboard["panels"])
    for topic in ("received", "latency", "outbox", "confirm", "minted", "errors"):
        assert topic in titles


async def test_every_metric_the_dashboard_queries_is_exported(
    start_sqlite_gateway: StartGateway, pki: Pki, codec: Codec
) -> None:
    FleetMetrics()  # the meters' instruments, as a fleet in this process makes them
    meter = pki.device(METERS[0])
    async with start_sqlite_gateway() as gw:
        async with client(gw, METERS[0]) as c:
            await register(c, pki, METERS[0], codec)
            mup = (await post(c, "/mup", site_mup(meter.lfdi), codec)).headers["location"]
            body = readings(meter.lfdi, int(time.time()) - 60, 10, 1, power=5)
            assert (await post(c, mup, body, codec)).status_code == 201
        async with metrics_client(gw) as c:
            text = (await c.get("/metrics")).text
    exported = {
        sample.name for family in text_string_to_metric_families(text) for sample in family.samples
    }
    used = set().union(*(metric_names(e) for e in exprs()))
    assert used, "no query found"
    assert used <= exported, sorted(used - exported)
