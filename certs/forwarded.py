"""A client certificate that reached the gateway outside its own handshake.

Behind a TLS terminator (envoy, nginx) the gateway never sees the client's handshake; the
terminator forwards the client certificate in a header instead. Two forms are common:

- envoy's ``X-Forwarded-Client-Cert``: ``;``-separated ``key=value`` pairs (values may be
  double-quoted), ``,`` between elements. ``Cert`` is the URL-escaped PEM of the client
  certificate and ``Chain`` the URL-escaped PEM of its whole chain. The first element is
  the one the client's own TLS connection produced (proxies further along append theirs).
- nginx's ``$ssl_client_escaped_cert``: just the URL-escaped PEM.

Whatever the form, the certificate is only as good as its chain: :func:`client_lfdi`
verifies it to the SERCA (through the forwarded chain and any intermediates the gateway
knows) before it gives the LFDI. Trusting such a header at all is the gateway's decision,
and only ever for a configured proxy.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import unquote

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certs import pemfile
from certs.chain import verify_chain
from sep2.identity import lfdi_from_der

_XFCC_START = re.compile(r"^\s*[A-Za-z]+=")


class ClientCertificateRejected(ValueError):
    """A forwarded client certificate that is unreadable or does not chain to the SERCA."""


def certificates_from_header(value: str) -> list[x509.Certificate]:
    """The client certificate (first) and its chain from a forwarded-certificate header."""
    element = _first_element(value)
    fields = _fields(element) if element is not None else {}
    if "cert" in fields:
        leaf = _pem(fields["cert"], "Cert")
        chain = _pem(fields["chain"], "Chain") if "chain" in fields else []
        return leaf[:1] + [c for c in chain + leaf[1:] if c != leaf[0]]
    if "chain" in fields:
        return _pem(fields["chain"], "Chain")
    return _pem(value.strip().strip('"'), "header")


def client_lfdi(
    certificate: str | bytes | Sequence[x509.Certificate],
    serca: x509.Certificate,
    *,
    intermediates: Sequence[x509.Certificate] = (),
    at: datetime | None = None,
) -> str:
    """The LFDI of a client certificate, once it is verified to chain to ``serca``.

    ``certificate`` is a header value (str: either form above), PEM or DER bytes (a PEM
    may hold the chain after the certificate), or certificates, leaf first. ``at`` is the
    time to check validity at (default: now).
    """
    if isinstance(certificate, str):
        certs = certificates_from_header(certificate)
    elif isinstance(certificate, bytes):
        try:
            certs = pemfile.parse_certificates(certificate)
        except pemfile.PemError as exc:
            raise ClientCertificateRejected(str(exc)) from None
    else:
        certs = list(certificate)
    if not certs:
        raise ClientCertificateRejected("no client certificate")
    leaf, *presented = certs
    result = verify_chain(leaf, [*presented, *intermediates], serca, at or datetime.now(UTC))
    if not result.ok:
        raise ClientCertificateRejected("client certificate refused: " + result.summary())
    return lfdi_from_der(leaf.public_bytes(serialization.Encoding.DER))


def _first_element(value: str) -> str | None:
    """The first ``,``-separated element, if the value is in key=value form at all."""
    if not _XFCC_START.match(value):  # a bare PEM starts with "-----BEGIN"
        return None
    in_quotes = False
    for i, ch in enumerate(value):
        if ch == '"':
            in_quotes = not in_quotes
        elif ch == "," and not in_quotes:
            return value[:i]
    return value


def _fields(element: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    buf: list[str] = []
    key, in_quotes, in_key = "", False, True
    for ch in element + ";":
        if ch == '"':
            in_quotes = not in_quotes
        elif ch == "=" and in_key and not in_quotes:
            key, buf, in_key = "".join(buf).strip().lower(), [], False
        elif ch == ";" and not in_quotes:
            if not in_key:
                fields.setdefault(key, "".join(buf))
            buf, in_key = [], True
        else:
            buf.append(ch)
    return fields


def _pem(escaped: str, what: str) -> list[x509.Certificate]:
    text = unquote(escaped)
    try:
        return pemfile.parse_certificates(text.encode())
    except pemfile.PemError as exc:
        raise ClientCertificateRejected(f"{what} of the forwarded header: {exc}") from None
