"""The known harmless deviations of real clients are accepted; anything stricter is refused
with the element named."""

from __future__ import annotations

import pytest

from sep2 import (
    Codec,
    Error,
    MirrorMeterReading,
    MirrorMeterReadingList,
    MirrorUsagePoint,
    ReasonCode,
    Schema,
    Sep2ParseError,
    Sep2Settings,
)

SEP = "urn:ieee:std:2030.5:ns"
READING = (
    "<Reading><qualityFlags>{q}</qualityFlags><value>5</value><localID>{l}</localID></Reading>"
)


def mmrl(attrs: str = "", ns: str = SEP, q: str = "0001", local: str = "01") -> bytes:
    mmr = f"<MirrorMeterReading><mRID>01</mRID>{READING.format(q=q, l=local)}</MirrorMeterReading>"
    return (
        f'<MirrorMeterReadingList xmlns="{ns}"{attrs}>{mmr}{mmr}</MirrorMeterReadingList>'.encode()
    )


def mup(
    role_flags: str = "03", ns: str = SEP, extra: str = "", order: tuple[str, ...] = ()
) -> bytes:
    parts = {
        "mRID": "<mRID>0123456789ABCDEF0123456700032473</mRID>",
        "roleFlags": f"<roleFlags>{role_flags}</roleFlags>",
        "serviceCategoryKind": "<serviceCategoryKind>0</serviceCategoryKind>",
        "status": "<status>1</status>",
        "deviceLFDI": "<deviceLFDI>3E4F45AB31EDFE5B67E343E5E4562E31984E23E5</deviceLFDI>",
    }
    names = order or tuple(parts)
    body = "".join(parts[n] for n in names) + extra
    return f'<MirrorUsagePoint xmlns="{ns}">{body}</MirrorUsagePoint>'.encode()


# --- Accepted -------------------------------------------------------------------------------


def test_a_posted_list_without_all_and_results_is_accepted(codec: Codec) -> None:
    doc = codec.parse_document(mmrl())
    assert isinstance(doc.resource, MirrorMeterReadingList)
    assert (doc.resource.all, doc.resource.results) == (None, None)
    assert len(doc.resource.items) == 2
    assert doc.deviations == ("MirrorMeterReadingList without all/results",)


@pytest.mark.parametrize(("attrs", "missing"), [(' all="2"', "results"), (' results="2"', "all")])
def test_either_attribute_alone_may_be_missing(codec: Codec, attrs: str, missing: str) -> None:
    doc = codec.parse_document(mmrl(attrs))
    assert doc.deviations == (f"MirrorMeterReadingList without {missing}",)
    assert getattr(doc.resource, missing) is None


def test_a_complete_list_needs_no_deviation(codec: Codec) -> None:
    doc = codec.parse_document(mmrl(' all="2" results="2"'))
    assert doc.deviations == ()
    assert (doc.resource.all, doc.resource.results) == (2, 2)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "value", "deviates"),
    [
        ("03", 3, False),
        ("0003", 3, False),
        ("13", 0x13, False),
        ("3", 3, True),
        ("003", 3, True),
        ("fF", 0xFF, False),
    ],
)
def test_role_flags_are_read_as_hex_at_any_width(
    codec: Codec, text: str, value: int, deviates: bool
) -> None:
    doc = codec.parse_document(mup(text))
    assert isinstance(doc.resource, MirrorUsagePoint)
    assert doc.resource.role_flags == value
    assert bool(doc.deviations) == deviates


def test_quality_flags_and_local_id_get_the_same_leniency(codec: Codec) -> None:
    doc = codec.parse_document(mmrl(' all="2" results="2"', q="1", local="F"))
    reading = doc.resource.items[0].reading  # type: ignore[attr-defined]
    assert (reading.quality_flags, reading.local_id) == (1, 0xF)
    assert len(doc.deviations) == 4  # two readings, two fields each


@pytest.mark.parametrize("legacy", ["http://ieee.org/2030.5", "http://zigbee.org/sep"])
def test_legacy_namespaces_are_read_as_2018(codec: Codec, legacy: str) -> None:
    doc = codec.parse_document(mup(ns=legacy))
    assert isinstance(doc.resource, MirrorUsagePoint)
    assert doc.resource.role_flags == 3
    assert doc.deviations == (f"namespace {legacy} read as {SEP}",)
    # What we write back is 2018 only.
    assert legacy.encode() not in codec.serialise(doc.resource)


def test_all_deviations_together(codec: Codec) -> None:
    doc = codec.parse_document(mmrl(ns="http://zigbee.org/sep", q="1"))
    assert len(doc.deviations) == 4  # namespace, all/results, two qualityFlags
    assert isinstance(doc.resource, MirrorMeterReadingList)


def test_an_mrid_with_a_decimal_pen_is_valid_as_it_is(codec: Codec) -> None:
    doc = codec.parse_document(mup())
    assert doc.deviations == ()
    assert doc.resource.mrid.endswith("00032473")  # type: ignore[attr-defined]


# --- Refused, with the element named ----------------------------------------------------------


def test_legacy_namespaces_can_be_turned_off(schema: Schema) -> None:
    strict = Codec(schema, Sep2Settings(accept_legacy_namespaces=False))
    with pytest.raises(Sep2ParseError, match="accept_legacy_namespaces is off") as caught:
        strict.parse(mup(ns="http://zigbee.org/sep"))
    assert caught.value.element == "MirrorUsagePoint"


@pytest.mark.parametrize("ns", ["", "urn:example:other", "urn:ieee:std:2030.5:ns:extra"])
def test_other_namespaces_are_refused(codec: Codec, ns: str) -> None:
    with pytest.raises(Sep2ParseError, match=r"not in the IEEE 2030\.5 namespace") as caught:
        codec.parse(mup(ns=ns))
    assert caught.value.element == "MirrorUsagePoint"


def test_a_legacy_document_must_still_be_valid_2018(codec: Codec) -> None:
    body = mup(
        ns="http://zigbee.org/sep",
        order=("mRID", "serviceCategoryKind", "roleFlags", "status", "deviceLFDI"),
    )
    with pytest.raises(Sep2ParseError) as caught:
        codec.parse(body)
    assert caught.value.element == "serviceCategoryKind"


@pytest.mark.parametrize("text", ["00003", "0x03", "3g", "0 3", "-3"])
def test_role_flags_beyond_the_leniency_are_refused(codec: Codec, text: str) -> None:
    with pytest.raises(Sep2ParseError) as caught:
        codec.parse(mup(text))
    assert caught.value.element == "roleFlags"
    assert caught.value.path == "MirrorUsagePoint/roleFlags"
    assert caught.value.reason_code == ReasonCode.INVALID_REQUEST_VALUES


def test_a_repair_does_not_hide_another_error(codec: Codec) -> None:
    # all/results missing (tolerated) and a value that is not an Int48 (not tolerated).
    body = mmrl().replace(b"<value>5</value>", b"<value>5.5</value>", 1)
    with pytest.raises(Sep2ParseError) as caught:
        codec.parse(body)
    assert caught.value.element == "value"
    assert caught.value.path == "MirrorMeterReadingList/MirrorMeterReading[1]/Reading/value"


def test_a_missing_required_element_is_named(codec: Codec) -> None:
    with pytest.raises(Sep2ParseError, match="deviceLFDI") as caught:
        codec.parse(mup(order=("mRID", "roleFlags", "serviceCategoryKind", "status")))
    assert caught.value.element == "MirrorUsagePoint"
    assert caught.value.reason_code == ReasonCode.INVALID_REQUEST_FORMAT


def test_elements_out_of_order_are_refused(codec: Codec) -> None:
    with pytest.raises(Sep2ParseError, match="not expected") as caught:
        codec.parse(mup(order=("roleFlags", "mRID", "serviceCategoryKind", "status", "deviceLFDI")))
    assert caught.value.element == "roleFlags"


def test_an_unknown_element_is_refused(codec: Codec) -> None:
    with pytest.raises(Sep2ParseError) as caught:
        codec.parse(mup(extra="<colour>blue</colour>"))
    assert caught.value.element == "colour"


def test_a_bad_attribute_is_named(codec: Codec) -> None:
    with pytest.raises(Sep2ParseError) as caught:
        codec.parse(mmrl(' all="lots" results="2"'))
    assert (caught.value.element, caught.value.attribute) == ("MirrorMeterReadingList", "all")
    assert str(caught.value).startswith("MirrorMeterReadingList@all: ")


def test_a_missing_attribute_is_tolerated_only_on_a_list(codec: Codec) -> None:
    # Link's href is required: no leniency there.
    body = f'<MeterReading xmlns="{SEP}"><mRID>01</mRID><ReadingTypeLink/></MeterReading>'
    with pytest.raises(Sep2ParseError, match="href") as caught:
        codec.parse(body.encode())
    assert caught.value.element == "ReadingTypeLink"


def test_expect_refuses_another_resource(codec: Codec) -> None:
    with pytest.raises(
        Sep2ParseError, match="expected MirrorMeterReading or MirrorMeterReadingList"
    ):
        codec.parse(mup(), (MirrorMeterReading, MirrorMeterReadingList))
    with pytest.raises(Sep2ParseError, match="expected Error, got MirrorUsagePoint"):
        codec.parse(mup(), Error)
    assert isinstance(
        codec.parse(mmrl(), (MirrorMeterReading, MirrorMeterReadingList)), MirrorMeterReadingList
    )


def test_a_valid_but_unsupported_resource_is_refused(codec: Codec) -> None:
    body = f'<DERControlList xmlns="{SEP}" all="0" results="0"/>'.encode()
    with pytest.raises(Sep2ParseError, match="not a resource gridmirror accepts") as caught:
        codec.parse(body)
    assert caught.value.element == "DERControlList"


def test_an_unknown_root_is_refused(codec: Codec) -> None:
    with pytest.raises(Sep2ParseError, match="No matching global declaration") as caught:
        codec.parse(f'<Meter xmlns="{SEP}"/>'.encode())
    assert caught.value.element == "Meter"
