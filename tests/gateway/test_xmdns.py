"""xmDNS over real sockets: the gateway answers ``_smartenergy._tcp.site.`` on FF05::FB and
the meters find it, in a network namespace of its own (a veth pair, IPv6 only), so that
nothing reaches the machine's shared network."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from zeroconf._dns import DNSQuestion

from gateway.discovery import txt_record
from gateway.xmdns import SiteRecords
from sep2.dnssd import SITE_DOMAIN, instance_label, service_type, subtype_name, txt_entries
from tests.conftest import require

ROOT = Path(__file__).resolve().parents[2]
PROBE = Path(__file__).with_name("xmdns_probe.py")
SERVE, ASK = "gmva", "gmvb"
SERVE_ADDRESS, ASK_ADDRESS = "fd00:16::1", "fd00:16::2"


def _ip_command() -> list[str] | None:
    if shutil.which("ip") is None:
        return None
    if os.geteuid() == 0:
        return ["ip"]
    if shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"]).returncode == 0:
        return ["sudo", "-n", "ip"]
    return None


@pytest.fixture
def netns() -> Iterator[tuple[list[str], str]]:
    """A namespace with a veth pair ``gmva`` (fd00:16::1) -- ``gmvb`` (fd00:16::2)."""
    ip = _ip_command()
    require(ip is not None, "ip netns (iproute2, as root or with sudo -n)")
    assert ip is not None
    name = f"gm-xmdns-{uuid.uuid4().hex[:8]}"
    made = subprocess.run([*ip, "netns", "add", name], capture_output=True, text=True)
    require(made.returncode == 0, f"ip netns add: {made.stderr.strip()}")
    try:
        for args in (
            ["link", "set", "lo", "up"],
            ["link", "add", SERVE, "type", "veth", "peer", "name", ASK],
            ["link", "set", SERVE, "up"],
            ["link", "set", ASK, "up"],
            ["addr", "add", f"{SERVE_ADDRESS}/64", "dev", SERVE, "nodad"],
            ["addr", "add", f"{ASK_ADDRESS}/64", "dev", ASK, "nodad"],
        ):
            subprocess.run([*ip, "-n", name, *args], check=True, capture_output=True)
        yield ip, name
    finally:
        subprocess.run([*ip, "netns", "del", name], capture_output=True)


@pytest.mark.timeout(120)
def test_the_meters_find_the_gateway_on_ff05_fb(netns: tuple[list[str], str]) -> None:
    ip, name = netns
    instance = f"gm-site-{uuid.uuid4().hex[:8]}"
    run = subprocess.run(
        [*ip, "netns", "exec", name, sys.executable, str(PROBE),
         "--ask", ASK, "--address", SERVE_ADDRESS, "--instance", instance],
        capture_output=True, text=True, timeout=90, cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["site_started"]
    assert result["found"] == {
        "host": SERVE_ADDRESS, "port": 18443, "dcap": "/dcap", "level": "-S1",
        "instance": instance,
    }  # fmt: skip
    (answer,) = result["answers"]
    assert answer["name"] == f"{instance}.{service_type(SITE_DOMAIN)}"
    assert answer["addresses"] == [SERVE_ADDRESS]
    assert answer["txt"] == {"txtvers": "1", "dcap": "/dcap", "https": "18443", "level": "-S1"}
    assert result["subtype"] == [answer["name"]]
    assert result["other"] == []
    assert result["announced"] and result["announced"][0] > 0
    assert result["withdrawn"] == [0]


def _ask(records: SiteRecords, name: str, kind: int) -> list[str]:
    answers, additionals = records.answer(DNSQuestion(name, kind, 1))
    return [f"{r.name}/{r.type}" for r in answers + additionals]


def test_the_responder_answers_only_about_its_own_records() -> None:
    records = SiteRecords("gm-1", 8443, ["fd00::1", "192.0.2.1"], txt_record(8443))
    records.subtypes = {"edev", "edev-000000000019"}
    me = f"gm-1.{service_type(SITE_DOMAIN)}"
    full = [
        f"{service_type(SITE_DOMAIN)}/12",
        f"{me}/33",
        f"{me}/16",
        "gm-1.site./28",
        "gm-1.site./1",
    ]
    assert _ask(records, service_type(SITE_DOMAIN), 12) == full
    sub = subtype_name("edev-000000000019", SITE_DOMAIN)
    assert _ask(records, sub, 12) == [f"{sub}/12", *full[1:]]
    assert _ask(records, subtype_name("derp", SITE_DOMAIN), 12) == []
    assert _ask(records, me.upper(), 33) == [f"{me}/33", "gm-1.site./28", "gm-1.site./1"]
    assert _ask(records, "gm-1.site.", 28) == ["gm-1.site./28"]
    assert _ask(records, "gm-1.site.", 255) == ["gm-1.site./28", "gm-1.site./1"]
    assert _ask(records, service_type("local."), 12) == []  # not ours: zeroconf answers .local
    capped = records.answer(DNSQuestion(service_type(SITE_DOMAIN), 12, 1), cap=10)
    assert {r.ttl for r in capped[0] + capped[1]} == {10}


def test_names_and_txt_as_dns_sd_reads_them() -> None:
    assert instance_label(f"gm-1.{service_type(SITE_DOMAIN)}") == "gm-1"
    assert instance_label("gm-1._smartenergy._tcp.local.") == "gm-1"
    assert txt_entries(txt_record(8443)) == {
        "txtvers": "1", "dcap": "/dcap", "https": "8443", "level": "-S1",
    }  # fmt: skip
    assert txt_entries(b"\x04A=12\x04a=34\x04flag") == {"a": "12", "flag": None}
