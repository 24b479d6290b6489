"""Instruction builders for the Oracle program (pure: bytes and solders objects, no IO).

Each builder returns a ``solders.instruction.Instruction`` with the accounts in the
order the program expects (the IDL's order); ``*_data`` functions give just the
instruction data. anchorpy's coder built from the IDL produces the same bytes
(tests/anchor/test_idl.py).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from anchor.abi import (
    DEFAULT_CLEARING_INTERVAL_S,
    DEFAULT_MAX_BASELINE_AGE_S,
    DEFAULT_MAX_FUTURE_SKEW_S,
    DEFAULT_MAX_RATED_POWER_W,
    LFDI_SIZE,
    MAX_READINGS,
    PROGRAM_ID,
    SYSTEM_PROGRAM_ID,
    TOKEN_PROGRAM_ID,
    instruction_discriminator,
)
from anchor.pda import (
    config_address,
    meter_address,
    mint_authority_address,
    program_data_address,
)


@dataclass(frozen=True)
class Reading:
    """One reading of a batch: registers (Wh) of the meter at remaining account meter_index."""

    meter_index: int
    timestamp: int
    import_wh: int
    export_wh: int

    def encode(self) -> bytes:
        """The reading's 25 borsh bytes."""
        return struct.pack(
            "<BqQQ", self.meter_index, self.timestamp, self.import_wh, self.export_wh
        )


@dataclass(frozen=True)
class MeterReading:
    """A reading named by its meter's LFDI, before it is placed in a batch."""

    lfdi: bytes
    timestamp: int
    import_wh: int
    export_wh: int


def _ro(key: Pubkey) -> AccountMeta:
    return AccountMeta(key, is_signer=False, is_writable=False)


def _rw(key: Pubkey) -> AccountMeta:
    return AccountMeta(key, is_signer=False, is_writable=True)


def _signer(key: Pubkey, writable: bool = False) -> AccountMeta:
    return AccountMeta(key, is_signer=True, is_writable=writable)


def _lfdi(lfdi: bytes) -> bytes:
    if len(lfdi) != LFDI_SIZE:
        raise ValueError(f"an LFDI is {LFDI_SIZE} bytes, got {len(lfdi)}")
    return bytes(lfdi)


# ----------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Limits:
    """What the admin bounds the gateway's key by (initialize, update_limits)."""

    max_future_skew_s: int = DEFAULT_MAX_FUTURE_SKEW_S
    max_rated_power_w: int = DEFAULT_MAX_RATED_POWER_W
    max_baseline_age_s: int = DEFAULT_MAX_BASELINE_AGE_S

    def encode(self) -> bytes:
        """The three limits' 24 borsh bytes."""
        return struct.pack(
            "<qQq", self.max_future_skew_s, self.max_rated_power_w, self.max_baseline_age_s
        )


def initialize_data(gateway: Pubkey, clearing_interval_s: int, limits: Limits) -> bytes:
    """initialize(gateway, clearing_interval_s, max_future_skew_s, max_rated_power_w,
    max_baseline_age_s)."""
    return (
        instruction_discriminator("initialize")
        + bytes(gateway)
        + struct.pack("<q", clearing_interval_s)
        + limits.encode()
    )


def register_meter_data(lfdi: bytes, owner: Pubkey, rated_power_w: int) -> bytes:
    """register_meter(lfdi, owner, rated_power_w)."""
    return (
        instruction_discriminator("register_meter")
        + _lfdi(lfdi)
        + bytes(owner)
        + struct.pack("<Q", rated_power_w)
    )


def set_active_data(active: bool) -> bytes:
    """set_active(active)."""
    return instruction_discriminator("set_active") + bytes([1 if active else 0])


def set_gateway_data(gateway: Pubkey) -> bytes:
    """set_gateway(gateway)."""
    return instruction_discriminator("set_gateway") + bytes(gateway)


def set_admin_data() -> bytes:
    """set_admin() (the new admin is an account, and signs)."""
    return instruction_discriminator("set_admin")


def update_limits_data(limits: Limits) -> bytes:
    """update_limits(max_future_skew_s, max_rated_power_w, max_baseline_age_s)."""
    return instruction_discriminator("update_limits") + limits.encode()


def submit_readings_data(readings: Sequence[Reading]) -> bytes:
    """submit_readings(readings: Vec<Reading>)."""
    return (
        instruction_discriminator("submit_readings")
        + struct.pack("<I", len(readings))
        + b"".join(r.encode() for r in readings)
    )


def clear_epoch_data(epoch: int) -> bytes:
    """clear_epoch(epoch)."""
    return instruction_discriminator("clear_epoch") + struct.pack("<Q", epoch)


# ----------------------------------------------------------------------------- instructions


def initialize(
    admin: Pubkey,
    mint: Pubkey,
    gateway: Pubkey,
    clearing_interval_s: int = DEFAULT_CLEARING_INTERVAL_S,
    limits: Limits | None = None,
    program_id: Pubkey = PROGRAM_ID,
    program_data: Pubkey | None = None,
) -> Instruction:
    """Create the Config; the admin signs, pays, and must be the program's upgrade authority.

    The mint must exist with the mint-authority PDA as its authority. ``program_data`` is
    the program's ProgramData account (derived by default), which names that authority.
    """
    return Instruction(
        program_id,
        initialize_data(gateway, clearing_interval_s, limits or Limits()),
        [
            _signer(admin, writable=True),
            _rw(config_address(program_id)[0]),
            _ro(mint),
            _ro(mint_authority_address(program_id)[0]),
            _ro(SYSTEM_PROGRAM_ID),
            _ro(program_id),
            _ro(program_data if program_data is not None else program_data_address(program_id)),
        ],
    )


def register_meter(
    authority: Pubkey,
    payer: Pubkey,
    lfdi: bytes,
    owner: Pubkey,
    rated_power_w: int,
    program_id: Pubkey = PROGRAM_ID,
) -> Instruction:
    """Create the Meter of an LFDI (authority: the admin or the gateway)."""
    return Instruction(
        program_id,
        register_meter_data(lfdi, owner, rated_power_w),
        [
            _signer(authority),
            _signer(payer, writable=True),
            _rw(config_address(program_id)[0]),
            _rw(meter_address(lfdi, program_id)[0]),
            _ro(SYSTEM_PROGRAM_ID),
        ],
    )


def _admin_accounts(admin: Pubkey, program_id: Pubkey) -> list[AccountMeta]:
    return [_signer(admin), _rw(config_address(program_id)[0])]


def set_active(admin: Pubkey, active: bool, program_id: Pubkey = PROGRAM_ID) -> Instruction:
    """Pause or resume the oracle."""
    return Instruction(program_id, set_active_data(active), _admin_accounts(admin, program_id))


def set_gateway(admin: Pubkey, gateway: Pubkey, program_id: Pubkey = PROGRAM_ID) -> Instruction:
    """Replace the gateway's key."""
    return Instruction(program_id, set_gateway_data(gateway), _admin_accounts(admin, program_id))


def set_admin(admin: Pubkey, new_admin: Pubkey, program_id: Pubkey = PROGRAM_ID) -> Instruction:
    """Hand the admin role over; both sign."""
    return Instruction(
        program_id, set_admin_data(), [*_admin_accounts(admin, program_id), _signer(new_admin)]
    )


def update_limits(admin: Pubkey, limits: Limits, program_id: Pubkey = PROGRAM_ID) -> Instruction:
    """Change the future skew, the gateway's rating limit and the baseline age."""
    return Instruction(program_id, update_limits_data(limits), _admin_accounts(admin, program_id))


def submit_readings(
    gateway: Pubkey,
    meters: Sequence[Pubkey],
    readings: Sequence[Reading],
    program_id: Pubkey = PROGRAM_ID,
) -> Instruction:
    """A batch: readings index into meters, which follow as writable remaining accounts."""
    return Instruction(
        program_id,
        submit_readings_data(readings),
        [_signer(gateway), _rw(config_address(program_id)[0]), *(_rw(m) for m in meters)],
    )


def batch_readings(
    items: Iterable[MeterReading], program_id: Pubkey = PROGRAM_ID
) -> tuple[list[Pubkey], list[Reading]]:
    """Place LFDI-named readings in a batch: the distinct meter accounts and the readings."""
    meters: list[Pubkey] = []
    index: dict[bytes, int] = {}
    readings: list[Reading] = []
    for item in items:
        lfdi = _lfdi(item.lfdi)
        if lfdi not in index:
            index[lfdi] = len(meters)
            meters.append(meter_address(lfdi, program_id)[0])
        readings.append(Reading(index[lfdi], item.timestamp, item.import_wh, item.export_wh))
    if len(meters) > 256 or len(readings) > MAX_READINGS:
        raise ValueError(f"a batch takes at most 256 meters and {MAX_READINGS} readings")
    return meters, readings


def clear_epoch(
    epoch: int,
    mint: Pubkey,
    settlements: Sequence[tuple[Pubkey, Pubkey]],
    program_id: Pubkey = PROGRAM_ID,
) -> Instruction:
    """Settle an ended epoch for (meter, owner's token account) pairs; anyone may send it."""
    pairs = [meta for meter, token in settlements for meta in (_rw(meter), _rw(token))]
    return Instruction(
        program_id,
        clear_epoch_data(epoch),
        [
            _rw(config_address(program_id)[0]),
            _rw(mint),
            _ro(mint_authority_address(program_id)[0]),
            _ro(TOKEN_PROGRAM_ID),
            *pairs,
        ],
    )
