"""DNS-SD facts of IEEE 2030.5: the service, its two domains and the xmDNS group.

A 2030.5 server is ``_smartenergy._tcp`` in two domains:

- ``local.`` over plain mDNS (IPv4 224.0.0.251 and IPv6 FF02::FB, link scope), which
  IEEE 2030.5-2023 made normative;
- ``site.`` over xmDNS, as IEEE 2030.5-2018 specifies it: the same messages on the IPv6
  site-local group FF05::FB, port 5353, so that a query crosses routers within a site.
  2018-era clients browse only there.

The records are the same in both (instance PTR, SRV, TXT with ``txtvers=1`` first,
subtype PTRs ``<subtype>._sub._smartenergy._tcp.<domain>``, addresses).
"""

from __future__ import annotations

SERVICE = "_smartenergy._tcp"
LOCAL_DOMAIN = "local."
SITE_DOMAIN = "site."
DOMAINS = (LOCAL_DOMAIN, SITE_DOMAIN)
XMDNS_GROUP = "ff05::fb"
MDNS_PORT = 5353


def service_type(domain: str = LOCAL_DOMAIN) -> str:
    """``_smartenergy._tcp.local.`` or ``_smartenergy._tcp.site.``"""
    return f"{SERVICE}.{domain}"


def subtype_name(subtype: str, domain: str = LOCAL_DOMAIN) -> str:
    """``edev`` -> ``edev._sub._smartenergy._tcp.<domain>``"""
    return f"{subtype}._sub.{service_type(domain)}"


def instance_label(name: str) -> str:
    """``gridmirror-1`` for ``gridmirror-1._smartenergy._tcp.local.`` (or ``.site.``)."""
    for domain in DOMAINS:
        suffix = "." + service_type(domain)
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def txt_entries(data: bytes) -> dict[str, str | None]:
    """A TXT record's ``key=value`` strings (length-prefixed), as DNS-SD reads them: keys
    case-insensitive, the first of a repeated key wins, a key without ``=`` is None."""
    found: dict[str, str | None] = {}
    at = 0
    while at < len(data):
        size = data[at]
        entry = data[at + 1 : at + 1 + size]
        at += 1 + size
        key, sep, value = entry.decode("utf-8", "replace").partition("=")
        key = key.lower()
        if key and key not in found:
            found[key] = value if sep else None
    return found
