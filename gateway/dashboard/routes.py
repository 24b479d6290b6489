"""The dashboard's routes: the page, one snapshot, a stream of them, the static files.

One :class:`SnapshotSource` per application reads the database at most once per
``interval`` however many pages are open: each page's event stream asks it for the
current snapshot every ``interval`` seconds and sends it when it is new. A stream ends
when its page goes away, or when the gateway stops (``Gateway.stop`` sets
``app.state.closing``), so a drain never waits for an open dashboard.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.staticfiles import StaticFiles

from gateway.dashboard.history import EpochPower, Window, fleet_history
from gateway.dashboard.rows import read_rows
from gateway.dashboard.snapshot import Snapshot, build_snapshot
from gateway.runtime import GatewayRuntime
from oracle.status import STATS

STATIC = Path(__file__).parent / "static"
HISTORY_EVERY_S = 10.0
router = APIRouter(include_in_schema=False)


class SnapshotSource:
    """The current snapshot of one gateway, read again at most once per ``interval``."""

    def __init__(
        self,
        runtime: GatewayRuntime,
        *,
        interval: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._runtime = runtime
        self.interval = interval
        self._clock = clock
        self._lock = asyncio.Lock()
        self._snapshot: Snapshot | None = None
        self.reads = 0
        self._history: tuple[float, list[EpochPower]] | None = None
        self._history_lock = asyncio.Lock()  # apart: a snapshot never waits for it
        self.history_reads = 0

    @property
    def utc_offset_hours(self) -> float:
        """The site's clock the page shows times in."""
        return self._runtime.settings.dashboard_utc_offset_hours

    @property
    def history_interval(self) -> float:
        """How old the history may get: an epoch is 15 minutes, so ten seconds is plenty
        (and at least the snapshot's interval)."""
        return max(self.interval, HISTORY_EVERY_S)

    async def history(self) -> tuple[float, list[EpochPower]]:
        """The fleet's power by epoch over the last ``dashboard_history_hours``, and when
        it was read; read again at most once per :attr:`history_interval`."""
        async with self._history_lock:
            now = self._clock()
            if self._history is None or now - self._history[0] >= self.history_interval:
                window = Window.ending(now, self._runtime.settings.dashboard_history_hours)
                epochs = await self._runtime.read(lambda s: fleet_history(s, window))
                self.history_reads += 1
                self._history = (now, epochs)
            return self._history

    async def current(self) -> Snapshot:
        """The snapshot, fresh if the last one is ``interval`` old."""
        async with self._lock:
            now = self._clock()
            if self._snapshot is None or now - self._snapshot["generated_at"] >= self.interval:
                rows = await self._runtime.read(read_rows)
                self.reads += 1
                self._snapshot = build_snapshot(
                    rows, STATS.snapshot(), now=now, post_rate=self._runtime.settings.post_rate
                )
            return self._snapshot


def install_dashboard(app: FastAPI, runtime: GatewayRuntime, *, interval: float = 2.0) -> None:
    """Serve the dashboard from ``app``."""
    app.state.dashboard = SnapshotSource(runtime, interval=interval)
    app.state.closing = asyncio.Event()
    app.include_router(router)
    app.mount("/dashboard/static", StaticFiles(directory=STATIC), name="dashboard-static")


def _source(request: Request) -> SnapshotSource:
    source: SnapshotSource = request.app.state.dashboard
    return source


@router.get("/dashboard")
async def page() -> Response:
    """The page (its script draws the snapshots it receives)."""
    return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")


@router.get("/dashboard/state.json")
async def state(request: Request) -> Response:
    """One snapshot as JSON."""
    return JSONResponse(await _source(request).current())


@router.get("/dashboard/history.json")
async def history(request: Request) -> Response:
    """Fleet power by 15-minute epoch (gateway.dashboard.history), with the site's clock."""
    source = _source(request)
    read_at, epochs = await source.history()
    offset = source.utc_offset_hours
    return JSONResponse(
        {
            "generated_at": read_at,
            "utc_offset_hours": offset,
            "zone": zone_name(offset),
            "epochs": epochs,
        }
    )


def zone_name(offset_hours: float) -> str:
    """The fixed zone of an offset as the page names it: UTC, UTC+7, UTC+5:30, UTC-3."""
    if offset_hours == 0:
        return "UTC"
    minutes = round(abs(offset_hours) * 60)
    sign = "+" if offset_hours > 0 else "-"
    hours, rest = divmod(minutes, 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


@router.get("/dashboard/events")
async def events(request: Request) -> Response:
    """Server-sent events: a ``snapshot`` event each time there is a new one."""
    source = _source(request)
    closing: asyncio.Event = request.app.state.closing

    async def stream() -> AsyncIterator[str]:
        # the browser reconnects after ``retry`` ms if the stream ends (e.g. a restart)
        yield f"retry: {int(source.interval * 1000)}\n\n"
        sent = None
        while not closing.is_set() and not await request.is_disconnected():
            snapshot = await source.current()
            if snapshot["generated_at"] != sent:
                sent = snapshot["generated_at"]
                yield f"event: snapshot\ndata: {json.dumps(snapshot)}\n\n"
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(closing.wait(), timeout=source.interval)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
