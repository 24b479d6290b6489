"""Decoders of the Oracle's accounts (Config, Meter) from their raw data (pure)."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from solders.pubkey import Pubkey

from anchor.abi import CONFIG_SIZE, METER_SIZE, account_discriminator


class AccountDecodeError(ValueError):
    """The bytes are not an account of the expected type."""


def _body(data: bytes, name: str, size: int) -> bytes:
    if len(data) < size:
        raise AccountDecodeError(f"{name}: {len(data)} bytes, expected {size}")
    if data[:8] != account_discriminator(name):
        raise AccountDecodeError(f"not a {name} account (discriminator {data[:8].hex()})")
    return data[8:size]


@dataclass(frozen=True)
class ConfigAccount:
    """The oracle's Config (PDA ["config"])."""

    admin: Pubkey
    gateway: Pubkey
    mint: Pubkey
    clearing_interval_s: int
    max_future_skew_s: int
    readings_accepted: int
    readings_duplicate: int
    readings_rejected: int
    batches: int
    meters_registered: int
    minted_wh: int
    active: bool
    bump: int
    mint_authority_bump: int
    max_rated_power_w: int
    max_baseline_age_s: int

    @classmethod
    def decode(cls, data: bytes) -> ConfigAccount:
        """Decode the account's data (discriminator checked)."""
        b = _body(data, "Config", CONFIG_SIZE)
        interval, skew, accepted, duplicate, rejected, batches, meters, minted = struct.unpack_from(
            "<qq6Q", b, 96
        )
        active, bump, authority_bump = struct.unpack_from("<BBB", b, 160)
        max_rated, max_age = struct.unpack_from("<Qq", b, 168)
        return cls(
            admin=Pubkey.from_bytes(b[0:32]),
            gateway=Pubkey.from_bytes(b[32:64]),
            mint=Pubkey.from_bytes(b[64:96]),
            clearing_interval_s=interval,
            max_future_skew_s=skew,
            readings_accepted=accepted,
            readings_duplicate=duplicate,
            readings_rejected=rejected,
            batches=batches,
            meters_registered=meters,
            minted_wh=minted,
            active=active != 0,
            bump=bump,
            mint_authority_bump=authority_bump,
            max_rated_power_w=max_rated,
            max_baseline_age_s=max_age,
        )


@dataclass(frozen=True)
class MeterAccount:
    """A meter's on-chain state (PDA ["meter", lfdi])."""

    owner: Pubkey
    lfdi: bytes
    bump: int
    rated_power_w: int
    import_wh: int
    export_wh: int
    last_reading_ts: int  # 0: no reading yet
    snapshot_epoch: int  # -1: none
    snapshot_import_wh: int
    snapshot_export_wh: int
    settled_import_wh: int
    settled_export_wh: int
    last_cleared_epoch: int  # -1: never settled
    minted_wh: int
    readings_accepted: int
    readings_duplicate: int
    readings_rejected: int
    registered_at: int
    baseline_ts: int  # 0: no baseline yet; else the mint window opens here
    baseline_import_wh: int
    baseline_export_wh: int
    settlements: int
    last_import_delta_wh: int  # the last settlement, as its MeterSettled event said
    last_export_delta_wh: int
    last_minted_wh: int
    withheld_wh: int  # net export above the mint cap, never minted

    @classmethod
    def decode(cls, data: bytes) -> MeterAccount:
        """Decode the account's data (discriminator checked)."""
        b = _body(data, "Meter", METER_SIZE)
        return cls(
            Pubkey.from_bytes(b[0:32]),
            b[32:52],
            b[52],
            *struct.unpack_from("<QQQqqQQQQqQQQQqqQQQQQQQ", b, 56),
        )
