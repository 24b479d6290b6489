"""gateway.heap: what a gateway process does to the collector once it listens."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from gateway.heap import MIDDLE_THRESHOLD, OLD_THRESHOLD, YOUNG_THRESHOLD, settle_heap


@pytest.fixture
def restored_collector() -> Iterator[None]:
    before = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


@pytest.mark.usefixtures("restored_collector")
def test_start_up_objects_are_frozen_and_the_young_generation_collected_less_often() -> None:
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    built_at_start_up = [object() for _ in range(10)]  # noqa: F841  (alive while frozen)
    settle_heap()
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)
    assert gc.get_threshold()[0] > 700  # CPython's default, which the docstring replaces
