"""The Oracle program's Anchor IDL, in both of Anchor's formats.

``anchor/target/idl/oracle.json`` is the current format (Anchor 0.30 and later, IDL spec
0.1.0), the one ``@coral-xyz/anchor`` 0.30+ loads: a top-level ``address``,
``metadata.spec``, snake_case names as in Rust, the discriminators written out, account
and event layouts under ``types``, fixed addresses and PDAs resolvable by clients.

``anchor/target/idl/oracle.legacy.json`` is the legacy (pre-0.30) format, which anchorpy
0.21 (anchorpy-core 0.2) and ``@coral-xyz/anchor`` 0.29 read: camelCase names,
``isMut``/``isSigner``, ``metadata.address``. It is written first (:func:`build_legacy_idl`)
and the current one is derived from it (:func:`build_idl`), so the two cannot drift apart.
"""

from __future__ import annotations

import json
import re
from typing import Any

from anchor.abi import (
    BPF_LOADER_UPGRADEABLE_ID,
    ERROR_MESSAGES,
    LFDI_SIZE,
    PROGRAM_ID,
    SYSTEM_PROGRAM_ID,
    TOKEN_PROGRAM_ID,
    OracleError,
    account_discriminator,
    event_discriminator,
    instruction_discriminator,
)

IDL_VERSION = "0.1.0"
IDL_SPEC = "0.1.0"  # the IDL format of Anchor 0.30+

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


def build_legacy_idl() -> Json:
    """The legacy (pre-0.30) IDL as a JSON-ready dict."""
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


# -- the current (0.30+) format, derived from the legacy one -----------------------------

# Accounts whose address is fixed, so Anchor 0.30+ clients fill them in themselves.
FIXED_ADDRESSES: dict[str, str] = {
    "systemProgram": str(SYSTEM_PROGRAM_ID),
    "tokenProgram": str(TOKEN_PROGRAM_ID),
    "program": str(PROGRAM_ID),
}
# The ProgramData account: seeds [program id] under the upgradeable loader.
PROGRAM_DATA_PDA: Json = {
    "seeds": [{"kind": "const", "value": list(bytes(PROGRAM_ID))}],
    "program": {"kind": "const", "value": list(bytes(BPF_LOADER_UPGRADEABLE_ID))},
}


def _new_type(ty: Any) -> Any:
    """A legacy type in the 0.30 spelling: pubkey, {defined: {name}}."""
    if ty == "publicKey":
        return "pubkey"
    if isinstance(ty, str):
        return ty
    if "defined" in ty:
        return {"defined": {"name": ty["defined"]}}
    if "vec" in ty:
        return {"vec": _new_type(ty["vec"])}
    if "option" in ty:
        return {"option": _new_type(ty["option"])}
    if "array" in ty:
        inner, size = ty["array"]
        return {"array": [_new_type(inner), size]}
    raise ValueError(f"no 0.30 form for IDL type {ty!r}")


def _new_fields(fields: list[Json]) -> list[Json]:
    return [{"name": snake(f["name"]), "type": _new_type(f["type"])} for f in fields]


def _new_seed(seed: Json) -> Json:
    if seed["kind"] == "const":
        return {"kind": "const", "value": list(seed["value"].encode())}
    return {"kind": "arg", "path": snake(seed["path"])}


def _new_account(account: Json) -> Json:
    out: Json = {"name": snake(account["name"])}
    if "docs" in account:
        out["docs"] = account["docs"]
    if account["isMut"]:
        out["writable"] = True
    if account["isSigner"]:
        out["signer"] = True
    if account["name"] in FIXED_ADDRESSES:
        out["address"] = FIXED_ADDRESSES[account["name"]]
    elif account["name"] == "programData":
        out["pda"] = PROGRAM_DATA_PDA
    elif "pda" in account:
        out["pda"] = {"seeds": [_new_seed(s) for s in account["pda"]["seeds"]]}
    return out


def _new_instruction(ix: Json) -> Json:
    name = snake(ix["name"])
    return {
        "name": name,
        "docs": ix["docs"],
        "discriminator": list(instruction_discriminator(name)),
        "accounts": [_new_account(a) for a in ix["accounts"]],
        "args": _new_fields(ix["args"]),
    }


def _struct(name: str, fields: list[Json]) -> Json:
    return {"name": name, "type": {"kind": "struct", "fields": _new_fields(fields)}}


def build_idl() -> Json:
    """The current (Anchor 0.30+, spec 0.1.0) IDL as a JSON-ready dict."""
    legacy = build_legacy_idl()
    types = [_struct(a["name"], a["type"]["fields"]) for a in legacy["accounts"]]
    types += [_struct(e["name"], e["fields"]) for e in legacy["events"]]
    types += [_struct(t["name"], t["type"]["fields"]) for t in legacy["types"]]
    return {
        "address": legacy["metadata"]["address"],
        "metadata": {
            "name": legacy["name"],
            "version": legacy["version"],
            "spec": IDL_SPEC,
            "description": legacy["docs"][0],
        },
        "docs": legacy["docs"],
        "instructions": [_new_instruction(ix) for ix in legacy["instructions"]],
        "accounts": [
            {"name": a["name"], "discriminator": list(account_discriminator(a["name"]))}
            for a in legacy["accounts"]
        ],
        "events": [
            {"name": e["name"], "discriminator": list(event_discriminator(e["name"]))}
            for e in legacy["events"]
        ],
        "errors": legacy["errors"],
        "types": types,
    }


def _text(doc: Json) -> str:
    return json.dumps(doc, indent=2) + "\n"


def idl_json() -> str:
    """The current IDL file's exact text (the same input always gives the same bytes)."""
    return _text(build_idl())


def legacy_idl_json() -> str:
    """The legacy IDL file's exact text."""
    return _text(build_legacy_idl())


def snake(name: str) -> str:
    """camelCase -> snake_case, as anchorpy names IDL items in Python."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
