"""Codec profiles: the form of our documents for the schema a peer speaks.

We read and write IEEE 2030.5-2018 (``urn:ieee:std:2030.5:ns``). Peers built on an older
draft still run in the field: the EPRI reference client speaks the draft XSD 2.0.4 of
2013, in the namespace ``http://ieee.org/2030.5``, and its parser stops at an element that
schema does not know (``postRate`` in an EndDevice). A :class:`CodecProfile` says, as data,
how to write a document so that such a peer accepts it:

- the namespace of the root element;
- the elements its schema lacks, by resource (omitted on output; every one of them is
  optional in 2018, so the document stays valid 2018 XML in our namespace);
- the bounds of its ``all`` and ``results`` attributes (the 2.0.4 List and ListLink have
  UInt16 ``all`` and UInt8 ``results`` where 2018 has UInt32): a server pages its lists to
  at most ``max_results`` items for such a peer, and the codec writes an ``all`` above
  ``max_all`` as ``max_all`` (the most that schema can say).

What the 2.0.4 draft lacks, against 2018, in the resources gridmirror serves (compared
element by element; tests/sep2/xsd_2_0_4.py holds these facts as our own test
fixture): EndDevice ``deviceCategory`` (2.0.4 has ``loadShedDeviceCategory`` at another
place instead; we do not carry it over) and ``postRate``; DeviceInformation
``gpsLocation``; List/SubscribableList ``all``/``results`` and ListLink ``all`` narrower as
above. DeviceCapability, Time, Registration, FunctionSetAssignments, the metering and
mirror resources and Error are the same.

Which profile a peer gets is the caller's choice (the gateway remembers it per device from
the namespace of the bodies it posts); :func:`profile_for_namespace` maps a namespace read
on input to the profile to answer with. ``http://zigbee.org/sep`` (SEP 2.0 1.x) is accepted
on input, but no profile describes its schema, so it is answered in 2018.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sep2.resources import DeviceInformation, EndDevice, Sep2Object
from sep2.schema import SEP2_NAMESPACE

DRAFT_2013_NAMESPACE = "http://ieee.org/2030.5"

_NOTHING: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class CodecProfile:
    """How documents are written for peers of one schema (see the module docstring)."""

    name: str
    """Short name, kept per device by the gateway (``2018``, ``2.0.4``)."""
    namespace: str
    """The namespace of the root element."""
    schema_version: str
    """The XSD's ``version``, for messages."""
    omitted: Mapping[type[Sep2Object], frozenset[str]] = field(default_factory=dict)
    """XML names of the elements (or attributes) the schema lacks, by resource class."""
    max_all: int | None = None
    """Largest ``all`` a List or ListLink may carry (None: the 2018 UInt32)."""
    max_results: int | None = None
    """Largest ``results`` a List may carry (None: the 2018 UInt32)."""

    def omits(self, cls: type[Sep2Object]) -> frozenset[str]:
        """The XML names ``cls`` is written without under this profile."""
        return self.omitted.get(cls, _NOTHING)

    @property
    def is_default(self) -> bool:
        """True for the 2018 profile: documents as the codec writes them anyway."""
        return self.namespace == SEP2_NAMESPACE and not self.omitted and self.max_all is None


IEEE_2018 = CodecProfile(name="2018", namespace=SEP2_NAMESPACE, schema_version="2.1.0")
"""IEEE 2030.5-2018: what we read and write."""

DRAFT_2_0_4 = CodecProfile(
    name="2.0.4",
    namespace=DRAFT_2013_NAMESPACE,
    schema_version="2.0.4",
    omitted={
        EndDevice: frozenset({"deviceCategory", "postRate"}),
        DeviceInformation: frozenset({"gpsLocation"}),
    },
    max_all=0xFFFF,  # UInt16
    max_results=0xFF,  # UInt8
)
"""The 2013 draft XSD 2.0.4 (``http://ieee.org/2030.5``) of the EPRI reference client."""

PROFILES: Mapping[str, CodecProfile] = {p.name: p for p in (IEEE_2018, DRAFT_2_0_4)}
"""Every profile by name."""

_BY_NAMESPACE: Mapping[str, CodecProfile] = {
    IEEE_2018.namespace: IEEE_2018,
    DRAFT_2_0_4.namespace: DRAFT_2_0_4,
}


def profile_for_namespace(namespace: str | None) -> CodecProfile:
    """The profile to answer a peer with whose bodies are in ``namespace`` (2018 for any
    namespace no profile describes)."""
    return _BY_NAMESPACE.get(namespace or "", IEEE_2018)


def profile_named(name: str | None) -> CodecProfile:
    """The profile called ``name`` (2018 for None or a name no longer known)."""
    return PROFILES.get(name or "", IEEE_2018)
