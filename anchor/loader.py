"""The BPF upgradeable loader's account states, as a deployment leaves them (pure).

A program deployed through the upgradeable loader (InitializeBuffer, Write,
DeployWithMaxDataLen) is two accounts: the Program account, executable, naming its
ProgramData account; and the ProgramData account, holding the slot of the last
deployment, the upgrade authority (or none: frozen) and the ELF. ``initialize`` reads the
authority from there. LiteSVM in solders 0.26 cannot run the loader's deployment
instructions, so the embedded chain and the testbed write these states themselves.
"""

from __future__ import annotations

import struct

from solders.pubkey import Pubkey

from anchor.pda import program_data_address

STATE_PROGRAM = 2
STATE_PROGRAM_DATA = 3
PROGRAM_SIZE = 36  # u32 state, programdata address
PROGRAM_DATA_HEADER = 45  # u32 state, u64 slot, Option<Pubkey> authority (1 + 32)


class LoaderStateError(ValueError):
    """The bytes are not the loader state asked for."""


def program_state(program_id: Pubkey) -> bytes:
    """The Program account's data: it names the ProgramData account."""
    return struct.pack("<I", STATE_PROGRAM) + bytes(program_data_address(program_id))


def program_data_state(elf: bytes, authority: Pubkey | None, slot: int = 0) -> bytes:
    """The ProgramData account's data: slot, upgrade authority, then the ELF."""
    header = struct.pack("<IQ", STATE_PROGRAM_DATA, slot)
    header += b"\x00" + bytes(32) if authority is None else b"\x01" + bytes(authority)
    return header + elf


def upgrade_authority(program_data: bytes) -> Pubkey | None:
    """The upgrade authority a ProgramData account records (None: the program is frozen)."""
    if len(program_data) < PROGRAM_DATA_HEADER:
        raise LoaderStateError(f"ProgramData: {len(program_data)} bytes")
    (state,) = struct.unpack_from("<I", program_data, 0)
    if state != STATE_PROGRAM_DATA:
        raise LoaderStateError(f"not a ProgramData account (state {state})")
    if program_data[12] == 0:
        return None
    return Pubkey.from_bytes(program_data[13:45])


def program_elf(program_data: bytes) -> bytes:
    """The ELF a ProgramData account holds (any padding after it included)."""
    upgrade_authority(program_data)  # checks the state
    return program_data[PROGRAM_DATA_HEADER:]
