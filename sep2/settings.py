"""Settings of the protocol core: how strict the codec is and which PEN our mRIDs carry."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from sep2.mrid import MAX_DECIMAL_PEN

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
    mrid_pen_format: Literal["hex", "decimal"] = Field(
        default="hex",
        description="How the PEN ends the mRIDs the server makes (FunctionSetAssignments, "
        "derived ReadingSets): hex, as the XSD's bits 0-31 say, or 8 decimal digits, as "
        "CSIP-AUS tooling expects. Both are accepted on input either way.",
    )
    accept_legacy_namespaces: bool = Field(
        default=True,
        description="Accept http://ieee.org/2030.5 and http://zigbee.org/sep on input.",
    )
    max_body_bytes: int = Field(default=1 << 20, ge=1024, description="Largest XML body.")
    max_depth: int = Field(default=32, ge=4, description="Deepest XML element nesting.")

    @model_validator(mode="after")
    def _decimal_pen_fits(self) -> Sep2Settings:
        if self.mrid_pen_format == "decimal" and self.pen > MAX_DECIMAL_PEN:
            raise ValueError(
                f"mrid_pen_format 'decimal' needs a PEN of at most 8 digits, not {self.pen}"
            )
        return self
