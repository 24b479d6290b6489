"""Fixtures of the sep2 tests: the official XSD, compiled once, and a codec over it."""

from __future__ import annotations

import pytest
from lxml import etree

from schemas import official_xsd_bytes
from sep2 import Codec, Schema, Sep2Settings


@pytest.fixture(scope="session")
def xsd() -> bytes:
    return official_xsd_bytes()


@pytest.fixture(scope="session")
def schema(xsd: bytes) -> Schema:
    return Schema.from_bytes(xsd)


@pytest.fixture(scope="session")
def codec(schema: Schema) -> Codec:
    return Codec(schema, Sep2Settings())


@pytest.fixture(scope="session")
def xsd_validator(xsd: bytes) -> etree.XMLSchema:
    """An lxml validator independent of sep2's, to check what sep2 writes."""
    return etree.XMLSchema(etree.fromstring(xsd))


def assert_valid(validator: etree.XMLSchema, data: bytes) -> None:
    """Fail with the XSD's own message unless ``data`` is valid 2030.5 XML."""
    root = etree.fromstring(data)
    assert validator.validate(root), f"{validator.error_log}\n{data.decode()}"
