"""The Oracle's program-derived addresses: Config, Meter (per LFDI) and the mint authority."""

from __future__ import annotations

from solders.pubkey import Pubkey

from anchor.abi import (
    BPF_LOADER_UPGRADEABLE_ID,
    LFDI_SIZE,
    PROGRAM_ID,
    SEED_CONFIG,
    SEED_METER,
    SEED_MINT_AUTHORITY,
)


def config_address(program_id: Pubkey = PROGRAM_ID) -> tuple[Pubkey, int]:
    """The Config PDA ["config"] and its bump."""
    return Pubkey.find_program_address([SEED_CONFIG], program_id)


def mint_authority_address(program_id: Pubkey = PROGRAM_ID) -> tuple[Pubkey, int]:
    """The mint-authority PDA ["mint_authority"] and its bump."""
    return Pubkey.find_program_address([SEED_MINT_AUTHORITY], program_id)


def meter_address(lfdi: bytes, program_id: Pubkey = PROGRAM_ID) -> tuple[Pubkey, int]:
    """The Meter PDA ["meter", lfdi] of a 20-byte LFDI and its bump."""
    if len(lfdi) != LFDI_SIZE:
        raise ValueError(f"an LFDI is {LFDI_SIZE} bytes, got {len(lfdi)}")
    return Pubkey.find_program_address([SEED_METER, bytes(lfdi)], program_id)


def program_data_address(program_id: Pubkey = PROGRAM_ID) -> Pubkey:
    """The program's ProgramData account under the BPF upgradeable loader."""
    return Pubkey.find_program_address([bytes(program_id)], BPF_LOADER_UPGRADEABLE_ID)[0]
