"""The IDL describes the program exactly: anchorpy, knowing only the IDL, drives it.

anchorpy builds every instruction from the (legacy) IDL and the program accepts it; every
account and every event the program writes decodes with anchorpy's coder and agrees
with our own decoders; the committed IDL files are the generated ones; the Anchor 0.30+
IDL says the same as the legacy one, with the program's own discriminators, sizes and
addresses.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from anchorpy import Context, EventParser, Program, Provider, Wallet
from anchorpy.coder.common import _account_size
from anchorpy_core.idl import Idl
from solana.rpc.async_api import AsyncClient
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from anchor import artifacts
from anchor import instructions as ix
from anchor.abi import (
    ACCOUNTS,
    CONFIG_SIZE,
    EVENTS,
    INSTRUCTIONS,
    METER_SIZE,
    PROGRAM_ID,
    SYSTEM_PROGRAM_ID,
    TOKEN_PROGRAM_ID,
    OracleError,
    account_discriminator,
    event_discriminator,
    instruction_discriminator,
)
from anchor.accounts import ConfigAccount, MeterAccount
from anchor.events import Event, events_from_logs
from anchor.idl import idl_json, legacy_idl_json, snake
from anchor.pda import (
    config_address,
    meter_address,
    mint_authority_address,
    program_data_address,
)
from anchor.testbed import GENESIS_TS, Testbed, TxResult


@pytest.fixture(scope="module")
def idl() -> Idl:
    return Idl.from_json(artifacts.LEGACY_IDL_PATH.read_text())


@pytest.fixture
def anchorpy_program(idl: Idl) -> Program:
    # The client is never used for IO here: instructions are built, then sent to LiteSVM.
    provider = Provider(AsyncClient("http://127.0.0.1:9"), Wallet(Keypair()))
    return Program(idl, PROGRAM_ID, provider)


def test_the_committed_idls_are_the_generated_ones() -> None:
    assert artifacts.IDL_PATH.read_text() == idl_json()
    assert artifacts.LEGACY_IDL_PATH.read_text() == legacy_idl_json()


def test_idl_metadata_errors_and_sizes(idl: Idl) -> None:
    raw = json.loads(artifacts.LEGACY_IDL_PATH.read_text())
    assert raw["metadata"]["address"] == str(PROGRAM_ID)
    assert {e.code: e.name for e in idl.errors or []} == {
        int(e): "".join(w.capitalize() for w in e.name.lower().split("_")) for e in OracleError
    }
    sizes = {a.name: 8 + _account_size(idl, a) for a in idl.accounts}
    assert sizes == {"Config": CONFIG_SIZE, "Meter": METER_SIZE}


def test_idl_pda_seeds_give_our_addresses(idl: Idl) -> None:
    raw = json.loads(artifacts.LEGACY_IDL_PATH.read_text())
    seeds: dict[str, list[dict[str, Any]]] = {}
    for instruction in raw["instructions"]:
        for account in instruction["accounts"]:
            if "pda" in account:
                seeds[account["name"]] = account["pda"]["seeds"]
    lfdi = bytes(range(20))

    def derive(name: str) -> Pubkey:
        parts = [s["value"].encode() if s["kind"] == "const" else lfdi for s in seeds[name]]
        return Pubkey.find_program_address(parts, PROGRAM_ID)[0]

    assert derive("config") == config_address()[0]
    assert derive("mintAuthority") == mint_authority_address()[0]
    assert derive("meter") == meter_address(lfdi)[0]


_SIZES = {"u8": 1, "bool": 1, "u16": 2, "u32": 4, "u64": 8, "i64": 8, "pubkey": 32}


def _size(ty: Any) -> int:
    if isinstance(ty, str):
        return _SIZES[ty]
    inner, n = ty["array"]
    return int(n) * _size(inner)


def test_the_current_idl_has_the_programs_discriminators_sizes_and_addresses() -> None:
    new = artifacts.load_idl()
    legacy = json.loads(artifacts.LEGACY_IDL_PATH.read_text())
    assert new["address"] == str(PROGRAM_ID) and new["metadata"]["spec"] == "0.1.0"
    assert "metadata" in new and "address" not in new["metadata"]
    assert [i["name"] for i in new["instructions"]] == list(INSTRUCTIONS)
    for instruction in new["instructions"]:
        assert bytes(instruction["discriminator"]) == instruction_discriminator(instruction["name"])
    assert {a["name"]: bytes(a["discriminator"]) for a in new["accounts"]} == {
        name: account_discriminator(name) for name in ACCOUNTS
    }
    assert {e["name"]: bytes(e["discriminator"]) for e in new["events"]} == {
        name: event_discriminator(name) for name in EVENTS
    }
    types = {t["name"]: t["type"]["fields"] for t in new["types"]}
    sizes = {name: 8 + sum(_size(f["type"]) for f in types[name]) for name in ACCOUNTS}
    assert sizes == {"Config": CONFIG_SIZE, "Meter": METER_SIZE}
    # field for field the legacy IDL, in Rust's names
    for account in legacy["accounts"]:
        assert [f["name"] for f in types[account["name"]]] == [
            snake(f["name"]) for f in account["type"]["fields"]
        ]
    assert new["errors"] == legacy["errors"]
    # fixed addresses and PDAs a client resolves by itself
    init = {a["name"]: a for a in new["instructions"][0]["accounts"]}
    assert init["system_program"]["address"] == str(SYSTEM_PROGRAM_ID)
    assert init["program"]["address"] == str(PROGRAM_ID)
    data_pda = init["program_data"]["pda"]
    assert (
        Pubkey.find_program_address(
            [bytes(data_pda["seeds"][0]["value"])], Pubkey(bytes(data_pda["program"]["value"]))
        )[0]
        == program_data_address()
    )
    lfdi = bytes(range(20))
    register = {a["name"]: a for a in new["instructions"][1]["accounts"]}
    seeds = register["meter"]["pda"]["seeds"]
    assert seeds[1] == {"kind": "arg", "path": "lfdi"}
    assert (
        Pubkey.find_program_address([bytes(seeds[0]["value"]), lfdi], PROGRAM_ID)[0]
        == meter_address(lfdi)[0]
    )
    assert (
        Pubkey.find_program_address(
            [bytes(init["config"]["pda"]["seeds"][0]["value"])], PROGRAM_ID
        )[0]
        == config_address()[0]
    )
    submit = next(i for i in new["instructions"] if i["name"] == "submit_readings")
    assert submit["args"] == [
        {"name": "readings", "type": {"vec": {"defined": {"name": "Reading"}}}}
    ]


def anchorpy_events(program: Program, logs: list[str]) -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    EventParser(PROGRAM_ID, program.coder).parse_logs(
        logs, lambda e: found.append((e.name, dict(e.data.__dict__)))
    )
    return [(n, {k: v for k, v in d.items() if not k.startswith("_")}) for n, d in found]


def as_anchorpy(event: Event) -> tuple[str, dict[str, Any]]:
    """Our decoded event in anchorpy's shape: name, snake_case fields, plain values."""
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(event):
        value = getattr(event, f.name)
        if f.name in ("lfdi", "merkle_root"):  # fixed arrays: lists in anchorpy
            value = list(value)
        elif isinstance(value, tuple):
            value = bytes(int(v) for v in value)
        elif hasattr(value, "value"):  # an IntEnum
            value = int(value)
        fields[f.name] = value
    return type(event).__name__, fields


def assert_events_agree(program: Program, result: TxResult) -> int:
    assert result.ok, (result.error, result.logs)
    theirs = anchorpy_events(program, result.logs)
    ours = [as_anchorpy(e) for e in events_from_logs(result.logs)]
    assert theirs == ours
    return len(ours)


def same_instruction(a: Instruction, b: Instruction) -> bool:
    return bytes(a.data) == bytes(b.data) and list(a.accounts) == list(b.accounts)


def test_anchorpy_drives_every_instruction(program: bytes, anchorpy_program: Program) -> None:
    p = anchorpy_program
    tb = Testbed(program, initialize=False)
    events_seen = 0

    # initialize
    accounts = {
        "admin": tb.admin.pubkey(),
        "config": tb.config,
        "mint": tb.mint,
        "mint_authority": tb.mint_authority,
        "system_program": SYSTEM_PROGRAM_ID,
        "program": PROGRAM_ID,
        "program_data": tb.program_data,
    }
    built = p.instruction["initialize"](
        tb.gateway.pubkey(), 900, 60, 1_000_000, 900, ctx=Context(accounts=accounts)
    )
    assert same_instruction(built, ix.initialize(tb.admin.pubkey(), tb.mint, tb.gateway.pubkey()))
    assert tb.send([built], [tb.admin]).ok

    # register_meter
    lfdi = bytes(range(1, 21))
    owner = Keypair()
    meter = meter_address(lfdi)[0]
    built = p.instruction["register_meter"](
        list(lfdi),
        owner.pubkey(),
        5_000,
        ctx=Context(
            accounts={
                "authority": tb.gateway.pubkey(),
                "payer": tb.payer.pubkey(),
                "config": tb.config,
                "meter": meter,
                "system_program": SYSTEM_PROGRAM_ID,
            }
        ),
    )
    ours = ix.register_meter(tb.gateway.pubkey(), tb.payer.pubkey(), lfdi, owner.pubkey(), 5_000)
    assert same_instruction(built, ours)
    events_seen += assert_events_agree(p, tb.send([built], [tb.payer, tb.gateway]))

    # submit_readings: two readings, then a rejected one (ReadingRejected)
    remaining = [AccountMeta(meter, False, True)]
    t = GENESIS_TS + 300
    tb.set_time(t + 400)
    reading_type = p.type["Reading"]
    for readings in (
        [(0, t, 1_000, 2_000), (0, t + 300, 1_100, 2_300)],
        [(0, t + 400, 1_000, 2_400)],  # import register went down: rejected
    ):
        built = p.instruction["submit_readings"](
            [
                reading_type(meter_index=i, timestamp=s, import_wh=a, export_wh=b)
                for i, s, a, b in readings
            ],
            ctx=Context(
                accounts={"gateway": tb.gateway.pubkey(), "config": tb.config},
                remaining_accounts=remaining,
            ),
        )
        ours = ix.submit_readings(tb.gateway.pubkey(), [meter], [ix.Reading(*r) for r in readings])
        assert same_instruction(built, ours)
        events_seen += assert_events_agree(p, tb.send([built], [tb.gateway]))

    # clear_epoch
    token = tb.create_token_account(owner.pubkey())
    epoch = (t + 300 - 1) // 900
    tb.set_time((epoch + 1) * 900)
    built = p.instruction["clear_epoch"](
        epoch,
        ctx=Context(
            accounts={
                "config": tb.config,
                "mint": tb.mint,
                "mint_authority": tb.mint_authority,
                "token_program": TOKEN_PROGRAM_ID,
            },
            remaining_accounts=[AccountMeta(meter, False, True), AccountMeta(token, False, True)],
        ),
    )
    assert same_instruction(built, ix.clear_epoch(epoch, tb.mint, [(meter, token)]))
    events_seen += assert_events_agree(p, tb.send([built], [tb.payer]))
    assert tb.token_balance(token) == 200

    # the admin's instructions
    admin_accounts = {"admin": tb.admin.pubkey(), "config": tb.config}
    new_gateway = Keypair().pubkey()
    new_admin = Keypair()
    for name, args, extra, ours_ix, signers in (
        ("set_active", (False,), {}, ix.set_active(tb.admin.pubkey(), False), [tb.admin]),
        ("set_active", (True,), {}, ix.set_active(tb.admin.pubkey(), True), [tb.admin]),
        (
            "set_gateway",
            (new_gateway,),
            {},
            ix.set_gateway(tb.admin.pubkey(), new_gateway),
            [tb.admin],
        ),
        (
            "update_limits",
            (120, 250_000, 3_600),
            {},
            ix.update_limits(tb.admin.pubkey(), ix.Limits(120, 250_000, 3_600)),
            [tb.admin],
        ),
        (
            "set_admin",
            (),
            {"new_admin": new_admin.pubkey()},
            ix.set_admin(tb.admin.pubkey(), new_admin.pubkey()),
            [tb.admin, new_admin],
        ),
    ):
        built = p.instruction[name](*args, ctx=Context(accounts={**admin_accounts, **extra}))
        assert same_instruction(built, ours_ix), name
        assert tb.send([built], signers).ok, name

    assert events_seen == 1 + 1 + 2 + 2  # MeterRegistered, 2 batches, 1 rejection, 2 clearing

    # both accounts decode with anchorpy's coder and agree with ours
    config = p.coder.accounts.decode(tb.account_data(tb.config))
    ours_config = ConfigAccount.decode(tb.account_data(tb.config))
    assert config.admin == ours_config.admin == new_admin.pubkey()
    assert config.gateway == ours_config.gateway == new_gateway
    assert (config.max_future_skew_s, config.readings_accepted, config.minted_wh) == (120, 2, 200)
    for f in dataclasses.fields(ours_config):
        assert getattr(config, f.name) == getattr(ours_config, f.name), f.name
    meter_state = p.coder.accounts.decode(tb.account_data(meter))
    ours_meter = MeterAccount.decode(tb.account_data(meter))
    for f in dataclasses.fields(ours_meter):
        value = getattr(ours_meter, f.name)
        assert getattr(meter_state, f.name) == (list(value) if f.name == "lfdi" else value)
    assert meter_state.export_wh == 2_300 and meter_state.last_cleared_epoch == epoch


def test_every_idl_name_has_a_python_builder(idl: Idl) -> None:
    builders = {name for name in dir(ix) if not name.startswith("_")}
    for instruction in idl.instructions:
        assert snake(instruction.name) in builders
        assert f"{snake(instruction.name)}_data" in builders
