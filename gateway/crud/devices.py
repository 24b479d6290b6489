"""Registered devices (``end_device``): look-ups, registration, DeviceInformation."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlmodel import Session

from gateway.models import EndDeviceRow, table_of

_E: Any = table_of(EndDeviceRow)


@dataclass(frozen=True, slots=True)
class Registered:
    """The outcome of a registration: the row, and whether it is new."""

    device: EndDeviceRow
    created: bool


def by_lfdi(session: Session, lfdi: str) -> EndDeviceRow | None:
    """The registered device with this LFDI, or None."""
    return session.execute(select(EndDeviceRow).where(_E.c.lfdi == lfdi)).scalar_one_or_none()  # type: ignore[no-any-return]


def by_id(session: Session, device_id: int) -> EndDeviceRow | None:
    """The registered device with this id, or None."""
    return session.get(EndDeviceRow, device_id)


def is_registered(session: Session, lfdi: str) -> bool:
    """True if a device with this LFDI is registered."""
    found = session.execute(select(_E.c.id).where(_E.c.lfdi == lfdi)).first()
    return found is not None


def count(session: Session, owner: str | None) -> int:
    """How many registered devices ``owner`` sees (all of them for None)."""
    where = [] if owner is None else [_E.c.lfdi == owner]
    total = session.execute(select(func.count()).select_from(EndDeviceRow).where(*where)).scalar()
    return int(total or 0)


def page(
    session: Session, owner: str | None, offset: int, limit: int
) -> tuple[list[EndDeviceRow], int]:
    """A page of devices by sFDI ascending (only ``owner``'s if given), and the total."""
    where = [] if owner is None else [_E.c.lfdi == owner]
    total = count(session, owner)
    rows = session.execute(
        select(EndDeviceRow).where(*where).order_by(_E.c.sfdi, _E.c.id).offset(offset).limit(limit)
    ).scalars()
    return list(rows), total


def register(
    session: Session,
    *,
    lfdi: str,
    sfdi: int,
    pin: int,
    via: str,
    now: int,
    changed_time: int | None = None,
    device_category: int | None = None,
    enabled: bool | None = None,
    keep_pin: bool = True,
) -> Registered:
    """Register ``lfdi``, or update it if it is registered (its PIN kept if ``keep_pin``)."""
    existing = by_lfdi(session, lfdi)
    if existing is not None:
        existing.changed_time = changed_time if changed_time is not None else now
        if device_category is not None:
            existing.device_category = device_category
        if enabled is not None:
            existing.enabled = enabled
        if not keep_pin:
            existing.pin = pin
        session.add(existing)
        session.flush()
        return Registered(existing, created=False)
    device = EndDeviceRow(
        lfdi=lfdi,
        sfdi=sfdi,
        changed_time=changed_time if changed_time is not None else now,
        enabled=enabled,
        device_category=device_category,
        registered_at=now,
        pin=pin,
        via=via,
    )
    session.add(device)
    session.flush()
    return Registered(device, created=True)


def unregister(session: Session, lfdi: str) -> bool:
    """Remove the registration of ``lfdi``; False if it was not registered."""
    result = session.execute(delete(EndDeviceRow).where(_E.c.lfdi == lfdi))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def set_device_information(session: Session, device: EndDeviceRow, xml: str) -> None:
    """Keep the DeviceInformation a device PUT (the XML we validated)."""
    device.device_information = xml
    session.add(device)
    session.flush()


def registered_sfdis(session: Session) -> list[int]:
    """The sFDIs of every registered device."""
    return [int(s) for s in session.execute(select(_E.c.sfdi)).scalars()]


def post_rates(session: Session, lfdis: Iterable[str] | None) -> dict[str, int]:
    """The postRates of their own that the devices ``lfdis`` (every device for None)
    have, by LFDI; those without one are absent."""
    where = [_E.c.post_rate.is_not(None)]
    if lfdis is not None:
        wanted = sorted(set(lfdis))
        if not wanted:
            return {}
        where.append(_E.c.lfdi.in_(wanted))
    rows = session.execute(select(_E.c.lfdi, _E.c.post_rate).where(*where))
    return {lfdi: int(rate) for lfdi, rate in rows}


def set_post_rate(
    session: Session, lfdi: str | None, seconds: int | None
) -> list[tuple[int, str, int | None]]:
    """Give the device ``lfdi`` (every registered device for None) its own postRate, or
    (None) the server's again; (id, LFDI, its own postRate before) of each device changed."""
    where = [] if lfdi is None else [_E.c.lfdi == lfdi]
    before = [
        (int(i), str(found), None if rate is None else int(rate))
        for i, found, rate in session.execute(
            select(_E.c.id, _E.c.lfdi, _E.c.post_rate).where(*where).order_by(_E.c.id)
        )
    ]
    if before:
        session.execute(update(_E).where(*where).values(post_rate=seconds))
    return before


def codec_profile(session: Session, lfdi: str) -> str | None:
    """The codec profile kept for the device ``lfdi`` (None: 2018, or not registered)."""
    found = session.execute(select(_E.c.codec_profile).where(_E.c.lfdi == lfdi)).first()
    return None if found is None else found[0]


def set_codec_profile(session: Session, lfdi: str, name: str | None) -> bool:
    """Keep the codec profile of the device ``lfdi`` (None: 2018); False if it is not
    registered (or had it already)."""
    result = session.execute(
        update(_E)
        .where(_E.c.lfdi == lfdi, _E.c.codec_profile.is_distinct_from(name))
        .values(codec_profile=name)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
