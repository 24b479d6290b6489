"""Run inside a network namespace by tests/gateway/test_xmdns.py (``ip netns exec``).

The gateway's advertiser serves on one end of a veth pair (``--serve``), the meters'
browser asks on the other (``--ask``), and a listener joined to FF05::FB on the asking
side records what the responder announces. Prints one JSON object:

- ``found``: what devices.discovery.discover returned (by ``.site`` only: the namespace
  has no IPv4 but loopback, where nothing advertises);
- ``answers``: the ``.site`` instances devices.xmdns.browse_site saw;
- ``subtype``: the instances a PTR question for one subtype named;
- ``other``: instances answered for a subtype we do not advertise (none);
- ``announced``/``withdrawn``: the TTLs of the service PTR the responder sent to the group
  when it started and when it stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import struct
from typing import Any

from zeroconf._dns import DNSPointer, DNSQuestion
from zeroconf._protocol.incoming import DNSIncoming

from devices.discovery import discover
from devices.xmdns import SITE_SERVICE, _query, _Seen, browse_site, multicast_interfaces
from gateway.discovery import Advertiser
from sep2.dnssd import MDNS_PORT, XMDNS_GROUP, subtype_name


class Listener(asyncio.DatagramProtocol):
    """Joined to FF05::FB: the TTLs of service PTRs sent to the group."""

    def __init__(self) -> None:
        self.ttls: list[int] = []

    def datagram_received(self, data: bytes, addr: Any) -> None:
        message = DNSIncoming(data)
        if message.is_response():
            for record in message.answers():
                if isinstance(record, DNSPointer) and record.name == SITE_SERVICE:
                    self.ttls.append(record.ttl)


async def listen(index: int) -> tuple[asyncio.DatagramTransport, Listener]:
    sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("::", MDNS_PORT))
    group = socket.inet_pton(socket.AF_INET6, XMDNS_GROUP) + struct.pack("@I", index)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, group)
    sock.setblocking(False)
    listener = Listener()
    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        lambda: listener, sock=sock
    )
    return transport, listener


async def ask_subtype(index: int, subtype: str) -> list[str]:
    """The instances one one-shot PTR question for ``subtype`` finds within 2 s."""
    seen = _Seen()
    sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    sock.bind(("::", 0))
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    name = subtype_name(subtype, "site.")
    for packet in _query([DNSQuestion(name, 12, 1)]):
        sock.sendto(packet, (XMDNS_GROUP, MDNS_PORT, 0, index))
    names: list[str] = []
    try:
        while True:
            data = await asyncio.wait_for(loop.sock_recv(sock, 9000), 2.0)
            for record in DNSIncoming(data).answers():
                if isinstance(record, DNSPointer) and record.name.lower() == name.lower():
                    names.append(record.alias)
            seen.take(data)
    except TimeoutError:
        return names
    finally:
        sock.close()


async def main(args: argparse.Namespace) -> dict[str, Any]:
    (ask,) = multicast_interfaces([args.ask])
    transport, listener = await listen(ask[1])
    advertiser = Advertiser(
        instance=args.instance,
        port=18443,
        addresses=[args.address],
        interfaces=[args.address],
        site=True,
    )
    subtypes = ["edev", "tm", "upt", "mup", "edev-000000000019"]
    await advertiser.start(subtypes)
    result: dict[str, Any] = {"site_started": advertiser.site is not None}
    try:
        found = await discover(
            8.0, instance=args.instance, interfaces=["127.0.0.1"], site_interfaces=[args.ask]
        )
        result["found"] = {"host": found.host, "port": found.port, "dcap": found.dcap_path,
                           "level": found.level, "instance": found.instance}  # fmt: skip
        answers = []
        browse = browse_site([ask])
        async with asyncio.timeout(5):
            async for answer in browse:
                answers.append(
                    {"name": answer.name, "port": answer.port,
                     "addresses": list(answer.addresses), "txt": answer.txt}
                )  # fmt: skip
                break
        await browse.aclose()
        result["answers"] = answers
        result["subtype"] = await ask_subtype(ask[1], "edev-000000000019")
        result["other"] = await ask_subtype(ask[1], "derp")
    finally:
        await advertiser.stop()
        await asyncio.sleep(0.5)
        transport.close()
    result["announced"] = listener.ttls[:1]
    result["withdrawn"] = listener.ttls[-1:]
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--ask", required=True)
    parser.add_argument("--address", required=True)
    parser.add_argument("--instance", required=True)
    print(json.dumps(asyncio.run(main(parser.parse_args()))))
