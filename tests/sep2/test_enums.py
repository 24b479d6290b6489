"""Every enum value is one the official XSD's annotations list, at the same meaning."""

from __future__ import annotations

import re
from enum import Enum

import pytest
from lxml import etree

from sep2 import (
    AccumulationBehaviour,
    Commodity,
    DataQualifier,
    FlowDirection,
    Kind,
    PhaseCode,
    PowerSource,
    QualityFlags,
    ReasonCode,
    RoleFlags,
    ServiceKind,
    TimeQuality,
    Uom,
)

XS = "{http://www.w3.org/2001/XMLSchema}"


def _simple_type_doc(xsd: bytes, name: str) -> str:
    # Enumerated types are simple types or complex types with simple content.
    root = etree.fromstring(xsd)
    for kind in ("simpleType", "complexType"):
        node = root.find(f"{XS}{kind}[@name='{name}']/{XS}annotation/{XS}documentation")
        if node is not None:
            return str(node.text)
    raise AssertionError(f"no documented type {name}")


def _element_doc(xsd: bytes, type_name: str, element: str) -> str:
    root = etree.fromstring(xsd)
    node = root.find(
        f".//{XS}complexType[@name='{type_name}']//{XS}element[@name='{element}']"
        f"/{XS}annotation/{XS}documentation"
    )
    assert node is not None, (type_name, element)
    return str(node.text)


def _listed(doc: str) -> set[int]:
    return {int(m) for m in re.findall(r"^\s*(\d+)\s*[=-]", doc, re.M)}


@pytest.mark.parametrize(
    ("enum", "simple_type"),
    [
        (Uom, "UomType"),
        (Kind, "KindType"),
        (AccumulationBehaviour, "AccumulationBehaviourType"),
        (FlowDirection, "FlowDirectionType"),
        (DataQualifier, "DataQualifierType"),
        (Commodity, "CommodityType"),
        (ServiceKind, "ServiceKind"),
        (PhaseCode, "PhaseCode"),
        (PowerSource, "PowerSourceType"),
    ],
)
def test_enum_values_are_the_xsd_annotations(
    xsd: bytes, enum: type[Enum], simple_type: str
) -> None:
    listed = _listed(_simple_type_doc(xsd, simple_type))
    assert {m.value for m in enum} <= listed


def test_metering_values_the_system_relies_on(xsd: bytes) -> None:
    assert "72 = Wh" in _simple_type_doc(xsd, "UomType")
    assert "12 = Energy" in _simple_type_doc(xsd, "KindType")
    assert "9 = Summation" in _simple_type_doc(xsd, "AccumulationBehaviourType")
    doc = _simple_type_doc(xsd, "FlowDirectionType")
    assert "1 = Forward (delivered to customer)" in doc
    assert "19 = Reverse (received from customer)" in doc


@pytest.mark.parametrize(
    ("enum", "doc_of"),
    [
        (ReasonCode, ("Error", "reasonCode")),
        (TimeQuality, ("Time", "quality")),
    ],
)
def test_element_enums_are_the_xsd_annotations(
    xsd: bytes, enum: type[Enum], doc_of: tuple[str, str]
) -> None:
    assert {m.value for m in enum} <= _listed(_element_doc(xsd, *doc_of))


def _bits(doc: str) -> dict[int, str]:
    return {
        int(n): name for n, name in re.findall(r"^Bit (\d+) - ([A-Za-z ()]+?)(?: -|:|$)", doc, re.M)
    }


def test_role_flags_bits(xsd: bytes) -> None:
    bits = _bits(_simple_type_doc(xsd, "RoleFlagsType"))
    for flag in RoleFlags:
        assert flag.name is not None
        name = bits[flag.value.bit_length() - 1]
        assert name.replace(" ", "").lower() == flag.name.replace("_", "").lower()


def test_quality_flags_bits(xsd: bytes) -> None:
    bits = _bits(_element_doc(xsd, "ReadingBase", "qualityFlags"))
    assert {flag.value.bit_length() - 1 for flag in QualityFlags} == set(bits)
    assert bits[0] == "valid" and bits[4] == "questionable"
