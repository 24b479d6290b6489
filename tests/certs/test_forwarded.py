from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from certs.forwarded import ClientCertificateRejected, certificates_from_header, client_lfdi
from certs.pki import DeviceIdentity, Pki


def escaped(data: bytes) -> str:
    return quote(data.decode(), safe="")


def xfcc(device: DeviceIdentity) -> str:
    """An envoy-style header: a quoted subject with separators in it, then Cert and Chain."""
    return (
        'By=spiffe://gateway;Hash=ab12;Subject="O=x, CN=a;b";'
        f'Cert="{escaped(device.cert.read_bytes())}";Chain="{escaped(device.chain.read_bytes())}"'
        ",By=spiffe://next-proxy;Cert=garbage"
    )


def test_envoy_header_with_chain(pki: Pki) -> None:
    device = pki.device("GM-SYN-00001")
    header = xfcc(device)
    certs = certificates_from_header(header)
    assert certs[0] == device.certificate()
    assert certs[1:] == pki.intermediates()
    assert client_lfdi(header, pki.serca_certificate()) == device.lfdi


def test_nginx_escaped_certificate_with_known_intermediates(pki: Pki) -> None:
    device = pki.device("GM-SYN-00002")
    header = escaped(device.cert.read_bytes())
    serca = pki.serca_certificate()
    with pytest.raises(ClientCertificateRejected, match="no issuer"):
        client_lfdi(header, serca)  # the certificate alone does not reach the SERCA
    assert client_lfdi(header, serca, intermediates=pki.intermediates()) == device.lfdi


def test_pem_der_and_certificate_objects(pki: Pki) -> None:
    device = pki.device("GM-SYN-00003")
    serca = pki.serca_certificate()
    assert client_lfdi(device.chain.read_bytes(), serca) == device.lfdi
    der = device.certificate().public_bytes(Encoding.DER)
    assert client_lfdi(der, serca, intermediates=pki.intermediates()) == device.lfdi
    assert client_lfdi([device.certificate(), *pki.intermediates()], serca) == device.lfdi


def test_foreign_and_self_signed_are_rejected(
    pki: Pki, foreign: Pki, self_signed: DeviceIdentity
) -> None:
    serca = pki.serca_certificate()
    with pytest.raises(ClientCertificateRejected, match="client certificate refused"):
        client_lfdi(xfcc(foreign.device("GM-FOREIGN-01")), serca)
    with pytest.raises(ClientCertificateRejected, match="self-signed"):
        client_lfdi(self_signed.cert.read_bytes(), serca)


def test_validity_time_is_a_parameter(pki: Pki) -> None:
    device = pki.device("GM-SYN-00001")
    early = device.certificate().not_valid_before_utc - timedelta(days=1)
    with pytest.raises(ClientCertificateRejected, match="not valid until"):
        client_lfdi(xfcc(device), pki.serca_certificate(), at=early)


@pytest.mark.parametrize(
    "header",
    ["", "garbage", "Cert=%2D%2D%2D%2D%2DBEGIN%20CERTIFICATE", "Hash=abc;By=x", 'Cert=""'],
)
def test_garbage_is_rejected_with_a_message(pki: Pki, header: str) -> None:
    with pytest.raises(ClientCertificateRejected) as info:
        client_lfdi(header, pki.serca_certificate())
    assert "\n" not in str(info.value)
