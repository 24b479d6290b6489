"""Operator actions on the gateway's database, with or without a running gateway.

``gridmirror gateway register-device`` and friends call these; they open the database
themselves, so they work while the gateway runs (SQLite: they wait for the writer's
lock) and while it does not. A running gateway advertises a device registered here in
DNS-SD (``edev-<SFDI>``) within 30 seconds.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

from gateway.crud import devices, direct, mirrors
from gateway.crud.devices import Registered
from gateway.db import Database
from gateway.postrate import mirror_post_rate
from gateway.registration import pre_register
from sep2 import normalise_lfdi


def register_device(database: Database, lfdi: str, pin: int) -> Registered:
    """Register ``lfdi`` out of band with ``pin`` (or change a registered device's PIN)."""
    try:
        with database.write_session() as session:
            return pre_register(session, lfdi, pin, int(time.time()))
    finally:
        database.dispose()


def unregister_device(database: Database, lfdi: str) -> bool:
    """Remove the registration of ``lfdi`` (its mirrors stay); False if it had none."""
    try:
        with database.write_session() as session:
            return devices.unregister(session, normalise_lfdi(lfdi))
    finally:
        database.dispose()


def delete_mirrors(database: Database, lfdi: str) -> int:
    """Delete every live mirror ``lfdi`` owns or that mirrors it (readings stay); how many."""
    try:
        with database.write_session() as session:
            found = mirrors.live_of_device(session, normalise_lfdi(lfdi))
            for mirror in found:
                assert mirror.id is not None
                direct.delete_mirror(session, mirror.id, time.time())
        return len(found)
    finally:
        database.dispose()


class NotRegistered(Exception):
    """The device has no EndDevice here; the message is one line for the CLI."""


@dataclass(frozen=True, slots=True)
class PostRateChange:
    """What :func:`set_post_rate` changed, for the operator."""

    devices: tuple[tuple[int, str, int | None], ...]
    """(id, LFDI, the device's own postRate before; None: it had the server's)."""
    mirrors: dict[int, int]
    """postRate -> how many of those devices' live mirrors show it now."""


def set_post_rate(
    database: Database, lfdi: str | None, seconds: int | None, default: int
) -> PostRateChange:
    """Give the device ``lfdi`` (every registered device for None) its own postRate, or
    (``seconds`` None) the server's (``default``) again. Its EndDevice and its mirrors, and
    those it creates later, show it (gateway.postrate); clients see it when they re-read.
    NotRegistered if ``lfdi`` has no EndDevice."""
    device = normalise_lfdi(lfdi) if lfdi is not None else None
    try:
        with database.write_session() as session:
            changed = devices.set_post_rate(session, device, seconds)
            if device is not None and not changed:
                raise NotRegistered(
                    f"{device} is not registered: a postRate belongs to its EndDevice "
                    f"(gridmirror gateway register-device --lfdi {device} first)"
                )
            parties = mirrors.live_parties(session, [device] if device is not None else None)
            involved = None if device is None else {lfdi for pair in parties for lfdi in pair}
            overrides = devices.post_rates(session, involved)
        shown = Counter(mirror_post_rate(d, o, overrides, default) for d, o in parties)
        return PostRateChange(tuple(changed), dict(sorted(shown.items())))
    finally:
        database.dispose()
