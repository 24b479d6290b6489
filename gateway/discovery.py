"""DNS-SD: the gateway advertises ``_smartenergy._tcp.local.`` over mDNS (python-zeroconf)
and ``_smartenergy._tcp.site.`` over xmDNS on FF05::FB (gateway.xmdns, for 2018-era
clients), the same instance and records in both.

What is advertised (IEEE 2030.5 §7; 2023 made plain mDNS ``.local`` normative):

- one service instance with a unique name (several gateways may run on one host), SRV
  to our port, A/AAAA records of the addresses we serve on;
- TXT, ``txtvers=1`` first (the standard requires it first, so the record is written
  byte by byte rather than from a dict), then ``dcap=/dcap``, ``https=<port>``,
  ``level=-S1`` (the 2018 schema);
- subtype PTR records ``<subtype>._sub._smartenergy._tcp.local.`` for the function sets
  served (``edev``, ``tm``, ``upt``, and ``mup`` while mirrors can be created), and
  ``edev-<12-digit SFDI>`` for every registered device, kept up to date as devices
  register and unregister (and announced when they change);
- everything is withdrawn (goodbye packets) on shutdown.

python-zeroconf has no subtype support of its own: it answers PTR questions from its
registry's index of service types. An alias of our ServiceInfo, whose type is the subtype
name, is put into that index for each subtype, so a subtype question is answered with a
PTR to our instance plus the same SRV/TXT/address records. This reaches into
``Zeroconf.registry.types`` and is tested against a real browser (tests/gateway).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterable, Sequence

from zeroconf import InterfaceChoice, ServiceInfo
from zeroconf.asyncio import AsyncZeroconf

from gateway.xmdns import SiteResponder, site_interfaces
from sep2 import sfdi_dns_label
from sep2.dnssd import LOCAL_DOMAIN, service_type
from sep2.dnssd import subtype_name as _subtype_name

log = logging.getLogger(__name__)

SERVICE_TYPE = service_type(LOCAL_DOMAIN)
FUNCTION_SETS = ("edev", "tm", "upt")
MIRROR_SUBTYPE = "mup"


def subtype_name(subtype: str) -> str:
    """``edev`` -> ``edev._sub._smartenergy._tcp.local.``"""
    return _subtype_name(subtype, LOCAL_DOMAIN)


def device_subtype(sfdi: int) -> str:
    """The subtype that finds the server holding the EndDevice of ``sfdi``."""
    return f"edev-{sfdi_dns_label(sfdi)}"


def txt_record(port: int, dcap: str = "/dcap", level: str = "-S1") -> bytes:
    """The TXT record, ``txtvers=1`` first."""
    entries = (
        b"txtvers=1",
        f"dcap={dcap}".encode(),
        f"https={port}".encode(),
        f"level={level}".encode(),
    )
    return b"".join(bytes([len(e)]) + e for e in entries)


def default_instance_name(host: str, port: int) -> str:
    """A name no other process on this host uses: ``gridmirror-<host>-<port>-<pid>``."""
    label = socket.gethostname().split(".")[0] or "host"
    return f"gridmirror-{label}-{port}-{os.getpid()}"[:63]


class Advertiser:
    """The gateway's DNS-SD records, from start to withdrawal."""

    def __init__(
        self,
        *,
        instance: str,
        port: int,
        addresses: Sequence[str],
        interfaces: Sequence[str] | None = None,
        site: bool = True,
    ) -> None:
        self.instance = instance
        self.port = port
        self._addresses = list(addresses)
        self._interfaces = list(interfaces) if interfaces else None
        self._site = site
        self._zc: AsyncZeroconf | None = None
        self._info: ServiceInfo | None = None
        self._subtypes: dict[str, ServiceInfo] = {}
        self.site: SiteResponder | None = None

    @property
    def name(self) -> str:
        """The full service instance name, e.g. ``gridmirror-x-8443-1._smartenergy._tcp.local.``"""
        return self._info.name if self._info is not None else f"{self.instance}.{SERVICE_TYPE}"

    def _service(self, type_: str) -> ServiceInfo:
        return ServiceInfo(
            type_,
            f"{self.instance}.{SERVICE_TYPE}",
            port=self.port,
            properties=txt_record(self.port),
            server=f"{self.instance}.local.",
            parsed_addresses=self._addresses,
        )

    async def start(self, subtypes: Iterable[str]) -> None:
        """Register the service and its subtypes."""
        interfaces = self._interfaces or InterfaceChoice.All
        self._zc = AsyncZeroconf(interfaces=interfaces)
        self._info = self._service(SERVICE_TYPE)
        await self._zc.async_register_service(self._info)
        wanted = list(subtypes)
        if self._site:
            await self._start_site(wanted)
        await self.set_subtypes(wanted)
        log.info("advertising over DNS-SD", extra={"instance": self.name, "port": self.port})

    async def _start_site(self, subtypes: list[str]) -> None:
        # xmDNS where mDNS runs; the .local advertisement stands without it.
        interfaces = site_interfaces(self._interfaces)
        if not interfaces:
            log.info("no IPv6 multicast interface for xmDNS", extra={"instance": self.instance})
            return
        responder = SiteResponder(
            instance=self.instance,
            port=self.port,
            addresses=self._addresses,
            txt=txt_record(self.port),
            interfaces=interfaces,
        )
        try:
            await responder.start(subtypes)
        except OSError as exc:
            log.warning("xmDNS not advertised", extra={"error": str(exc)})
            return
        self.site = responder

    async def set_subtypes(self, subtypes: Iterable[str]) -> None:
        """Make the advertised subtypes exactly ``subtypes`` (announcing new ones)."""
        if self._zc is None or self._info is None:
            return
        wanted = set(subtypes)
        if self.site is not None:
            await self.site.set_subtypes(wanted)
        index = self._zc.zeroconf.registry.types
        key = self._info.key
        for gone in set(self._subtypes) - wanted:
            alias = self._subtypes.pop(gone)
            bucket = index.get(alias.type.lower())
            if bucket is not None:
                bucket.pop(key, None)
                if not bucket:
                    del index[alias.type.lower()]
            self._announce(alias, ttl=0)
        for new in sorted(wanted - set(self._subtypes)):
            alias = self._service(subtype_name(new))
            index.setdefault(alias.type.lower(), {})[key] = alias
            self._subtypes[new] = alias
            self._announce(alias, ttl=None)

    def _announce(self, alias: ServiceInfo, ttl: int | None) -> None:
        from zeroconf._protocol.outgoing import DNSOutgoing
        from zeroconf.const import _FLAGS_AA, _FLAGS_QR_RESPONSE

        assert self._zc is not None
        out = DNSOutgoing(_FLAGS_QR_RESPONSE | _FLAGS_AA)
        out.add_answer_at_time(alias.dns_pointer(override_ttl=ttl), 0)
        self._zc.zeroconf.async_send(out)

    async def stop(self) -> None:
        """Withdraw every record and close the responder."""
        if self._zc is None:
            return
        await self.set_subtypes(())
        if self.site is not None:
            await self.site.stop()
            self.site = None
        if self._info is not None:
            await self._zc.async_unregister_service(self._info)
        await self._zc.async_close()
        self._zc = None
        log.info("DNS-SD records withdrawn", extra={"instance": self.name})


def advertised_addresses(host: str) -> list[str]:
    """The addresses to advertise for a server bound to ``host``."""
    if host not in ("0.0.0.0", "::", ""):  # noqa: S104 (a comparison, not a bind)
        return [host]
    from zeroconf._utils.net import get_all_addresses

    found = [a for a in get_all_addresses() if not a.startswith("127.")]
    return found or ["127.0.0.1"]


def subtypes_for(sfdis: Iterable[int], *, mirroring: bool) -> list[str]:
    """The subtypes to advertise: the function sets served and one per registered device."""
    names = list(FUNCTION_SETS)
    if mirroring:
        names.append(MIRROR_SUBTYPE)
    names.extend(device_subtype(s) for s in sfdis)
    return names
