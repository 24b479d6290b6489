"""Fixtures: one trusted PKI, one foreign PKI and a self-signed device, each made once."""

from __future__ import annotations

import shutil

import pytest

from certs.foreign import foreign_pki, self_signed_device
from certs.pki import DeviceIdentity, Pki, default_serials, init_pki
from tests.certs.seeding import HW_TYPE, PKI_TIME
from tests.conftest import require


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """The trusted PKI: CAs, the gateway and three meters. Tests must not modify it."""
    return init_pki(
        tmp_path_factory.mktemp("pki"), default_serials(3), hw_type=HW_TYPE, at=PKI_TIME
    ).pki


@pytest.fixture(scope="session")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A well-formed PKI under another SERCA, which the gateway does not trust."""
    return foreign_pki(tmp_path_factory.mktemp("foreign"), hw_type=HW_TYPE, at=PKI_TIME).pki


@pytest.fixture(scope="session")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> DeviceIdentity:
    """A device whose certificate is signed by its own key."""
    return self_signed_device(
        tmp_path_factory.mktemp("selfsigned"), "GM-SELF-01", hw_type=HW_TYPE, at=PKI_TIME
    )


@pytest.fixture(scope="session")
def openssl() -> str:
    """The openssl command line tool, an independent judge of our DER and chains."""
    path = shutil.which("openssl")
    require(path is not None, "the openssl command is not installed")
    assert path is not None
    return path
