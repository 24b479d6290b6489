"""py20305 (PyPI, a real 2030.5 client) finds the gateway over mDNS, registers, mirrors.

1. py20305's DNS-SD client finds our instance (by name, among whatever else this machine
   advertises) and its CsipClient registers in band (POST /edev).
2. py20305's runner, started with no server URL, locates the server the way Annex C
   describes (its own EndDevice's ``edev-<SFDI>`` subtype first: only our gateway has
   it), checks its Registration PIN, creates its MirrorUsagePoint and posts readings at
   the server's postRate. They arrive in the database, and the energy registers (from the
   test connector py20305_meter.RegisterMeter) reach the outbox in pairs.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import signal
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from certs.pki import Pki
from tests.gateway.conftest import METERS, StartGateway, rows

pytestmark = [pytest.mark.interop, pytest.mark.slow]

discover_module: Any = importlib.import_module("py20305.client.dnssd.discover")
wire: Any = importlib.import_module("py20305.client.dnssd.wire")
REPO = Path(__file__).resolve().parents[2]


def py20305_config(tmp: Path, pki: Pki, serial: str) -> Path:
    device = pki.device(serial)
    config = {
        "server": {"server_2018_compat": True},
        "tls": {
            "client_cert": str(device.chain),
            "client_key": str(device.key),
            "ca_cert": str(pki.serca),
        },
        "devices": [
            {
                "type": "custom",
                "class_path": "tests.gateway.py20305_meter.RegisterMeter",
                "lfdi": device.lfdi,
                "role": "site_meter",
                "pin": 123455,
            }
        ],
        "registration_pins": {device.lfdi: 123455},
        "discovery": {"transport": "mdns", "timeout_seconds": 1.0, "interface": "127.0.0.1"},
        "advertise": {"transport": "off"},
        "history": {"enabled": False},
        "connection": {"initial_delay_seconds": 1.0},
        "logging": {"level": "INFO"},
    }
    path = tmp / "py20305.json"
    path.write_text(json.dumps(config))
    return path


@pytest.mark.timeout(180)
async def test_py20305_discovers_registers_and_mirrors(
    start_sqlite_gateway: StartGateway, pki: Pki, tmp_path: Path
) -> None:
    from py20305.client.csip_client import CsipClient
    from py20305.client.tls import TlsConfig

    serial = METERS[2]
    device = pki.device(serial)
    name = f"gm-py20305-{uuid.uuid4().hex[:8]}"
    async with start_sqlite_gateway(
        mdns=True, mdns_name=name, mdns_interfaces=["127.0.0.1"], post_rate=2,
        registration_pins={device.lfdi: 123455},
    ) as gw:  # fmt: skip
        found = await asyncio.to_thread(
            discover_module.discover, wire.MDNS, timeout=1.0, interface="127.0.0.1"
        )
        ours = [s for s in found if s.instance.rstrip(".") == f"{name}._smartenergy._tcp.local"]
        assert len(ours) == 1 and ours[0].port == gw.port and ours[0].dcap_path == "/dcap"
        tls = TlsConfig(client_cert=device.chain, client_key=device.key, ca_cert=pki.serca)
        base_url = ours[0].base_url.replace("[127.0.0.1]", "127.0.0.1")
        async with CsipClient(base_url, tls=tls, server_2018_compat=True) as csip:
            await csip.connect()
            location = await csip.register_end_device(lfdi=device.lfdi)
        assert location is not None and location.endswith("/edev/1")
        assert rows(gw, "SELECT lfdi, via FROM end_device") == [(device.lfdi, "in-band")]

        runner = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "py20305", "--config", str(py20305_config(tmp_path, pki, serial)),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=dict(os.environ, PYTHONPATH=str(REPO)),
            cwd=tmp_path,
        )  # fmt: skip
        pairs: list[tuple[Any, ...]] = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and runner.returncode is None:
            pairs = rows(
                gw, "SELECT timestamp, import_wh, export_wh FROM outbox ORDER BY timestamp"
            )
            if len(pairs) >= 3:
                break
            await asyncio.sleep(0.5)
        if runner.returncode is None:
            runner.send_signal(signal.SIGTERM)
        output, _ = await runner.communicate()
        log = output.decode(errors="replace")
        assert len(pairs) >= 3, log[-8000:]
        assert "PIN" not in log or "mismatch" not in log.lower()
        mirrors = rows(gw, "SELECT device_lfdi, role_flags, settles FROM mirror_usage_point")
        assert mirrors == [(device.lfdi, 0x03, True)]
        stored = rows(gw, "SELECT count(*), count(DISTINCT start) FROM reading")
        assert stored[0][0] >= 3 * 3 and stored[0][1] >= 3
        imports = [p[1] for p in pairs]
        assert imports == sorted(imports) and all(p[1] >= 100_000 and p[2] >= 2_000 for p in pairs)
