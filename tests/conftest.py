"""Shared fixtures: strictness about optional services, and the official XSD."""

from __future__ import annotations

import os

import pytest

# In CI every service a test needs is present: a test that would skip fails instead.
STRICT = os.environ.get("GRIDMIRROR_TEST_STRICT") == "1"


def require(condition: bool, reason: str) -> None:
    """Skip (or, under GRIDMIRROR_TEST_STRICT=1, fail) when a needed part is missing."""
    if condition:
        return
    if STRICT:
        pytest.fail(f"required for this run: {reason}")
    pytest.skip(reason)
