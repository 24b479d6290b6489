"""Who is calling: the LFDI of the client certificate, and the role configured for it.

Two deployments, chosen by ``GatewaySettings.proxy_mode``:

- **Direct mutual TLS** (the default). The server glue (gateway.server) puts the client
  certificate into the request scope the standard ASGI way, the TLS extension:
  ``scope["extensions"]["tls"]["client_cert_chain"]``, PEM strings, the client's own
  certificate first. OpenSSL has already verified it to the SERCA during the handshake.
- **Behind a TLS terminator.** The terminator forwards the client certificate in
  ``X-Forwarded-Client-Cert`` (envoy's ``Cert="…"`` form, or a bare url-escaped PEM). It
  counts only when the request comes from an address in ``trusted_proxies``, and only
  once it is verified to the SERCA here (certs.forwarded); from anyone else the header is
  ignored and the caller has no identity.

A client certificate is also judged against the 2030.5 *device* profile (certs.profile:
the device-type policy, a critical subjectAltName with one HardwareModuleName, keyUsage
digitalSignature + keyAgreement, cA false, ...), which OpenSSL's chain check does not
look at: a certificate that breaks it gets 403 on every request, right after the
handshake, with the rule named (``gateway.client_profile_relax`` relaxes named rules for
a lab PKI). A CA certificate or the gateway's own server certificate is no device.

A caller without an identity is refused (403) by every 2030.5 resource. The LFDI of a
certificate is computed once and remembered (a bounded cache keyed by the PEM or header
text), since a meter sends the same certificate on every request.
"""

from __future__ import annotations

import base64
import ipaddress
import logging
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from certs.forwarded import ClientCertificateRejected, certificates_from_header, client_lfdi
from certs.profile import device_refusal
from gateway.errors import Refusal, forbidden
from gateway.settings import GatewaySettings
from sep2 import lfdi_from_der, sfdi_from_lfdi

log = logging.getLogger(__name__)

FORWARDED_CERT_HEADER = b"x-forwarded-client-cert"
_CACHE_SIZE = 65_536
_FORWARDED_TTL = 300.0  # seconds a verified forwarded certificate is trusted without re-checking


class Role(StrEnum):
    """What a caller may see and change (gateway.access)."""

    DEVICE = "device"
    AGGREGATOR = "aggregator"
    OPERATOR = "operator"


@dataclass(frozen=True, slots=True)
class Peer:
    """The caller of a request."""

    lfdi: str
    sfdi: int
    role: Role

    @property
    def privileged(self) -> bool:
        """True for aggregators and operators, who see and change everything."""
        return self.role is not Role.DEVICE


@dataclass(frozen=True, slots=True)
class _Refused:
    """A remembered verdict: this certificate is refused (a fresh 403 is raised each time,
    never one exception object re-raised, whose traceback would grow)."""

    problem: str


class _Lru:
    """A small LRU map with an optional age limit per entry."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[str, tuple[float, str | _Refused]] = OrderedDict()

    def get(self, key: str, max_age: float | None, now: float) -> str | _Refused | None:
        item = self._items.get(key)
        if item is None:
            return None
        stamp, value = item
        if max_age is not None and now - stamp > max_age:
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return value

    def put(self, key: str, value: str | _Refused, now: float) -> None:
        self._items[key] = (now, value)
        self._items.move_to_end(key)
        if len(self._items) > self._size:
            self._items.popitem(last=False)


def lfdi_of_pem(pem: str) -> str:
    """The LFDI of a PEM certificate (SHA-256 over its DER)."""
    body = "".join(line for line in pem.splitlines() if line and not line.startswith("-----"))
    return lfdi_from_der(base64.b64decode(body))


class PeerResolver:
    """Finds the Peer of a request scope, as the settings say."""

    def __init__(
        self,
        settings: GatewaySettings,
        serca: x509.Certificate | None = None,
        intermediates: Sequence[x509.Certificate] = (),
    ) -> None:
        if settings.proxy_mode and serca is None:
            raise ValueError("proxy mode needs the SERCA to verify forwarded certificates")
        self._proxy_mode = settings.proxy_mode
        self._proxies = [ipaddress.ip_network(p, strict=False) for p in settings.trusted_proxies]
        self._serca = serca
        self._intermediates = list(intermediates)
        self._operators = frozenset(settings.operator_lfdis)
        self._aggregators = frozenset(settings.aggregator_lfdis)
        self._relaxed = frozenset(settings.client_profile_relax)
        self._cache = _Lru(_CACHE_SIZE)
        self._peers: dict[str, Peer] = {}

    def role_of(self, lfdi: str) -> Role:
        """The role configured for an LFDI."""
        if lfdi in self._operators:
            return Role.OPERATOR
        if lfdi in self._aggregators:
            return Role.AGGREGATOR
        return Role.DEVICE

    def peer_of(self, lfdi: str) -> Peer:
        """The Peer for a known LFDI."""
        # A pure function of the LFDI and the settings, asked on every request: remembered
        # (the SFDI's check digit alone cost a few µs each time).
        peer = self._peers.get(lfdi)
        if peer is None:
            if len(self._peers) >= _CACHE_SIZE:
                self._peers.clear()
            peer = self._peers[lfdi] = Peer(lfdi, sfdi_from_lfdi(lfdi), self.role_of(lfdi))
        return peer

    def resolve(self, scope: Any) -> Peer:
        """The caller of the request ``scope``; a 403 Refusal if it has no identity."""
        lfdi = self._forwarded(scope) if self._proxy_mode else self._direct(scope)
        return self.peer_of(lfdi)

    def _direct(self, scope: Any) -> str:
        tls = (scope.get("extensions") or {}).get("tls") or {}
        chain = tls.get("client_cert_chain") or ()
        if not chain:
            raise forbidden("no client certificate (2030.5 needs mutual TLS)")
        pem = chain[0]
        now = time.monotonic()
        known = self._cache.get(pem, None, now)
        if known is None:
            cert = x509.load_pem_x509_certificate(pem.encode())
            known = self._profile_refusal(cert) or lfdi_of_pem(pem)
            self._cache.put(pem, known, now)
        if isinstance(known, _Refused):
            raise forbidden(known.problem)
        return known

    def _profile_refusal(self, cert: x509.Certificate) -> _Refused | None:
        """A 403 for a client certificate that breaks the 2030.5 device profile (the
        handshake checked only the chain); logged once per certificate, since the verdict
        is remembered with it."""
        violation = device_refusal(cert, self._relaxed)
        if violation is None:
            return None
        lfdi = lfdi_from_der(cert.public_bytes(Encoding.DER))
        log.info(
            f"client certificate of LFDI {lfdi} refused: {violation.message} "
            f"[rule {violation.rule}; gateway.client_profile_relax lists rules to relax]",
            extra={"lfdi": lfdi, "rule": violation.rule},
        )
        return _Refused(
            f"client certificate breaks the 2030.5 device profile: {violation.message} "
            f"[{violation.rule}]"
        )

    def _forwarded(self, scope: Any) -> str:
        client = scope.get("client")
        if not client or not self._trusted(client[0]):
            raise forbidden("forwarded client certificates are accepted from trusted proxies only")
        values = [v for k, v in scope.get("headers", ()) if k == FORWARDED_CERT_HEADER]
        if len(values) != 1:
            raise forbidden("the proxy forwarded no (or more than one) client certificate")
        header = values[0].decode("latin-1")
        now = time.monotonic()
        lfdi = self._cache.get(header, _FORWARDED_TTL, now)
        if lfdi is None:
            assert self._serca is not None
            try:
                certificates = certificates_from_header(header)
                lfdi = client_lfdi(certificates, self._serca, intermediates=self._intermediates)
            except ClientCertificateRejected as exc:
                raise Refusal(403, f"forwarded client certificate refused: {exc}") from None
            lfdi = self._profile_refusal(certificates[0]) or lfdi
            self._cache.put(header, lfdi, now)
        if isinstance(lfdi, _Refused):
            raise forbidden(lfdi.problem)
        return lfdi

    def _trusted(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self._proxies)
