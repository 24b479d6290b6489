"""The embedded chain made ready for the demo: what ``gridmirror chain init`` does.

The program deployed (or found), the energy mint, the Config naming the gateway's key,
and the demo's meters registered with their owners' token accounts, so that the first
readings go straight on chain. Idempotent: a second demo in the same data directory
finds everything and registers nothing. The chain is closed again afterwards, because
the embedded chain has one opener at a time and the gateway's bridge opens it next.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gateway.db import Database
from oracle.chain import ChainError, open_chain
from oracle.deployment import init_oracle, open_oracle
from oracle.registry import MeterDirectory, MeterRegistry
from oracle.settings import ChainSettings


class DemoError(Exception):
    """The demo cannot run; the message is one line for the CLI."""


@dataclass(frozen=True)
class ChainReady:
    """What the chain's preparation found and did."""

    program_id: str
    mint: str
    deployed: bool
    initialized: bool
    registered_now: int
    failed: dict[str, str]
    """Meters that could not be registered, with why (their readings wait in the outbox)."""


async def ensure_chain(
    settings: ChainSettings,
    database: Database,
    directory: MeterDirectory,
    lfdis: Sequence[str],
) -> ChainReady:
    """Deploy and initialize the oracle if needed and register ``lfdis``; DemoError if the
    chain cannot be opened or set up."""
    try:
        chain = open_chain(settings)
    except ChainError as exc:
        raise DemoError(f"cannot open the chain: {exc}") from None
    try:
        report = await init_oracle(chain, settings)
        oracle = await open_oracle(chain, settings)
        registry = MeterRegistry(
            database.write, chain, oracle, directory, read_engine=database.read
        )
        known = {m.lfdi for m in await registry.load()}
        failed = await registry.ensure(lfdis)
    except ChainError as exc:
        raise DemoError(f"cannot set up the oracle on the chain: {exc}") from None
    finally:
        await chain.close()
    return ChainReady(
        program_id=str(report.program_id),
        mint=str(report.config.mint),
        deployed=report.deployed,
        initialized=report.initialized,
        registered_now=len([x for x in lfdis if x not in known and x not in failed]),
        failed=failed,
    )
