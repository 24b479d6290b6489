"""A client reads answers with foreign-namespace extensions; a server still refuses them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from sep2 import (
    CSIP_AUS_NAMESPACE,
    Codec,
    DeviceCapability,
    EndDevice,
    EndDeviceList,
    FunctionSetAssignments,
    MirrorUsagePoint,
    Sep2ParseError,
)
from tests.sep2.csipaus_answers import ANSWERS, CSIPAUS
from tests.sep2.examples import FULL

IDS = [answer[0] for answer in ANSWERS]
TYPES = {
    "EndDevice": EndDevice,
    "EndDeviceList": EndDeviceList,
    "DeviceCapability": DeviceCapability,
    "FunctionSetAssignments": FunctionSetAssignments,
    "MirrorUsagePoint": MirrorUsagePoint,
}


def test_the_fixtures_use_the_csip_aus_namespace() -> None:
    assert CSIPAUS == CSIP_AUS_NAMESPACE


@pytest.mark.parametrize(("name", "served", "plain", "expected"), ANSWERS, ids=IDS)
def test_an_answer_with_extensions_reads_as_the_same_answer_without(
    codec: Codec, name: str, served: str, plain: str, expected: list[tuple[str, str]]
) -> None:
    document = codec.parse_answer_document(served.encode(), TYPES[name])
    assert document.resource == codec.parse(plain.encode(), TYPES[name])
    assert [(e.parent, e.name) for e in document.extensions] == expected
    assert {e.namespace for e in document.extensions} == {CSIPAUS}


@pytest.mark.parametrize(("name", "served", "plain", "expected"), ANSWERS, ids=IDS)
def test_a_server_still_refuses_the_extensions_in_a_request(
    codec: Codec, name: str, served: str, plain: str, expected: list[tuple[str, str]]
) -> None:
    with pytest.raises(Sep2ParseError):
        codec.parse(served.encode(), TYPES[name])


def test_an_extension_element_keeps_its_content(codec: Codec) -> None:
    served = next(a[1] for a in ANSWERS if a[0] == "FunctionSetAssignments")
    (extension,) = codec.parse_answer_document(served.encode()).extensions
    kept = etree.fromstring(extension.xml.encode())
    assert kept.get("href") == "/edev/3/cp"
    assert kept.findtext(f"{{{CSIPAUS}}}connectionPointId") == "NMI-4102"
    assert extension.qualified == f"{{{CSIPAUS}}}ConnectionPointLink"


def test_an_attribute_extension_keeps_its_value(codec: Codec) -> None:
    served = next(a[1] for a in ANSWERS if a[0] == "DeviceCapability")
    (extension,) = codec.parse_answer_document(served.encode()).extensions
    assert extension.attribute and extension.xml == "1.2"


def test_what_remains_is_still_checked_against_the_xsd(codec: Codec) -> None:
    # The extension is set aside; the misplaced 2030.5 element is not tolerated.
    served = next(a[1] for a in ANSWERS if a[0] == "EndDevice").replace(
        "<enabled>true</enabled>", "<enabled>true</enabled><sFDI>1</sFDI>"
    )
    with pytest.raises(Sep2ParseError) as caught:
        codec.parse_answer(served.encode(), EndDevice)
    assert "sFDI" in str(caught.value)


def test_a_root_in_a_foreign_namespace_is_refused(codec: Codec) -> None:
    body = f'<csipaus:ConnectionPoint xmlns:csipaus="{CSIPAUS}"/>'.encode()
    with pytest.raises(Sep2ParseError):
        codec.parse_answer(body)


_NAME = st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,12}", fullmatch=True)
_TEXT = st.text(st.characters(codec="ascii", categories=("L", "N")), max_size=20)


@settings(max_examples=150, deadline=None)
@given(
    resource=st.sampled_from(FULL),
    data=st.data(),
    name=_NAME,
    text=_TEXT,
    as_attribute=st.booleans(),
)
def test_foreign_content_anywhere_reads_as_the_resource_without_it(
    codec: Codec,
    resource: object,
    data: st.DataObject,
    name: str,
    text: str,
    as_attribute: bool,
) -> None:
    """Property: put one foreign element (or attribute) under any element of a valid
    answer; the client reads the very resource the plain answer gives."""
    body = codec.serialise(resource)  # type: ignore[arg-type]
    root = etree.fromstring(body)
    elements = [e for e in root.iter() if isinstance(e.tag, str)]
    where = data.draw(st.sampled_from(elements))
    if as_attribute:
        where.set(f"{{urn:example:vendor}}{name}", text)
    else:
        extension = etree.Element(f"{{urn:example:vendor}}{name}")
        extension.text = text
        where.insert(data.draw(st.integers(0, len(where))), extension)
    served = etree.tostring(root)
    document = codec.parse_answer_document(served)
    assert document.resource == resource
    assert [(e.name, e.attribute) for e in document.extensions] == [(name, as_attribute)]
