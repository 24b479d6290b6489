"""Attack inputs are refused, with a clear error, before they can cost anything.

"Fast enough to matter" is shown by where the refusal happens, not by timing: the size
and DOCTYPE checks refuse before lxml is called at all (the tests make calling it an
error), and what reaches lxml runs with entity expansion, DTD loading and the network off
and libxml2's depth and amplification caps on. A generous per-test timeout guards against
a regression that would make any of them expensive.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from sep2 import Codec, Sep2ParseError, Sep2Settings
from sep2 import hardening as hardening_module
from sep2.hardening import SafeXmlParser

pytestmark = pytest.mark.timeout(20)

NS = 'xmlns="urn:ieee:std:2030.5:ns"'

BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + b"]><Error "
    + NS.encode()
    + b"><reasonCode>&lol9;</reasonCode></Error>"
)
EXTERNAL_ENTITY = (
    b'<?xml version="1.0"?><!DOCTYPE Error [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b"<Error " + NS.encode() + b"><reasonCode>&xxe;</reasonCode></Error>"
)
EXTERNAL_DTD = (
    b'<?xml version="1.0"?><!DOCTYPE Error SYSTEM "http://127.0.0.1:9/sep.dtd">'
    b"<Error " + NS.encode() + b"><reasonCode>0</reasonCode></Error>"
)


@pytest.fixture
def lxml_forbidden(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any call into lxml's parser fail the test."""

    def forbidden(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the body reached the XML parser")

    monkeypatch.setattr(hardening_module.etree, "fromstring", forbidden)


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD])
def test_any_doctype_is_refused_before_parsing(
    codec: Codec, lxml_forbidden: None, body: bytes
) -> None:
    with pytest.raises(Sep2ParseError, match="DOCTYPE") as caught:
        codec.parse(body)
    assert caught.value.http_status == 400


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD])
def test_other_encodings_are_refused_before_parsing(
    codec: Codec, lxml_forbidden: None, body: bytes, encoding: str
) -> None:
    # The byte scan cannot see "<!DOCTYPE" in UTF-16, so such bodies never reach lxml.
    encoded = body.decode().replace('<?xml version="1.0"?>', "").encode(encoding)
    assert b"<!DOCTYPE" not in encoded
    with pytest.raises(Sep2ParseError, match="not UTF-8"):
        codec.parse(encoded)


def test_a_declared_encoding_does_not_change_how_bytes_are_read(codec: Codec) -> None:
    body = (
        '<?xml version="1.0" encoding="ISO-8859-1"?><Error ' + NS + "><reasonCode>1</reasonCode>"
        "</Error>"
    ).encode()
    assert codec.parse(body).reason_code == 1  # type: ignore[attr-defined]
    latin1 = body.replace(b"<reasonCode>", "<!-- \xe9 --><reasonCode>".encode("latin-1"))
    with pytest.raises(Sep2ParseError, match="not well-formed"):
        codec.parse(latin1)


def _external_subset_loaded(parser: etree.XMLParser, tmp_path: Path) -> bool:
    dtd = tmp_path / "broken.dtd"
    dtd.write_text("this is not a DTD <<<")
    try:
        etree.fromstring(f'<!DOCTYPE a SYSTEM "{dtd}"><a/>'.encode(), parser)
    except etree.XMLSyntaxError as exc:
        return "external subset" in str(exc)
    return False


def test_the_parser_never_loads_an_external_dtd(tmp_path: Path) -> None:
    # Below the DOCTYPE scan: even given a DOCTYPE, the lxml parser must not open the file.
    # Control: lxml's collect_ids=False does load it, so this test can tell.
    leaky = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, collect_ids=False
    )
    assert _external_subset_loaded(leaky, tmp_path)
    ours = SafeXmlParser(max_body_bytes=1 << 20, max_depth=32)._tools()[0]
    assert not _external_subset_loaded(ours, tmp_path)


def test_a_body_over_the_limit_is_refused_before_parsing(
    codec: Codec, lxml_forbidden: None
) -> None:
    body = (
        b"<Error " + NS.encode() + b"><reasonCode>0</reasonCode>" + b" " * (10 << 20) + b"</Error>"
    )
    with pytest.raises(Sep2ParseError, match="exceeds the limit") as caught:
        codec.parse(body)
    assert caught.value.http_status == 413
    assert caught.value.element is None


def test_the_limit_is_the_configured_one(schema: Any) -> None:
    codec = Codec(schema, Sep2Settings(max_body_bytes=2048))
    small = b"<Error " + NS.encode() + b"><reasonCode>0</reasonCode></Error>"
    assert codec.parse(small + b" " * (2048 - len(small))).reason_code == 0  # type: ignore[attr-defined]
    with pytest.raises(Sep2ParseError, match="2049 bytes exceeds the limit of 2048"):
        codec.parse(small + b" " * (2049 - len(small)))


def test_1000_deep_nesting_is_refused(codec: Codec) -> None:
    body = b"<Error " + NS.encode() + b">" + b"<a>" * 1000 + b"</a>" * 1000 + b"</Error>"
    with pytest.raises(Sep2ParseError, match="nested deeper than 32 levels"):
        codec.parse(body)


@pytest.mark.parametrize(("depth", "refused"), [(32, False), (33, True), (200, True)])
def test_nesting_limit_is_exact(depth: int, refused: bool) -> None:
    parser = SafeXmlParser(max_body_bytes=1 << 20, max_depth=32)
    body = b"<a>" * depth + b"</a>" * depth
    if refused:
        with pytest.raises(Sep2ParseError, match="nested deeper than 32"):
            parser.parse(body)
    else:
        assert parser.parse(body).tag == "a"


def test_an_undeclared_entity_is_not_well_formed(codec: Codec) -> None:
    with pytest.raises(Sep2ParseError, match="not well-formed"):
        codec.parse(b"<Error " + NS.encode() + b"><reasonCode>&xxe;</reasonCode></Error>")


def test_xinclude_is_never_processed(codec: Codec) -> None:
    body = (
        b"<Error " + NS.encode() + b' xmlns:xi="http://www.w3.org/2001/XInclude">'
        b'<xi:include href="file:///etc/passwd" parse="text"/><reasonCode>0</reasonCode></Error>'
    )
    with pytest.raises(Sep2ParseError) as caught:
        codec.parse(body)
    assert caught.value.element == "include"
    assert "root:" not in str(caught.value)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"", "empty body"),
        (b"   \n", "empty body"),
        (b"not xml at all", "not well-formed"),
        (b"<Error " + NS.encode() + b"><reasonCode>0</reasonCode>", "not well-formed"),
        (b"\x00\x01\x02", "not UTF-8"),
        (b"\x01\x02\x03\x04garbage", "not well-formed"),
    ],
)
def test_garbage_is_refused_as_not_xml(codec: Codec, body: bytes, problem: str) -> None:
    with pytest.raises(Sep2ParseError, match=problem) as caught:
        codec.parse(body)
    assert caught.value.element is None


def test_comments_and_processing_instructions_are_dropped(codec: Codec) -> None:
    body = (
        b"<Error " + NS.encode() + b"><!-- a note --><?pi data?>"
        b"<reasonCode>1<!-- split -->2</reasonCode></Error>"
    )
    assert codec.parse(body).reason_code == 12  # type: ignore[attr-defined]


def test_the_parser_is_per_thread() -> None:
    import threading

    parser = SafeXmlParser(max_body_bytes=1 << 20, max_depth=8)
    seen: list[Any] = []

    def work() -> None:
        parser.parse(b"<a/>")
        seen.append(parser._tools()[0])

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(p) for p in seen}) == 3
    assert all(isinstance(p, etree.XMLParser) for p in seen)
