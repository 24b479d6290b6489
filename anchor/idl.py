"""The Oracle program's Anchor IDL, written out as anchor/target/idl/oracle.json.

The format is Anchor's legacy (pre-0.30) IDL, the one anchorpy 0.21 (anchorpy-core 0.2)
reads: camelCase names for instructions, accounts, arguments and fields; PascalCase for
account, type and event names; ``metadata.address`` holds the program id.
"""

from __future__ import annotations

import json
import re
from typing import Any

from anchor.abi import ERROR_MESSAGES, LFDI_SIZE, PROGRAM_ID, OracleError

IDL_VERSION = "0.1.0"

Json = dict[str, Any]

LFDI: Json = {"array": ["u8", LFDI_SIZE]}


def _pascal(upper_snake: str) -> str:
    return "".join(part.capitalize() for part in upper_snake.lower().split("_"))


def _acc(
    name: str, *, mut: bool = False, signer: bool = False, docs: str = "", pda: Json | None = None
) -> Json:
    account: Json = {"name": name, "isMut": mut, "isSigner": signer}
    if docs:
        account["docs"] = [docs]
    if pda is not None:
        account["pda"] = pda
    return account


def _const_seed(value: bytes) -> Json:
    return {"kind": "const", "type": "string", "value": value.decode()}


def _fields(*pairs: tuple[str, Any]) -> list[Json]:
    return [{"name": name, "type": ty} for name, ty in pairs]


CONFIG_PDA: Json = {"seeds": [_const_seed(b"config")]}
MINT_AUTHORITY_PDA: Json = {"seeds": [_const_seed(b"mint_authority")]}
METER_PDA: Json = {"seeds": [_const_seed(b"meter"), {"kind": "arg", "type": LFDI, "path": "lfdi"}]}


def _instructions() -> list[Json]:
    return [
        {
            "name": "initialize",
            "docs": [
                "Create the Config; the energy mint must already exist (3 decimals, "
                "mint authority = the mintAuthority PDA, no freeze authority, no supply)."
            ],
            "accounts": [
                _acc(
                    "admin",
                    mut=True,
                    signer=True,
                    docs="The program's upgrade authority; becomes the admin; pays the rent.",
                ),
                _acc("config", mut=True, pda=CONFIG_PDA),
                _acc("mint", docs="The energy token mint (SPL Token)."),
                _acc("mintAuthority", pda=MINT_AUTHORITY_PDA),
                _acc("systemProgram"),
                _acc("program", docs="This program's own account."),
                _acc(
                    "programData",
                    docs="Its ProgramData account (upgradeable loader): the upgrade authority.",
                ),
            ],
            "args": _fields(
                ("gateway", "publicKey"),
                ("clearingIntervalS", "i64"),
                ("maxFutureSkewS", "i64"),
                ("maxRatedPowerW", "u64"),
                ("maxBaselineAgeS", "i64"),
            ),
        },
        {
            "name": "registerMeter",
            "docs": [
                "Create the Meter account of an LFDI (admin or gateway signs); the gateway "
                "may rate it at most Config.maxRatedPowerW."
            ],
            "accounts": [
                _acc("authority", signer=True, docs="The admin or the gateway."),
                _acc("payer", mut=True, signer=True),
                _acc("config", mut=True, pda=CONFIG_PDA),
                _acc("meter", mut=True, pda=METER_PDA),
                _acc("systemProgram"),
            ],
            "args": _fields(("lfdi", LFDI), ("owner", "publicKey"), ("ratedPowerW", "u64")),
        },
        {
            "name": "setActive",
            "docs": ["Pause (false) or resume (true) readings and clearing."],
            "accounts": [_acc("admin", signer=True), _acc("config", mut=True, pda=CONFIG_PDA)],
            "args": _fields(("active", "bool")),
        },
        {
            "name": "setGateway",
            "docs": ["Replace the gateway's signing key."],
            "accounts": [_acc("admin", signer=True), _acc("config", mut=True, pda=CONFIG_PDA)],
            "args": _fields(("gateway", "publicKey")),
        },
        {
            "name": "setAdmin",
            "docs": ["Hand the admin role to newAdmin, who signs too."],
            "accounts": [
                _acc("admin", signer=True),
                _acc("config", mut=True, pda=CONFIG_PDA),
                _acc("newAdmin", signer=True),
            ],
            "args": [],
        },
        {
            "name": "updateLimits",
            "docs": [
                "Change the future skew, the gateway's rating limit and the oldest a "
                "meter's first reading may be (the clearing interval is fixed)."
            ],
            "accounts": [_acc("admin", signer=True), _acc("config", mut=True, pda=CONFIG_PDA)],
            "args": _fields(
                ("maxFutureSkewS", "i64"), ("maxRatedPowerW", "u64"), ("maxBaselineAgeS", "i64")
            ),
        },
        {
            "name": "submitReadings",
            "docs": [
                "Check and apply a batch of readings. Remaining accounts: the Meter "
                "accounts (writable), indexed by Reading.meterIndex."
            ],
            "accounts": [_acc("gateway", signer=True), _acc("config", mut=True, pda=CONFIG_PDA)],
            "args": _fields(("readings", {"vec": {"defined": "Reading"}})),
        },
        {
            "name": "clearEpoch",
            "docs": [
                "Settle an ended epoch. Remaining accounts: pairs of (Meter, the meter "
                "owner's token account for the mint), both writable. Anyone may call it."
            ],
            "accounts": [
                _acc("config", mut=True, pda=CONFIG_PDA),
                _acc("mint", mut=True),
                _acc("mintAuthority", pda=MINT_AUTHORITY_PDA),
                _acc("tokenProgram"),
            ],
            "args": _fields(("epoch", "u64")),
        },
    ]


def _accounts() -> list[Json]:
    return [
        {
            "name": "Config",
            "type": {
                "kind": "struct",
                "fields": _fields(
                    ("admin", "publicKey"),
                    ("gateway", "publicKey"),
                    ("mint", "publicKey"),
                    ("clearingIntervalS", "i64"),
                    ("maxFutureSkewS", "i64"),
                    ("readingsAccepted", "u64"),
                    ("readingsDuplicate", "u64"),
                    ("readingsRejected", "u64"),
                    ("batches", "u64"),
                    ("metersRegistered", "u64"),
                    ("mintedWh", "u64"),
                    ("active", "bool"),
                    ("bump", "u8"),
                    ("mintAuthorityBump", "u8"),
                    ("reserved", {"array": ["u8", 5]}),
                    ("maxRatedPowerW", "u64"),
                    ("maxBaselineAgeS", "i64"),
                ),
            },
        },
        {
            "name": "Meter",
            "type": {
                "kind": "struct",
                "fields": _fields(
                    ("owner", "publicKey"),
                    ("lfdi", LFDI),
                    ("bump", "u8"),
                    ("reserved", {"array": ["u8", 3]}),
                    ("ratedPowerW", "u64"),
                    ("importWh", "u64"),
                    ("exportWh", "u64"),
                    ("lastReadingTs", "i64"),
                    ("snapshotEpoch", "i64"),
                    ("snapshotImportWh", "u64"),
                    ("snapshotExportWh", "u64"),
                    ("settledImportWh", "u64"),
                    ("settledExportWh", "u64"),
                    ("lastClearedEpoch", "i64"),
                    ("mintedWh", "u64"),
                    ("readingsAccepted", "u64"),
                    ("readingsDuplicate", "u64"),
                    ("readingsRejected", "u64"),
                    ("registeredAt", "i64"),
                    ("baselineTs", "i64"),
                    ("baselineImportWh", "u64"),
                    ("baselineExportWh", "u64"),
                    ("settlements", "u64"),
                    ("lastImportDeltaWh", "u64"),
                    ("lastExportDeltaWh", "u64"),
                    ("lastMintedWh", "u64"),
                    ("withheldWh", "u64"),
                ),
            },
        },
    ]


def _types() -> list[Json]:
    return [
        {
            "name": "Reading",
            "type": {
                "kind": "struct",
                "fields": _fields(
                    ("meterIndex", "u8"),
                    ("timestamp", "i64"),
                    ("importWh", "u64"),
                    ("exportWh", "u64"),
                ),
            },
        }
    ]


def _event(name: str, *pairs: tuple[str, Any]) -> Json:
    return {"name": name, "fields": [{"name": n, "type": t, "index": False} for n, t in pairs]}


def _events() -> list[Json]:
    return [
        _event(
            "MeterRegistered",
            ("meter", "publicKey"),
            ("lfdi", LFDI),
            ("owner", "publicKey"),
            ("ratedPowerW", "u64"),
        ),
        _event(
            "ReadingsSubmitted",
            ("batch", "u64"),
            ("unixTimestamp", "i64"),
            ("accepted", "u32"),
            ("duplicates", "u32"),
            ("rejected", "u32"),
            ("merkleRoot", {"array": ["u8", 32]}),
            ("statuses", "bytes"),
        ),
        _event(
            "ReadingRejected",
            ("batch", "u64"),
            ("index", "u16"),
            ("lfdi", LFDI),
            ("timestamp", "i64"),
            ("importWh", "u64"),
            ("exportWh", "u64"),
            ("reason", "u8"),
        ),
        _event(
            "MeterSettled",
            ("epoch", "u64"),
            ("lfdi", LFDI),
            ("owner", "publicKey"),
            ("importWh", "u64"),
            ("exportWh", "u64"),
            ("importDeltaWh", "u64"),
            ("exportDeltaWh", "u64"),
            ("mintedWh", "u64"),
            ("withheldWh", "u64"),
        ),
        _event(
            "EpochCleared",
            ("epoch", "u64"),
            ("settled", "u32"),
            ("skipped", "u32"),
            ("mintedWh", "u64"),
            ("statuses", "bytes"),
        ),
    ]


def _errors() -> list[Json]:
    return [
        {"code": int(e), "name": _pascal(e.name), "msg": ERROR_MESSAGES[e]} for e in OracleError
    ]


def build_idl() -> Json:
    """The IDL as a JSON-ready dict."""
    return {
        "version": IDL_VERSION,
        "name": "oracle",
        "docs": [
            "gridmirror's Oracle: checks 2030.5 meter readings, keeps each meter's "
            "registers, clears every epoch and mints the energy token (1 unit = 1 Wh)."
        ],
        "instructions": _instructions(),
        "accounts": _accounts(),
        "types": _types(),
        "events": _events(),
        "errors": _errors(),
        "metadata": {"address": str(PROGRAM_ID)},
    }


def idl_json() -> str:
    """The IDL file's exact text (stable: the same input always gives the same bytes)."""
    return json.dumps(build_idl(), indent=2) + "\n"


def snake(name: str) -> str:
    """camelCase -> snake_case, as anchorpy names IDL items in Python."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
