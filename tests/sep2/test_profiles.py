"""Codec profiles: documents for 2013-draft peers are valid for the schema they declared
(tests/sep2/xsd_2_0_4.py derives it from the 2018 XSD by our own list of differences)
and, in our namespace, still valid 2018."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from sep2 import (
    DRAFT_2_0_4,
    IEEE_2018,
    SEP2_NAMESPACE,
    Codec,
    DeviceCapability,
    DeviceInformation,
    EndDevice,
    EndDeviceList,
    ListLink,
    MirrorUsagePointList,
    Sep2EncodeError,
    Sep2Object,
    profile_for_namespace,
    profile_named,
)
from tests.sep2.conftest import assert_valid
from tests.sep2.examples import FULL, MINIMAL
from tests.sep2.strategies import end_devices, mirror_usage_points, uint32
from tests.sep2.xsd_2_0_4 import NAMESPACE, draft_validator

EXAMPLES = FULL + MINIMAL


@pytest.fixture(scope="module")
def draft(xsd: bytes) -> etree.XMLSchema:
    return draft_validator(xsd)


def in_2018(data: bytes) -> bytes:
    return data.replace(f'xmlns="{NAMESPACE}"'.encode(), f'xmlns="{SEP2_NAMESPACE}"'.encode(), 1)


def as_draft(data: bytes) -> bytes:
    return data.replace(f'xmlns="{SEP2_NAMESPACE}"'.encode(), f'xmlns="{NAMESPACE}"'.encode(), 1)


def check_both(
    codec: Codec, draft: etree.XMLSchema, xsd_validator: etree.XMLSchema, obj: Sep2Object
) -> bytes:
    data = codec.serialise(obj, profile=DRAFT_2_0_4)
    assert etree.QName(etree.fromstring(data)).namespace == NAMESPACE
    assert_valid(draft, data)
    assert_valid(xsd_validator, in_2018(data))
    return data


def test_the_fixture_refuses_what_2018_has_and_2_0_4_lacks(
    codec: Codec, draft: etree.XMLSchema
) -> None:
    """Without the profile, an EndDevice with postRate (and deviceCategory) and a
    DeviceInformation with gpsLocation are invalid for the 2.0.4 schema: the fixture bites."""
    for obj in EXAMPLES:
        if isinstance(obj, EndDevice | DeviceInformation):
            plain = as_draft(codec.serialise(obj))
            valid = draft.validate(etree.fromstring(plain))
            has_new = isinstance(obj, EndDevice) and (
                obj.post_rate is not None or obj.device_category is not None
            )
            has_new = has_new or (
                isinstance(obj, DeviceInformation) and obj.gps_location is not None
            )
            assert valid is not has_new, plain.decode()
    assert any(isinstance(o, EndDevice) and o.post_rate is not None for o in EXAMPLES)
    assert any(isinstance(o, DeviceInformation) and o.gps_location is not None for o in EXAMPLES)


@pytest.mark.parametrize("obj", EXAMPLES, ids=[type(o).__name__ for o in EXAMPLES])
def test_every_document_is_valid_for_2_0_4_and_still_for_2018(
    codec: Codec, draft: etree.XMLSchema, xsd_validator: etree.XMLSchema, obj: Sep2Object
) -> None:
    data = check_both(codec, draft, xsd_validator, obj)
    # read back as any 2013-draft body is read: what the profile left out is gone, the rest
    # is as it was
    back = codec.parse_document(data)
    assert back.namespace == NAMESPACE
    assert codec.serialise(back.resource) == codec.serialise(without_omitted(obj))


def without_omitted(obj: Sep2Object) -> Sep2Object:
    """``obj`` with every field the 2.0.4 profile leaves out set to None, nested ones too."""
    changes: dict[str, object] = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if f.metadata["xml"].name in DRAFT_2_0_4.omits(type(obj)):
            changes[f.name] = None
        elif isinstance(value, Sep2Object):
            changes[f.name] = without_omitted(value)
        elif isinstance(value, tuple):
            changes[f.name] = tuple(
                without_omitted(v) if isinstance(v, Sep2Object) else v for v in value
            )
    return dataclasses.replace(obj, **changes)  # type: ignore[type-var]


@given(end_devices)
def test_any_end_device_fits_2_0_4(
    codec: Codec, draft: etree.XMLSchema, xsd_validator: etree.XMLSchema, edev: EndDevice
) -> None:
    data = check_both(codec, draft, xsd_validator, edev)
    assert b"postRate" not in data and b"deviceCategory" not in data


@given(st.lists(end_devices, max_size=3), uint32, uint32)
def test_list_counts_are_capped_at_what_2_0_4_can_say(
    codec: Codec,
    draft: etree.XMLSchema,
    xsd_validator: etree.XMLSchema,
    items: list[EndDevice],
    total: int,
    linked: int,
) -> None:
    listed = EndDeviceList(href="/edev", all=total, items=tuple(items))
    root = etree.fromstring(check_both(codec, draft, xsd_validator, listed))
    assert (int(root.get("all", "")), int(root.get("results", ""))) == (
        min(total, 0xFFFF),
        len(items),
    )
    dcap = DeviceCapability(href="/dcap", end_device_list_link=ListLink(href="/edev", all=linked))
    root = etree.fromstring(check_both(codec, draft, xsd_validator, dcap))
    (link,) = root
    assert int(link.get("all", "")) == min(linked, 0xFFFF)


@given(st.lists(mirror_usage_points, max_size=2))
def test_mirrors_keep_their_post_rate_under_2_0_4(
    codec: Codec, draft: etree.XMLSchema, xsd_validator: etree.XMLSchema, mups: list[object]
) -> None:
    listed = MirrorUsagePointList(href="/mup", all=len(mups), items=tuple(mups))  # type: ignore[arg-type]
    data = check_both(codec, draft, xsd_validator, listed)
    assert data.count(b"<postRate>") == sum(1 for m in mups if m.post_rate is not None)  # type: ignore[attr-defined]


def test_a_page_larger_than_2_0_4_results_allows_is_the_callers_error(codec: Codec) -> None:
    edev = next(o for o in MINIMAL if isinstance(o, EndDevice))
    page = EndDeviceList(href="/edev", all=300, items=(edev,) * 256)
    with pytest.raises(Sep2EncodeError, match="allows 255"):
        codec.serialise(page, profile=DRAFT_2_0_4)
    assert codec.serialise(dataclasses.replace(page, items=(edev,) * 255), profile=DRAFT_2_0_4)
    assert codec.serialise(page)  # 2018 has room for it


def test_the_2018_profile_writes_what_the_codec_writes_anyway(codec: Codec) -> None:
    assert IEEE_2018.is_default and not DRAFT_2_0_4.is_default
    for obj in EXAMPLES:
        assert codec.serialise(obj, profile=IEEE_2018) == codec.serialise(obj)


def test_profiles_by_namespace_and_by_name() -> None:
    assert profile_for_namespace(NAMESPACE) is DRAFT_2_0_4
    assert profile_for_namespace(SEP2_NAMESPACE) is IEEE_2018
    assert profile_for_namespace("http://zigbee.org/sep") is IEEE_2018  # no profile known
    assert profile_for_namespace(None) is IEEE_2018
    assert profile_named("2.0.4") is DRAFT_2_0_4 and profile_named(None) is IEEE_2018
    assert profile_named("1999") is IEEE_2018
