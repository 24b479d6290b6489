"""Fixtures of the Oracle program's tests: the program under test and a fresh chain.

Every program test runs against the committed oracle.so. When a clang of another major
version than the one that built it is present (Debian 13 has a newer one), the program
is also rebuilt from source with it and every program test runs against that build too.
"""

from __future__ import annotations

import functools

import pytest

from anchor import artifacts
from anchor.build import build, clang_major, clang_version, find_clang
from anchor.testbed import Testbed


@functools.cache
def programs_under_test() -> list[tuple[str, bytes]]:
    """("committed", bytes), plus ("clang-N", bytes) of a fresh build by another clang."""
    programs = [("committed", artifacts.program_bytes())]
    clang = find_clang()
    if clang is not None:
        committed_major = clang_major(artifacts.CLANG_VERSION.read_text())
        major = clang_major(clang_version(clang))
        if major != committed_major:
            programs.append((f"clang-{major}", build(clang).program))
    return programs


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "program" in metafunc.fixturenames:
        chosen = programs_under_test()
        metafunc.parametrize("program", [p for _, p in chosen], ids=[n for n, _ in chosen])


@pytest.fixture
def tb(program: bytes) -> Testbed:
    """A fresh chain: the program, an energy mint, an initialized Config (900 s, 60 s skew)."""
    return Testbed(program)
