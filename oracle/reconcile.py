"""Reconciliation: the database's settlements against the chain, meter by meter.

``gridmirror chain reconcile`` (and the worker, at start and every
``reconcile_every_s``) proves that what the ``settlement`` table says was minted is what
the chain minted:

- per meter: the rows' minted Wh = the Meter account's ``minted_wh``, their settlement
  count = its ``settlements``, and the last row's epoch and registers = its
  ``last_cleared_epoch`` and watermarks;
- per owner's token account: its balance = the Wh the rows minted for the meters paying
  into it (so an owner who moved tokens out shows here as a difference: it is reported,
  not explained away);
- in total: the meters' ``minted_wh`` add up to the Config's ``minted_wh`` and to the
  mint's supply.

Each difference is one line; none means the three agree.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from solders.pubkey import Pubkey
from sqlalchemy import Engine

from anchor.abi import NO_EPOCH
from anchor.accounts import MeterAccount
from oracle.chain.backend import ChainBackend
from oracle.chain.spl_token import parse_mint, parse_token_account
from oracle.deployment import Oracle, read_config
from oracle.registry import MeterRegistry
from oracle.settled import RecordedMeter, recorded

# get_multiple_accounts takes at most 100 addresses (Solana's RPC limit)
ACCOUNTS_PER_CALL = 100


@dataclass
class Reconciliation:
    """What was compared and every difference found (one line each)."""

    meters: int = 0
    minted_wh: int = 0  # as the database has it
    differences: list[str] = field(default_factory=list)

    @property
    def agrees(self) -> bool:
        """No difference."""
        return not self.differences


async def meter_accounts(
    chain: ChainBackend, oracle: Oracle, registry: MeterRegistry
) -> list[tuple[str, MeterAccount | None]]:
    """Every registered meter with its decoded Meter account (None: missing on chain)."""
    meters = await registry.load()
    out: list[tuple[str, MeterAccount | None]] = []
    for start in range(0, len(meters), ACCOUNTS_PER_CALL):
        chunk = meters[start : start + ACCOUNTS_PER_CALL]
        accounts = await chain.get_multiple_accounts([m.address for m in chunk])
        for m, account in zip(chunk, accounts, strict=True):
            state = None if account is None else oracle.program.decode_meter(bytes(account.data))
            out.append((m.lfdi, state))
    return out


def _meter_differences(lfdi: str, chain: MeterAccount, db: RecordedMeter | None) -> list[str]:
    db_minted = 0 if db is None else db.minted_wh
    db_count = 0 if db is None else db.settlements
    db_last = NO_EPOCH if db is None else db.last_epoch
    out = []
    if db_minted != chain.minted_wh:
        out.append(
            f"meter {lfdi}: minted {db_minted} Wh in the database, {chain.minted_wh} on chain"
        )
    if db_count != chain.settlements:
        out.append(
            f"meter {lfdi}: {db_count} settlements in the database, {chain.settlements} on chain"
        )
    if db_last != chain.last_cleared_epoch:
        out.append(
            f"meter {lfdi}: last settled epoch {db_last} in the database, "
            f"{chain.last_cleared_epoch} on chain"
        )
    elif db is not None and (db.import_wh, db.export_wh) != (
        chain.settled_import_wh,
        chain.settled_export_wh,
    ):
        out.append(
            f"meter {lfdi}: settled registers {db.import_wh}/{db.export_wh} Wh in the "
            f"database, {chain.settled_import_wh}/{chain.settled_export_wh} on chain"
        )
    return out


async def reconcile(
    engine: Engine, chain: ChainBackend, oracle: Oracle, registry: MeterRegistry
) -> Reconciliation:
    """Compare the settlement rows with the Meter accounts, token accounts and the mint."""
    report = Reconciliation()
    states = await meter_accounts(chain, oracle, registry)
    db = await asyncio.to_thread(recorded, engine, [lfdi for lfdi, _ in states])
    report.meters = len(states)
    report.minted_wh = sum(r.minted_wh for r in db.values())
    chain_total = 0
    for lfdi, state in states:
        if state is None:
            report.differences.append(f"meter {lfdi}: registered in the database, no account")
            continue
        chain_total += state.minted_wh
        report.differences += _meter_differences(lfdi, state, db.get(lfdi))

    # token accounts: balance = what the rows minted for the meters paying into each
    owed: dict[str, int] = {}
    for m in await registry.load():
        key = str(m.token_account)
        owed[key] = owed.get(key, 0) + (db[m.lfdi].minted_wh if m.lfdi in db else 0)
    keys = sorted(owed)
    for start in range(0, len(keys), ACCOUNTS_PER_CALL):
        chunk = keys[start : start + ACCOUNTS_PER_CALL]
        accounts = await chain.get_multiple_accounts([Pubkey.from_string(k) for k in chunk])
        for key, account in zip(chunk, accounts, strict=True):
            token = None if account is None else parse_token_account(account)
            balance = None if token is None else token.amount
            if balance != owed[key]:
                report.differences.append(
                    f"token account {key}: balance {balance} Wh, the database minted "
                    f"{owed[key]} Wh to it"
                )

    config = await read_config(chain, oracle.program)
    mint_account = await chain.get_account(oracle.mint)
    mint = None if mint_account is None else parse_mint(mint_account)
    supply = None if mint is None else mint.supply
    config_minted = None if config is None else config.minted_wh
    if not (report.minted_wh == chain_total == config_minted == supply):
        report.differences.append(
            f"total: database {report.minted_wh} Wh, meters {chain_total} Wh, Config "
            f"{config_minted} Wh, mint supply {supply} Wh"
        )
    return report
