"""An in-process chain with the Oracle deployed, for tests and benchmarks.

solders' LiteSVM runs the real program (the committed oracle.so, or any build) beside
the real SPL Token program. :class:`Testbed` sets up what a deployment needs (the energy
mint with the PDA as authority, the Config, meters, their owners' token accounts,
address lookup tables) and sends transactions, returning their logs, compute units,
custom error code and decoded events. It is not the gateway's chain backend (that is
oracle/chain); it exists so that tests and ``gridmirror bench chain`` drive the program
exactly as a client would, without a validator.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

from solders.account import Account
from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.clock import Clock
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message, MessageV0
from solders.pubkey import Pubkey
from solders.system_program import (
    CreateAccountParams,
    CreateLookupTableParams,
    ExtendLookupTableParams,
    create_account,
    create_lookup_table,
    extend_lookup_table,
)
from solders.transaction import Transaction, VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata, TransactionMetadata
from solders.transaction_status import InstructionErrorCustom, TransactionErrorInstructionError

from anchor import instructions as ix
from anchor.abi import (
    BPF_LOADER_UPGRADEABLE_ID,
    DEFAULT_CLEARING_INTERVAL_S,
    DEFAULT_MAX_BASELINE_AGE_S,
    DEFAULT_MAX_FUTURE_SKEW_S,
    DEFAULT_MAX_RATED_POWER_W,
    ENERGY_DECIMALS,
    PROGRAM_ID,
    TOKEN_PROGRAM_ID,
)
from anchor.accounts import ConfigAccount, MeterAccount
from anchor.artifacts import program_bytes
from anchor.events import Event, events_from_logs
from anchor.loader import program_data_state, program_state
from anchor.pda import config_address, meter_address, mint_authority_address, program_data_address

MINT_SIZE = 82
TOKEN_ACCOUNT_SIZE = 165
# A Monday 00:00 UTC: epochs of 900 s start on it.
GENESIS_TS = 1_700_438_400
LAMPORTS_PER_SOL = 1_000_000_000


@dataclass
class TxResult:
    """What a transaction did: success, the custom error code if any, logs, CU, events."""

    ok: bool
    error: object | None
    logs: list[str]
    compute_units: int
    events: list[Event] = field(default_factory=list)

    @property
    def custom_error(self) -> int | None:
        """The program's custom error code (InstructionError::Custom), if that is the error."""
        err = self.error
        if isinstance(err, TransactionErrorInstructionError):
            inner = err.err
            if isinstance(inner, InstructionErrorCustom):
                return int(inner.code)
        return None


def initialize_mint2_ix(
    mint: Pubkey, authority: Pubkey, decimals: int, freeze: Pubkey | None
) -> Instruction:
    """SPL Token InitializeMint2."""
    data = bytes([20, decimals]) + bytes(authority)
    data += b"\x00" if freeze is None else b"\x01" + bytes(freeze)
    return Instruction(TOKEN_PROGRAM_ID, data, [AccountMeta(mint, False, True)])


def initialize_account3_ix(account: Pubkey, mint: Pubkey, owner: Pubkey) -> Instruction:
    """SPL Token InitializeAccount3."""
    return Instruction(
        TOKEN_PROGRAM_ID,
        bytes([18]) + bytes(owner),
        [AccountMeta(account, False, True), AccountMeta(mint, False, False)],
    )


def install_upgradeable(
    svm: LiteSVM, program_id: Pubkey, elf: bytes, authority: Pubkey | None
) -> Pubkey:
    """Put a program in place as the BPF upgradeable loader leaves it after a deployment.

    The Program account names its ProgramData account, which holds the upgrade
    authority and the ELF (anchor.loader). (solders 0.26's LiteSVM cannot run the
    loader's deployment itself; tests/anchor/test_deploy.py does that under solders
    0.29.) Returns the ProgramData address.
    """
    program_data = program_data_address(program_id)
    data = program_data_state(elf, authority)
    svm.set_account(
        program_data,
        Account(
            svm.minimum_balance_for_rent_exemption(len(data)),
            data,
            BPF_LOADER_UPGRADEABLE_ID,
            False,
            0,
        ),
    )
    state = program_state(program_id)
    svm.set_account(
        program_id,
        Account(
            svm.minimum_balance_for_rent_exemption(len(state)),
            state,
            BPF_LOADER_UPGRADEABLE_ID,
            True,
            0,
        ),
    )
    return program_data


class Testbed:
    """LiteSVM with the Oracle program, an energy mint and (optionally) an initialized Config."""

    __test__ = False  # not a pytest test class, despite its name

    def __init__(
        self,
        program: bytes | None = None,
        *,
        program_id: Pubkey = PROGRAM_ID,
        clearing_interval_s: int = DEFAULT_CLEARING_INTERVAL_S,
        max_future_skew_s: int = DEFAULT_MAX_FUTURE_SKEW_S,
        max_rated_power_w: int = DEFAULT_MAX_RATED_POWER_W,
        max_baseline_age_s: int = DEFAULT_MAX_BASELINE_AGE_S,
        now: int = GENESIS_TS,
        initialize: bool = True,
        upgradeable: bool = True,
    ) -> None:
        self.svm = LiteSVM()
        self.program_id = program_id
        self.admin = Keypair()
        elf = program if program is not None else program_bytes()
        if upgradeable:
            self.program_data: Pubkey = install_upgradeable(
                self.svm, program_id, elf, self.admin.pubkey()
            )
        else:  # the old loader: the program has no upgrade authority (initialize refuses)
            self.svm.add_program(program_id, elf)
            self.program_data = program_id
        self.gateway = Keypair()
        self.payer = Keypair()
        for kp in (self.admin, self.gateway, self.payer):
            self.svm.airdrop(kp.pubkey(), 1_000 * LAMPORTS_PER_SOL)
        self.config = config_address(program_id)[0]
        self.mint_authority = mint_authority_address(program_id)[0]
        self.set_time(now)
        self.mint = self.create_mint(self.mint_authority)
        if initialize:
            result = self.send(
                [
                    ix.initialize(
                        self.admin.pubkey(),
                        self.mint,
                        self.gateway.pubkey(),
                        clearing_interval_s,
                        ix.Limits(max_future_skew_s, max_rated_power_w, max_baseline_age_s),
                        program_id,
                        self.program_data,
                    )
                ],
                [self.admin],
            )
            if not result.ok:
                raise RuntimeError(f"initialize failed: {result.error}\n" + "\n".join(result.logs))

    # ------------------------------------------------------------------ time

    def set_time(self, unix_timestamp: int) -> None:
        """Set the Clock's unix_timestamp (the slot moves on by one, for fresh blockhashes)."""
        clock = self.svm.get_clock()
        self.svm.set_clock(
            Clock(
                clock.slot,
                clock.epoch_start_timestamp,
                clock.epoch,
                clock.leader_schedule_epoch,
                unix_timestamp,
            )
        )

    @property
    def now(self) -> int:
        """The Clock's unix_timestamp."""
        return int(self.svm.get_clock().unix_timestamp)

    def warp_slot(self, slots: int = 1) -> None:
        """Advance the slot (keeps the unix timestamp)."""
        now = self.now
        self.svm.warp_to_slot(self.svm.get_clock().slot + slots)
        self.set_time(now)

    # ------------------------------------------------------------------ transactions

    def outcome(self, outcome: TransactionMetadata | FailedTransactionMetadata) -> TxResult:
        """A TxResult from what LiteSVM.send_transaction returned."""
        if isinstance(outcome, FailedTransactionMetadata):
            err: object | None = outcome.err()
            meta = outcome.meta()
        else:
            err, meta = None, outcome
        logs = list(meta.logs())
        result = TxResult(
            ok=err is None, error=err, logs=logs, compute_units=int(meta.compute_units_consumed())
        )
        if result.ok:
            result.events = events_from_logs(logs, self.program_id)
        return result

    def send(
        self,
        instructions: Sequence[Instruction],
        signers: Sequence[Keypair],
        payer: Keypair | None = None,
    ) -> TxResult:
        """Send a legacy transaction; the first signer (or payer) pays."""
        fee_payer = payer or (signers[0] if signers else self.payer)
        all_signers = list(dict.fromkeys([fee_payer, *signers]))
        tx = Transaction(
            all_signers, Message(list(instructions), fee_payer.pubkey()), self.fresh_blockhash()
        )
        return self.outcome(self.svm.send_transaction(tx))

    def send_v0(
        self,
        instructions: Sequence[Instruction],
        signers: Sequence[Keypair],
        lookup_tables: Sequence[AddressLookupTableAccount],
    ) -> TxResult:
        """Send a v0 transaction resolving accounts through address lookup tables."""
        fee_payer = signers[0]
        message = MessageV0.try_compile(
            fee_payer.pubkey(), list(instructions), list(lookup_tables), self.fresh_blockhash()
        )
        tx = VersionedTransaction(message, list(dict.fromkeys(signers)))
        return self.outcome(self.svm.send_transaction(tx))

    def fresh_blockhash(self) -> Hash:
        """A blockhash no earlier transaction used."""
        # A fresh blockhash each time: the same instructions twice are two transactions.
        self.svm.expire_blockhash()
        return self.svm.latest_blockhash()

    # ------------------------------------------------------------------ SPL Token

    def create_mint(
        self, authority: Pubkey, decimals: int = ENERGY_DECIMALS, freeze: Pubkey | None = None
    ) -> Pubkey:
        """A new SPL Token mint."""
        mint = Keypair()
        lamports = self.svm.minimum_balance_for_rent_exemption(MINT_SIZE)
        result = self.send(
            [
                create_account(
                    CreateAccountParams(
                        from_pubkey=self.payer.pubkey(),
                        to_pubkey=mint.pubkey(),
                        lamports=lamports,
                        space=MINT_SIZE,
                        owner=TOKEN_PROGRAM_ID,
                    )
                ),
                initialize_mint2_ix(mint.pubkey(), authority, decimals, freeze),
            ],
            [self.payer, mint],
        )
        if not result.ok:
            raise RuntimeError(f"create mint failed: {result.error}")
        return mint.pubkey()

    def create_token_account(self, owner: Pubkey, mint: Pubkey | None = None) -> Pubkey:
        """A new token account of owner for mint (the energy mint by default)."""
        account = Keypair()
        lamports = self.svm.minimum_balance_for_rent_exemption(TOKEN_ACCOUNT_SIZE)
        result = self.send(
            [
                create_account(
                    CreateAccountParams(
                        from_pubkey=self.payer.pubkey(),
                        to_pubkey=account.pubkey(),
                        lamports=lamports,
                        space=TOKEN_ACCOUNT_SIZE,
                        owner=TOKEN_PROGRAM_ID,
                    )
                ),
                initialize_account3_ix(account.pubkey(), mint or self.mint, owner),
            ],
            [self.payer, account],
        )
        if not result.ok:
            raise RuntimeError(f"create token account failed: {result.error}")
        return account.pubkey()

    def token_balance(self, account: Pubkey) -> int:
        """The amount in a token account."""
        data = self.account_data(account)
        return int(struct.unpack_from("<Q", data, 64)[0])

    def mint_supply(self) -> int:
        """The energy mint's supply (base units = Wh)."""
        return int(struct.unpack_from("<Q", self.account_data(self.mint), 36)[0])

    # ------------------------------------------------------------------ the Oracle

    def register_meter(self, lfdi: bytes, owner: Pubkey, rated_power_w: int) -> Pubkey:
        """Register a meter (the gateway signs, the payer pays); its address."""
        result = self.send(
            [
                ix.register_meter(
                    self.gateway.pubkey(),
                    self.payer.pubkey(),
                    lfdi,
                    owner,
                    rated_power_w,
                    self.program_id,
                )
            ],
            [self.payer, self.gateway],
        )
        if not result.ok:
            raise RuntimeError(f"register_meter failed: {result.error}")
        return meter_address(lfdi, self.program_id)[0]

    def account_data(self, address: Pubkey) -> bytes:
        """An account's data (empty if it does not exist)."""
        account = self.svm.get_account(address)
        return b"" if account is None else bytes(account.data)

    def config_account(self) -> ConfigAccount:
        """The decoded Config."""
        return ConfigAccount.decode(self.account_data(self.config))

    def meter_account(self, lfdi: bytes) -> MeterAccount:
        """The decoded Meter of an LFDI."""
        return MeterAccount.decode(self.account_data(meter_address(lfdi, self.program_id)[0]))

    def submit(self, meters: Sequence[Pubkey], readings: Sequence[ix.Reading]) -> TxResult:
        """submit_readings signed by the gateway."""
        return self.send(
            [ix.submit_readings(self.gateway.pubkey(), meters, readings, self.program_id)],
            [self.gateway],
        )

    def clear(self, epoch: int, settlements: Sequence[tuple[Pubkey, Pubkey]]) -> TxResult:
        """clear_epoch, cranked (and paid) by the payer: anyone may."""
        return self.send(
            [ix.clear_epoch(epoch, self.mint, settlements, self.program_id)], [self.payer]
        )

    # ------------------------------------------------------------------ lookup tables

    def create_lookup_table(self, addresses: Sequence[Pubkey]) -> AddressLookupTableAccount:
        """An address lookup table holding addresses, active from the next slot."""
        # The table's address derives from (authority, recent slot) and the slot must be in
        # SlotHashes, which warping does not extend: a fresh authority per table.
        authority = Keypair()
        recent_slot = max(slot for slot, _ in self.svm.get_slot_hashes())
        create, table = create_lookup_table(
            CreateLookupTableParams(
                authority_address=authority.pubkey(),
                payer_address=self.payer.pubkey(),
                recent_slot=recent_slot,
            )
        )
        result = self.send([create], [self.payer])
        if not result.ok:
            raise RuntimeError(f"create lookup table failed: {result.error}")
        for start in range(0, len(addresses), 20):
            extend = extend_lookup_table(
                ExtendLookupTableParams(
                    payer_address=self.payer.pubkey(),
                    lookup_table_address=table,
                    authority_address=authority.pubkey(),
                    new_addresses=list(addresses[start : start + 20]),
                )
            )
            result = self.send([extend], [self.payer, authority])
            if not result.ok:
                raise RuntimeError(f"extend lookup table failed: {result.error}")
        self.warp_slot()  # addresses added in a slot are usable from the next one
        return AddressLookupTableAccount(table, list(addresses))
