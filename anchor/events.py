"""Decoders of the Oracle's events from transaction logs (pure).

The program emits each event as one ``sol_log_data`` field: the event discriminator
sha256("event:<Name>")[:8] followed by the borsh fields; the runtime logs it as
``Program data: <base64>``. :func:`events_from_logs` only takes lines logged while the
Oracle itself is executing, so data another program logs (in a CPI) is never mistaken
for an Oracle event.
"""

from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from solders.pubkey import Pubkey

from anchor.abi import PROGRAM_ID, ReadingStatus, SettlementStatus, event_discriminator


class EventDecodeError(ValueError):
    """The bytes carry an Oracle event discriminator but do not decode."""


@dataclass(frozen=True)
class MeterRegistered:
    """A Meter account was created."""

    meter: Pubkey
    lfdi: bytes
    owner: Pubkey
    rated_power_w: int


@dataclass(frozen=True)
class ReadingsSubmitted:
    """One batch: counts, the Merkle root of the accepted readings, a status per reading."""

    batch: int
    unix_timestamp: int
    accepted: int
    duplicates: int
    rejected: int
    merkle_root: bytes
    statuses: tuple[ReadingStatus, ...]


@dataclass(frozen=True)
class ReadingRejected:
    """A reading the program refused, with the reason."""

    batch: int
    index: int
    lfdi: bytes
    timestamp: int
    import_wh: int
    export_wh: int
    reason: ReadingStatus


@dataclass(frozen=True)
class MeterSettled:
    """A meter settled for an epoch: registers used, deltas since the last settlement, mint."""

    epoch: int
    lfdi: bytes
    owner: Pubkey
    import_wh: int
    export_wh: int
    import_delta_wh: int
    export_delta_wh: int
    minted_wh: int
    withheld_wh: int  # net export above the meter's mint cap, not minted


@dataclass(frozen=True)
class EpochCleared:
    """A clear_epoch call: how many meters settled, how much was minted, a status per meter."""

    epoch: int
    settled: int
    skipped: int
    minted_wh: int
    statuses: tuple[SettlementStatus, ...]


Event = MeterRegistered | ReadingsSubmitted | ReadingRejected | MeterSettled | EpochCleared


def _vec(body: bytes, offset: int) -> bytes:
    (n,) = struct.unpack_from("<I", body, offset)
    if offset + 4 + n != len(body):
        raise EventDecodeError("length of a byte vector does not match the event")
    return body[offset + 4 :]


def _meter_registered(b: bytes) -> MeterRegistered:
    return MeterRegistered(
        Pubkey.from_bytes(b[0:32]),
        b[32:52],
        Pubkey.from_bytes(b[52:84]),
        *struct.unpack_from("<Q", b, 84),
    )


def _readings_submitted(b: bytes) -> ReadingsSubmitted:
    batch, ts, accepted, dups, rejected = struct.unpack_from("<QqIII", b, 0)
    statuses = tuple(ReadingStatus(s) for s in _vec(b, 60))
    return ReadingsSubmitted(batch, ts, accepted, dups, rejected, b[28:60], statuses)


def _reading_rejected(b: bytes) -> ReadingRejected:
    batch, index = struct.unpack_from("<QH", b, 0)
    ts, imp, exp, reason = struct.unpack_from("<qQQB", b, 30)
    return ReadingRejected(batch, index, b[10:30], ts, imp, exp, ReadingStatus(reason))


def _meter_settled(b: bytes) -> MeterSettled:
    (epoch,) = struct.unpack_from("<Q", b, 0)
    rest = struct.unpack_from("<6Q", b, 60)
    return MeterSettled(epoch, b[8:28], Pubkey.from_bytes(b[28:60]), *rest)


def _epoch_cleared(b: bytes) -> EpochCleared:
    epoch, settled, skipped, minted = struct.unpack_from("<QIIQ", b, 0)
    statuses = tuple(SettlementStatus(s) for s in _vec(b, 24))
    return EpochCleared(epoch, settled, skipped, minted, statuses)


_DECODERS: dict[bytes, tuple[Callable[[bytes], Event], int | None]] = {
    event_discriminator("MeterRegistered"): (_meter_registered, 92),
    event_discriminator("ReadingsSubmitted"): (_readings_submitted, None),
    event_discriminator("ReadingRejected"): (_reading_rejected, 55),
    event_discriminator("MeterSettled"): (_meter_settled, 108),
    event_discriminator("EpochCleared"): (_epoch_cleared, None),
}


def decode_event(data: bytes) -> Event | None:
    """The Oracle event in one sol_log_data payload; None if it is not an Oracle event."""
    entry = _DECODERS.get(bytes(data[:8]))
    if entry is None:
        return None
    decoder, size = entry
    body = bytes(data[8:])
    if size is not None and len(body) != size:
        raise EventDecodeError(f"{decoder.__name__[1:]}: {len(body)} bytes, expected {size}")
    try:
        return decoder(body)
    except (struct.error, ValueError) as exc:
        raise EventDecodeError(f"{decoder.__name__[1:]}: {exc}") from exc


def events_from_logs(logs: Iterable[str], program_id: Pubkey = PROGRAM_ID) -> list[Event]:
    """The Oracle events in a transaction's log messages, in order."""
    invoke = f"Program {program_id} invoke"
    stack: list[bool] = []  # for each running program: is it the Oracle?
    events: list[Event] = []
    for line in logs:
        if line.startswith("Program ") and " invoke [" in line:
            stack.append(line.startswith(invoke))
        elif line.startswith("Program ") and (line.endswith(" success") or " failed" in line):
            if stack:
                stack.pop()
        elif line.startswith("Program data: ") and stack and stack[-1]:
            for field in line[len("Program data: ") :].split():
                try:
                    payload = base64.b64decode(field, validate=True)
                except binascii.Error:
                    continue
                event = decode_event(payload)
                if event is not None:
                    events.append(event)
    return events
