"""The official XSD check, and the few deviations of real clients we tolerate.

Every incoming document is validated against the official IEEE 2030.5-2018 XSD (its bytes
come from the caller: sep2 does no IO). Strictly, except for these known, harmless
deviations of real clients, each of which is repaired in the tree and then validated
again, so that anything else still fails:

- **Older namespaces.** A document whose root is in ``http://ieee.org/2030.5`` (the EPRI
  reference client, a 2013 draft) or ``http://zigbee.org/sep`` (SEP 2.0 1.x) has every
  element in that namespace moved into ``urn:ieee:std:2030.5:ns`` *before* the XSD check,
  so it must then be valid 2018 XML; this can be turned off with
  ``Sep2Settings.accept_legacy_namespaces``. We never write those namespaces.
- **A POSTed list without ``all``/``results``.** The XSD requires them but says they are
  only meaningful in answers to GET; cactus-client POSTs a MirrorMeterReadingList without
  them. Only on the root element of a list type; the parsed object then has
  ``all``/``results`` of ``None``.
- **HexBinary16 with an odd number of digits** in ``roleFlags``, ``qualityFlags`` or
  ``localID`` (``3``, ``003``): read as if padded with a leading ``0``. Values are always
  hex, as the type says: ``13`` is 0x13 (isMirror, isPremisesAggregationPoint,
  isRevenueQuality), never decimal thirteen. More than four digits is still refused.

(An mRID whose PEN is written in decimal is valid hexBinary and needs no repair here; see
sep2.mrid for reading its PEN.)

The repairs are tried only after a first validation fails, so a valid document costs one
validation. Each repair that was needed is reported as a "deviation" so the gateway can
count or log them.

Errors name the element (and attribute) and its path; a bad value (a facet or datatype
failure) gets reasonCode 1 (invalid request values), anything structural reasonCode 0.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from lxml import etree

from sep2.enums import ReasonCode
from sep2.errors import Sep2EncodeError, Sep2ParseError

SEP2_NAMESPACE = "urn:ieee:std:2030.5:ns"
LEGACY_NAMESPACES = ("http://ieee.org/2030.5", "http://zigbee.org/sep")
_XS = "{http://www.w3.org/2001/XMLSchema}"

# Elements typed HexBinary16 (or a restriction of it) that resources we parse carry.
LENIENT_HEX16_ELEMENTS = ("roleFlags", "qualityFlags", "localID")
_HEX16_TAGS = tuple(f"{{{SEP2_NAMESPACE}}}{name}" for name in LENIENT_HEX16_ELEMENTS)
_ODD_HEX = re.compile(r"^[0-9A-Fa-f]{1,3}$")

_MESSAGE = re.compile(r"^Element '([^']*)'(?:, attribute '([^']*)')?: (.*)$", re.S)
_VALUE_ERRORS = ("DATATYPE", "FACET", "INCLUSIVE", "EXCLUSIVE", "LENGTH", "PATTERN", "ENUM")


class Schema:
    """The compiled official XSD; build it once (``Schema.from_bytes(xsd)``) and share it.

    lxml validators are not safe to use from two threads at once, so each thread compiles
    its own copy on first use (about 25 ms).
    """

    def __init__(self, xsd: bytes) -> None:
        self._xsd = xsd
        doc = etree.fromstring(xsd, etree.XMLParser(resolve_entities=False, no_network=True))
        if doc.get("targetNamespace") != SEP2_NAMESPACE:
            raise ValueError(f"not the IEEE 2030.5 XSD: targetNamespace is not {SEP2_NAMESPACE}")
        self.version = doc.get("version")
        self.list_elements = frozenset(_list_types(doc))
        self._local = threading.local()
        self._local.validator = etree.XMLSchema(doc)

    @classmethod
    def from_bytes(cls, xsd: bytes) -> Schema:
        """Compile the XSD given as bytes (e.g. ``schemas.official_xsd_bytes()``)."""
        return cls(xsd)

    def _validator(self) -> etree.XMLSchema:
        validator: etree.XMLSchema | None = getattr(self._local, "validator", None)
        if validator is None:
            validator = etree.XMLSchema(etree.fromstring(self._xsd))
            self._local.validator = validator
        return validator

    def first_error(self, root: etree._Element) -> Any | None:
        """None if ``root`` is valid, else the first entry of the validator's error log."""
        validator = self._validator()
        if validator.validate(root):
            return None
        return validator.error_log[0]

    def check_incoming(self, root: etree._Element, *, accept_legacy: bool) -> tuple[str, ...]:
        """Validate an incoming document in place, repairing only the tolerated deviations.

        Returns the deviations that were repaired (empty for a valid document); raises
        Sep2ParseError naming the element otherwise.
        """
        deviations: list[str] = []
        namespace = etree.QName(root).namespace
        if namespace != SEP2_NAMESPACE:
            if namespace in LEGACY_NAMESPACES and accept_legacy:
                _move_namespace(root, namespace)
                deviations.append(f"namespace {namespace} read as {SEP2_NAMESPACE}")
            elif namespace in LEGACY_NAMESPACES:
                raise Sep2ParseError(
                    f"namespace {namespace} is not accepted (accept_legacy_namespaces is off); "
                    f"use {SEP2_NAMESPACE}",
                    element=etree.QName(root).localname,
                )
            else:
                raise Sep2ParseError(
                    f"not in the IEEE 2030.5 namespace {SEP2_NAMESPACE} "
                    f"(namespace: {namespace or 'none'})",
                    element=etree.QName(root).localname,
                )
        error = self.first_error(root)
        if error is None:
            return tuple(deviations)
        repaired, synthesised = self._repair(root, deviations)
        if repaired:
            error = self.first_error(root)
        if error is not None:
            raise _parse_error(root, error)
        for name in synthesised:
            del root.attrib[name]
        return tuple(deviations)

    def _repair(self, root: etree._Element, deviations: list[str]) -> tuple[bool, list[str]]:
        """Apply the tolerated repairs: whether any was needed, and which list attributes
        were made up (to be removed again after validation)."""
        before = len(deviations)
        synthesised: list[str] = []
        local = etree.QName(root).localname
        if local in self.list_elements:
            count = str(sum(1 for child in root if isinstance(child.tag, str)))
            for name in ("all", "results"):
                if root.get(name) is None:
                    root.set(name, count)
                    synthesised.append(name)
            if synthesised:
                deviations.append(f"{local} without {'/'.join(synthesised)}")
        for element in root.iter(_HEX16_TAGS):
            text = (element.text or "").strip()
            if _ODD_HEX.match(text) and len(text) % 2 == 1:
                element.text = "0" + text
                deviations.append(
                    f"{etree.QName(element).localname} {text!r} read as HexBinary16 '0{text}'"
                )
        return len(deviations) > before, synthesised

    def strict_error(self, root: etree._Element) -> Sep2ParseError | None:
        """The first XSD error of ``root`` as a Sep2ParseError naming its path, with none of
        the tolerated repairs (how a conformance run judges a peer), or None if valid."""
        error = self.first_error(root)
        return None if error is None else _parse_error(root, error)

    def check_outgoing(self, root: etree._Element) -> None:
        """Raise Sep2EncodeError unless a document we are about to send is valid."""
        error = self.first_error(root)
        if error is not None:
            parsed = _parse_error(root, error)
            path = f"{parsed.path}@{parsed.attribute}" if parsed.attribute else parsed.path
            raise Sep2EncodeError(f"would not be valid 2030.5 XML: {parsed.problem}", path=path)


def _list_types(xsd: etree._Element) -> set[str]:
    """Names of the XSD's complex types derived from List or SubscribableList."""
    bases: dict[str, str] = {}
    for complex_type in xsd.iterfind(f"{_XS}complexType"):
        extension = complex_type.find(f"{_XS}complexContent/{_XS}extension")
        if extension is not None:
            bases[complex_type.get("name", "")] = extension.get("base", "")
    lists = set()
    for name in bases:
        base = bases.get(name)
        while base is not None:
            if base in ("List", "SubscribableList"):
                lists.add(name)
                break
            base = bases.get(base)
    return lists


def _move_namespace(root: etree._Element, namespace: str | None) -> None:
    """Move every element in ``namespace`` into the 2030.5 namespace."""
    prefix = f"{{{namespace}}}"
    for element in root.iter():
        tag = element.tag
        if isinstance(tag, str) and tag.startswith(prefix):
            element.tag = f"{{{SEP2_NAMESPACE}}}{tag[len(prefix) :]}"


def readable_path(element: etree._Element) -> str:
    """``MirrorMeterReadingList/MirrorMeterReading[2]/Reading/value`` for an element."""
    parts = []
    node: etree._Element | None = element
    while node is not None:
        name = etree.QName(node).localname
        parent = node.getparent()
        if parent is not None:
            same = [sibling for sibling in parent if sibling.tag == node.tag]
            if len(same) > 1:
                name = f"{name}[{same.index(node) + 1}]"
        parts.append(name)
        node = parent
    return "/".join(reversed(parts))


def _parse_error(root: etree._Element, error: Any) -> Sep2ParseError:
    """Turn an lxml XSD error-log entry into a Sep2ParseError naming the element."""
    message = str(error.message).replace(f"{{{SEP2_NAMESPACE}}}", "")
    element = attribute = None
    match = _MESSAGE.match(message)
    if match:
        element, attribute, message = match.group(1), match.group(2), match.group(3)
        element = element.rsplit("}", 1)[-1]
    path = element
    try:
        found = root.xpath(error.path) if error.path else []
    except etree.XPathError:
        found = []
    if isinstance(found, list) and found and isinstance(found[0], etree._Element):
        path = readable_path(found[0])
    values = any(marker in str(error.type_name) for marker in _VALUE_ERRORS)
    return Sep2ParseError(
        message.strip().rstrip("."),
        element=element,
        attribute=attribute,
        path=path,
        reason_code=(
            ReasonCode.INVALID_REQUEST_VALUES if values else ReasonCode.INVALID_REQUEST_FORMAT
        ),
    )
