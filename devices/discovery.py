"""Finding the gateway by DNS-SD: one browse for the whole fleet, in both domains.

A 2030.5 server advertises ``_smartenergy._tcp.local.`` over mDNS (python-zeroconf) and,
as IEEE 2030.5-2018 specifies, ``_smartenergy._tcp.site.`` over xmDNS on FF05::FB
(devices.xmdns); both are browsed at once and the first usable answer wins. The TXT
record's keys are honoured as the standard's DNS-SD section says:

- ``txtvers`` must be ``1``, else the record is ignored;
- ``dcap`` (present, non-empty, a path rooted at ``/``) is where DeviceCapability is;
- ``https`` is the TLS port (present but empty: 443). Without it the server offers only
  plain HTTP, which a 2030.5 meter cannot use (TLS is mandatory), so it is skipped;
- ``level`` (present, non-empty) names the schema: ``S1`` is IEEE 2030.5-2018, which is
  what our meters speak; a server at another level is skipped.

Unknown keys are ignored. The SRV port is not used (the ``https`` key is the TLS port).
The meters connect to a literal address from the A/AAAA records (IPv4 first), so nothing
depends on a ``.local`` name resolver; the gateway's certificate names its addresses.
When several gateways answer, ``instance`` picks one by its instance name; otherwise the
first suitable answer wins.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sep2.dnssd import LOCAL_DOMAIN, SITE_DOMAIN, service_type
from sep2.dnssd import instance_label as instance_label

log = logging.getLogger(__name__)

SERVICE_TYPE = service_type(LOCAL_DOMAIN)
SITE_SERVICE_TYPE = service_type(SITE_DOMAIN)
OUR_LEVEL = "S1"


class DiscoveryError(Exception):
    """No usable gateway was found; the message is one line."""


@dataclass(frozen=True)
class DiscoveredGateway:
    """A 2030.5 server found by DNS-SD."""

    instance: str
    host: str
    port: int
    dcap_path: str
    level: str

    @property
    def base_url(self) -> str:
        """``https://host:port`` (an IPv6 literal in brackets)."""
        host = self.host
        if ":" in host:
            host = f"[{host}]"
        return f"https://{host}:{self.port}"

    @property
    def dcap_url(self) -> str:
        """The DeviceCapability URL."""
        return self.base_url + self.dcap_path


def gateway_from_record(
    name: str, addresses: Sequence[str], txt: Mapping[str, str | None]
) -> DiscoveredGateway | str:
    """The gateway an advertisement describes, or why it cannot be used (a string)."""
    if txt.get("txtvers") != "1":
        return f"txtvers is {txt.get('txtvers')!r}, not '1'"
    dcap = txt.get("dcap")
    if not dcap or not dcap.startswith("/") or dcap.startswith("//"):
        return f"dcap {dcap!r} is not a path rooted at '/'"
    level = txt.get("level")
    if not level:
        return "no level key"
    if level.lstrip("+-").upper() != OUR_LEVEL:
        return f"level {level!r}: our meters speak {OUR_LEVEL} (IEEE 2030.5-2018)"
    if "https" not in txt:
        return "no https key: plain HTTP only, and 2030.5 requires TLS"
    https = txt["https"]
    try:
        port = int(https) if https else 443
    except ValueError:
        return f"https {https!r} is not a port"
    if not 0 < port < 65536:
        return f"https {https!r} is not a port"
    host = _pick_address(addresses)
    if host is None:
        return "no usable address"
    return DiscoveredGateway(instance_label(name), host, port, dcap, level)


def _pick_address(addresses: Sequence[str]) -> str | None:
    parsed = []
    for text in addresses:
        try:
            address = ipaddress.ip_address(text.split("%", 1)[0])
        except ValueError:
            continue
        if address.is_link_local and address.version == 6:
            continue  # needs a scope the URL cannot carry portably
        parsed.append(address)
    parsed.sort(key=lambda a: a.version)  # IPv4 first
    return str(parsed[0]) if parsed else None


Candidate = tuple[str, Sequence[str], Mapping[str, str | None]]
"""An answer to a browse: the instance's full name, its addresses, its TXT keys."""


async def discover(
    timeout_s: float = 10.0,
    instance: str | None = None,
    *,
    interfaces: object = None,
    site: bool = True,
    site_interfaces: Sequence[str] | None = None,
) -> DiscoveredGateway:
    """Browse DNS-SD once for a 2030.5 gateway; DiscoveryError if none is usable in time.

    ``instance`` picks a gateway by its instance name; ``interfaces`` is passed to
    python-zeroconf (all interfaces by default). With ``site`` (the default) ``.site`` is
    browsed by xmDNS beside ``.local``, on ``site_interfaces`` (interface names; every
    IPv6 multicast interface by default).
    """
    from devices.xmdns import multicast_interfaces

    found: asyncio.Queue[Candidate] = asyncio.Queue()
    refused: dict[str, str] = {}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    browsers = [asyncio.create_task(_browse_local(found, refused, instance, deadline, interfaces))]
    chosen = multicast_interfaces(site_interfaces) if site else []
    if chosen:
        browsers.append(asyncio.create_task(_browse_site(found, chosen)))
    try:
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                name, addresses, txt = await asyncio.wait_for(found.get(), remaining)
            except TimeoutError:
                break
            if instance is not None and instance_label(name) != instance:
                continue
            result = gateway_from_record(name, addresses, txt)
            if isinstance(result, str):
                refused[name] = result
                log.info("skipping a 2030.5 server", extra={"instance": name, "reason": result})
                continue
            log.info(
                "found the gateway by DNS-SD",
                extra={"instance": name, "url": result.dcap_url},
            )
            return result
    finally:
        for browser in browsers:
            browser.cancel()
        for browser in browsers:
            with contextlib.suppress(asyncio.CancelledError):
                await browser
    wanted = f"instance {instance!r} of " if instance else ""
    why = "; ".join(f"{instance_label(n)}: {r}" for n, r in refused.items())
    domains = f"{SERVICE_TYPE} or {SITE_SERVICE_TYPE}" if chosen else SERVICE_TYPE
    raise DiscoveryError(
        f"no usable {wanted}{domains} server found by DNS-SD in {timeout_s:g} s"
        + (f" ({why})" if why else "")
        + "; set meters.server_url to name the gateway"
    )


async def _browse_local(
    found: asyncio.Queue[Candidate],
    refused: dict[str, str],
    instance: str | None,
    deadline: float,
    interfaces: object,
) -> None:
    """Feed ``found`` with the ``.local`` instances python-zeroconf finds."""
    from zeroconf import IPVersion, ServiceStateChange, Zeroconf
    from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

    kwargs: dict[str, object] = {"ip_version": IPVersion.V4Only}
    if interfaces is not None:
        kwargs["interfaces"] = interfaces
    azc = AsyncZeroconf(**kwargs)  # type: ignore[arg-type]
    names: asyncio.Queue[str] = asyncio.Queue()
    loop = asyncio.get_running_loop()

    def on_change(
        zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange
    ) -> None:
        if state_change is not ServiceStateChange.Removed:
            names.put_nowait(name)

    browser = AsyncServiceBrowser(azc.zeroconf, SERVICE_TYPE, handlers=[on_change])
    try:
        while True:
            name = await names.get()
            if instance is not None and instance_label(name) != instance:
                continue
            info = AsyncServiceInfo(SERVICE_TYPE, name)
            wait_ms = max(100, int(min(3.0, deadline - loop.time()) * 1000))
            if not await info.async_request(azc.zeroconf, wait_ms):
                refused[name] = "did not answer the SRV/TXT query"
                continue
            found.put_nowait((name, info.parsed_addresses(), info.decoded_properties))
    finally:
        await browser.async_cancel()
        await azc.async_close()


async def _browse_site(found: asyncio.Queue[Candidate], interfaces: list[tuple[str, int]]) -> None:
    """Feed ``found`` with the ``.site`` instances xmDNS finds."""
    from devices.xmdns import browse_site

    try:
        async for answer in browse_site(interfaces):
            found.put_nowait((answer.name, answer.addresses, answer.txt))
    except OSError as exc:  # no IPv6 here, say: .local still counts
        log.info("xmDNS browse failed", extra={"error": str(exc)})
