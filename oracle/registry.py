"""Meters on chain: registration, owners' token accounts and address lookup tables.

Before a meter's first reading is submitted it must have its Meter account (the program
refuses a batch naming an account that is not one), its owner must have a token account
of the energy mint (clearing mints there), and the meter should be in one of the
gateway's address lookup tables (so a batch names it in 1 byte rather than 32).
:meth:`MeterRegistry.ensure` does all three, idempotently, for whatever meters it is
given: ``chain init`` calls it for every meter the gateway knows, the worker for each
meter it claims, so a meter that appears later is registered before its first reading
leaves and none of its readings is lost.

Who owns a meter and what it is rated for comes from the :class:`MeterDirectory`:
``chain.meter_owners`` / ``chain.meter_rated_power_w`` first, then the campus file
(through the shell, which knows each campus meter's LFDI from the PKI), else a wallet
generated and saved as ``keys_dir/owners/<LFDI>.json`` and ``chain.default_rated_power_w``.
A meter already on chain keeps the owner and rating it was registered with.

Each lookup table holds the Config first, then (meter, token account) pairs, so one
table serves both ``submit_readings`` and ``clear_epoch``; a new table is started when
the last one is full (256 addresses).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from solders.address_lookup_table_account import (
    LOOKUP_TABLE_MAX_ADDRESSES,
    AddressLookupTableAccount,
)
from solders.compute_budget import set_compute_unit_limit
from solders.pubkey import Pubkey
from spl.token.instructions import (
    create_idempotent_associated_token_account,
    get_associated_token_address,
)
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from oracle.chain.backend import ChainBackend, ChainError, ChainUnavailable
from oracle.chain.keyfile import load_or_create_keypair
from oracle.deployment import OWNERS_DIR, Oracle, keys_dir
from oracle.records import ChainMeter, LookupTableRecord
from oracle.settings import ChainSettings
from oracle.transact import land
from sep2.identity import IdentityError, normalise_lfdi

log = logging.getLogger(__name__)

REGISTER_CHUNK = 3  # meters per registration transaction (register + token account each)
REGISTER_CU = 400_000
MAX_ALT_ATTEMPTS = 4


class DirectoryError(ValueError):
    """An owner wallet or an LFDI in the configuration is not valid."""


@dataclass(frozen=True)
class CampusMeter:
    """A meter of the campus file, by the LFDI of its certificate."""

    lfdi: str
    rated_power_w: int
    owner: str | None = None


@dataclass(frozen=True)
class MeterProfile:
    """Whom a meter's tokens go to and what it is rated for."""

    owner: Pubkey
    rated_power_w: int
    source: str  # config, campus or generated


def _lfdi(value: str) -> str:
    try:
        return normalise_lfdi(value)
    except IdentityError as exc:
        raise DirectoryError(str(exc)) from None


def _wallet(value: str, lfdi: str) -> Pubkey:
    try:
        return Pubkey.from_string(value)
    except ValueError:
        raise DirectoryError(f"owner of {lfdi}: {value!r} is not a base58 wallet") from None


class MeterDirectory:
    """Owners and ratings of meters, from configuration, the campus file or defaults."""

    def __init__(
        self,
        *,
        wallet_dir: Path,
        default_rated_power_w: int,
        owners: Mapping[str, str] | None = None,
        rated_power_w: Mapping[str, int] | None = None,
        campus: Iterable[CampusMeter] = (),
    ) -> None:
        self.wallet_dir = wallet_dir
        self.default_rated_power_w = default_rated_power_w
        self._owners: dict[str, tuple[Pubkey, str]] = {}
        self._rated: dict[str, int] = {}
        for meter in campus:
            lfdi = _lfdi(meter.lfdi)
            self._rated[lfdi] = meter.rated_power_w
            if meter.owner:
                self._owners[lfdi] = (_wallet(meter.owner, lfdi), "campus")
        for raw, value in (owners or {}).items():
            lfdi = _lfdi(raw)
            self._owners[lfdi] = (_wallet(value, lfdi), "config")
        for raw, watts in (rated_power_w or {}).items():
            if watts <= 0:
                raise DirectoryError(f"rated power of {raw} must be positive, got {watts}")
            self._rated[_lfdi(raw)] = watts

    @classmethod
    def from_settings(
        cls, settings: ChainSettings, campus: Iterable[CampusMeter] = ()
    ) -> MeterDirectory:
        """The directory the chain settings (and the campus, if given) describe."""
        return cls(
            wallet_dir=keys_dir(settings) / OWNERS_DIR,
            default_rated_power_w=settings.default_rated_power_w,
            owners=settings.meter_owners,
            rated_power_w=settings.meter_rated_power_w,
            campus=campus,
        )

    def set_owner(self, lfdi: str, wallet: str, source: str = "api") -> None:
        """Give ``lfdi`` this owner from now on (used when it is registered on chain)."""
        lfdi = _lfdi(lfdi)
        self._owners[lfdi] = (_wallet(wallet, lfdi), source)

    def known(self) -> list[str]:
        """LFDIs the directory names (with an owner or a rating)."""
        return sorted(set(self._owners) | set(self._rated))

    def profile(self, lfdi: str) -> MeterProfile:
        """The owner and rating to register ``lfdi`` with (generating a wallet if needed)."""
        lfdi = _lfdi(lfdi)
        rated = self._rated.get(lfdi, self.default_rated_power_w)
        if lfdi in self._owners:
            owner, source = self._owners[lfdi]
            return MeterProfile(owner, rated, source)
        wallet = load_or_create_keypair(self.wallet_dir / f"{lfdi}.json")
        return MeterProfile(wallet.pubkey(), rated, "generated")


@dataclass(frozen=True)
class RegisteredMeter:
    """A meter ready for readings: its account, its owner's token account, its table."""

    lfdi: str
    address: Pubkey
    owner: Pubkey
    token_account: Pubkey
    rated_power_w: int
    table: Pubkey | None


class MeterRegistry:
    """The gateway's meters on chain, cached in memory and kept in ``chain_meter``."""

    def __init__(
        self,
        engine: Engine,
        chain: ChainBackend,
        oracle: Oracle,
        directory: MeterDirectory,
        *,
        clock: Callable[[], float] = time.time,
        read_engine: Engine | None = None,
    ) -> None:
        self.engine = engine
        self.reader = read_engine or engine
        self.chain = chain
        self.oracle = oracle
        self.directory = directory
        self.clock = clock
        self._meters: dict[str, RegisteredMeter] = {}
        self._tables: dict[Pubkey, AddressLookupTableAccount] = {}
        self._tables_loaded = False

    # ------------------------------------------------------------------ reading

    def meter(self, lfdi: str) -> RegisteredMeter | None:
        """A meter this registry has made ready, or None."""
        return self._meters.get(lfdi)

    def table(self, address: Pubkey) -> AddressLookupTableAccount:
        """A lookup table's current addresses."""
        return self._tables[address]

    def _where(self, address: Pubkey) -> Pubkey | None:
        for table in self._tables.values():
            if address in table.addresses:
                return table.key
        return None

    async def _load_tables(self) -> None:
        if self._tables_loaded:
            return
        with Session(self.reader) as session:
            records = list(
                session.exec(select(LookupTableRecord).order_by(col(LookupTableRecord.created_at)))
            )
        for record in records:
            key = Pubkey.from_string(record.address)
            table = await self.chain.get_lookup_table(key)
            if table is None:
                log.warning("lookup table missing on chain", extra={"table": record.address})
                continue
            self._tables[key] = table
        self._tables_loaded = True

    async def load(self, lfdis: Iterable[str] | None = None) -> list[RegisteredMeter]:
        """Meters recorded as registered (all, or those named).

        A meter counts as placed only if its table, as the chain has it now, holds it:
        another worker may have created or extended a table since this one last looked.
        """
        await self._load_tables()
        query = select(ChainMeter)
        if lfdis is not None:
            query = query.where(col(ChainMeter.lfdi).in_(list(lfdis)))
        with Session(self.reader) as session:
            rows = list(session.exec(query))
        out = []
        for row in rows:
            address = Pubkey.from_string(row.address)
            table = Pubkey.from_string(row.lookup_table) if row.lookup_table else None
            if table is not None and not self._holds(table, address):
                fetched = await self.chain.get_lookup_table(table)
                if fetched is not None:
                    self._tables[table] = fetched
                if not self._holds(table, address):
                    table = None  # not (or no longer) in that table: place it again
            meter = RegisteredMeter(
                row.lfdi,
                address,
                Pubkey.from_string(row.owner),
                Pubkey.from_string(row.token_account),
                row.rated_power_w,
                table,
            )
            if table is not None:
                self._meters[row.lfdi] = meter
            out.append(meter)
        return out

    def _holds(self, table: Pubkey, address: Pubkey) -> bool:
        return table in self._tables and address in self._tables[table].addresses

    def forget(self) -> None:
        """Drop what is cached; the next use reads the tables and meters again."""
        self._meters.clear()
        self._tables.clear()
        self._tables_loaded = False

    # ------------------------------------------------------------------ making ready

    async def ensure(self, lfdis: Iterable[str]) -> dict[str, str]:
        """Make meters ready for readings; the ones that could not be, with why.

        ChainUnavailable propagates: nothing is wrong with any meter then.
        """
        want = [lfdi for lfdi in dict.fromkeys(lfdis) if lfdi not in self._meters]
        if not want:
            return {}
        await self.load(want)
        want = [lfdi for lfdi in want if lfdi not in self._meters]
        if not want:
            return {}
        failed: dict[str, str] = {}
        found = await self._register(want, failed)
        ready = await self._place(found, failed)
        self._save(ready, found)
        return failed

    async def _accounts(self, lfdis: Sequence[str]) -> dict[str, tuple[Pubkey, int] | None]:
        program = self.oracle.program
        accounts = await self.chain.get_multiple_accounts(
            [program.meter(bytes.fromhex(lfdi)) for lfdi in lfdis]
        )
        out: dict[str, tuple[Pubkey, int] | None] = {}
        for lfdi, account in zip(lfdis, accounts, strict=True):
            if account is None:
                out[lfdi] = None
            else:
                meter = program.decode_meter(bytes(account.data))
                out[lfdi] = (meter.owner, meter.rated_power_w)
        return out

    async def _register(
        self, lfdis: list[str], failed: dict[str, str]
    ) -> dict[str, tuple[Pubkey, int, str]]:
        """Meter accounts and token accounts for ``lfdis``: (owner, rating, source) each."""
        found: dict[str, tuple[Pubkey, int, str]] = {}
        on_chain = await self._accounts(lfdis)
        missing = [lfdi for lfdi, v in on_chain.items() if v is None]
        for lfdi, value in on_chain.items():
            if value is not None:
                found[lfdi] = (*value, "chain")
        await self._token_accounts([(lfdi, found[lfdi][0]) for lfdi in found], failed)
        for start in range(0, len(missing), REGISTER_CHUNK):
            chunk = missing[start : start + REGISTER_CHUNK]
            try:
                profiles = {lfdi: self.directory.profile(lfdi) for lfdi in chunk}
            except (ChainError, DirectoryError) as exc:
                for lfdi in chunk:
                    failed[lfdi] = f"no owner wallet: {exc}"
                continue
            try:
                await self._register_chunk(profiles)
            except ChainUnavailable:
                raise
            except ChainError as exc:
                if len(chunk) == 1:
                    failed[chunk[0]] = f"registration failed: {exc}"
                    continue
                # Someone may have registered one of them meanwhile: one at a time.
                for lfdi in chunk:
                    again = await self.ensure_one(lfdi, profiles[lfdi])
                    if isinstance(again, str):
                        failed[lfdi] = again
                    else:
                        found[lfdi] = again
                continue
            for lfdi, p in profiles.items():
                found[lfdi] = (p.owner, p.rated_power_w, p.source)
                log.info(
                    "meter registered",
                    extra={"lfdi": lfdi, "owner": str(p.owner), "rated_power_w": p.rated_power_w},
                )
        return found

    async def ensure_one(self, lfdi: str, profile: MeterProfile) -> tuple[Pubkey, int, str] | str:
        """Register one meter unless it exists; (owner, rating, source) or why it failed."""
        (state,) = (await self._accounts([lfdi])).values()
        if state is not None:
            failed: dict[str, str] = {}
            await self._token_accounts([(lfdi, state[0])], failed)
            return failed.get(lfdi, (*state, "chain"))
        try:
            await self._register_chunk({lfdi: profile})
        except ChainUnavailable:
            raise
        except ChainError as exc:
            return f"registration failed: {exc}"
        return (profile.owner, profile.rated_power_w, profile.source)

    async def _register_chunk(self, profiles: Mapping[str, MeterProfile]) -> None:
        gateway, program, mint = self.oracle.gateway, self.oracle.program, self.oracle.mint
        ixs = [set_compute_unit_limit(REGISTER_CU)]
        for lfdi, p in profiles.items():
            ixs.append(
                program.register_meter(
                    gateway.pubkey(),
                    gateway.pubkey(),
                    bytes.fromhex(lfdi),
                    p.owner,
                    p.rated_power_w,
                )
            )
            ixs.append(create_idempotent_associated_token_account(gateway.pubkey(), p.owner, mint))
        await land(self.chain, gateway, ixs, what=f"registering {len(profiles)} meter(s)")

    async def _token_accounts(
        self, owners: Sequence[tuple[str, Pubkey]], failed: dict[str, str]
    ) -> None:
        """Create the owners' token accounts that do not exist (meters found on chain)."""
        if not owners:
            return
        mint, gateway = self.oracle.mint, self.oracle.gateway
        atas = [get_associated_token_address(owner, mint) for _, owner in owners]
        accounts = await self.chain.get_multiple_accounts(atas)
        todo = [
            (lfdi, owner) for (lfdi, owner), a in zip(owners, accounts, strict=True) if a is None
        ]
        for start in range(0, len(todo), REGISTER_CHUNK):
            chunk = todo[start : start + REGISTER_CHUNK]
            ixs = [
                create_idempotent_associated_token_account(gateway.pubkey(), o, mint)
                for _, o in chunk
            ]
            try:
                await land(self.chain, gateway, ixs, what="creating owners' token accounts")
            except ChainUnavailable:
                raise
            except ChainError as exc:
                for lfdi, _ in chunk:
                    failed[lfdi] = f"token account failed: {exc}"

    # ------------------------------------------------------------------ lookup tables

    async def _new_table(self) -> Pubkey:
        gateway = self.oracle.gateway
        key = await self.chain.create_lookup_table(gateway, gateway)
        with Session(self.engine) as session, session.begin():
            session.add(LookupTableRecord(address=str(key), created_at=self.clock()))
        await self.chain.extend_lookup_table(key, gateway, gateway, [self.oracle.program.config])
        await self._refresh(key)
        log.info("lookup table created", extra={"table": str(key)})
        return key

    async def _refresh(self, key: Pubkey) -> None:
        table = await self.chain.get_lookup_table(key)
        if table is None:
            raise ChainError(f"lookup table {key} disappeared")
        self._tables[key] = table

    def _open_table(self) -> Pubkey | None:
        """The newest table with room for at least one more pair."""
        for key in reversed(list(self._tables)):
            if len(self._tables[key].addresses) <= LOOKUP_TABLE_MAX_ADDRESSES - 2:
                return key
        return None

    async def _place(
        self, found: Mapping[str, tuple[Pubkey, int, str]], failed: dict[str, str]
    ) -> dict[str, RegisteredMeter]:
        """Put each meter (and its token account) in a lookup table."""
        program, mint, gateway = self.oracle.program, self.oracle.mint, self.oracle.gateway
        ready: dict[str, RegisteredMeter] = {}
        todo: list[str] = []
        for lfdi, (owner, _, _) in found.items():
            if lfdi in failed:
                continue
            address = program.meter(bytes.fromhex(lfdi))
            table = self._where(address)  # already placed by a run that did not record it
            if table is None:
                todo.append(lfdi)
            ready[lfdi] = RegisteredMeter(
                lfdi,
                address,
                owner,
                get_associated_token_address(owner, mint),
                found[lfdi][1],
                table,
            )
        attempts = 0
        while todo:
            key = self._open_table() or await self._new_table()
            room = (LOOKUP_TABLE_MAX_ADDRESSES - len(self._tables[key].addresses)) // 2
            chunk, todo = todo[:room], todo[room:]
            pairs = [k for lfdi in chunk for k in (ready[lfdi].address, ready[lfdi].token_account)]
            try:
                await self.chain.extend_lookup_table(key, gateway, gateway, pairs)
            except ChainUnavailable:
                raise
            except ChainError as exc:
                # Another worker may have filled the table: look again, then try anew.
                attempts += 1
                await self._refresh(key)
                if attempts >= MAX_ALT_ATTEMPTS:
                    for lfdi in chunk + todo:
                        failed[lfdi] = f"lookup table: {exc}"
                        ready.pop(lfdi, None)
                    break
                todo = chunk + todo
                continue
            await self._refresh(key)
            for lfdi in chunk:
                m = ready[lfdi]
                ready[lfdi] = RegisteredMeter(
                    m.lfdi, m.address, m.owner, m.token_account, m.rated_power_w, key
                )
        return ready

    def _save(
        self, ready: Mapping[str, RegisteredMeter], found: Mapping[str, tuple[Pubkey, int, str]]
    ) -> None:
        now = self.clock()
        with Session(self.engine) as session, session.begin():
            for lfdi, m in ready.items():
                session.merge(
                    ChainMeter(
                        lfdi=lfdi,
                        address=str(m.address),
                        owner=str(m.owner),
                        token_account=str(m.token_account),
                        rated_power_w=m.rated_power_w,
                        lookup_table=None if m.table is None else str(m.table),
                        owner_source=found[lfdi][2],
                        registered_at=now,
                    )
                )
        for lfdi, m in ready.items():
            if m.table is not None:
                self._meters[lfdi] = m
