"""xmDNS: the gateway's ``_smartenergy._tcp.site.`` records on the IPv6 group FF05::FB.

IEEE 2030.5-2018 clients discover servers by xmDNS: mDNS messages on the site-local
multicast group FF05::FB, port 5353, in the domain ``site.`` (sep2.dnssd). python-zeroconf
speaks only ``.local.`` on FF02::FB (its group and domain are fixed), so this is a small
responder of our own; the DNS messages are written and read with python-zeroconf's record
classes. It answers, for the same instance as the ``.local`` advertisement (gateway.discovery):

- PTR ``_smartenergy._tcp.site.`` and ``<subtype>._sub._smartenergy._tcp.site.`` with the
  instance, its SRV, TXT and address records as additional answers;
- SRV, TXT (``txtvers=1`` first) and ANY of the instance; A/AAAA of its host name;
- ``_services._dns-sd._udp.site.`` with the service type.

A query from port 5353 is answered to the group on every interface the responder serves;
one from another port (a one-shot querier, RFC 6762 §6.7) is answered to its sender
alone, with the question repeated and TTLs of at most 10 s. Records are announced when
the responder starts or a subtype appears, and withdrawn (TTL 0) when it stops.

The socket binds ``[::]:5353`` beside any other mDNS responder of the host
(SO_REUSEADDR/SO_REUSEPORT), joins FF05::FB on the chosen interfaces only, takes no other
group's datagrams (IPV6_MULTICAST_ALL off) and ignores what arrives on other interfaces
(IPV6_PKTINFO): Linux hands a member socket the group's datagrams from every interface
the host joined, so a query on an interface we do not serve would otherwise be answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

# The wire format of python-zeroconf (its record classes and message reader and writer;
# gateway.discovery reaches into the same modules).
from zeroconf._dns import DNSAddress, DNSPointer, DNSQuestion, DNSRecord, DNSService, DNSText
from zeroconf._protocol.incoming import DNSIncoming
from zeroconf._protocol.outgoing import DNSOutgoing

from sep2.dnssd import MDNS_PORT, SITE_DOMAIN, XMDNS_GROUP, service_type, subtype_name

log = logging.getLogger(__name__)

# RFC 1035 / 6762 values.
TYPE_A, TYPE_PTR, TYPE_TXT, TYPE_AAAA, TYPE_SRV, TYPE_ANY = 1, 12, 16, 28, 33, 255
CLASS_IN, CLASS_UNIQUE = 1, 0x8000
FLAGS_RESPONSE = 0x8000 | 0x0400  # QR, AA
TTL_HOST, TTL_OTHER, TTL_LEGACY = 120, 4500, 10
IPV6_MULTICAST_ALL = getattr(socket, "IPV6_MULTICAST_ALL", 29)  # Linux; absent from Python
SITE_SERVICE = service_type(SITE_DOMAIN)
SERVICES_BROWSE = f"_services._dns-sd._udp.{SITE_DOMAIN}"
_PKTINFO_SPACE = socket.CMSG_SPACE(20)  # struct in6_pktinfo: address, interface index


def _arrival_index(ancillary: list[tuple[int, int, bytes]]) -> int | None:
    """The interface a datagram arrived on, from its IPV6_PKTINFO."""
    for level, kind, data in ancillary:
        if level == socket.IPPROTO_IPV6 and kind == socket.IPV6_PKTINFO and len(data) >= 20:
            return int(struct.unpack("@I", data[16:20])[0])
    return None


@dataclass(frozen=True, slots=True)
class SiteInterface:
    """An interface xmDNS runs on."""

    name: str
    index: int


def site_interfaces(addresses: Sequence[str] | None) -> list[SiteInterface]:
    """The interfaces to run xmDNS on: up, multicast-capable, with IPv6; only those holding
    one of ``addresses`` if given (the interfaces mDNS runs on)."""
    import ifaddr

    wanted = {ipaddress.ip_address(a) for a in addresses} if addresses else None
    chosen = []
    for adapter in ifaddr.get_adapters():
        if not _multicast_up(adapter.name):
            continue
        ips = {
            ipaddress.ip_address(ip.ip if isinstance(ip.ip, str) else ip.ip[0])
            for ip in adapter.ips
        }
        if not any(ip.version == 6 for ip in ips):
            continue
        if wanted is not None and not ips & wanted:
            continue
        chosen.append(SiteInterface(adapter.nice_name or adapter.name, int(adapter.index or 0)))
    return chosen


def _multicast_up(name: str) -> bool:
    try:
        with open(f"/sys/class/net/{name}/flags") as flags:
            value = int(flags.read(), 16)
    except (OSError, ValueError):
        return False
    return bool(value & 0x1) and bool(value & 0x1000)  # IFF_UP, IFF_MULTICAST


def _address_record(host: str, address: str, ttl: int) -> DNSAddress:
    ip = ipaddress.ip_address(address)
    kind = TYPE_AAAA if ip.version == 6 else TYPE_A
    return DNSAddress(host, kind, CLASS_IN | CLASS_UNIQUE, ttl, ip.packed)


class SiteRecords:
    """The records of one instance in ``site.``, and the answers to a question. ``cap``
    bounds every TTL (10 s for one-shot queriers, 0 to withdraw)."""

    def __init__(self, instance: str, port: int, addresses: Sequence[str], txt: bytes) -> None:
        self.name = f"{instance}.{SITE_SERVICE}"
        self.host = f"{instance}.{SITE_DOMAIN}"
        self.port = port
        self.addresses = list(addresses)
        self.txt = txt
        self.subtypes: set[str] = set()

    def pointer(self, subtype: str | None, cap: int = TTL_OTHER) -> DNSPointer:
        """The PTR of the service (or one subtype) to the instance."""
        owner = SITE_SERVICE if subtype is None else subtype_name(subtype, SITE_DOMAIN)
        return DNSPointer(owner, TYPE_PTR, CLASS_IN, min(TTL_OTHER, cap), self.name)

    def instance_records(self, cap: int = TTL_OTHER) -> list[DNSRecord]:
        """SRV, TXT and the host's addresses."""
        unique = CLASS_IN | CLASS_UNIQUE
        service = DNSService(
            self.name, TYPE_SRV, unique, min(TTL_HOST, cap), 0, 0, self.port, self.host
        )
        text = DNSText(self.name, TYPE_TXT, unique, min(TTL_OTHER, cap), self.txt)
        return [service, text, *self.address_records(cap)]

    def address_records(self, cap: int = TTL_OTHER) -> list[DNSRecord]:
        """A and AAAA of the host name."""
        return [_address_record(self.host, a, min(TTL_HOST, cap)) for a in self.addresses]

    def answer(
        self, question: DNSQuestion, cap: int = TTL_OTHER
    ) -> tuple[list[DNSRecord], list[DNSRecord]]:
        """(answers, additionals) for one question; both empty if it is not about us."""
        name, kind = question.name.lower(), question.type

        def wants(record_type: int) -> bool:
            return kind in (record_type, TYPE_ANY)

        if name == SERVICES_BROWSE.lower() and wants(TYPE_PTR):
            browse = DNSPointer(
                SERVICES_BROWSE, TYPE_PTR, CLASS_IN, min(TTL_OTHER, cap), SITE_SERVICE
            )
            return [browse], []
        if name == SITE_SERVICE.lower() and wants(TYPE_PTR):
            return [self.pointer(None, cap)], self.instance_records(cap)
        for subtype in self.subtypes:
            if name == subtype_name(subtype, SITE_DOMAIN).lower() and wants(TYPE_PTR):
                return [self.pointer(subtype, cap)], self.instance_records(cap)
        if name == self.name.lower():
            chosen = [r for r in self.instance_records(cap)[:2] if wants(r.type)]
            return chosen, self.address_records(cap) if chosen else []
        if name == self.host.lower():
            return [r for r in self.address_records(cap) if wants(r.type)], []
        return [], []


class SiteResponder:
    """Answers xmDNS queries for one gateway instance (see the module docstring)."""

    def __init__(
        self,
        *,
        instance: str,
        port: int,
        addresses: Sequence[str],
        txt: bytes,
        interfaces: Sequence[SiteInterface],
        mdns_port: int = MDNS_PORT,
    ) -> None:
        self.records = SiteRecords(instance, port, addresses, txt)
        self.interfaces = list(interfaces)
        self._mdns_port = mdns_port
        self._socket: socket.socket | None = None
        self._indices = frozenset(i.index for i in self.interfaces)

    @property
    def name(self) -> str:
        """The full instance name, ``<instance>._smartenergy._tcp.site.``"""
        return self.records.name

    async def start(self, subtypes: Iterable[str]) -> None:
        """Join FF05::FB on the interfaces, answer, and announce the records."""
        sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
        sock.setsockopt(socket.IPPROTO_IPV6, IPV6_MULTICAST_ALL, 0)
        sock.bind(("::", self._mdns_port))
        group = socket.inet_pton(socket.AF_INET6, XMDNS_GROUP)
        for interface in self.interfaces:
            sock.setsockopt(
                socket.IPPROTO_IPV6,
                socket.IPV6_JOIN_GROUP,
                group + struct.pack("@I", interface.index),
            )
        # The arrival interface of each datagram: a socket joined on one interface also
        # gets the group's datagrams arriving on any other the host joined.
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
        sock.setblocking(False)
        self._socket = sock
        asyncio.get_running_loop().add_reader(sock.fileno(), self._readable)
        self.records.subtypes = set()
        self._announce([self.records.pointer(None), *self.records.instance_records()])
        await self.set_subtypes(subtypes)
        log.info(
            "advertising over xmDNS",
            extra={"instance": self.name, "interfaces": [i.name for i in self.interfaces]},
        )

    async def set_subtypes(self, subtypes: Iterable[str]) -> None:
        """Make the answered subtypes exactly ``subtypes`` (announcing changes)."""
        wanted = set(subtypes)
        gone = self.records.subtypes - wanted
        new = wanted - self.records.subtypes
        self.records.subtypes = wanted
        changed = [self.records.pointer(s, 0) for s in sorted(gone)]
        changed += [self.records.pointer(s) for s in sorted(new)]
        if changed and self._socket is not None:
            self._announce(changed)

    async def stop(self) -> None:
        """Withdraw every record (TTL 0) and close the socket."""
        if self._socket is None:
            return
        pointers = [self.records.pointer(None, 0)]
        pointers += [self.records.pointer(s, 0) for s in sorted(self.records.subtypes)]
        self._announce([*pointers, *self.records.instance_records(cap=0)])
        asyncio.get_running_loop().remove_reader(self._socket.fileno())
        self._socket.close()
        self._socket = None
        log.info("xmDNS records withdrawn", extra={"instance": self.name})

    # --- the wire ---------------------------------------------------------------------------

    def _announce(self, records: Sequence[DNSRecord]) -> None:
        out = DNSOutgoing(FLAGS_RESPONSE, multicast=True)
        for record in records:
            out.add_answer_at_time(record, 0)
        self._to_group(out)

    def _to_group(self, out: DNSOutgoing) -> None:
        if self._socket is None:
            return
        for packet in out.packets():
            for interface in self.interfaces:
                self._socket.setsockopt(
                    socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, interface.index
                )
                try:
                    self._socket.sendto(packet, (XMDNS_GROUP, self._mdns_port, 0, interface.index))
                except OSError as exc:  # an interface that went down: the others still count
                    log.debug(
                        "xmDNS send failed", extra={"interface": interface.name, "error": str(exc)}
                    )

    def _readable(self) -> None:
        if self._socket is None:
            return
        while True:
            try:
                data, ancillary, _flags, addr = self._socket.recvmsg(9000, _PKTINFO_SPACE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.debug("xmDNS receive failed", extra={"error": str(exc)})
                return
            index = _arrival_index(ancillary)
            if index is None or index in self._indices:
                self.received(data, addr)

    def received(self, data: bytes, addr: Any) -> None:
        """Answer a query about our records; ignore everything else."""
        try:
            message = DNSIncoming(data)
        except Exception:
            return
        if not message.valid or not message.is_query():
            return
        legacy = addr[1] != self._mdns_port
        cap = TTL_LEGACY if legacy else TTL_OTHER
        answers: list[DNSRecord] = []
        additionals: list[DNSRecord] = []
        asked = []
        for question in message.questions:
            found, extra = self.records.answer(question, cap)
            if found:
                asked.append(question)
                answers += found
                additionals += [r for r in extra if r not in answers and r not in additionals]
        if not answers:
            return
        out = DNSOutgoing(FLAGS_RESPONSE, multicast=not legacy, id_=message.id if legacy else 0)
        if legacy:
            for question in asked:
                out.add_question(question)
        for record in answers:
            out.add_answer_at_time(record, 0)
        for record in additionals:
            out.add_additional_answer(record)
        if not legacy:
            self._to_group(out)
        elif self._socket is not None:
            for packet in out.packets():
                with contextlib.suppress(OSError):
                    self._socket.sendto(packet, addr)
