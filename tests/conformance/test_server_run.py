"""The server procedures against gridmirror's own gateway (SQLite and PostgreSQL)."""

from __future__ import annotations

import time

from certs import pemfile
from certs.pki import Pki
from certs.tls import client_context
from conformance.exchange import ServerLink
from conformance.model import Outcome, Report, select
from conformance.report import terminal_summary
from conformance.server import PROCEDURES, run_server_conformance
from sep2 import Codec
from tests.gateway.conftest import METERS, StartGateway


async def run_against(url: str, pki: Pki, codec: Codec, serial: str = METERS[0]) -> Report:
    device = pki.device(serial)
    context = client_context(device.chain, device.key, pki.serca)
    chain = tuple(pemfile.load_certificates(device.chain))
    chosen, _ = select(PROCEDURES)
    async with ServerLink(url + "/dcap", context, timeout_s=10) as link:
        return await run_server_conformance(link, codec, url + "/dcap", chain, chosen)


async def test_our_gateway_passes_every_procedure(
    start_gateway: StartGateway, pki: Pki, codec: Codec
) -> None:
    async with start_gateway() as gateway:
        clock = time.monotonic()
        report = await run_against(gateway.url, pki, codec)
        took = time.monotonic() - clock
    print(terminal_summary(report, verbose=True))
    print(f"suite took {took:.1f} s")
    not_passed = {
        v.procedure.id: v.outcome for v in report.verdicts if v.outcome is not Outcome.PASS
    }
    assert not_passed == {"discovery": Outcome.SKIP}  # a DNS-SD browse only with --discover
    assert report.passed
    assert took < 120
