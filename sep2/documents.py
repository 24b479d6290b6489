"""Every resource type that can be a whole 2030.5 document, for the codec's root lookup."""

from __future__ import annotations

from sep2.der import DER_DOCUMENT_TYPES
from sep2.resources import METERING_DOCUMENT_TYPES, Sep2Object

DOCUMENT_TYPES: tuple[type[Sep2Object], ...] = METERING_DOCUMENT_TYPES + DER_DOCUMENT_TYPES
"""Every resource the XSD declares as a global element and sep2 models; the codec refuses
a document of any other type."""
