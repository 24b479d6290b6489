"""The demo's run: chain ready, gateway (with the bridge) up, meters posting, a live view.

Order of start: the chain is prepared (:mod:`gridmirror.showcase.prepare`), the gateway
starts with the oracle bridge in its lifespan (the worker and the clearing crank), then
the meters find it (DNS-SD, or its URL) and replay the past hours before going live.
Order of stop, on SIGINT, SIGTERM or ``duration``: the meters first (their registers and
unsent samples saved), then the gateway (requests in flight drained; its lifespan stops
the worker after the batch it is on and closes the chain, whose state is on disk).
Whatever was accepted and not yet confirmed stays in the outbox for the next run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.live import Live

from certs.pki import Pki
from certs.settings import PkiSettings
from devices.campus import Campus
from devices.discovery import DiscoveryError, instance_label
from devices.fleet import Fleet, FleetError
from devices.settings import FleetSettings
from devices.state import load_state
from gateway.db import Database, DatabaseError
from gateway.launch import Gateway
from gateway.runtime import ConfigurationError
from gateway.server import ServerStartError
from gateway.settings import GatewaySettings
from gridmirror.extensions import ExtensionError, gateway_extensions
from gridmirror.showcase.ledger import Ledger, read_ledger
from gridmirror.showcase.prepare import DemoError, continued_replay_s, ensure_chain
from gridmirror.showcase.snapshot import Counters, Links, ReplayClock, Snapshot, take
from gridmirror.showcase.view import links, render, status_line
from oracle.registry import MeterDirectory
from oracle.settings import ChainSettings
from oracle.status import STATS
from sep2 import Codec, Sep2Settings

log = logging.getLogger(__name__)

RATE_WINDOW_S = 5.0  # rates are taken over the last few seconds, not between two frames
LEDGER_EVERY_S = 1.0  # the database is asked at most this often


@dataclass
class DemoPlan:
    """Everything the run needs, decided by the command from the settings and options."""

    gateway: GatewaySettings
    sep2: Sep2Settings
    pki: Pki
    pki_settings: PkiSettings
    chain: ChainSettings
    fleet: FleetSettings
    campus: Campus
    """The meters that run (the first N of the campus file)."""
    directory: MeterDirectory
    database: Database
    """The gateway's database, tables made; the view reads it, the chain setup writes it."""
    codec: Codec
    state_dir: Path
    hw_type: str
    duration: float | None = None
    interactive: bool = True
    """Draw the live view (stdout is a terminal); else a status line now and then."""
    refresh_s: float = 0.5
    status_every_s: float = 5.0


@dataclass
class Outcome:
    """How the run ended."""

    final: Snapshot | None
    error: str | None = None


class _Figures:
    """Snapshots as the run goes: the ledger read now and then, rates over a window."""

    def __init__(self, plan: DemoPlan, fleet: Fleet, links: Links, started_at: float) -> None:
        self.plan = plan
        self.fleet = fleet
        self.links = links
        self.started_at = started_at
        self.ledger = Ledger()
        self.ledger_at = 0.0
        self.history: deque[Counters] = deque()
        self.lfdis = {s.serial: plan.pki.device(s.serial).lfdi for s in plan.campus.meters}

    async def refresh_ledger(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self.ledger_at >= LEDGER_EVERY_S:
            self.ledger = await asyncio.to_thread(read_ledger, self.plan.database.read)
            self.ledger_at = now

    def clock(self) -> ReplayClock:
        timeline = self.fleet.timeline
        window = timeline.caught_up_at - timeline.real0
        fraction = 1.0 if window <= 0 else min(1.0, (timeline.clock() - timeline.real0) / window)
        return ReplayClock(timeline.now(), fraction, self.plan.campus.site.utc_offset_hours)

    def snapshot(self) -> Snapshot:
        now = time.time()
        while len(self.history) > 1 and now - self.history[1].at >= RATE_WINDOW_S:
            self.history.popleft()
        snap = take(
            at=now,
            started_at=self.started_at,
            specs=self.plan.campus.meters,
            lfdis=self.lfdis,
            fleet=self.fleet.stats,
            ledger=self.ledger,
            clock=self.clock(),
            links=self.links,
            baseline=self.history[0] if self.history else None,
            bridge_error=STATS.last_error,
        )
        self.history.append(snap.counters)
        return snap


@contextlib.contextmanager
def _logs_through(stream: object) -> Iterator[None]:
    """Send the log handlers' output to ``stream`` for a while (the live view's stderr,
    which prints above the view instead of through it)."""
    root = logging.getLogger()
    swapped = []
    for handler in root.handlers:
        if isinstance(handler, logging.StreamHandler):
            swapped.append((handler, handler.setStream(stream)))
    try:
        yield
    finally:
        for handler, before in swapped:
            handler.setStream(before)


async def run_demo(plan: DemoPlan, echo: Callable[[str], None]) -> Outcome:
    """Run the demo until a signal or ``plan.duration``; the last snapshot, or why not."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        return await _run(plan, stop, echo)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def _run(plan: DemoPlan, stop: asyncio.Event, echo: Callable[[str], None]) -> Outcome:
    lfdis = [plan.pki.device(s.serial).lfdi for s in plan.campus.meters]
    ready = await ensure_chain(plan.chain, plan.database, plan.directory, lfdis)
    echo(
        f"chain: program {ready.program_id}"
        + (" deployed now" if ready.deployed else "")
        + (", oracle initialized now" if ready.initialized else "")
        + f"; {len(lfdis)} meters ready ({ready.registered_now} registered now)"
    )
    for lfdi, why in sorted(ready.failed.items()):
        echo(f"chain: meter {lfdi} not registered yet ({why}); the worker tries again")
    if stop.is_set():
        return Outcome(None)
    saved = load_state(plan.state_dir, plan.fleet.seed)
    replay_s = continued_replay_s(
        {serial: m.snapshot.time_ms for serial, m in saved.items()},
        [spec.serial for spec in plan.campus.meters],
        time.time(),
        plan.fleet.replay_hours * 3600,
    )

    try:
        extensions = gateway_extensions(plan.gateway, plan.chain, plan.directory)
        gateway = Gateway(
            plan.gateway,
            plan.sep2,
            plan.pki,
            plan.pki_settings,
            codec=plan.codec,
            routers=extensions.routers,
            lifespans=extensions.lifespans,
        )
        await gateway.start()
    except (ServerStartError, DatabaseError, ConfigurationError, ExtensionError) as exc:
        raise DemoError(str(exc)) from None
    except OSError as exc:
        raise DemoError(f"cannot start the gateway: {exc.strerror or exc}") from None

    try:
        fleet = _fleet(plan, replay_s, gateway)
    except DemoError:
        await gateway.stop()
        raise
    fleet_stop = asyncio.Event()
    fleet_task: asyncio.Task[object] = asyncio.create_task(fleet.run(fleet_stop))
    figures = _Figures(plan, fleet, _links(gateway), time.time())
    error: str | None = None
    try:
        if plan.duration is not None:
            asyncio.get_running_loop().call_later(plan.duration, stop.set)
        mode = (
            f"replaying {replay_s / 3600:.2f} h at {plan.fleet.speed:g}x "
            f"(about {replay_s / 60 / (plan.fleet.speed - 1):.1f} min), then live"
            if replay_s > 0
            else "live"
        )
        echo(f"gateway: {gateway.url}/dcap; {len(plan.campus.meters)} meters {mode}")
        if not plan.interactive:  # the terminal view shows them all along
            for line in links(figures.links):
                echo(line)
        await _show(plan, stop, fleet_task, figures, echo)
    finally:
        # Meters first, so that nothing new arrives while the gateway drains.
        fleet_stop.set()
        error = await _stop_meters(fleet_task)
        await gateway.stop()  # drains; its lifespan stops the worker and closes the chain
    await figures.refresh_ledger(force=True)
    return Outcome(figures.snapshot(), error)


def _fleet(plan: DemoPlan, replay_s: float, gateway: Gateway) -> Fleet:
    updates: dict[str, object] = {"replay_hours": replay_s / 3600}
    if replay_s <= 0:
        updates["speed"] = 1.0
    if gateway.advertiser is None:  # no DNS-SD: tell the meters where the gateway is
        updates["server_url"] = f"{gateway.url}/dcap"
    else:  # found by DNS-SD, and only ours if other gateways advertise too
        updates["server_url"] = None
        updates["discovery_instance"] = instance_label(gateway.advertiser.name)
    try:
        return Fleet(
            plan.campus,
            plan.fleet.model_copy(update=updates),
            plan.pki,
            plan.codec,
            plan.sep2.pen,
            state_dir=plan.state_dir,
            hw_type=plan.hw_type,
        )
    except FleetError as exc:
        raise DemoError(str(exc)) from None


def _links(gateway: Gateway) -> Links:
    return Links(
        sep2_url=gateway.url,
        api_url=gateway.api_url,
        dnssd_name=gateway.advertiser.name if gateway.advertiser is not None else None,
    )


async def _show(
    plan: DemoPlan,
    stop: asyncio.Event,
    meters: asyncio.Task[object],
    figures: _Figures,
    echo: Callable[[str], None],
) -> None:
    """Draw snapshots until ``stop`` is set or the meters end by themselves."""
    waiter = asyncio.create_task(stop.wait())

    async def frames(draw: Callable[[Snapshot], None]) -> None:
        while not stop.is_set() and not meters.done():
            await figures.refresh_ledger()
            draw(figures.snapshot())
            await asyncio.wait(
                {waiter, meters}, timeout=plan.refresh_s, return_when=asyncio.FIRST_COMPLETED
            )

    try:
        if plan.interactive:
            console = Console()
            live = Live(console=console, auto_refresh=False, redirect_stderr=True)
            with live, _logs_through(sys.stderr):
                await frames(lambda snap: live.update(render(snap, console.width), refresh=True))
        else:
            last = [0.0]

            def line(snap: Snapshot) -> None:
                if snap.at - last[0] >= plan.status_every_s:
                    echo(status_line(snap))
                    last[0] = snap.at

            await frames(line)
    finally:
        waiter.cancel()


async def _stop_meters(task: asyncio.Task[object]) -> str | None:
    """Wait for the meters to stop (they save their state); why they failed, if they did."""
    try:
        await task
    except DiscoveryError as exc:
        return f"the meters did not find the gateway: {exc}"
    except FleetError as exc:
        return str(exc)
    except OSError as exc:
        return f"the meters failed: {exc.strerror or exc}"
    return None
