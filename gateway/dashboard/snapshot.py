"""The dashboard's snapshot: a pure function of the database's rows and the bridge's stats.

How a meter's figures are found among its mirrors' latest readings (the ReadingTypes the
emulated meters use, devices.mirror, which any 2030.5 meter may use the same way):

- the *site* mirror (not isDER, not isSubmeter) names the meter (its description) and
  gives its energy registers (import, export, whole Wh) and its net power (uom W, kind
  power, flowDirection forward: + importing, - exporting);
- a *DER* mirror (isDER) gives PV output (W, flowDirection reverse), battery power (W,
  flowDirection forward, + charging) and battery state of charge (uom not applicable,
  kind not applicable, in %);
- load = net + PV - battery (what the premises consume: net import plus what the PV
  makes, less what goes into the battery), only when the meter has a DER mirror.

A meter's *campus role* is read from what it mirrors: a DER mirror with a battery power
reading makes it a hybrid, one with PV only a prosumer, and no DER mirror a consumer (so a
prosumer whose meter does not mirror its DER shows as a consumer; the demo's meters mirror
theirs). Its 2030.5 roleFlags (the site mirror's) are shown beside it.

A meter is *online* when its last reading arrived within three of its postRates.

Settlement, per epoch and meter (oracle.settled): net export (export minus import over
the epoch), minted and withheld Wh, and in words why nothing was minted (:func:`why`).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, TypedDict

from gateway.dashboard.rows import DashboardRows, Latest, Mirror
from gateway.postrate import device_post_rate, mirror_post_rate
from oracle.outbox import OutboxState
from sep2 import RoleFlags

EPOCH_SECONDS = 900
ONLINE_POST_RATES = 3
_W, _POWER, _NA = 38, 37, 0  # sep2 Uom.W, Kind.POWER, the NOT_APPLICABLE of both
_FORWARD, _REVERSE = 1, 19
_NOT_SITE = RoleFlags.IS_DER | RoleFlags.IS_SUBMETER


class MeterView(TypedDict):
    """One meter (a registered device) as the dashboard shows it."""

    lfdi: str
    name: str
    sfdi: int
    role: str
    """Campus role: consumer, prosumer or hybrid (see the module's docstring)."""
    role_flags: str
    """The site mirror's 2030.5 roleFlags, by name (e.g. isMirror|isPremisesAggregationPoint)."""
    owner: str | None
    online: bool
    last_reading: int | None
    """Unix time of the newest reading of any of its mirrors."""
    last_received: float | None
    import_wh: int | None
    export_wh: int | None
    net_w: float | None
    pv_w: float | None
    battery_w: float | None
    soc_pct: float | None
    load_w: float | None
    confirmed: int
    pending: int
    dead: int
    minted_wh: int
    settled_epochs: int


class SettlementView(TypedDict):
    """One meter settled in one epoch."""

    meter: str
    net_export_wh: int
    """Export minus import over the epoch (negative: the meter imported on balance)."""
    minted_wh: int
    withheld_wh: int
    why: str
    """Why the minted figure is what it is, in words (:func:`why`)."""


class EpochView(TypedDict):
    """One cleared epoch with what each meter was minted."""

    epoch: int
    start: int
    settled: int
    minted_wh: int
    by_meter: dict[str, int]
    """Minted Wh by meter name (meters minted nothing are left out)."""
    meters: list[SettlementView]
    """Every meter settled in the epoch, minted or not, by name."""


class DeadLetterView(TypedDict):
    id: int
    meter: str
    timestamp: int
    attempts: int
    error: str | None


class Totals(TypedDict):
    meters: int
    online: int
    net_w: float
    pv_w: float
    import_wh: int
    export_wh: int
    confirmed: int
    pending: int
    dead: int
    minted_wh: int


class Snapshot(TypedDict):
    """Everything the page draws, JSON-ready."""

    generated_at: float
    meters: list[MeterView]
    meters_shown: int
    totals: Totals
    epochs: list[EpochView]
    dead_letters: list[DeadLetterView]
    bridge: dict[str, Any]


def build_snapshot(
    rows: DashboardRows,
    bridge: dict[str, Any],
    *,
    now: float,
    post_rate: int,
    max_meters: int = 500,
) -> Snapshot:
    """The snapshot of ``rows`` at ``now`` (``post_rate``: the server's default)."""
    mirrors_of: dict[str, list[Mirror]] = defaultdict(list)
    for mirror in rows.mirrors:
        mirrors_of[mirror.device_lfdi].append(mirror)
    latest_of: dict[int, list[Latest]] = defaultdict(list)
    for latest in rows.latest:
        latest_of[latest.mirror_id].append(latest)
    outbox: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for count in rows.outbox:
        outbox[count.lfdi][count.state] += count.count
    minted = {m.lfdi: m for m in rows.minted}
    own_rates = {d.lfdi: d.post_rate for d in rows.devices if d.post_rate is not None}

    meters: list[MeterView] = []
    for device in rows.devices:
        view = _meter(
            device.lfdi, device.sfdi, mirrors_of[device.lfdi], latest_of, now,
            own_rates, post_rate,
        )  # fmt: skip
        states = outbox.get(device.lfdi, {})
        settled = minted.get(device.lfdi)
        view["owner"] = rows.owners.get(device.lfdi)
        view["confirmed"] = rows.outbox_totals.get(device.lfdi, 0) - sum(states.values())
        view["pending"] = states.get(OutboxState.PENDING.value, 0) + states.get(
            OutboxState.IN_FLIGHT.value, 0
        )
        view["dead"] = states.get(OutboxState.DEAD.value, 0)
        view["minted_wh"] = settled.minted_wh if settled else 0
        view["settled_epochs"] = settled.epochs if settled else 0
        meters.append(view)
    meters.sort(key=lambda m: (m["name"], m["lfdi"]))
    names = {m["lfdi"]: m["name"] for m in meters}

    roles = {m["lfdi"]: m["role"] for m in meters}
    by_epoch: dict[int, dict[str, int]] = defaultdict(dict)
    settled_in: dict[int, list[SettlementView]] = defaultdict(list)
    for s in rows.settlements:
        name = names.get(s.lfdi, s.lfdi)
        if s.minted_wh:
            by_epoch[s.epoch][name] = s.minted_wh
        settled_in[s.epoch].append(
            {
                "meter": name,
                "net_export_wh": s.net_export_wh,
                "minted_wh": s.minted_wh,
                "withheld_wh": s.withheld_wh,
                "why": why(s.net_export_wh, s.minted_wh, s.withheld_wh, roles.get(s.lfdi, "")),
            }
        )
    epochs: list[EpochView] = [
        {
            "epoch": e.epoch,
            "start": e.epoch * EPOCH_SECONDS,
            "settled": e.settled,
            "minted_wh": e.minted_wh,
            "by_meter": dict(sorted(by_epoch.get(e.epoch, {}).items())),
            "meters": sorted(settled_in.get(e.epoch, []), key=lambda v: v["meter"]),
        }
        for e in sorted(rows.epochs, key=lambda e: e.epoch)
    ]
    dead: list[DeadLetterView] = [
        {
            "id": d.id,
            "meter": names.get(d.lfdi, d.lfdi),
            "timestamp": d.timestamp,
            "attempts": d.attempts,
            "error": d.last_error,
        }
        for d in rows.dead_letters
    ]
    totals: Totals = {
        "meters": len(meters),
        "online": sum(1 for m in meters if m["online"]),
        "net_w": sum(m["net_w"] or 0.0 for m in meters),
        "pv_w": sum(m["pv_w"] or 0.0 for m in meters),
        "import_wh": sum(m["import_wh"] or 0 for m in meters),
        "export_wh": sum(m["export_wh"] or 0 for m in meters),
        "confirmed": sum(m["confirmed"] for m in meters),
        "pending": sum(m["pending"] for m in meters),
        "dead": sum(m["dead"] for m in meters),
        "minted_wh": sum(m.minted_wh for m in rows.minted),
    }
    return {
        "generated_at": now,
        "meters": meters[:max_meters],
        "meters_shown": min(len(meters), max_meters),
        "totals": totals,
        "epochs": epochs,
        "dead_letters": dead,
        "bridge": bridge,
    }


def why(net_export_wh: int, minted_wh: int, withheld_wh: int, role: str) -> str:
    """Why a meter's settlement minted what it did, in words for the page.

    The program mints the positive net export of the epoch (export minus import deltas)
    up to the meter's cap; ``role`` (campus role) only chooses the words for a net import.
    """
    if withheld_wh > 0:
        return f"net export above the meter's mint cap: {withheld_wh:,} Wh withheld"
    if minted_wh > 0:
        return "net export minted"
    if net_export_wh == 0:
        return "no net flow in the epoch"
    if role == "consumer":
        return "net import: no generation behind the meter"
    if role == "hybrid":
        return "net import: load and battery charging took all the PV made"
    return "net import: the load took all the PV made"


def role_flag_names(flags: int) -> str:
    """2030.5 roleFlags by their schema names, joined by ``|`` ("none" for 0)."""
    return "|".join(name for flag, name in _FLAG_NAMES.items() if flags & flag) or "none"


_FLAG_NAMES = {
    RoleFlags.IS_MIRROR: "isMirror",
    RoleFlags.IS_PREMISES_AGGREGATION_POINT: "isPremisesAggregationPoint",
    RoleFlags.IS_PEV: "isPEV",
    RoleFlags.IS_DER: "isDER",
    RoleFlags.IS_REVENUE_QUALITY: "isRevenueQuality",
    RoleFlags.IS_DC: "isDC",
    RoleFlags.IS_SUBMETER: "isSubmeter",
}


def _meter(
    lfdi: str,
    sfdi: int,
    mirrors: list[Mirror],
    latest_of: dict[int, list[Latest]],
    now: float,
    own_rates: dict[str, int],
    post_rate: int,
) -> MeterView:
    site = next((m for m in mirrors if not m.role_flags & _NOT_SITE), None)
    der = [m for m in mirrors if m.role_flags & RoleFlags.IS_DER]
    view: MeterView = {
        "lfdi": lfdi,
        "name": (site.description if site and site.description else None) or lfdi[:12],
        "sfdi": sfdi,
        "role": "",
        "role_flags": role_flag_names(site.role_flags) if site is not None else "none",
        "owner": None,
        "online": False,
        "last_reading": None,
        "last_received": None,
        "import_wh": None,
        "export_wh": None,
        "net_w": None,
        "pv_w": None,
        "battery_w": None,
        "soc_pct": None,
        "load_w": None,
        "confirmed": 0,
        "pending": 0,
        "dead": 0,
        "minted_wh": 0,
        "settled_epochs": 0,
    }
    # The rate the site mirror shows its meter, as the 2030.5 answers do.
    rate = (
        mirror_post_rate(site.device_lfdi, site.owner_lfdi, own_rates, post_rate)
        if site is not None
        else device_post_rate(own_rates.get(lfdi), post_rate)
    )
    for mirror in mirrors:
        is_der = bool(mirror.role_flags & RoleFlags.IS_DER)
        for r in latest_of.get(mirror.id, []):
            _take_newest(view, r)
            value = None if r.scaled is None else float(r.scaled)
            if mirror is site and r.energy_register == "import":
                view["import_wh"] = r.wh
            elif mirror is site and r.energy_register == "export":
                view["export_wh"] = r.wh
            elif (r.uom, r.kind) == (_W, _POWER):
                if not is_der and mirror is site and r.flow_direction == _FORWARD:
                    view["net_w"] = value
                elif is_der and r.flow_direction == _REVERSE:
                    view["pv_w"] = value
                elif is_der and r.flow_direction == _FORWARD:
                    view["battery_w"] = value
            elif is_der and (r.uom, r.kind) == (_NA, _NA):
                view["soc_pct"] = value
    has_battery = any(
        (r.uom, r.kind, r.flow_direction) == (_W, _POWER, _FORWARD)
        for m in der
        for r in latest_of.get(m.id, [])
    )
    view["role"] = "hybrid" if has_battery else "prosumer" if der else "consumer"
    if der and view["net_w"] is not None:
        view["load_w"] = view["net_w"] + (view["pv_w"] or 0.0) - (view["battery_w"] or 0.0)
    elif view["net_w"] is not None and view["net_w"] >= 0:
        view["load_w"] = view["net_w"]  # no DER mirror: all the net import is load
    received = view["last_received"]
    view["online"] = received is not None and now - received <= ONLINE_POST_RATES * rate
    return view


def _take_newest(view: MeterView, r: Latest) -> None:
    if view["last_reading"] is None or r.start > view["last_reading"]:
        view["last_reading"] = r.start
    if view["last_received"] is None or r.received_at > view["last_received"]:
        view["last_received"] = r.received_at
