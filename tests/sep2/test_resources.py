"""Resources against the official XSD: same elements, same order, and every one round-trips."""

from __future__ import annotations

import dataclasses
import re
import typing
from typing import Any

import pytest
from lxml import etree

from sep2 import (
    DOCUMENT_TYPES,
    SEP2_NAMESPACE,
    Codec,
    DeviceCapability,
    Error,
    Link,
    MirrorMeterReading,
    MirrorMeterReadingList,
    MirrorUsagePoint,
    Reading,
    ReadingType,
    Sep2EncodeError,
    Sep2Object,
)
from sep2.resources import XmlKind, XmlName
from tests.sep2.conftest import assert_valid
from tests.sep2.examples import FULL, MINIMAL

XS = "{http://www.w3.org/2001/XMLSchema}"


def _ids(objs: tuple[Sep2Object, ...]) -> list[str]:
    return [type(obj).__name__ for obj in objs]


def test_every_document_type_has_examples() -> None:
    assert {type(o) for o in FULL} == set(DOCUMENT_TYPES)
    assert {type(o) for o in MINIMAL} == set(DOCUMENT_TYPES)


@pytest.mark.parametrize("resource", FULL + MINIMAL, ids=_ids(FULL) + _ids(MINIMAL))
def test_round_trip_is_valid_and_lossless(
    codec: Codec, xsd_validator: etree.XMLSchema, resource: Sep2Object
) -> None:
    data = codec.serialise(resource)
    assert_valid(xsd_validator, data)
    assert codec.parse(data) == _as_written(resource)
    assert codec.serialise(codec.parse(data)) == data


def _as_written(resource: Sep2Object) -> Sep2Object:
    """A list whose all/results are None is written with its item count."""
    items = getattr(resource, "items", None)
    if items is None:
        return resource
    changes = {k: len(items) for k in ("all", "results") if getattr(resource, k) is None}
    return dataclasses.replace(resource, **changes)  # type: ignore[type-var]


# --- The model is the XSD ------------------------------------------------------------------


class _Xsd:
    """Just enough of the XSD to compare our classes with it."""

    def __init__(self, xsd: bytes) -> None:
        root = etree.fromstring(xsd)
        self.complex = {e.get("name"): e for e in root.iterfind(f"{XS}complexType")}
        self.simple = {e.get("name"): e for e in root.iterfind(f"{XS}simpleType")}

    def content(self, name: str) -> tuple[list[etree._Element], list[etree._Element]]:
        """The element and attribute declarations of a complex type, base type first."""
        ct = self.complex[name]
        extension = ct.find(f"{XS}complexContent/{XS}extension")
        if extension is None:
            holder, elements, attributes = ct, [], []
        else:
            elements, attributes = self.content(extension.get("base"))
            holder = extension
        sequence = holder.find(f"{XS}sequence")
        if sequence is not None:
            elements = elements + list(sequence.iterfind(f"{XS}element"))
        return elements, attributes + list(holder.iterfind(f"{XS}attribute"))

    def leaf_kind(self, type_name: str) -> tuple[str, int | None]:
        """The builtin an element's simple type comes down to, with its maxLength."""
        max_length = None
        while not type_name.startswith("xs:"):
            node = self.simple.get(type_name)
            if node is None:  # complex type with simple content (mRIDType, SFDIType)
                node = self.complex[type_name].find(f"{XS}simpleContent/{XS}extension")
                assert node is not None, type_name
                type_name = node.get("base")
                continue
            restriction = node.find(f"{XS}restriction")
            length = restriction.find(f"{XS}maxLength")
            if length is not None and max_length is None:
                max_length = int(length.get("value"))
            type_name = restriction.get("base")
        return type_name, max_length


_HEX_KINDS = {
    1: XmlKind.HEX8,
    2: XmlKind.HEX16,
    4: XmlKind.HEX32,
    8: XmlKind.HEX64,
    16: XmlKind.HEX_ID,
    20: XmlKind.HEX_ID,
}


def _compare(xsd: _Xsd, cls: type[Sep2Object], type_name: str, seen: set[str]) -> None:
    if type_name in seen:
        return
    seen.add(type_name)
    elements, attributes = xsd.content(type_name)
    hints = typing.get_type_hints(cls)
    ours = [(f, f.metadata["xml"]) for f in dataclasses.fields(cls)]
    our_elements = [(f, x) for f, x in ours if not x.attribute]
    our_attributes = {x.name for _, x in ours if x.attribute}
    assert [x.name for _, x in our_elements] == [e.get("name") for e in elements], type_name
    assert our_attributes == {a.get("name") for a in attributes}, type_name
    for attribute in attributes:
        field = next(f for f, x in ours if x.name == attribute.get("name"))
        required = attribute.get("use") == "required"
        has_default = field.default is not dataclasses.MISSING
        # all/results are required by the XSD but optional in objects (filled in on output).
        assert required != has_default or attribute.get("name") in ("all", "results"), field.name
    for (field, xml), declared in zip(our_elements, elements, strict=True):
        where = f"{type_name}.{xml.name}"
        assert (declared.get("maxOccurs") == "unbounded") == (field.default == ()), where
        required = declared.get("minOccurs", "1") != "0"
        assert required == (field.default is dataclasses.MISSING), where
        hint: Any = hints[field.name]
        args = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
        inner = typing.get_args(args[0])[0] if typing.get_origin(args[0]) is tuple else args[0]
        declared_type = declared.get("type")
        if (
            declared_type in xsd.complex
            and xsd.complex[declared_type].find(f"{XS}simpleContent") is None
        ):
            assert isinstance(inner, type) and issubclass(inner, Sep2Object), where
            _compare(xsd, inner, declared_type, seen)
            continue
        _check_leaf(xsd, xml, inner, declared_type, where)


def _check_leaf(xsd: _Xsd, xml: XmlName, inner: Any, declared_type: str, where: str) -> None:
    builtin, max_length = xsd.leaf_kind(declared_type)
    if builtin == "xs:hexBinary":
        assert max_length is not None
        assert xml.kind == _HEX_KINDS[max_length], where
    elif builtin == "xs:boolean":
        assert inner is bool, where
    elif builtin in ("xs:string", "xs:anyURI"):
        assert inner is str and xml.kind is None, where
    else:
        assert re.match(r"xs:(unsigned)?(long|int|short|byte)$", builtin, re.IGNORECASE), (
            where,
            builtin,
        )
        assert inner is int, where
        assert xml.kind in (None, XmlKind.UINT40), where
        if xml.kind is XmlKind.UINT40:
            assert declared_type == "SFDIType", where


@pytest.mark.parametrize("cls", DOCUMENT_TYPES, ids=[c.__name__ for c in DOCUMENT_TYPES])
def test_fields_are_the_xsd_sequence(xsd: bytes, cls: type[Sep2Object]) -> None:
    _compare(_Xsd(xsd), cls, cls.xml_name, set())


def test_attributes_of_nested_links_are_modelled(xsd: bytes) -> None:
    parsed = _Xsd(xsd)
    _, link_attributes = parsed.content("TimeLink")
    assert {a.get("name") for a in link_attributes} == {"href"}
    _, list_link_attributes = parsed.content("EndDeviceListLink")
    assert {a.get("name") for a in list_link_attributes} == {"href", "all"}


# --- What the serialiser writes ------------------------------------------------------------


def test_only_the_2018_namespace_is_written(codec: Codec) -> None:
    for resource in FULL:
        text = codec.serialise(resource).decode()
        assert text.count("xmlns") == 1
        assert f'xmlns="{SEP2_NAMESPACE}"' in text
        assert "zigbee" not in text and "ieee.org" not in text
        assert not text.startswith("<?xml")


def test_list_all_and_results_default_to_the_item_count(codec: Codec) -> None:
    mmr = MirrorMeterReading(mrid="01", reading=Reading(value=1))
    data = codec.serialise(MirrorMeterReadingList(items=(mmr, mmr, mmr)))
    root = etree.fromstring(data)
    assert (root.get("all"), root.get("results")) == ("3", "3")
    data = codec.serialise(MirrorMeterReadingList(all=10, results=3, items=(mmr, mmr, mmr)))
    assert etree.fromstring(data).get("all") == "10"


def test_hex_bit_fields_are_written_at_full_width(codec: Codec) -> None:
    mup = MirrorUsagePoint(
        mrid="ab", role_flags=3, service_category_kind=0, status=1, device_lfdi="cd"
    )
    text = codec.serialise(mup).decode()
    assert "<roleFlags>0003</roleFlags>" in text
    assert "<mRID>AB</mRID>" in text and "<deviceLFDI>CD</deviceLFDI>" in text


def test_text_and_attributes_are_escaped(codec: Codec) -> None:
    mup = MirrorUsagePoint(
        href='/mup/1?a="b"&c=<d>',
        mrid="01",
        description="<&>\"'",
        role_flags=1,
        service_category_kind=0,
        status=1,
        device_lfdi="00",
    )
    assert codec.parse(codec.serialise(mup)) == mup


@pytest.mark.parametrize(
    ("resource", "path"),
    [
        (
            MirrorUsagePoint(
                mrid="01",
                description="x" * 33,
                role_flags=0,
                service_category_kind=0,
                status=0,
                device_lfdi="00",
            ),
            "MirrorUsagePoint/description",
        ),
        (ReadingType(uom=256), "ReadingType/uom"),
        (ReadingType(power_of_ten_multiplier=-129), "ReadingType/powerOfTenMultiplier"),
        (Reading(value=2**47 + 1), "Reading/value"),
        (Reading(quality_flags=0x10000), "Reading/qualityFlags"),
        (MirrorMeterReading(mrid="0" * 34), "MirrorMeterReading/mRID"),
        (MirrorMeterReading(mrid="ABC"), "MirrorMeterReading/mRID"),
        (MirrorMeterReading(mrid=""), "MirrorMeterReading/mRID"),
        (Error(reason_code=-1), "Error/reasonCode"),
        (
            DeviceCapability(time_link=Link(href="/tm"), poll_rate=2**32),
            "DeviceCapability@pollRate",
        ),
    ],
)
def test_values_outside_the_xsd_are_refused_on_output(
    codec: Codec, resource: Sep2Object, path: str
) -> None:
    with pytest.raises(Sep2EncodeError) as caught:
        codec.serialise(resource)
    assert caught.value.path == path, str(caught.value)


def test_a_wrong_type_in_a_field_is_refused_on_output(codec: Codec) -> None:
    bad = dataclasses.replace(ReadingType(), uom="72")  # type: ignore[arg-type]
    with pytest.raises(Sep2EncodeError, match="ReadingType/uom"):
        codec.serialise(bad)
    nested = MirrorMeterReadingList(items=(Reading(),))  # type: ignore[arg-type]
    with pytest.raises(Sep2EncodeError, match="expected MirrorMeterReading"):
        codec.serialise(nested)
