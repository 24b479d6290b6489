"""Settings of the protocol core: how strict the codec is and which PEN our mRIDs carry."""

from __future__ import annotations

from pydantic import BaseModel, Field

# RFC 5612 reserves PEN 32473 for documentation; operators set their own.
DOCUMENTATION_PEN = 32473


class Sep2Settings(BaseModel):
    """The ``[sep2]`` section."""

    pen: int = Field(
        default=DOCUMENTATION_PEN,
        ge=0,
        le=0xFFFFFFFF,
        description="IANA Private Enterprise Number put in the low 32 bits of our mRIDs.",
    )
    accept_legacy_namespaces: bool = Field(
        default=True,
        description="Accept http://ieee.org/2030.5 and http://zigbee.org/sep on input.",
    )
    max_body_bytes: int = Field(default=1 << 20, ge=1024, description="Largest XML body.")
    max_depth: int = Field(default=32, ge=4, description="Deepest XML element nesting.")
