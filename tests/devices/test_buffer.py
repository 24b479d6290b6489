"""The bounded buffer of unsent samples: order kept, registers last to go, sheds reported."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.buffer import SampleBuffer
from devices.mirror import Sample, Telemetry

TELE = Telemetry(0, 100, 2300, 5000, 990)


def samples(count: int, start: int = 1000) -> list[Sample]:
    return [
        Sample(start + 15 * i, 10 * i, i, TELE._replace(since=start + 15 * i - 15))
        for i in range(count)
    ]


def test_fifo_within_capacity() -> None:
    buffer = SampleBuffer(10, 10)
    for s in samples(5):
        assert not buffer.append(s)
    assert buffer.peek(3) == samples(5)[:3]
    buffer.drop(2)
    assert buffer.samples() == samples(5)[2:]
    assert not buffer.take_shed_report()


def test_telemetry_goes_first_then_the_oldest_register_pairs() -> None:
    buffer = SampleBuffer(3, 4)
    made = samples(10)
    shed = [buffer.append(s) for s in made]
    assert shed == [False] * 3 + [True] * 7
    kept = buffer.samples()
    assert len(kept) == 7
    # The newest three keep their telemetry; the four before keep only their registers.
    assert [s.telemetry is not None for s in kept] == [False] * 4 + [True] * 3
    assert [s.time for s in kept] == [s.time for s in made[3:]]
    report = buffer.take_shed_report()
    assert (report.telemetry, report.registers) == (7, 3)
    assert (report.first_time, report.last_time) == (made[0].time, made[6].time)
    # The newest register pair is always there: it carries all the energy.
    assert kept[-1].import_wh == made[-1].import_wh
    assert not buffer.take_shed_report()


def test_zero_register_capacity_keeps_only_full_samples() -> None:
    buffer = SampleBuffer(2, 0)
    for s in samples(5):
        buffer.append(s)
    assert [s.time for s in buffer.samples()] == [s.time for s in samples(5)[3:]]


def test_times_must_increase() -> None:
    buffer = SampleBuffer(5, 5)
    buffer.append(samples(2)[1])
    with pytest.raises(ValueError):
        buffer.append(samples(2)[0])


@settings(max_examples=100)
@given(
    full=st.integers(1, 20),
    registers=st.integers(0, 40),
    ops=st.lists(st.one_of(st.just("add"), st.integers(1, 10)), max_size=200),
)
def test_bounded_ordered_and_accounted(full: int, registers: int, ops: list[object]) -> None:
    buffer = SampleBuffer(full, registers)
    t = 0
    appended = delivered = 0
    for op in ops:
        if op == "add":
            t += 15
            buffer.append(Sample(t, t, 0, TELE))
            appended += 1
        else:
            assert isinstance(op, int)
            batch = buffer.peek(op)
            delivered += len(batch)
            buffer.drop(len(batch))
        kept = buffer.samples()
        assert len(kept) <= full + registers
        assert sum(s.telemetry is not None for s in kept) <= full
        assert [s.time for s in kept] == sorted(s.time for s in kept)
        if kept:
            assert kept[-1].time == t  # the newest is never shed
    # Every sample is delivered, in the buffer, or reported as shed: nothing vanishes.
    assert appended == delivered + len(buffer) + buffer.total_shed_registers
