"""``gridmirror meters``: one-line errors, and a short run against a small test server."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from certs.pki import Pki
from gridmirror.cli import cli
from schemas import official_xsd_bytes
from sep2 import Codec, Schema
from tests.devices.fake_gateway import FakeGateway


def run(tmp_path: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--data-dir", str(tmp_path / "data"), *args])


def one_line_error(result: Result) -> str:
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


def test_without_a_pki(tmp_path: Path) -> None:
    assert "run certs init" in one_line_error(run(tmp_path, "meters", "--duration", "1"))


def test_missing_certificates_name_the_command(tmp_path: Path) -> None:
    assert run(tmp_path, "certs", "init", "--devices", "1").exit_code == 0
    line = one_line_error(run(tmp_path, "meters", "--count", "3", "--duration", "1"))
    assert "no device certificate for 2 of 3 meters (first: GM-SYN-00002)" in line
    assert "run `gridmirror certs init --devices 3`" in line
    line = one_line_error(run(tmp_path, "meters", "--duration", "1"))
    assert "run `gridmirror certs init`" in line


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--fault", "melt"], "kind"),
        (["--fault", "drop:speed=2"], "unknown fault option"),
        (["--replay-hours", "2"], "needs speed > 1"),
        (["--server-url", "http://x/dcap"], "give https://host:port"),
    ],
)
def test_bad_options(tmp_path: Path, args: list[str], expected: str) -> None:
    assert run(tmp_path, "certs", "init", "--devices", "1").exit_code == 0
    line = one_line_error(run(tmp_path, "meters", "--count", "1", "--duration", "1", *args))
    assert expected in line


@pytest.fixture
def server_in_a_thread(tmp_path: Path) -> Iterator[FakeGateway]:
    assert run(tmp_path, "certs", "init", "--devices", "2").exit_code == 0
    gateway = FakeGateway(
        Pki.open(tmp_path / "data" / "pki"), Codec(Schema.from_bytes(official_xsd_bytes()))
    )
    gateway.post_rate = 1
    loop = asyncio.new_event_loop()
    started = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(gateway.start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert started.wait(10)
    try:
        yield gateway
    finally:
        asyncio.run_coroutine_threadsafe(gateway.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def test_a_short_run(tmp_path: Path, server_in_a_thread: FakeGateway) -> None:
    gateway = server_in_a_thread
    result = run(
        tmp_path,
        "meters",
        "--count",
        "2",
        "--server-url",
        f"https://127.0.0.1:{gateway.port}",
        "--duration",
        "3",
        "--status-every",
        "1",
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("meters: 2 meters (live)")
    assert f"gateway at https://127.0.0.1:{gateway.port}/dcap" in lines[1]
    final = lines[-2]
    assert "meters: 2 (0 online" in final  # stopped
    published = int(final.split("published ")[1].split()[0])
    assert published > 0 and published == len(gateway.readings)
    saved = json.loads((tmp_path / "data" / "meters" / "meters.json").read_text())
    assert set(saved["meters"]) == {"GM-SYN-00001", "GM-SYN-00002"}


def test_metrics_port_serves_the_simulator_metrics(
    tmp_path: Path, server_in_a_thread: FakeGateway
) -> None:
    import socket
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    scraped: list[dict[str, float]] = []

    def scrape_while_running() -> None:
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=1) as r:
                    text = r.read().decode()
            except OSError:
                threading.Event().wait(0.05)
                continue
            samples = {
                s.name + str(sorted(s.labels.items())): s.value
                for f in text_string_to_metric_families(text)
                for s in f.samples
            }
            scraped.append(samples)
            if samples.get("simulator_active_meters[]", 0) == 2:
                return
            threading.Event().wait(0.1)

    scraper = threading.Thread(target=scrape_while_running, daemon=True)
    scraper.start()
    result = run(
        tmp_path, "meters", "--count", "2", "--server-url",
        f"https://127.0.0.1:{server_in_a_thread.port}", "--duration", "3",
        "--status-every", "0", "--metrics-port", str(port),
    )  # fmt: skip
    scraper.join(5)
    assert result.exit_code == 0, result.output
    assert f"metrics at http://127.0.0.1:{port}/metrics" in result.output
    assert scraped, "the metrics port never answered"
    last = scraped[-1]
    assert last["simulator_active_meters[]"] == 2
    assert last["simulator_readings_generated_total[]"] > 0
    assert "simulator_gateway_publish_duration_seconds_count[]" in last
