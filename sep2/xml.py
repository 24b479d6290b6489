"""The XML codec: bytes <-> typed resources, through the hardened parser and the XSD.

Build one :class:`Codec` per process from the compiled schema and the ``[sep2]`` settings
and use it from both sides: the gateway parses what meters POST and serialises its
answers, the emulated meters do the reverse.

Reading (``Codec.parse``): hardened parse (sep2.hardening), XSD check with the tolerated
deviations (sep2.schema), then a walk that maps elements onto the resource's fields. The
walk trusts the XSD for structure and types; it adds only the checks the XSD cannot make:
an sFDI must fit UInt40 (the XSD's bound is wider than its own annotation), and an mRID
or LFDI must not be empty.

Writing (``Codec.serialise``): the resource's fields in their XSD order, in the 2018
namespace, hexBinary bit fields at full width in upper case, no XML declaration (UTF-8 is
the default). The result is validated against the XSD before it is returned, so an
out-of-range value is a Sep2EncodeError here rather than invalid XML on the wire. With a
``profile`` (sep2.profiles) the document is written for a peer of an older schema: the
elements that schema lacks left out, ``all`` within its bounds, validated against the 2018
XSD as always, and only then given the profile's namespace.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable
from dataclasses import dataclass
from types import UnionType
from typing import Any, TypeVar, overload

from lxml import etree

from sep2.documents import DOCUMENT_TYPES
from sep2.enums import ReasonCode
from sep2.errors import Sep2EncodeError, Sep2ParseError
from sep2.extensions import Extension, set_aside
from sep2.hardening import SafeXmlParser
from sep2.primitives import UINT40_MAX, hex_text
from sep2.profiles import CodecProfile
from sep2.resources import Sep2Object, XmlKind, XmlName
from sep2.schema import SEP2_NAMESPACE, Schema, readable_path
from sep2.settings import Sep2Settings

T = TypeVar("T", bound=Sep2Object)
U = TypeVar("U", bound=Sep2Object)

_NS = f"{{{SEP2_NAMESPACE}}}"
_XMLNS = f'xmlns="{SEP2_NAMESPACE}"'.encode()
_KEEP_ALL: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Document:
    """A parsed document: the resource, the tolerated deviations it needed (if any), and
    the namespace it was written in (an older one is read as 2018)."""

    resource: Sep2Object
    deviations: tuple[str, ...] = ()
    namespace: str = SEP2_NAMESPACE
    extensions: tuple[Extension, ...] = ()
    """Foreign-namespace content set aside (answers only: see :meth:`Codec.parse_answer`)."""


class _ValueRefused(ValueError):
    """A value the XSD accepts but sep2 refuses (raised while reading one field)."""


# --- Reading and writing one value ----------------------------------------------------------


def _read_int(text: str) -> int:
    return int(text)


def _read_bool(text: str) -> bool:
    return text.strip() in ("true", "1")


def _read_str(text: str) -> str:
    return text


def _read_hex_int(text: str) -> int:
    text = text.strip()
    return int(text, 16) if text else 0


def _read_hex_id(text: str) -> str:
    text = text.strip()
    if not text:
        raise _ValueRefused("must not be empty")
    return text.upper()


def _read_uint40(text: str) -> int:
    value = int(text)
    if value > UINT40_MAX:
        raise _ValueRefused(f"{value} exceeds UInt40 (2^40-1)")
    return value


def _escape_text(text: str) -> str:
    # A raw CR would come back as LF (XML end-of-line handling); a reference survives.
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    )


def _escape_attribute(text: str) -> str:
    return _escape_text(text).replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;")


def _write_int(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected an int, got {value!r}")
    return str(int(value))


def _write_bool(value: Any) -> str:
    if not isinstance(value, bool):
        raise ValueError(f"expected a bool, got {value!r}")
    return "true" if value else "false"


def _write_str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a str, got {value!r}")
    return value


def _write_hex(nbytes: int) -> Callable[[Any], str]:
    def write(value: Any) -> str:
        return hex_text(int(_write_int(value)), nbytes)

    return write


def _write_hex_id(value: Any) -> str:
    text = _write_str(value)
    if not text:
        raise ValueError("must not be empty")  # we would refuse it on input too
    return text.upper()


def _write_uint40(value: Any) -> str:
    text = _write_int(value)
    if not 0 <= int(text) <= UINT40_MAX:
        raise ValueError(f"{value} is outside UInt40 (0..2^40-1)")
    return text


_READERS: dict[object, Callable[[str], Any]] = {
    int: _read_int,
    bool: _read_bool,
    str: _read_str,
    XmlKind.HEX8: _read_hex_int,
    XmlKind.HEX16: _read_hex_int,
    XmlKind.HEX32: _read_hex_int,
    XmlKind.HEX64: _read_hex_int,
    XmlKind.HEX_ID: _read_hex_id,
    XmlKind.UINT40: _read_uint40,
}
_WRITERS: dict[object, Callable[[Any], str]] = {
    int: _write_int,
    bool: _write_bool,
    str: _write_str,
    XmlKind.HEX8: _write_hex(1),
    XmlKind.HEX16: _write_hex(2),
    XmlKind.HEX32: _write_hex(4),
    XmlKind.HEX64: _write_hex(8),
    XmlKind.HEX_ID: _write_hex_id,
    XmlKind.UINT40: _write_uint40,
}


# --- How a class maps onto XML -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Field:
    name: str  # Python attribute
    xml: str  # element or attribute local name
    attribute: bool
    many: bool
    nested: type[Sep2Object] | None
    read: Callable[[str], Any] | None
    write: Callable[[Any], str] | None


@dataclass(frozen=True, slots=True)
class _Mapping:
    attributes: tuple[_Field, ...]
    elements: tuple[_Field, ...]  # XSD sequence order
    by_tag: dict[str, _Field]
    many: tuple[str, ...]


def _strip_optional(hint: Any) -> Any:
    if isinstance(hint, UnionType) or typing.get_origin(hint) is typing.Union:
        args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if len(args) == 1:
            return args[0]
    return hint


def _mapping_of(cls: type[Sep2Object]) -> _Mapping:
    hints = typing.get_type_hints(cls)
    attributes: list[_Field] = []
    elements: list[_Field] = []
    for f in dataclasses.fields(cls):
        xml: XmlName = f.metadata["xml"]
        hint = _strip_optional(hints[f.name])
        many = typing.get_origin(hint) is tuple
        if many:
            hint = typing.get_args(hint)[0]
        nested = hint if isinstance(hint, type) and issubclass(hint, Sep2Object) else None
        key = xml.kind if xml.kind is not None else hint
        field = _Field(
            name=f.name,
            xml=xml.name,
            attribute=xml.attribute,
            many=many,
            nested=nested,
            read=None if nested else _READERS[key],
            write=None if nested else _WRITERS[key],
        )
        (attributes if xml.attribute else elements).append(field)
    return _Mapping(
        attributes=tuple(attributes),
        elements=tuple(elements),
        by_tag={_NS + f.xml: f for f in elements},
        many=tuple(f.name for f in elements if f.many),
    )


_MAPPINGS: dict[type[Sep2Object], _Mapping] = {}


def _mapping(cls: type[Sep2Object]) -> _Mapping:
    mapping = _MAPPINGS.get(cls)
    if mapping is None:
        mapping = _MAPPINGS[cls] = _mapping_of(cls)
    return mapping


# --- The codec ----------------------------------------------------------------------------


class Codec:
    """Parses and serialises 2030.5 documents; build once, share freely."""

    def __init__(self, schema: Schema, settings: Sep2Settings | None = None) -> None:
        self.schema = schema
        self.settings = settings if settings is not None else Sep2Settings()
        self._parser = SafeXmlParser(
            max_body_bytes=self.settings.max_body_bytes, max_depth=self.settings.max_depth
        )
        self._roots: dict[str, type[Sep2Object]] = {
            _NS + cls.xml_name: cls for cls in DOCUMENT_TYPES
        }

    # Reading

    def parse_document(
        self,
        body: bytes,
        expect: type[Sep2Object] | tuple[type[Sep2Object], ...] | None = None,
    ) -> Document:
        """Parse, check and map ``body``; the resource, the deviations it needed and its
        namespace. With ``expect``, refuse any other root resource (as :meth:`parse`).

        This is how a server reads a request: foreign-namespace content is refused, as
        the XSD says. A client reads answers with :meth:`parse_answer_document`."""
        return self._parse_document(body, expect, answer=False)

    def parse_answer_document(
        self,
        body: bytes,
        expect: type[Sep2Object] | tuple[type[Sep2Object], ...] | None = None,
    ) -> Document:
        """Parse a server's answer as a client: elements and attributes in foreign
        namespaces (CSIP-AUS, vendor extensions) are set aside into
        ``Document.extensions`` (sep2.extensions) and the rest is checked against the XSD
        as :meth:`parse_document` does."""
        return self._parse_document(body, expect, answer=True)

    def _parse_document(
        self,
        body: bytes,
        expect: type[Sep2Object] | tuple[type[Sep2Object], ...] | None,
        *,
        answer: bool,
    ) -> Document:
        root = self._parser.parse(body)
        namespace = etree.QName(root).namespace or ""
        extensions = set_aside(root) if answer else ()
        deviations = self.schema.check_incoming(
            root, accept_legacy=self.settings.accept_legacy_namespaces
        )
        cls = self._roots.get(root.tag)
        if cls is None:
            local = etree.QName(root).localname
            raise Sep2ParseError(
                f"{local} is valid 2030.5 but not a resource gridmirror accepts", element=local
            )
        if expect is not None and not issubclass(cls, expect):
            wanted = expect if isinstance(expect, tuple) else (expect,)
            names = " or ".join(c.xml_name for c in wanted)
            raise Sep2ParseError(f"expected {names}, got {cls.xml_name}", element=cls.xml_name)
        return Document(self._read(cls, root), deviations, namespace, extensions)

    @overload
    def parse(self, body: bytes) -> Sep2Object: ...
    @overload
    def parse(self, body: bytes, expect: type[T]) -> T: ...
    @overload
    def parse(self, body: bytes, expect: tuple[type[T], type[U]]) -> T | U: ...

    def parse(
        self,
        body: bytes,
        expect: type[Sep2Object] | tuple[type[Sep2Object], ...] | None = None,
    ) -> Sep2Object:
        """Parse ``body``; with ``expect``, refuse any other root resource.

        ``codec.parse(body, (MirrorMeterReading, MirrorMeterReadingList))`` is what
        POST /mup/{id} accepts.
        """
        return self.parse_document(body, expect).resource

    @overload
    def parse_answer(self, body: bytes) -> Sep2Object: ...
    @overload
    def parse_answer(self, body: bytes, expect: type[T]) -> T: ...
    @overload
    def parse_answer(self, body: bytes, expect: tuple[type[T], type[U]]) -> T | U: ...

    def parse_answer(
        self,
        body: bytes,
        expect: type[Sep2Object] | tuple[type[Sep2Object], ...] | None = None,
    ) -> Sep2Object:
        """:meth:`parse` for a client reading a server's answer: foreign-namespace
        extensions are set aside rather than refused (see :meth:`parse_answer_document`)."""
        return self.parse_answer_document(body, expect).resource

    def _read(self, cls: type[T], element: etree._Element) -> T:
        # The hot path of ingest: one call per element, no per-value function frames.
        mapping = _mapping(cls)
        values: dict[str, Any] = {}
        field: _Field | None = None
        node = element
        try:
            for field in mapping.attributes:
                text = element.get(field.xml)
                if text is not None:
                    values[field.name] = field.read(text)  # type: ignore[misc]
            by_tag = mapping.by_tag
            for node in element:
                field = by_tag.get(node.tag)
                if field is None:  # not reached for XSD-valid documents
                    continue
                if field.nested is not None:
                    value = self._read(field.nested, node)
                else:
                    value = field.read(node.text or "")  # type: ignore[misc]
                if field.many:
                    values.setdefault(field.name, []).append(value)
                else:
                    values[field.name] = value
        except ValueError as exc:  # includes _ValueRefused; Sep2ParseError passes through
            if isinstance(exc, Sep2ParseError) or field is None:
                raise
            raise Sep2ParseError(
                str(exc),
                element=field.xml if not field.attribute else etree.QName(element).localname,
                attribute=field.xml if field.attribute else None,
                path=readable_path(element if field.attribute else node),
                reason_code=ReasonCode.INVALID_REQUEST_VALUES,
            ) from None
        for name in mapping.many:
            if name in values:
                values[name] = tuple(values[name])
        return cls(**values)

    # Writing

    def serialise(
        self, resource: Sep2Object, *, check: bool = True, profile: CodecProfile | None = None
    ) -> bytes:
        """The document for ``resource``, in the 2018 namespace and XSD element order, or
        written for a peer of ``profile``'s schema (see the module docstring).

        With ``check`` (the default) the bytes are validated against the XSD first and a
        Sep2EncodeError names the field that makes them invalid.
        """
        cls = type(resource)
        if not cls.xml_name:
            raise Sep2EncodeError(f"{cls.__name__} is not a 2030.5 document type")
        if profile is not None and profile.is_default:
            profile = None
        parts: list[str] = []
        self._write(resource, cls.xml_name, parts, cls.xml_name, root=True, profile=profile)
        data = "".join(parts).encode("utf-8")
        if check:
            try:
                # Our own output: no DTD, every string escaped. lxml's default parser is
                # per thread, so this is safe from any thread.
                root = etree.fromstring(data)
            except etree.XMLSyntaxError as exc:
                raise Sep2EncodeError(f"not well-formed: {exc}", path=cls.xml_name) from None
            self.schema.check_outgoing(root)
        if profile is not None:
            # Only the root declares the namespace; every element is in it by default.
            data = data.replace(_XMLNS, f'xmlns="{profile.namespace}"'.encode(), 1)
        return data

    def _write(
        self,
        obj: Sep2Object,
        tag: str,
        parts: list[str],
        path: str,
        *,
        root: bool = False,
        profile: CodecProfile | None = None,
    ) -> None:
        mapping = _mapping(type(obj))
        omit = profile.omits(type(obj)) if profile is not None else _KEEP_ALL
        head = [tag]
        if root:
            head.append(_XMLNS.decode())
        for field in mapping.attributes:
            value = getattr(obj, field.name)
            if value is None and field.xml in ("all", "results") and mapping.many:
                value = len(getattr(obj, mapping.many[0]))  # a list's own size
            if value is not None and profile is not None:
                value = _within(profile, field, value, f"{path}@{field.xml}")
            if value is not None:
                text = self._text(field, value, f"{path}@{field.xml}")
                head.append(f'{field.xml}="{_escape_attribute(text)}"')
        parts.append("<" + " ".join(head) + ">")
        for field in mapping.elements:
            value = getattr(obj, field.name)
            if value is None or (omit and field.xml in omit):
                continue
            for item in value if field.many else (value,):
                where = f"{path}/{field.xml}"
                if field.nested is not None:
                    if not isinstance(item, field.nested):
                        raise Sep2EncodeError(
                            f"expected {field.nested.__name__}, got {item!r}", path=where
                        )
                    self._write(item, field.xml, parts, where, profile=profile)
                else:
                    text = _escape_text(self._text(field, item, where))
                    parts.append(f"<{field.xml}>{text}</{field.xml}>")
        parts.append(f"</{tag}>")

    @staticmethod
    def _text(field: _Field, value: Any, where: str) -> str:
        assert field.write is not None
        try:
            return field.write(value)
        except ValueError as exc:
            raise Sep2EncodeError(str(exc), path=where) from None


def _within(profile: CodecProfile, field: _Field, value: Any, where: str) -> Any:
    """``value`` of a list's ``all``/``results`` within ``profile``'s bounds: ``all`` is
    capped, a page larger than ``results`` allows is the caller's error (it must page)."""
    if field.xml == "all" and profile.max_all is not None and isinstance(value, int):
        return min(value, profile.max_all)
    limit = profile.max_results
    if field.xml == "results" and limit is not None and isinstance(value, int) and value > limit:
        raise Sep2EncodeError(
            f"{value} items in one page; the {profile.schema_version} schema allows {limit}",
            path=where,
        )
    return value
