"""Shared fixtures: strictness about optional services, and the official XSD."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

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


# --- databases -------------------------------------------------------------------------
# Every storage test runs on SQLite and on PostgreSQL. PostgreSQL comes from
# GRIDMIRROR_TEST_POSTGRES_URL or the machine's server at 127.0.0.1:5432; each test gets a
# schema of its own, named in the URL's search_path, and dropped afterwards.

PG_URL = os.environ.get(
    "GRIDMIRROR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _postgres_reachable() -> bool:
    import sqlalchemy

    try:
        with sqlalchemy.create_engine(PG_URL).connect() as conn:
            conn.execute(sqlalchemy.text("select 1"))
        return True
    except Exception:
        return False


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'gridmirror.db'}"
        return
    import sqlalchemy

    require(_postgres_reachable(), f"PostgreSQL at {PG_URL}")
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = sqlalchemy.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sqlalchemy.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(sqlalchemy.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
