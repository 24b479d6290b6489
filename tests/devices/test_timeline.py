"""The replay-then-live clock: faster than real time, then real time, never ahead of it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.timeline import Timeline

REAL0 = 1_780_000_000.0


class Clock:
    def __init__(self, t: float = REAL0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_live_from_the_start() -> None:
    clock = Clock()
    timeline = Timeline(clock=clock)
    assert timeline.now() == REAL0 and timeline.live()
    clock.t += 12.5
    assert timeline.now() == REAL0 + 12.5
    assert timeline.real_at(REAL0 + 30) == REAL0 + 30
    assert timeline.seconds_until(REAL0 + 30) == 17.5
    assert timeline.seconds_until(REAL0) == 0.0


def test_a_day_replayed_at_300x_then_live() -> None:
    clock = Clock()
    timeline = Timeline(replay_s=86_400, speed=300, clock=clock)
    assert timeline.start == REAL0 - 86_400
    assert timeline.now() == REAL0 - 86_400 and not timeline.live()
    clock.t += 60  # a minute of real time is five hours of the replay
    assert timeline.now() == pytest.approx(REAL0 - 86_400 + 18_000)
    # It catches up after 86,400 / 299 s of real time and then follows the real clock.
    catch_up = REAL0 + 86_400 / 299
    assert timeline.caught_up_at == pytest.approx(catch_up)
    clock.t = catch_up - 1e-3
    assert timeline.now() <= clock.t and not timeline.live()
    clock.t = catch_up + 1
    assert timeline.now() == clock.t and timeline.live()
    clock.t += 3600
    assert timeline.now() == clock.t


def test_real_at_inverts_now() -> None:
    clock = Clock()
    timeline = Timeline(replay_s=3600, speed=60, clock=clock)
    for sim in (REAL0 - 3600, REAL0 - 1800, REAL0 - 1, REAL0 + 100):
        clock.t = timeline.real_at(sim)
        assert timeline.now() == pytest.approx(sim)


@settings(max_examples=200)
@given(
    replay=st.floats(0, 10 * 86_400),
    speed=st.floats(1.5, 10_000),
    steps=st.lists(st.floats(0, 5_000), max_size=30),
)
def test_never_in_the_future_and_never_backwards(
    replay: float, speed: float, steps: list[float]
) -> None:
    clock = Clock()
    timeline = Timeline(replay_s=replay, speed=speed, clock=clock)
    before = timeline.now()
    assert before <= clock.t
    for step in steps:
        clock.t += step
        now = timeline.now()
        assert now <= clock.t  # never ahead of the real clock
        assert now >= before  # never backwards
        if timeline.live():
            assert now == clock.t
        before = now


@pytest.mark.parametrize(("replay", "speed"), [(-1.0, 2.0), (0.0, 0.5), (3600.0, 1.0)])
def test_refused(replay: float, speed: float) -> None:
    with pytest.raises(ValueError):
        Timeline(replay_s=replay, speed=speed, clock=Clock())
