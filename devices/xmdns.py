"""Browsing ``_smartenergy._tcp.site.`` by xmDNS: one-shot queries to FF05::FB.

python-zeroconf browses only ``.local.`` on FF02::FB, so the meters ask the site-local
group themselves (sep2.dnssd), as a one-shot querier (RFC 6762 §6.7): a PTR question sent
from an ephemeral port on each chosen interface, answered by the responders to that port
alone. An answer that names an instance without its SRV, TXT or addresses is followed by
a question for them. The questions are repeated every second until the caller stops
listening; DNS messages are read and written with python-zeroconf's record classes.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import random
import socket
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

# The wire format of python-zeroconf (gateway.xmdns writes with the same classes).
from zeroconf._dns import DNSAddress, DNSPointer, DNSQuestion, DNSService, DNSText
from zeroconf._protocol.incoming import DNSIncoming
from zeroconf._protocol.outgoing import DNSOutgoing

from sep2.dnssd import MDNS_PORT, SITE_DOMAIN, XMDNS_GROUP, service_type, txt_entries

TYPE_A, TYPE_PTR, TYPE_TXT, TYPE_AAAA, TYPE_SRV = 1, 12, 16, 28, 33
CLASS_IN = 1
SITE_SERVICE = service_type(SITE_DOMAIN)
REPEAT_S = 1.0


@dataclass(frozen=True, slots=True)
class SiteAnswer:
    """A ``.site`` instance with everything needed to use it."""

    name: str
    port: int
    addresses: tuple[str, ...]
    txt: dict[str, str | None]


def multicast_interfaces(names: Sequence[str] | None = None) -> list[tuple[str, int]]:
    """(name, index) of the interfaces to ask on: up, multicast-capable, with an IPv6
    address; only ``names`` if given."""
    import ifaddr

    chosen = []
    for adapter in ifaddr.get_adapters():
        if names is not None and adapter.name not in names:
            continue
        if not any(not isinstance(ip.ip, str) for ip in adapter.ips):  # IPv6 as tuples
            continue
        try:
            with open(f"/sys/class/net/{adapter.name}/flags") as flags:
                value = int(flags.read(), 16)
        except (OSError, ValueError):
            continue
        if value & 0x1 and value & 0x1000:  # IFF_UP, IFF_MULTICAST
            chosen.append((adapter.name, int(adapter.index or 0)))
    return chosen


@dataclass
class _Seen:
    """What the answers so far say."""

    instances: set[str] = field(default_factory=set)
    services: dict[str, tuple[int, str]] = field(default_factory=dict)
    texts: dict[str, bytes] = field(default_factory=dict)
    hosts: dict[str, list[str]] = field(default_factory=dict)

    def take(self, data: bytes) -> None:
        try:
            message = DNSIncoming(data)
        except Exception:
            return
        if not message.valid or not message.is_response():
            return
        for record in message.answers():
            key = record.name.lower()
            if isinstance(record, DNSPointer) and key == SITE_SERVICE.lower() and record.ttl:
                self.instances.add(record.alias)
            elif isinstance(record, DNSService):
                self.services[key] = (record.port, record.server)
            elif isinstance(record, DNSText):
                self.texts[key] = record.text
            elif isinstance(record, DNSAddress):
                address = str(ipaddress.ip_address(record.address))
                known = self.hosts.setdefault(key, [])
                if address not in known:
                    known.append(address)

    def complete(self, name: str) -> SiteAnswer | None:
        key = name.lower()
        service = self.services.get(key)
        if service is None or key not in self.texts:
            return None
        addresses = self.hosts.get(service[1].lower())
        if not addresses:
            return None
        return SiteAnswer(name, service[0], tuple(addresses), txt_entries(self.texts[key]))

    def missing(self) -> list[DNSQuestion]:
        asks = []
        for name in sorted(self.instances):
            key = name.lower()
            if key not in self.services:
                asks.append(DNSQuestion(name, TYPE_SRV, CLASS_IN))
            elif not self.hosts.get(self.services[key][1].lower()):
                host = self.services[key][1]
                asks += [
                    DNSQuestion(host, TYPE_AAAA, CLASS_IN),
                    DNSQuestion(host, TYPE_A, CLASS_IN),
                ]
            if key not in self.texts:
                asks.append(DNSQuestion(name, TYPE_TXT, CLASS_IN))
        return asks


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, seen: _Seen, arrived: asyncio.Event) -> None:
        self.seen = seen
        self.arrived = arrived

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.seen.take(data)
        self.arrived.set()


def _query(questions: Sequence[DNSQuestion]) -> list[bytes]:
    out = DNSOutgoing(0, multicast=False, id_=random.randrange(1, 0xFFFF))
    for question in questions:
        out.add_question(question)
    return out.packets()


async def browse_site(
    interfaces: Sequence[tuple[str, int]], *, mdns_port: int = MDNS_PORT
) -> AsyncIterator[SiteAnswer]:
    """Yield each ``.site`` instance once it is complete, asking on ``interfaces`` until
    the caller stops (closes the iterator)."""
    sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
    sock.bind(("::", 0))
    sock.setblocking(False)
    seen, arrived = _Seen(), asyncio.Event()
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: _Protocol(seen, arrived), sock=sock)
    given: set[str] = set()

    def ask(questions: Sequence[DNSQuestion]) -> None:
        for packet in _query(questions):
            for _name, index in interfaces:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
                with contextlib.suppress(OSError):  # an interface gone down
                    sock.sendto(packet, (XMDNS_GROUP, mdns_port, 0, index))

    next_round = loop.time()
    try:
        while True:
            if loop.time() >= next_round:
                ask([DNSQuestion(SITE_SERVICE, TYPE_PTR, CLASS_IN), *seen.missing()])
                next_round = loop.time() + REPEAT_S
            # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation
            # that arrives as the wait ends.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, next_round - loop.time())):
                    await arrived.wait()
            if arrived.is_set():
                arrived.clear()
                missing = seen.missing()
                if missing:  # answered once each: this converges
                    ask(missing)
            for name in sorted(seen.instances - given):
                found = seen.complete(name)
                if found is not None:
                    given.add(name)
                    yield found
    finally:
        transport.close()
