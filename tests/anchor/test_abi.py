"""The Python ABI helpers: discriminators, header agreement, program id, encoders, decoders."""

from __future__ import annotations

import base64
import json

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from anchor import artifacts
from anchor import instructions as ix
from anchor.abi import (
    PROGRAM_ID,
    account_discriminator,
    event_discriminator,
    header_problems,
    instruction_discriminator,
)
from anchor.accounts import AccountDecodeError, ConfigAccount, MeterAccount
from anchor.events import EventDecodeError, ReadingsSubmitted, decode_event, events_from_logs


def test_anchor_discriminators() -> None:
    # values from Anchor's own definition, sha256("global:initialize")[:8] etc.
    assert instruction_discriminator("initialize").hex() == "afaf6d1f0d989bed"
    assert account_discriminator("Config") == bytes.fromhex("9b0caae01efacc82")
    assert len(event_discriminator("EpochCleared")) == 8


def test_the_header_agrees_and_a_change_is_caught() -> None:
    header = artifacts.HEADER.read_text()
    assert header_problems(header) == []
    bad = header.replace("0xa57ef7c75e944e0dULL", "0xa57ef7c75e944e0eULL")
    assert any("submit_readings" in p for p in header_problems(bad))
    renumbered = header.replace("ERR_UNAUTHORIZED = 6010", "ERR_UNAUTHORIZED = 6030")
    assert any("ERR_" in p for p in header_problems(renumbered))


def test_the_program_id_is_the_committed_keypair() -> None:
    secret = bytes(json.loads(artifacts.PROGRAM_KEYPAIR.read_text()))
    assert Keypair.from_bytes(secret).pubkey() == PROGRAM_ID


def test_batch_readings_indexes_meters_once() -> None:
    a, b = bytes([1]) * 20, bytes([2]) * 20
    meters, readings = ix.batch_readings(
        [ix.MeterReading(a, 10, 1, 2), ix.MeterReading(b, 11, 3, 4), ix.MeterReading(a, 12, 5, 6)]
    )
    assert len(meters) == 2
    assert [r.meter_index for r in readings] == [0, 1, 0]
    data = ix.submit_readings_data(readings)
    assert len(data) == 8 + 4 + 3 * 25
    with pytest.raises(ValueError):
        ix.batch_readings([ix.MeterReading(b"short", 1, 1, 1)])


def test_account_decoders_check_the_discriminator() -> None:
    with pytest.raises(AccountDecodeError):
        ConfigAccount.decode(account_discriminator("Meter") + bytes(200))
    with pytest.raises(AccountDecodeError):
        MeterAccount.decode(account_discriminator("Meter") + bytes(10))


def test_event_decoding_refuses_truncated_events() -> None:
    assert decode_event(b"\0" * 16) is None  # not ours
    head = event_discriminator("ReadingsSubmitted")
    with pytest.raises(EventDecodeError):
        decode_event(head + bytes(10))
    with pytest.raises(EventDecodeError):
        decode_event(event_discriminator("MeterSettled") + bytes(99))


def test_events_logged_by_other_programs_are_ignored() -> None:
    body = bytes(8 + 8 + 12) + bytes(32) + (1).to_bytes(4, "little") + b"\x00"
    payload = base64.b64encode(event_discriminator("ReadingsSubmitted") + body).decode()
    other = Pubkey.new_unique()
    logs = [
        f"Program {PROGRAM_ID} invoke [1]",
        f"Program {other} invoke [2]",
        f"Program data: {payload}",  # the inner program's, not ours
        f"Program {other} success",
        f"Program data: {payload}",
        f"Program {PROGRAM_ID} success",
        f"Program data: {payload}",  # outside any frame
    ]
    events = events_from_logs(logs)
    assert len(events) == 1 and isinstance(events[0], ReadingsSubmitted)
