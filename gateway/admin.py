"""Operator actions on the gateway's database, with or without a running gateway.

``gridmirror gateway register-device`` and friends call these; they open the database
themselves, so they work while the gateway runs (SQLite: they wait for the writer's
lock) and while it does not. A running gateway advertises a device registered here in
DNS-SD (``edev-<SFDI>``) within 30 seconds.
"""

from __future__ import annotations

import time

from gateway.crud import devices, mirrors
from gateway.crud.devices import Registered
from gateway.db import Database
from gateway.registration import pre_register
from sep2 import normalise_lfdi, sfdi_from_lfdi


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
                mirrors.mark_deleted(session, mirror, time.time())
        return len(found)
    finally:
        database.dispose()


def sfdi_of(lfdi: str) -> int:
    """The SFDI of an LFDI, for messages."""
    return sfdi_from_lfdi(normalise_lfdi(lfdi))


def set_post_rate(database: Database, lfdi: str | None, seconds: int | None) -> int:
    """Give ``lfdi``'s mirrors (every mirror for None) their own postRate, or (None) the
    server's again; how many mirrors changed. Clients see it when they re-read the mirror."""
    try:
        with database.write_session() as session:
            return mirrors.set_post_rate(
                session, normalise_lfdi(lfdi) if lfdi is not None else None, seconds
            )
    finally:
        database.dispose()
