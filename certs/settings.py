"""Settings of the 2030.5 PKI and TLS."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field


class PkiSettings(BaseModel):
    """The ``[pki]`` section."""

    dir: Path | None = Field(default=None, description="PKI directory; data_dir/pki if unset.")
    test_pki: bool = Field(
        default=True, description="Mark certificates with the test policy 1.3.6.1.4.1.40732.2.1."
    )
    extra_ciphers: bool = Field(
        default=False,
        description="Also offer a few ECDHE-ECDSA AES-GCM suites for clients without CCM8.",
    )
    host_names: list[str] = Field(
        default_factory=lambda: ["localhost", "127.0.0.1", "::1"],
        min_length=1,
        description="DNS names and IP addresses the gateway's server certificate carries.",
    )
    hw_type: str | None = Field(
        default=None,
        pattern=r"^[0-2](\.(0|[1-9][0-9]*))+$",
        description="hwType OID of the HardwareModuleName in device certificates; "
        "1.3.6.1.4.1.<sep2.pen>.1 if unset.",
    )
