"""The IDL client agrees with the program and with the pure ABI helpers of anchor/."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from anchor import instructions as ix
from anchor.abi import CONFIG_SIZE, METER_SIZE, account_discriminator
from anchor.accounts import ConfigAccount, MeterAccount
from anchor.events import events_from_logs
from anchor.testbed import GENESIS_TS, Testbed
from oracle.program import OracleProgram, ProgramError, error_name

PROGRAM = OracleProgram()


def same(a: object, b: object) -> bool:
    return bytes(a.data) == bytes(b.data) and list(a.accounts) == list(b.accounts)  # type: ignore[attr-defined]


def test_instructions_are_the_abi_helpers_bytes() -> None:
    admin, gateway, mint, payer = (Keypair().pubkey() for _ in range(4))
    lfdi = bytes(range(20))
    meters = [Pubkey.new_unique() for _ in range(3)]
    readings = [ix.Reading(i % 3, 1_700_000_000 + i, 10 * i, 2**63 + i) for i in range(40)]
    pairs = [(Pubkey.new_unique(), Pubkey.new_unique()) for _ in range(5)]
    program_data = Pubkey.new_unique()
    limits = ix.Limits(60, 123_456, 7_200)
    assert same(
        PROGRAM.initialize(admin, mint, gateway, 900, limits, program_data),
        ix.initialize(admin, mint, gateway, 900, limits, program_data=program_data),
    )
    assert same(PROGRAM.update_limits(admin, limits), ix.update_limits(admin, limits))
    assert same(
        PROGRAM.register_meter(gateway, payer, lfdi, admin, 5_000),
        ix.register_meter(gateway, payer, lfdi, admin, 5_000),
    )
    assert same(
        PROGRAM.submit_readings(gateway, meters, readings),
        ix.submit_readings(gateway, meters, readings),
    )
    assert same(PROGRAM.clear_epoch(12, mint, pairs), ix.clear_epoch(12, mint, pairs))
    assert same(
        PROGRAM.instruction(
            "set_active", {"active": False}, {"admin": admin, "config": PROGRAM.config}
        ),
        ix.set_active(admin, False),
    )


def test_the_idl_is_enforced() -> None:
    with pytest.raises(ProgramError, match="no instruction"):
        PROGRAM.instruction("mint_everything", {}, {})
    with pytest.raises(ProgramError, match="'config' is missing"):
        PROGRAM.instruction("set_active", {"active": True}, {"admin": Pubkey.new_unique()})
    with pytest.raises(ProgramError, match="names no account"):
        PROGRAM.instruction(
            "set_active",
            {"active": True},
            {"admin": Pubkey.new_unique(), "config": PROGRAM.config, "extra": PROGRAM.config},
        )
    with pytest.raises(ProgramError, match="not a Meter"):
        PROGRAM.decode_meter(account_discriminator("Config") + bytes(CONFIG_SIZE - 8))
    assert error_name(6011) == "OracleInactive" and error_name(42) is None


@settings(max_examples=40, deadline=None)
@given(
    st.binary(min_size=CONFIG_SIZE, max_size=CONFIG_SIZE),
    st.binary(min_size=METER_SIZE, max_size=METER_SIZE),
)
def test_accounts_decode_like_the_abi_helpers(config: bytes, meter: bytes) -> None:
    config = account_discriminator("Config") + config[8:]
    config = config[:160] + bytes([config[160] & 1]) + config[161:]  # a bool is 0 or 1
    meter = account_discriminator("Meter") + meter[8:]
    assert PROGRAM.decode_config(config) == ConfigAccount.decode(config)
    assert PROGRAM.decode_meter(meter) == MeterAccount.decode(meter)


def test_events_from_real_logs_match_the_abi_decoder() -> None:
    tb = Testbed()
    owner = Keypair()
    lfdi = os.urandom(20)
    meter = tb.register_meter(lfdi, owner.pubkey(), 5_000)
    t = GENESIS_TS + 300
    tb.set_time(t + 400)
    logs = []
    result = tb.submit(
        [meter], [ix.Reading(0, t, 1_000, 2_000), ix.Reading(0, t + 300, 1_050, 2_350)]
    )
    logs.append(result.logs)
    result = tb.submit([meter], [ix.Reading(0, t + 350, 900, 2_360), ix.Reading(0, t + 300, 1, 1)])
    logs.append(result.logs)  # a rejected reading and a duplicate
    token = tb.create_token_account(owner.pubkey())
    epoch = (t + 300 - 1) // 900
    tb.set_time((epoch + 1) * 900)
    result = tb.clear(epoch, [(meter, token)])
    assert result.ok
    logs.append(result.logs)
    kinds = []
    for lines in logs:
        ours = PROGRAM.events(lines)
        assert ours == events_from_logs(lines)
        kinds += [type(e).__name__ for e in ours]
    assert set(kinds) == {"ReadingsSubmitted", "ReadingRejected", "MeterSettled", "EpochCleared"}
    assert PROGRAM.events([]) == []
    (settled,) = [e for e in PROGRAM.events(logs[2]) if type(e).__name__ == "MeterSettled"]
    assert settled.minted_wh == 300 and settled.lfdi == lfdi  # type: ignore[union-attr]


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 255),
            st.integers(-(2**63), 2**63 - 1),
            st.integers(0, 2**64 - 1),
            st.integers(0, 2**64 - 1),
        ),
        max_size=60,
    )
)
def test_the_fast_reading_encoder_is_anchorpys(raw: list[tuple[int, int, int, int]]) -> None:
    readings = [ix.Reading(*r) for r in raw]
    meters = [Pubkey.new_unique()]
    fast = PROGRAM.submit_readings(Keypair().pubkey(), meters, readings)
    slow = PROGRAM.coder.instruction.encode(
        "submit_readings",
        {
            "readings": [
                {"meter_index": a, "timestamp": b, "import_wh": c, "export_wh": d}
                for a, b, c, d in raw
            ]
        },
    )
    assert bytes(fast.data) == slow
    assert PROGRAM._reading is not None  # the committed IDL takes the fast path


def test_an_idl_with_another_reading_layout_falls_back_to_anchorpy() -> None:
    import json

    from anchorpy_core.idl import Idl

    from anchor import artifacts

    raw = json.loads(artifacts.LEGACY_IDL_PATH.read_text())
    for t in raw["types"]:
        if t["name"] == "Reading":
            t["type"]["fields"][1]["type"] = "u32"  # timestamp narrowed: still fixed ints
    narrow = OracleProgram(idl=Idl.from_json(json.dumps(raw)))
    assert narrow._reading is not None and narrow._reading.format == "<BIQQ"
    for t in raw["types"]:
        if t["name"] == "Reading":
            t["type"]["fields"][1]["type"] = "string"  # not a fixed size: anchorpy encodes
    odd = OracleProgram(idl=Idl.from_json(json.dumps(raw)))
    assert odd._reading is None
