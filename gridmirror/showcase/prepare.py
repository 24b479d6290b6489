"""What the demo needs before it runs: the chain set up, and where the replay starts.

The chain: what ``gridmirror chain init`` does.
The program deployed (or found), the energy mint, the Config naming the gateway's key,
and the demo's meters registered with their owners' token accounts, so that the first
readings go straight on chain. Idempotent: a second demo in the same data directory
finds everything and registers nothing. The chain is closed again afterwards, because
the embedded chain has one opener at a time and the gateway's bridge opens it next.

The replay: a second run continues from where the meters' saved state stopped
(:func:`continued_replay_s`), rather than replaying the same hours again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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


def continued_replay_s(
    saved_ms: Mapping[str, int], serials: Sequence[str], now: float, window_s: float
) -> float:
    """Seconds to replay so that the meters carry on from where they were saved.

    ``saved_ms`` is each saved meter's time (ms since the epoch). With every meter saved,
    the replay starts at the earliest of them (a meter ahead of it waits for its own
    time), never further back than ``window_s``; a meter without saved state means the
    whole window (it starts there). A run stopped during the replay thus resumes the
    replay; one stopped while live replays only the time it was away.
    """
    if window_s <= 0 or not serials or any(s not in saved_ms for s in serials):
        return max(0.0, window_s)
    earliest = min(saved_ms[s] for s in serials) / 1000
    return min(window_s, max(0.0, now - earliest))
