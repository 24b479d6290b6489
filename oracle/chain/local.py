"""The embedded chain: LiteSVM in this process, with a clock, blockhashes and a ledger.

LiteSVM executes transactions with the real Solana runtime but is a bare machine: its
clock stands still, it has one blockhash, and it forgets everything when the process
ends. :class:`LocalChain` makes it behave like a (single-node) cluster:

- Time: before each transaction (and each query that depends on it) the slot and the
  Clock sysvar's unix timestamp are moved to match the time source, one slot per
  ``slot_seconds`` since genesis; both only ever move forward.
- Blockhashes: every slot has its own blockhash (derived from the genesis hash and the
  slot number), a transaction must name one of the last 150, and the SlotHashes sysvar
  lists the last 512 slots, so address lookup tables can be created from a recent slot.
  A transaction that touched the address lookup table program ends its slot: addresses
  added to a table are usable only from the next slot on.
- Memory: each landed transaction's writable accounts, its record and the clock go to
  the :class:`~oracle.chain.ledger.Ledger` in one SQLite transaction; at start the
  ledger is loaded back into a fresh LiteSVM.
- Sending a transaction that has landed before does nothing and answers its record.

It is synchronous and single-threaded (LiteSVM objects must stay on the thread that made
them); the embedded backend and the JSON-RPC server call it from their event loop.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import logging
import os
import secrets
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import based58
from solders.account import Account
from solders.address_lookup_table_account import ID as ADDRESS_LOOKUP_TABLE_PROGRAM
from solders.address_lookup_table_account import AddressLookupTable
from solders.clock import Clock
from solders.epoch_schedule import EpochSchedule
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message, MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import Transaction, VersionedTransaction
from solders.transaction_metadata import (
    FailedTransactionMetadata,
    SimulatedTransactionInfo,
    TransactionMetadata,
)

from anchor import loader
from anchor.abi import BPF_LOADER_UPGRADEABLE_ID
from anchor.pda import program_data_address
from oracle.chain.backend import (
    ChainClock,
    ChainError,
    StateDirLocked,
    TransactionRejected,
    TxError,
)
from oracle.chain.ledger import Ledger, StoredTransaction, Synchronous
from oracle.chain.timesource import TimeSource, system_time

log = logging.getLogger(__name__)

SLOT_SECONDS = 0.4
MAX_PROCESSING_AGE = 150  # slots a blockhash stays valid, as on Solana
SLOT_HASHES_LEN = 512
LAMPORTS_PER_SIGNATURE = 5_000
FAUCET_LAMPORTS = 100_000_000 * 1_000_000_000  # 100M SOL for airdrops
SOLANA_CORE_VERSION = "2.2.0"  # the agave release LiteSVM in solders 0.26 builds on

MEMO_PROGRAM = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")
SYSVAR_OWNER = Pubkey.from_string("Sysvar1111111111111111111111111111111111111")
NATIVE_LOADER = Pubkey.from_string("NativeLoader1111111111111111111111111111111")

STATE_FILE = "chain.sqlite3"
LOCK_FILE = "chain.lock"


CommitListener = Callable[[StoredTransaction, Sequence[tuple[Pubkey, Account | None]]], None]
"""Told of each committed transaction and the writable accounts it left (None: closed)."""


@dataclass(frozen=True)
class LocalSimulation:
    """A simulated transaction's outcome, with the accounts it would leave."""

    err: TxError | None
    logs: list[str]
    compute_units: int
    return_data: dict[str, Any] | None
    inner_instructions: list[dict[str, Any]] | None
    post_accounts: dict[Pubkey, Account]


def as_versioned(tx: VersionedTransaction | Transaction) -> VersionedTransaction:
    """Legacy and v0 transactions alike (their wire formats agree for legacy messages)."""
    if isinstance(tx, VersionedTransaction):
        return tx
    return VersionedTransaction.from_legacy(tx)


def _is_panic(exc: BaseException) -> bool:
    """LiteSVM reports some failures as a Rust panic, which is not an ``Exception``."""
    return type(exc).__name__ == "PanicException"


class LocalChain:
    """A persistent single-node Solana chain over LiteSVM.

    ``state_dir=None`` keeps everything in memory (benchmarks, throwaway tests).
    """

    def __init__(
        self,
        state_dir: Path | None,
        *,
        time_source: TimeSource = system_time,
        slot_seconds: float = SLOT_SECONDS,
        synchronous: Synchronous = "normal",
    ) -> None:
        self._time = time_source
        self._slot_seconds = slot_seconds
        self._broken: str | None = None
        self._lock_fd: int | None = None
        self._open_ledger: Ledger | None = None
        self.state_dir = state_dir
        if state_dir is not None:
            state_dir.mkdir(parents=True, exist_ok=True)
            self._lock_fd = _lock(state_dir / LOCK_FILE)
        try:
            self._open_ledger = Ledger(
                ":memory:" if state_dir is None else state_dir / STATE_FILE, synchronous
            )
            self._svm = LiteSVM().with_blockhash_check(False).with_transaction_history(0)
            # Our own clock: epochs of a fixed length, no warm-up.
            self._svm.set_epoch_schedule(EpochSchedule.without_warmup())
            self._epochs = EpochSchedule.without_warmup()
            row = self._ledger.chain_row()
            if row is None:
                self._genesis()
                row = self._ledger.chain_row()
                assert row is not None
            else:
                self._restore()
        except BaseException:
            self.close()
            raise
        self.genesis_hash = Hash(row.genesis_hash)
        self._genesis_time = row.genesis_time
        # Derived from the (public) genesis hash: anyone may airdrop here anyway.
        self._faucet = Keypair.from_seed(hashlib.sha256(row.genesis_hash + b"faucet").digest())
        self.transaction_count = row.transaction_count
        self._slot = row.slot
        self._timestamp = row.unix_timestamp
        # Called after each transaction is committed (the PubSub endpoint's notifications).
        self.on_commit: list[CommitListener] = []
        self._slot_hashes: deque[tuple[int, Hash]] = deque(maxlen=SLOT_HASHES_LEN)
        self._recent: dict[Hash, int] = {}
        self._set_clock(self._slot, self._timestamp, fresh=True)
        self.tick()
        log.info(
            "chain opened",
            extra={
                "state_dir": str(state_dir),
                "slot": self._slot,
                "genesis": str(self.genesis_hash),
            },
        )

    # -- start and stop ------------------------------------------------------------------

    def _genesis(self) -> None:
        genesis_hash = secrets.token_bytes(32)
        faucet = Keypair.from_seed(hashlib.sha256(genesis_hash + b"faucet").digest())
        account = Account(FAUCET_LAMPORTS, b"", Pubkey.default())
        self._svm.set_account(faucet.pubkey(), account)
        self._ledger.create_genesis(genesis_hash, self._time(), [(faucet.pubkey(), account)])

    def _restore(self) -> None:
        programs = dict(self._ledger.programs())
        executables: list[tuple[Pubkey, Account]] = []
        count = 0
        for key, account in self._ledger.accounts():
            if key in programs:
                executables.append((key, account))
            else:  # ProgramData accounts too: a Program account is loaded from its own
                self._svm.set_account(key, account)
                count += 1
        for key, account in executables:
            if account.owner == BPF_LOADER_UPGRADEABLE_ID:
                self._set_program(key, account)
            else:  # a state dir from before the upgradeable loader: the old loader
                self._add_program(key, programs[key])
        log.info("chain state restored", extra={"accounts": count, "programs": len(programs)})

    @property
    def _ledger(self) -> Ledger:
        if self._open_ledger is None:
            raise ChainError("embedded chain unavailable: the chain is closed")
        return self._open_ledger

    def close(self) -> None:
        """Release the state file and its lock; the object is unusable afterwards."""
        if self._open_ledger is not None:
            self._open_ledger.close()
            self._open_ledger = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor drops the flock
            self._lock_fd = None
        self._broken = self._broken or "the chain is closed"

    @property
    def broken(self) -> str | None:
        """Why the chain stopped accepting transactions, or None while it works."""
        return self._broken

    def _usable(self) -> None:
        if self._broken is not None:
            raise ChainError(f"embedded chain unavailable: {self._broken}")

    # -- time ------------------------------------------------------------------------------

    def tick(self) -> None:
        """Bring the slot and the Clock sysvar up to the time source's now."""
        now = self._time()
        slot = max(self._slot, int((now - self._genesis_time) / self._slot_seconds))
        timestamp = max(self._timestamp, int(now))
        if slot != self._slot or timestamp != self._timestamp:
            self._set_clock(slot, timestamp)

    def _set_clock(self, slot: int, timestamp: int, *, fresh: bool = False) -> None:
        epoch = self._epochs.get_epoch(slot)
        first = self._epochs.get_first_slot_in_epoch(epoch)
        epoch_start = int(self._genesis_time + first * self._slot_seconds)
        leader_epoch = self._epochs.get_leader_schedule_epoch(slot)
        self._svm.set_clock(Clock(slot, epoch_start, epoch, leader_epoch, timestamp))
        if fresh or slot != self._slot:
            self._advance_hashes(self._slot if not fresh else -1, slot)
        self._slot = slot
        self._timestamp = timestamp

    def _advance_hashes(self, old: int, new: int) -> None:
        for s in range(max(old + 1, new - SLOT_HASHES_LEN + 1, 0), new + 1):
            if len(self._slot_hashes) == SLOT_HASHES_LEN:
                gone_slot, gone = self._slot_hashes.popleft()
                if self._recent.get(gone) == gone_slot:
                    del self._recent[gone]
            h = self.blockhash_of(s)
            self._slot_hashes.append((s, h))
            self._recent[h] = s
        self._svm.set_slot_hashes(list(reversed(self._slot_hashes)))

    def blockhash_of(self, slot: int) -> Hash:
        """The blockhash of a slot (a deterministic function of the genesis hash)."""
        digest = hashlib.sha256(bytes(self.genesis_hash) + slot.to_bytes(8, "little")).digest()
        return Hash(digest)

    @property
    def slot(self) -> int:
        """The current slot (every slot has a block here, so also the block height)."""
        self.tick()
        return self._slot

    def clock(self) -> ChainClock:
        """The Clock sysvar as programs see it now."""
        self.tick()
        return ChainClock(self._slot, self._timestamp, self._epochs.get_epoch(self._slot))

    def epoch_info(self) -> dict[str, int]:
        """Epoch, slot index and slots per epoch of the current slot."""
        self.tick()
        epoch, index = self._epochs.get_epoch_and_slot_index(self._slot)
        return {
            "epoch": epoch,
            "slotIndex": index,
            "slotsInEpoch": self._epochs.get_slots_in_epoch(epoch),
        }

    def latest_blockhash(self) -> tuple[Hash, int]:
        """The current slot's blockhash and the last block height it is accepted at."""
        self.tick()
        return self.blockhash_of(self._slot), self._slot + MAX_PROCESSING_AGE

    def is_blockhash_valid(self, blockhash: Hash) -> bool:
        """Whether a transaction naming this blockhash would be accepted now."""
        self.tick()
        slot = self._recent.get(blockhash)
        return slot is not None and slot >= self._slot - MAX_PROCESSING_AGE

    def fee_for_message(self, message: Message | MessageV0) -> int | None:
        """What the message would pay, or None if its blockhash is no longer accepted."""
        if not self.is_blockhash_valid(message.recent_blockhash):
            return None
        return LAMPORTS_PER_SIGNATURE * message.header.num_required_signatures

    # -- transactions ------------------------------------------------------------------------

    def execute(self, tx: VersionedTransaction | Transaction) -> StoredTransaction:
        """Execute and commit a signed transaction; its record.

        A transaction that fails while executing has still landed (fee paid); its record
        carries the error. One refused before it could land raises TransactionRejected.
        """
        self._usable()
        vtx = as_versioned(tx)
        if not vtx.signatures:
            raise TransactionRejected(TxError("SanitizeFailure"))
        signature = vtx.signatures[0]
        if self._ledger.knows(signature):
            known = self._ledger.transaction(signature)
            assert known is not None
            return known
        self.tick()
        message = vtx.message
        if not self.is_blockhash_valid(message.recent_blockhash):
            raise TransactionRejected(TxError("BlockhashNotFound"))
        keys, writable, loaded = self._account_keys(message)
        pre = [self._svm.get_balance(k) or 0 for k in keys]
        try:
            result = self._svm.send_transaction(vtx)
        except BaseException as exc:
            if not _is_panic(exc):
                raise
            # LiteSVM may be half-way through a change: only the ledger is trustworthy now.
            self._broken = f"LiteSVM panicked ({exc}); restart to reload the persisted state"
            raise ChainError(f"embedded chain: {self._broken}") from None
        meta = result if isinstance(result, TransactionMetadata) else result.meta()
        err = None
        if isinstance(result, FailedTransactionMetadata):
            err = TxError.from_solders(result.err())
            # A transaction that landed paid its fee; one that did not changed nothing.
            if not keys or (self._svm.get_balance(keys[0]) or 0) == pre[0]:
                raise TransactionRejected(err, meta.logs())
        # Only writable accounts can have changed; read them back for balances and the ledger.
        post_accounts = [(k, self._live(k)) for k in writable]
        after = {k: 0 if a is None else a.lamports for k, a in post_accounts}
        post = [after.get(k, lamports) for k, lamports in zip(keys, pre, strict=True)]
        record = StoredTransaction(
            signature=signature,
            slot=self._slot,
            block_time=self._timestamp,
            err=None if err is None else err.detail,
            logs=list(meta.logs()),
            compute_units=meta.compute_units_consumed(),
            fee=LAMPORTS_PER_SIGNATURE * message.header.num_required_signatures,
            pre_balances=pre,
            post_balances=post,
            loaded_addresses=loaded,
            inner_instructions=_inner_instructions(meta),
            return_data=_return_data(meta),
            tx=bytes(vtx),
        )
        # Addresses added to a lookup table become usable in the next slot: end this one.
        next_slot = self._slot + 1 if self._calls(message, ADDRESS_LOOKUP_TABLE_PROGRAM) else None
        self._commit(record, post_accounts, next_slot)
        return record

    def _commit(
        self,
        record: StoredTransaction,
        accounts: Sequence[tuple[Pubkey, Account | None]],
        next_slot: int | None,
    ) -> None:
        kept = [(k, a) for k, a in accounts if _persistable(a)]
        slot = self._slot if next_slot is None else next_slot
        try:
            self._ledger.record(
                record,
                kept,
                position=self.transaction_count + 1,
                slot=slot,
                unix_timestamp=self._timestamp,
            )
        except Exception as exc:
            # LiteSVM has moved on but the file has not: stop rather than diverge.
            self._broken = f"could not persist a transaction ({exc}); restart to reload"
            log.error("chain state write failed", extra={"error": str(exc)})
            raise ChainError(f"embedded chain: {self._broken}") from exc
        self.transaction_count += 1
        if next_slot is not None:
            self._set_clock(next_slot, self._timestamp)
        for listener in self.on_commit:
            try:
                listener(record, accounts)
            except Exception:  # a listener's fault must not look like the transaction's
                log.exception("commit listener failed")

    def simulate(
        self,
        tx: VersionedTransaction | Transaction,
        *,
        sig_verify: bool = True,
        replace_blockhash: bool = False,
    ) -> LocalSimulation:
        """Execute without committing anything."""
        self._usable()
        vtx = as_versioned(tx)
        self.tick()
        if not replace_blockhash and not self.is_blockhash_valid(vtx.message.recent_blockhash):
            return LocalSimulation(TxError("BlockhashNotFound"), [], 0, None, None, {})
        if not sig_verify:
            self._svm.with_sigverify(False)
        try:
            result = self._svm.simulate_transaction(vtx)
        except BaseException as exc:
            if not _is_panic(exc):
                raise
            raise ChainError(f"simulation failed inside LiteSVM: {exc}") from None
        finally:
            if not sig_verify:
                self._svm.with_sigverify(True)
        if isinstance(result, SimulatedTransactionInfo):
            meta, err, post = result.meta(), None, dict(result.post_accounts())
        else:
            meta, err, post = result.meta(), TxError.from_solders(result.err()), {}
        return LocalSimulation(
            err,
            list(meta.logs()),
            meta.compute_units_consumed(),
            _return_data(meta),
            _inner_instructions(meta),
            post,
        )

    def airdrop(self, address: Pubkey, lamports: int) -> StoredTransaction:
        """Transfer lamports from the chain's faucet in a real transaction."""
        self._usable()
        blockhash, _ = self.latest_blockhash()
        # A memo with a nonce keeps two equal airdrops in one slot distinct transactions.
        memo = Instruction(MEMO_PROGRAM, f"airdrop {secrets.token_hex(8)}".encode(), [])
        ixs = [
            transfer(
                TransferParams(
                    from_pubkey=self._faucet.pubkey(), to_pubkey=address, lamports=lamports
                )
            ),
            memo,
        ]
        message = Message.new_with_blockhash(ixs, self._faucet.pubkey(), blockhash)
        record = self.execute(Transaction([self._faucet], message, blockhash))
        if record.err is not None:
            raise ChainError(f"airdrop failed: {TxError(record.err)}")
        return record

    def deploy(self, program_id: Pubkey, elf: bytes, upgrade_authority: Pubkey) -> None:
        """Deploy (or upgrade) an sBPF program through the BPF upgradeable loader, with
        ``upgrade_authority`` recorded in its ProgramData account, and keep it across
        restarts. An upgrade keeps the authority the program has; a frozen program (one
        without an authority) cannot be upgraded."""
        self._usable()
        if not elf.startswith(b"\x7fELF"):
            raise ChainError(f"program {program_id}: not an ELF file")
        program_data = program_data_address(program_id)
        existing = self._live(program_id)
        authority: Pubkey | None = upgrade_authority
        if existing is not None:
            if existing.owner != BPF_LOADER_UPGRADEABLE_ID:
                raise ChainError(
                    f"program {program_id} was loaded by {existing.owner}, not the upgradeable"
                    " loader: it cannot be upgraded (start from a fresh state directory)"
                )
            old = self._live(program_data)
            authority = None if old is None else loader.upgrade_authority(bytes(old.data))
            if authority is None:
                raise ChainError(f"program {program_id} is frozen: it has no upgrade authority")
        data = loader.program_data_state(elf, authority, self._slot if existing else 0)
        state = loader.program_state(program_id)
        data_account = Account(
            self.minimum_balance(len(data)), data, BPF_LOADER_UPGRADEABLE_ID, False, 0
        )
        program_account = Account(
            self.minimum_balance(len(state)), state, BPF_LOADER_UPGRADEABLE_ID, True, 0
        )
        self._svm.set_account(program_data, data_account)
        self._set_program(program_id, program_account)
        self._ledger.put_program(
            program_id, elf, [(program_data, data_account), (program_id, program_account)]
        )
        log.info(
            "program deployed",
            extra={
                "program_id": str(program_id),
                "bytes": len(elf),
                "upgrade_authority": str(authority),
            },
        )

    def deployed_program(self, program_id: Pubkey) -> bytes | None:
        """The ELF deployed at ``program_id`` through :meth:`deploy`, if any."""
        return self._ledger.program(program_id)

    def _set_program(self, program_id: Pubkey, account: Account) -> None:
        """Put an upgradeable Program account in place (its ProgramData already is):
        LiteSVM loads the ELF from the ProgramData account, refusing a bad one."""
        try:
            self._svm.set_account(program_id, account)
        except BaseException as exc:
            if not _is_panic(exc) and not isinstance(exc, Exception):
                raise
            raise ChainError(f"program {program_id}: the loader refused it ({exc})") from None

    def _add_program(self, program_id: Pubkey, elf: bytes) -> None:
        try:
            self._svm.add_program(program_id, elf)
        except BaseException as exc:
            if not _is_panic(exc):
                raise
            raise ChainError(f"program {program_id}: the loader refused it ({exc})") from None

    # -- reads -------------------------------------------------------------------------------

    def _live(self, address: Pubkey) -> Account | None:
        account = self._svm.get_account(address)
        return account if account is not None and account.lamports > 0 else None

    def account(self, address: Pubkey) -> Account | None:
        """An account, or None if it does not exist."""
        self.tick()
        return self._live(address)

    def balance(self, address: Pubkey) -> int:
        """Lamports held by an address."""
        return self._svm.get_balance(address) or 0

    def program_accounts(self, owner: Pubkey) -> list[tuple[Pubkey, Account]]:
        """Accounts owned by a program (from the ledger's owner index)."""
        return self._ledger.accounts_owned_by(owner)

    def transaction(self, signature: Signature) -> StoredTransaction | None:
        """A landed transaction's record."""
        return self._ledger.transaction(signature)

    def statuses(self, signatures: Sequence[Signature]) -> list[tuple[int, Any] | None]:
        """(slot, error JSON or None) per signature; None if it never landed."""
        return self._ledger.statuses(signatures)

    def transactions_of(
        self,
        address: Pubkey,
        *,
        before: Signature | None = None,
        until: Signature | None = None,
        limit: int,
    ) -> list[StoredTransaction]:
        """Landed transactions naming ``address``, newest first: older than ``before`` and
        newer than ``until`` when given (an unknown ``before`` gives none, as in agave)."""
        before_at = None if before is None else self._ledger.position(before)
        if before is not None and before_at is None:
            return []
        until_at = None if until is None else self._ledger.position(until)
        return self._ledger.transactions_of(address, before=before_at, until=until_at, limit=limit)

    def recent_transactions(self, slots: int) -> list[StoredTransaction]:
        """Transactions of the last ``slots`` slots, oldest first."""
        return self._ledger.transactions_since(max(0, self._slot - slots + 1))

    def minimum_balance(self, data_len: int) -> int:
        """Rent-exempt minimum for an account of ``data_len`` bytes."""
        return int(self._svm.minimum_balance_for_rent_exemption(data_len))

    # -- account keys of a message -------------------------------------------------------------

    def _account_keys(
        self, message: Message | MessageV0
    ) -> tuple[list[Pubkey], list[Pubkey], dict[str, list[str]] | None]:
        """All account keys in runtime order, the writable ones, and the ALT-loaded ones."""
        static = list(message.account_keys)
        h = message.header
        signed, ro_signed, ro_unsigned = (
            h.num_required_signatures,
            h.num_readonly_signed_accounts,
            h.num_readonly_unsigned_accounts,
        )
        writable = [
            k
            for i, k in enumerate(static)
            if (i < signed - ro_signed) or (signed <= i < len(static) - ro_unsigned)
        ]
        if not isinstance(message, MessageV0) or not message.address_table_lookups:
            return static, writable, None if not isinstance(message, MessageV0) else _no_loads()
        loaded_w: list[Pubkey] = []
        loaded_r: list[Pubkey] = []
        for lookup in message.address_table_lookups:
            table = self._svm.get_account(lookup.account_key)
            try:
                addresses = AddressLookupTable.deserialize(bytes(table.data)).addresses  # type: ignore[union-attr]
                loaded_w += [addresses[i] for i in lookup.writable_indexes]
                loaded_r += [addresses[i] for i in lookup.readonly_indexes]
            except (AttributeError, IndexError, ValueError):
                # The runtime will refuse the transaction; it does not need our list.
                return static, writable, _no_loads()
        loaded = {"writable": [str(k) for k in loaded_w], "readonly": [str(k) for k in loaded_r]}
        return static + loaded_w + loaded_r, writable + loaded_w, loaded

    @staticmethod
    def _calls(message: Message | MessageV0, program: Pubkey) -> bool:
        keys = message.account_keys
        return any(keys[ix.program_id_index] == program for ix in message.instructions)


def _no_loads() -> dict[str, list[str]]:
    return {"writable": [], "readonly": []}


def _persistable(account: Account | None) -> bool:
    """Sysvars and builtins are LiteSVM's own; programs are kept by deploy."""
    if account is None:
        return True
    return not account.executable and account.owner not in (SYSVAR_OWNER, NATIVE_LOADER)


def _inner_instructions(meta: TransactionMetadata) -> list[dict[str, Any]] | None:
    out = []
    for index, group in enumerate(meta.inner_instructions()):
        if not group:
            continue
        out.append(
            {
                "index": index,
                "instructions": [
                    {
                        "programIdIndex": inner.instruction().program_id_index,
                        "accounts": list(inner.instruction().accounts),
                        "data": based58.b58encode(bytes(inner.instruction().data)).decode(),
                        "stackHeight": inner.stack_height(),  # type: ignore[attr-defined]
                    }
                    for inner in group
                ],
            }
        )
    return out


def _return_data(meta: TransactionMetadata) -> dict[str, Any] | None:
    rd = meta.return_data()  # type: ignore[attr-defined]
    if not rd.data:
        return None
    return {"programId": str(rd.program_id), "data": [base64.b64encode(rd.data).decode(), "base64"]}


def _lock(path: Path) -> int:
    """Hold an exclusive lock on the state directory for this process's lifetime."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode(errors="replace").strip() or "another process"
        os.close(fd)
        raise StateDirLocked(
            f"chain state {path.parent} is in use by pid {holder}; stop it, or connect to"
            " its RPC server (chain.backend = 'rpc')"
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    return fd
