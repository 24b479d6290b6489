"""The pure judgements of a server's answers."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from conformance import checks
from conformance.model import HttpResponse
from sep2 import Codec

NS = 'xmlns="urn:ieee:std:2030.5:ns"'


def test_xsd_is_strict_where_the_gateway_is_lenient(codec: Codec) -> None:
    # a list without all/results: the gateway tolerates it in a POST, an answer must not
    body = f'<MirrorUsagePointList {NS} href="/mup"/>'.encode()
    problems, _ = checks.xsd(codec.schema, body)
    assert len(problems) == 1 and "all" in problems[0]
    good = f'<MirrorUsagePointList {NS} href="/mup" all="0" results="0"/>'.encode()
    assert checks.xsd(codec.schema, good) == ([], [])


def test_xsd_names_the_path_of_a_bad_value(codec: Codec) -> None:
    body = (
        f"<Time {NS}><currentTime>x</currentTime><dstEndTime>0</dstEndTime>"
        "<dstOffset>0</dstOffset><dstStartTime>0</dstStartTime><quality>7</quality>"
        "<tzOffset>0</tzOffset></Time>"
    ).encode()
    problems, _ = checks.xsd(codec.schema, body)
    assert problems and "Time/currentTime" in problems[0]


def test_xsd_refuses_entities_and_garbage(codec: Codec) -> None:
    bomb = b'<!DOCTYPE a [<!ENTITY x "x">]><Time xmlns="urn:ieee:std:2030.5:ns">&x;</Time>'
    assert "hardened parser" in checks.xsd(codec.schema, bomb)[0][0]
    assert checks.xsd(codec.schema, b"not xml")[0]


def test_status_allow_location_content_type() -> None:
    r = HttpResponse(405, (("Allow", "GET, HEAD"),))
    assert checks.status(r, (405,)) == []
    assert checks.status(r, (200, 201)) == ["status 405, expected 200 or 201"]
    assert checks.allow(r, "DELETE") == []
    assert checks.allow(r, "GET") != []
    assert checks.allow(HttpResponse(405), "DELETE") == ["405 without an Allow header"]
    assert checks.location(HttpResponse(201)) == ["no Location header"]
    assert checks.location(HttpResponse(201, (("location", "/mup/1"),))) == []
    xml = HttpResponse(200, (("Content-Type", "application/sep+xml; charset=utf-8"),), b"<a/>")
    assert checks.content_type(xml) == []
    assert checks.content_type(HttpResponse(200, (("Content-Type", "text/xml"),), b"<a/>"))


@given(st.lists(st.integers(min_value=0, max_value=2**128 - 1), max_size=8))
def test_mrid_order(keys: list[int]) -> None:
    mrids = [f"{k:032X}" for k in keys]
    descending = keys == sorted(keys, reverse=True)
    assert (checks.mrids_descending(mrids) == []) is descending


def test_list_counts() -> None:
    assert checks.list_counts(3, 1, 1, 1) == []
    assert checks.list_counts(None, 1, 1, 1) == ["list without all"]
    assert checks.list_counts(3, 2, 1, None) == ["results=2 but 1 item(s) in the list"]
    assert checks.list_counts(3, 2, 2, 1) == ["2 item(s) for l=1"]
    assert checks.list_counts(1, 2, 2, None) == ["results=2 exceeds all=1"]
