"""The Oracle program's ABI in Python: its address, discriminators, errors and status codes.

The C source declares the same facts in ``programs/oracle/src/oracle.h``;
:func:`header_problems` compares the two, and the build refuses to run while they differ.
"""

from __future__ import annotations

import hashlib
import re
from enum import IntEnum

from solders.pubkey import Pubkey

# The program's address: the public key of anchor/target/deploy/oracle-keypair.json
# (Anchor's workspace convention). The program itself never embeds it; only the IDL and
# the clients do. See docs/chain-abi.md for how it was made and how to deploy elsewhere.
PROGRAM_ID = Pubkey.from_string("FQpLNvbsz36vgtGQs6Wt1oPYntG9EwW3ibh7L1kb5caQ")

TOKEN_PROGRAM_ID = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
SYSTEM_PROGRAM_ID = Pubkey.from_string("11111111111111111111111111111111")
BPF_LOADER_UPGRADEABLE_ID = Pubkey.from_string("BPFLoaderUpgradeab1e11111111111111111111111")

# Account sizes (discriminator included) and the fixed sizes of the encodings.
CONFIG_SIZE = 192
METER_SIZE = 248
LFDI_SIZE = 20
READING_SIZE = 25
MAX_READINGS = 256
MAX_ACCOUNTS = 128
ENERGY_DECIMALS = 3  # 1 base unit of the energy token = 1 Wh
DEFAULT_CLEARING_INTERVAL_S = 900
DEFAULT_MAX_FUTURE_SKEW_S = 60
MAX_CLEARING_INTERVAL_S = 86_400
MAX_FUTURE_SKEW_S = 86_400
DEFAULT_MAX_RATED_POWER_W = 1_000_000  # 1 MW: the most the gateway may rate a meter
MAX_RATED_POWER_W = 10_000_000_000
DEFAULT_MAX_BASELINE_AGE_S = 900  # a first reading at most one epoch behind the clock
MAX_BASELINE_AGE_S = 2_592_000  # 30 days
NO_EPOCH = -1

SEED_CONFIG = b"config"
SEED_METER = b"meter"
SEED_MINT_AUTHORITY = b"mint_authority"

INSTRUCTIONS = (
    "initialize",
    "register_meter",
    "set_active",
    "set_gateway",
    "set_admin",
    "update_limits",
    "submit_readings",
    "clear_epoch",
)
ACCOUNTS = ("Config", "Meter")
EVENTS = ("MeterRegistered", "ReadingsSubmitted", "ReadingRejected", "MeterSettled", "EpochCleared")


def _sha8(preimage: str) -> bytes:
    return hashlib.sha256(preimage.encode()).digest()[:8]


def instruction_discriminator(name: str) -> bytes:
    """sha256("global:<snake_case name>")[:8], Anchor's instruction discriminator."""
    return _sha8(f"global:{name}")


def account_discriminator(name: str) -> bytes:
    """sha256("account:<Name>")[:8], Anchor's account discriminator."""
    return _sha8(f"account:{name}")


def event_discriminator(name: str) -> bytes:
    """sha256("event:<Name>")[:8], Anchor's event discriminator."""
    return _sha8(f"event:{name}")


class OracleError(IntEnum):
    """The program's custom errors: the transaction fails with InstructionError::Custom(n)."""

    INVALID_INSTRUCTION = 6000
    INVALID_INSTRUCTION_DATA = 6001
    NOT_ENOUGH_ACCOUNTS = 6002
    TOO_MANY_ACCOUNTS = 6003
    MISSING_SIGNATURE = 6004
    ACCOUNT_NOT_WRITABLE = 6005
    WRONG_ACCOUNT_OWNER = 6006
    WRONG_ACCOUNT_TYPE = 6007
    WRONG_ADDRESS = 6008
    WRONG_PROGRAM = 6009
    UNAUTHORIZED = 6010
    ORACLE_INACTIVE = 6011
    INVALID_MINT = 6012
    WRONG_MINT = 6013
    WRONG_TOKEN_ACCOUNT = 6014
    ALREADY_INITIALIZED = 6015
    INVALID_LIMITS = 6016
    INVALID_RATED_POWER = 6017
    EMPTY_BATCH = 6018
    TOO_MANY_READINGS = 6019
    METER_INDEX_OUT_OF_RANGE = 6020
    EPOCH_NOT_ENDED = 6021
    ARITHMETIC_OVERFLOW = 6022
    SETTLEMENT_INVARIANT = 6023
    RATED_POWER_ABOVE_LIMIT = 6024

    @property
    def message(self) -> str:
        """What the error means, as the IDL says it."""
        return ERROR_MESSAGES[self]


ERROR_MESSAGES: dict[OracleError, str] = {
    OracleError.INVALID_INSTRUCTION: "Unknown instruction discriminator",
    OracleError.INVALID_INSTRUCTION_DATA: "Instruction data does not decode",
    OracleError.NOT_ENOUGH_ACCOUNTS: "Accounts missing (or clear_epoch pairs incomplete)",
    OracleError.TOO_MANY_ACCOUNTS: "More than 128 accounts",
    OracleError.MISSING_SIGNATURE: "An account that must sign did not",
    OracleError.ACCOUNT_NOT_WRITABLE: "An account that must be writable is not",
    OracleError.WRONG_ACCOUNT_OWNER: "Account owned by the wrong program",
    OracleError.WRONG_ACCOUNT_TYPE: "Account is not of the expected type",
    OracleError.WRONG_ADDRESS: "Account is not at its program-derived address",
    OracleError.WRONG_PROGRAM: "Wrong System or Token program",
    OracleError.UNAUTHORIZED: "Signer is not the admin or gateway this needs",
    OracleError.ORACLE_INACTIVE: "The oracle is paused",
    OracleError.INVALID_MINT: (
        "Mint needs 3 decimals, the PDA authority, no freeze authority, no supply"
    ),
    OracleError.WRONG_MINT: "Mint is not the oracle's energy mint",
    OracleError.WRONG_TOKEN_ACCOUNT: "Token account is not the meter owner's for the energy mint",
    OracleError.ALREADY_INITIALIZED: "Account already exists",
    OracleError.INVALID_LIMITS: "Clearing interval or future skew out of range",
    OracleError.INVALID_RATED_POWER: "Rated power must be positive",
    OracleError.EMPTY_BATCH: "A batch needs at least one reading",
    OracleError.TOO_MANY_READINGS: "More than 256 readings in a batch",
    OracleError.METER_INDEX_OUT_OF_RANGE: "Reading names a meter account that was not passed",
    OracleError.EPOCH_NOT_ENDED: "The epoch has not ended yet",
    OracleError.ARITHMETIC_OVERFLOW: "Arithmetic overflow",
    OracleError.SETTLEMENT_INVARIANT: "Registers below the settlement watermark",
    OracleError.RATED_POWER_ABOVE_LIMIT: (
        "Only the admin may register a meter above Config.maxRatedPowerW"
    ),
}


class ReadingStatus(IntEnum):
    """One byte per reading in ReadingsSubmitted.statuses; 2 and up are rejections."""

    ACCEPTED = 0
    DUPLICATE = 1
    FUTURE = 2
    REGISTER_DECREASED = 3
    EXCEEDS_RATED_POWER = 4
    BAD_TIMESTAMP = 5
    STALE_BASELINE = 6  # a first reading older than Config.maxBaselineAgeS


class SettlementStatus(IntEnum):
    """One byte per meter in EpochCleared.statuses."""

    SETTLED = 0
    ALREADY_CLEARED = 1
    NO_READINGS = 2
    PENDING = 3


# ----------------------------------------------------------------------------- the header

_DEFINE = re.compile(
    r"#define\s+(\w+)\s+0x([0-9a-fA-F]{16})ULL\s*/\*\s*sha256\(\"([^\"]+)\"\)\[:8\]\s*\*/"
)
_ENUM_ITEM = re.compile(r"^\s*(ERR|READING|SETTLEMENT)_(\w+)\s*=\s*(\d+),", re.M)
_SIZE_ASSERT = re.compile(r"_Static_assert\(sizeof\((\w+)\) == (\d+)")


def header_problems(header: str) -> list[str]:
    """Where oracle.h disagrees with this module (an empty list when they agree)."""
    problems: list[str] = []
    found: dict[str, bytes] = {}
    for _macro, hexvalue, preimage in _DEFINE.findall(header):
        value = int(hexvalue, 16).to_bytes(8, "little")
        if hashlib.sha256(preimage.encode()).digest()[:8] != value:
            problems.append(f"{preimage}: discriminator in oracle.h is not sha256(...)[:8]")
        found[preimage] = value
    wanted = (
        [f"global:{n}" for n in INSTRUCTIONS]
        + [f"account:{n}" for n in ACCOUNTS]
        + [f"event:{n}" for n in EVENTS]
    )
    problems += [f"oracle.h lacks the discriminator of {p}" for p in wanted if p not in found]
    problems += [f"oracle.h has an unknown discriminator {p}" for p in found if p not in wanted]

    enums: dict[str, dict[str, int]] = {"ERR": {}, "READING": {}, "SETTLEMENT": {}}
    for prefix, name, value in _ENUM_ITEM.findall(header):
        enums[prefix][name] = int(value)
    for prefix, python in (
        ("ERR", OracleError),
        ("READING", ReadingStatus),
        ("SETTLEMENT", SettlementStatus),
    ):
        if enums[prefix] != {m.name: int(m.value) for m in python}:
            problems.append(f"oracle.h's {prefix}_* codes differ from {python.__name__}")
    sizes = dict(_SIZE_ASSERT.findall(header))
    if sizes.get("Config") != str(CONFIG_SIZE) or sizes.get("Meter") != str(METER_SIZE):
        problems.append(f"oracle.h's account sizes {sizes} differ from CONFIG_SIZE/METER_SIZE")
    return problems
