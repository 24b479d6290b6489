"""The Oracle program as its IDL describes it: instructions, accounts and events.

Built with anchorpy's coder from ``anchor/target/idl/oracle.legacy.json`` (the format
anchorpy reads; the 0.30+ ``oracle.json`` is derived from the same source), so the bridge
speaks whatever the IDL says the program takes: instruction data is encoded by the IDL's
argument types, accounts are ordered and flagged (signer, writable) by the IDL's account
lists, and accounts and events are decoded by the IDL's layouts. Results come back as
the typed values of ``anchor.accounts`` and ``anchor.events`` (the pure decoders there
are tested to agree with this client).
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any

from anchorpy.coder.coder import Coder
from anchorpy.program.common import Event as AnchorpyEvent
from anchorpy.program.event import EventParser
from anchorpy_core.idl import Idl, IdlAccount, IdlTypeDefinitionTyStruct
from pyheck import snake
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from anchor import artifacts
from anchor.abi import (
    PROGRAM_ID,
    SYSTEM_PROGRAM_ID,
    TOKEN_PROGRAM_ID,
    OracleError,
    ReadingStatus,
    SettlementStatus,
)
from anchor.accounts import ConfigAccount, MeterAccount
from anchor.events import (
    EpochCleared,
    Event,
    MeterRegistered,
    MeterSettled,
    ReadingRejected,
    ReadingsSubmitted,
)
from anchor.instructions import Limits, Reading
from anchor.pda import config_address, meter_address, mint_authority_address

_EVENT_TYPES: dict[str, type[Any]] = {
    "MeterRegistered": MeterRegistered,
    "ReadingsSubmitted": ReadingsSubmitted,
    "ReadingRejected": ReadingRejected,
    "MeterSettled": MeterSettled,
    "EpochCleared": EpochCleared,
}


# borsh's fixed-size integers as struct codes (little-endian throughout)
_FIXED = {
    "u8": "B",
    "i8": "b",
    "u16": "H",
    "i16": "h",
    "u32": "I",
    "i32": "i",
    "u64": "Q",
    "i64": "q",
}
_READING_FIELDS = ("meter_index", "timestamp", "import_wh", "export_wh")


def _struct_of(idl: Idl, name: str) -> struct.Struct | None:
    """A struct.Struct for an IDL struct type of fixed-size integers named like Reading's
    fields, in order; None when the IDL says anything else (anchorpy encodes it then)."""
    for typedef in idl.types:
        if typedef.name != name or not isinstance(typedef.ty, IdlTypeDefinitionTyStruct):
            continue
        fields = typedef.ty.fields
        if tuple(snake(f.name) for f in fields) != _READING_FIELDS:
            return None
        codes = []
        for f in fields:
            code = _FIXED.get(str(f.ty).rsplit(".", 1)[-1].lower())
            if code is None:
                return None
            codes.append(code)
        return struct.Struct("<" + "".join(codes))
    return None


def _reading_dict(r: Reading) -> dict[str, int]:
    return {
        "meter_index": r.meter_index,
        "timestamp": r.timestamp,
        "import_wh": r.import_wh,
        "export_wh": r.export_wh,
    }


class ProgramError(ValueError):
    """An instruction the IDL does not allow, or data that does not decode."""


def error_name(code: int | None) -> str | None:
    """The IDL's name for a custom error code (``WrongAccountOwner``), if it is one."""
    if code is None:
        return None
    try:
        return OracleError(code).name.title().replace("_", "")
    except ValueError:
        return None


class OracleProgram:
    """An IDL-driven client of the Oracle program at ``program_id``."""

    def __init__(self, program_id: Pubkey = PROGRAM_ID, idl: Idl | None = None) -> None:
        self.program_id = program_id
        legacy = artifacts.LEGACY_IDL_PATH
        self.idl = idl if idl is not None else Idl.from_json(legacy.read_text())
        self.coder = Coder(self.idl)
        self._accounts: dict[str, list[IdlAccount]] = {}
        for ix in self.idl.instructions:
            flat = []
            for item in ix.accounts:
                if not isinstance(item, IdlAccount):
                    raise ProgramError(f"{ix.name}: nested account groups are not supported")
                flat.append(item)
            self._accounts[snake(ix.name)] = flat
        self._events = EventParser(program_id, self.coder)
        self._reading = _struct_of(self.idl, "Reading")
        self._submit = self.coder.instruction.sighashes["submit_readings"]

    # ------------------------------------------------------------------ addresses

    @cached_property
    def config(self) -> Pubkey:
        """The Config PDA."""
        return config_address(self.program_id)[0]

    @cached_property
    def mint_authority(self) -> Pubkey:
        """The PDA that signs every mint."""
        return mint_authority_address(self.program_id)[0]

    def meter(self, lfdi: bytes) -> Pubkey:
        """The Meter PDA of a 20-byte LFDI."""
        return meter_address(lfdi, self.program_id)[0]

    # ------------------------------------------------------------------ instructions

    def instruction(
        self,
        name: str,
        args: Mapping[str, Any],
        accounts: Mapping[str, Pubkey],
        remaining: Sequence[AccountMeta] = (),
    ) -> Instruction:
        """Any instruction by its snake_case name: IDL-encoded args, IDL-ordered accounts."""
        try:
            idl_accounts = self._accounts[name]
        except KeyError:
            raise ProgramError(f"the IDL has no instruction {name!r}") from None
        metas = []
        for account in idl_accounts:
            key = snake(account.name)
            if key not in accounts:
                raise ProgramError(f"{name}: account {key!r} is missing")
            metas.append(AccountMeta(accounts[key], account.is_signer, account.is_mut))
        unknown = set(accounts) - {snake(a.name) for a in idl_accounts}
        if unknown:
            raise ProgramError(f"{name}: the IDL names no account {sorted(unknown)}")
        data = self.coder.instruction.encode(name, dict(args))
        return Instruction(self.program_id, data, [*metas, *remaining])

    def initialize(
        self,
        admin: Pubkey,
        mint: Pubkey,
        gateway: Pubkey,
        clearing_interval_s: int,
        limits: Limits,
        program_data: Pubkey,
    ) -> Instruction:
        """Create the Config (the admin must be the program's upgrade authority)."""
        return self.instruction(
            "initialize",
            {
                "gateway": gateway,
                "clearing_interval_s": clearing_interval_s,
                "max_future_skew_s": limits.max_future_skew_s,
                "max_rated_power_w": limits.max_rated_power_w,
                "max_baseline_age_s": limits.max_baseline_age_s,
            },
            {
                "admin": admin,
                "config": self.config,
                "mint": mint,
                "mint_authority": self.mint_authority,
                "system_program": SYSTEM_PROGRAM_ID,
                "program": self.program_id,
                "program_data": program_data,
            },
        )

    def update_limits(self, admin: Pubkey, limits: Limits) -> Instruction:
        """Change the admin's limits (future skew, gateway's rating limit, baseline age)."""
        return self.instruction(
            "update_limits",
            {
                "max_future_skew_s": limits.max_future_skew_s,
                "max_rated_power_w": limits.max_rated_power_w,
                "max_baseline_age_s": limits.max_baseline_age_s,
            },
            {"admin": admin, "config": self.config},
        )

    def register_meter(
        self, authority: Pubkey, payer: Pubkey, lfdi: bytes, owner: Pubkey, rated_power_w: int
    ) -> Instruction:
        """Create a meter's account (authority: the admin or the gateway)."""
        return self.instruction(
            "register_meter",
            {"lfdi": list(lfdi), "owner": owner, "rated_power_w": rated_power_w},
            {
                "authority": authority,
                "payer": payer,
                "config": self.config,
                "meter": self.meter(lfdi),
                "system_program": SYSTEM_PROGRAM_ID,
            },
        )

    def submit_readings(
        self, gateway: Pubkey, meters: Sequence[Pubkey], readings: Sequence[Reading]
    ) -> Instruction:
        """A batch of readings; each names its meter by index into ``meters``.

        The hot path of the worker: when the IDL's Reading is a struct of fixed-size
        integers, its borsh layout is packed directly (tested equal to anchorpy's coder,
        which is far slower); otherwise anchorpy encodes it.
        """
        accounts = {"gateway": gateway, "config": self.config}
        remaining = [AccountMeta(m, False, True) for m in meters]
        if self._reading is None:
            args = {"readings": [_reading_dict(r) for r in readings]}
            return self.instruction("submit_readings", args, accounts, remaining)
        data = self._submit + struct.pack("<I", len(readings))
        data += b"".join(
            self._reading.pack(r.meter_index, r.timestamp, r.import_wh, r.export_wh)
            for r in readings
        )
        metas = [
            AccountMeta(accounts[snake(a.name)], a.is_signer, a.is_mut)
            for a in self._accounts["submit_readings"]
        ]
        return Instruction(self.program_id, data, [*metas, *remaining])

    def clear_epoch(
        self, epoch: int, mint: Pubkey, pairs: Sequence[tuple[Pubkey, Pubkey]]
    ) -> Instruction:
        """Settle an ended epoch for (meter, owner's token account) pairs."""
        return self.instruction(
            "clear_epoch",
            {"epoch": epoch},
            {
                "config": self.config,
                "mint": mint,
                "mint_authority": self.mint_authority,
                "token_program": TOKEN_PROGRAM_ID,
            },
            [AccountMeta(k, False, True) for pair in pairs for k in pair],
        )

    # ------------------------------------------------------------------ accounts

    def _decode(self, name: str, data: bytes) -> Any:
        try:
            decoded = self.coder.accounts.parse(bytes(data))
        except Exception as exc:  # construct raises a family of its own errors
            raise ProgramError(f"not a {name} account: {exc}") from None
        if decoded.name != name:
            raise ProgramError(f"not a {name} account but a {decoded.name}")
        return decoded.data

    def decode_config(self, data: bytes) -> ConfigAccount:
        """The Config account's fields."""
        d = self._decode("Config", data)
        return ConfigAccount(
            admin=d.admin,
            gateway=d.gateway,
            mint=d.mint,
            clearing_interval_s=d.clearing_interval_s,
            max_future_skew_s=d.max_future_skew_s,
            readings_accepted=d.readings_accepted,
            readings_duplicate=d.readings_duplicate,
            readings_rejected=d.readings_rejected,
            batches=d.batches,
            meters_registered=d.meters_registered,
            minted_wh=d.minted_wh,
            active=bool(d.active),
            bump=d.bump,
            mint_authority_bump=d.mint_authority_bump,
            max_rated_power_w=d.max_rated_power_w,
            max_baseline_age_s=d.max_baseline_age_s,
        )

    def decode_meter(self, data: bytes) -> MeterAccount:
        """A Meter account's fields."""
        d = self._decode("Meter", data)
        values = {f.name: getattr(d, f.name) for f in dataclasses.fields(MeterAccount)}
        values["lfdi"] = bytes(values["lfdi"])
        return MeterAccount(**values)

    # ------------------------------------------------------------------ events

    def events(self, logs: Sequence[str]) -> list[Event]:
        """The program's events in a transaction's logs, in order."""
        found: list[AnchorpyEvent] = []
        if not logs:  # anchorpy's parser expects the first line to be an invocation
            return []
        self._events.parse_logs(list(logs), found.append)
        return [self._typed(e) for e in found]

    @staticmethod
    def _typed(event: AnchorpyEvent) -> Event:
        cls = _EVENT_TYPES[event.name]
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            value = getattr(event.data, f.name)
            if f.name in ("lfdi", "merkle_root"):
                value = bytes(value)
            elif f.name == "statuses":
                kind = ReadingStatus if cls is ReadingsSubmitted else SettlementStatus
                value = tuple(kind(s) for s in bytes(value))
            elif f.name == "reason":
                value = ReadingStatus(value)
            values[f.name] = value
        event_value: Event = cls(**values)
        return event_value
