"""The Oracle's events in a landed transaction, as the worker records them.

A ``submit_readings`` transaction carries exactly one ReadingsSubmitted event (after the
ReadingRejected events of its rejected readings); a ``clear_epoch`` transaction one
EpochCleared and a MeterSettled per settled meter. Logs cannot be truncated here: a full
batch of rejected readings logs about 5 KB, half of Solana's 10 KB log limit.
"""

from __future__ import annotations

from dataclasses import dataclass

from anchor.events import EpochCleared, MeterSettled, ReadingsSubmitted
from oracle.chain.backend import TxRecord
from oracle.program import OracleProgram


class EventMissing(ValueError):
    """A landed transaction lacks the event it must carry."""


def batch_event(program: OracleProgram, record: TxRecord) -> ReadingsSubmitted:
    """The ReadingsSubmitted event of a landed submit_readings transaction."""
    found = [e for e in program.events(record.logs) if isinstance(e, ReadingsSubmitted)]
    if len(found) != 1:
        raise EventMissing(
            f"transaction {record.signature} has {len(found)} ReadingsSubmitted events"
        )
    return found[0]


@dataclass(frozen=True)
class Clearing:
    """What one clear_epoch transaction did."""

    cleared: EpochCleared
    settled: list[MeterSettled]


def clearing_events(program: OracleProgram, record: TxRecord) -> Clearing:
    """The EpochCleared and MeterSettled events of a landed clear_epoch transaction."""
    events = program.events(record.logs)
    cleared = [e for e in events if isinstance(e, EpochCleared)]
    if len(cleared) != 1:
        raise EventMissing(f"transaction {record.signature} has {len(cleared)} EpochCleared")
    return Clearing(cleared[0], [e for e in events if isinstance(e, MeterSettled)])
