"""A snapshot drawn: the live terminal view, the plain status line, the final summary.

Pure functions of a :class:`~gridmirror.showcase.snapshot.Snapshot`; nothing here reads a
clock or a database, so what the user sees is what the snapshot says.
"""

from __future__ import annotations

import time

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from gridmirror.showcase.snapshot import Links, MeterRow, Snapshot

_PHASE_STYLE = {
    "online": "green",
    "starting": "yellow",
    "retrying": "red",
    "refused": "bold red",
    "stopped": "dim",
}


def sim_clock(snapshot: Snapshot) -> str:
    """The campus' simulated local time, and whether the replay still runs."""
    clock = snapshot.clock
    local = time.gmtime(clock.sim_time + clock.utc_offset_hours * 3600)
    stamp = time.strftime("%Y-%m-%d %H:%M", local)
    offset = f"UTC{clock.utc_offset_hours:+g}"
    if clock.live:
        return f"{stamp} {offset} (live)"
    return f"{stamp} {offset} (replay {clock.fraction:.0%})"


def links(lk: Links) -> list[str]:
    """Where to look: the API, its docs, the dashboard, the metrics, the 2030.5 server."""
    out = []
    if lk.api_url is not None:
        out += [
            f"API        {lk.api_url}/api/v1",
            f"API docs   {lk.api_url}/docs",
            f"dashboard  {lk.api_url}/dashboard",
            f"metrics    {lk.api_url}/metrics",
        ]
    dnssd = f" (DNS-SD {lk.dnssd_name})" if lk.dnssd_name else ""
    out.append(f"2030.5     {lk.sep2_url}/dcap{dnssd} (mutual TLS: meters)")
    return out


def _kwh(wh: int | None, digits: int = 1) -> str:
    return "-" if wh is None else f"{wh / 1000:,.{digits}f}"


def _w(watts: int | None) -> str:
    return "-" if watts is None else f"{watts:,}"


def _soc(pct: float | None) -> str:
    return "-" if pct is None else f"{pct:.1f}"


WIDE = 120  # terminal columns from which the meters' table names their buildings


def _meter_table(rows: tuple[MeterRow, ...], wide: bool) -> Table:
    table = Table(expand=False, pad_edge=False, box=None, header_style="bold")
    table.add_column("meter", no_wrap=True, min_width=9)
    if wide:
        table.add_column("building", overflow="ellipsis", max_width=30, no_wrap=True)
    table.add_column("role", no_wrap=True, min_width=8)
    table.add_column("state", no_wrap=True, min_width=8)
    # Behind the meter (PV, battery, SoC) only when there is room for it.
    behind = ("PV W", "batt W", "SoC %") if wide else ()
    for header in ("net W", *behind, "imp kWh", "exp kWh", "pairs on chain", "minted kWh"):
        table.add_column(header, justify="right", no_wrap=True)
    for row in rows:
        table.add_row(
            row.serial,
            *((row.building,) if wide else ()),
            row.role,
            Text(row.phase, style=_PHASE_STYLE.get(row.phase, "")),
            _w(row.power_w),
            *((_w(row.pv_w), _w(row.battery_w), _soc(row.soc_pct)) if wide else ()),
            _kwh(row.import_wh),
            _kwh(row.export_wh),
            f"{row.confirmed:,}",
            _kwh(row.minted_wh, 3),
        )
    return table


def render(snapshot: Snapshot, width: int = WIDE) -> RenderableType:
    """The live view for a terminal ``width`` columns wide: figures, the meters' table
    (with their buildings when it is wide enough), and where to look."""
    s = snapshot
    figures = Table.grid(padding=(0, 2))
    figures.add_column(style="bold")
    figures.add_column()
    figures.add_column(style="bold")
    figures.add_column()
    figures.add_row(
        "meters",
        f"{s.meters_online} of {len(s.meters)} online",
        "campus time",
        sim_clock(s),
    )
    figures.add_row(
        "2030.5 Readings",
        f"{s.readings:,} ({s.readings_per_s:,.0f}/s)",
        "pairs stored",
        f"{s.accepted:,}",
    )
    figures.add_row(
        "pairs on chain",
        f"{s.confirmed:,} pairs ({s.confirmed_per_s:,.0f}/s)",
        "on the way",
        f"{s.open:,}",
    )
    figures.add_row(
        "epochs cleared",
        f"{s.epochs_cleared:,}",
        "minted",
        f"{_kwh(s.minted_wh, 3)} kWh",
    )
    figures.add_row(
        "dead letters",
        Text(f"{s.dead:,}", style="red" if s.dead else ""),
        "running for",
        f"{s.elapsed_s:,.0f} s",
    )
    parts: list[RenderableType] = [figures]
    if s.bridge_error:
        parts.append(Text(f"chain: {s.bridge_error}", style="yellow"))
    parts += [Text(""), _meter_table(s.meters, width >= WIDE), Text("")]
    parts += [Text(line, style="cyan") for line in links(s.links)]
    parts.append(Text("Ctrl-C stops (meters, gateway, worker, in that order)", style="dim"))
    return Panel(Group(*parts), title="gridmirror demo", title_align="left")


def status_line(snapshot: Snapshot) -> str:
    """One plain line for a log or a pipe (stdout not a terminal)."""
    s = snapshot
    return (
        f"demo {s.elapsed_s:.0f}s | {sim_clock(s)} | meters {s.meters_online}/{len(s.meters)} "
        f"online | 2030.5 Readings {s.readings} ({s.readings_per_s:.0f}/s) | pairs stored "
        f"{s.accepted}, confirmed {s.confirmed} ({s.confirmed_per_s:.0f}/s), on the way "
        f"{s.open}, dead {s.dead} | epochs cleared {s.epochs_cleared} | minted "
        f"{s.minted_wh / 1000:.3f} kWh"
    )


def summary(snapshot: Snapshot) -> list[str]:
    """The lines printed once everything has stopped."""
    s = snapshot
    producers = sorted((r for r in s.meters if r.minted_wh > 0), key=lambda r: -r.minted_wh)
    lines = [
        f"demo stopped after {s.elapsed_s:.0f} s; campus time {sim_clock(s)}",
        f"  meters: {len(s.meters)}; 2030.5 Readings accepted by the gateway: {s.readings}",
        f"  register pairs stored: {s.accepted}; confirmed on chain: {s.confirmed}; "
        f"still on the way: {s.open}; dead letters: {s.dead}",
        f"  epochs cleared: {s.epochs_cleared}; minted: {s.minted_wh / 1000:.3f} kWh",
    ]
    if producers:
        top = ", ".join(f"{r.serial} {r.minted_wh / 1000:.3f}" for r in producers[:3])
        lines.append(f"  most minted (kWh): {top}")
    return lines
