"""Where the Oracle program's source and build products live in the package."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
SOURCE_DIR = ROOT / "programs" / "oracle" / "src"
HEADER = SOURCE_DIR / "oracle.h"
DEPLOY_DIR = ROOT / "target" / "deploy"
PROGRAM_SO = DEPLOY_DIR / "oracle.so"
CLANG_VERSION = DEPLOY_DIR / "oracle.so.clang-version"
PROGRAM_KEYPAIR = DEPLOY_DIR / "oracle-keypair.json"
IDL_PATH = ROOT / "target" / "idl" / "oracle.json"  # Anchor 0.30+ format
LEGACY_IDL_PATH = ROOT / "target" / "idl" / "oracle.legacy.json"  # pre-0.30: anchorpy


def program_bytes() -> bytes:
    """The committed oracle.so."""
    return PROGRAM_SO.read_bytes()


def load_idl() -> dict[str, Any]:
    """The committed IDL (Anchor 0.30+ format) as a dict."""
    idl: dict[str, Any] = json.loads(IDL_PATH.read_text())
    return idl
