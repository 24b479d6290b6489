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
