"""Registration: devices registering themselves (in band) or registered by an operator.

In band, a device POSTs its EndDevice to /edev. Its ``sFDI`` (and ``lFDI``, if given)
must be those of its own certificate (400, reasonCode 1, otherwise): a device registers
only itself. Aggregators and operators may register other devices; the sFDI must then
match the lFDI they give. Registering an LFDI that is already registered is a conflict
(409, with the Location of the existing EndDevice), as CSIP-AUS servers answer it and its
conformance tests (S-ALL-51, S-OPT-01) expect: a registration is made once, by the device
or by the operator, and a client finds its EndDevice in the list.

Out of band, an operator registers a device by LFDI (or certificate) with its PIN
(``gridmirror gateway register-device``); that needs no running gateway.

The PIN a device gets: the one given out of band, else ``registration_pins[LFDI]``, else
``default_pin``.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session

from gateway import access
from gateway.crud import devices, direct
from gateway.crud.devices import Registered
from gateway.errors import Refusal, bad_request, not_found
from gateway.groupcommit import Job
from gateway.models import EndDeviceRow
from gateway.peer import Peer
from gateway.settings import GatewaySettings
from sep2 import (
    DeviceInformation,
    EndDevice,
    IdentityError,
    ReasonCode,
    normalise_lfdi,
    sfdi_from_lfdi,
)


class Registrations:
    """Builds the jobs of the EndDevice and Registration function sets."""

    def __init__(self, settings: GatewaySettings, clock: Callable[[], float]) -> None:
        self._settings = settings
        self._clock = clock

    def pin_for(self, lfdi: str) -> int:
        """The Registration PIN a device without one of its own gets."""
        return self._settings.registration_pins.get(lfdi, self._settings.default_pin)

    def in_band_job(self, peer: Peer, edev: EndDevice) -> Job[Registered]:
        """POST /edev: register (or update) the device ``edev`` describes."""
        lfdi = self._lfdi_of(peer, edev)

        def job(session: Session) -> Registered:
            known = devices.by_lfdi(session, lfdi)
            if known is not None:
                raise Refusal(
                    409,
                    f"{lfdi} is registered already, as /edev/{known.id}",
                    reason_code=ReasonCode.INVALID_REQUEST_VALUES,
                    headers={"Location": f"/edev/{known.id}"},
                )
            if not self._settings.in_band_registration and not peer.privileged:
                raise Refusal(403, "this server registers devices out of band only")
            return devices.register(
                session,
                lfdi=lfdi,
                sfdi=edev.sfdi,
                pin=self.pin_for(lfdi),
                via="in-band",
                now=int(self._clock()),
                changed_time=edev.changed_time,
                device_category=edev.device_category,
                enabled=edev.enabled,
            )

        return job

    @staticmethod
    def _lfdi_of(peer: Peer, edev: EndDevice) -> str:
        if edev.lfdi is not None:
            try:
                lfdi = normalise_lfdi(edev.lfdi)
            except IdentityError:
                raise bad_request(f"lFDI {edev.lfdi} is not 40 hex digits") from None
        elif edev.sfdi == peer.sfdi:
            lfdi = peer.lfdi
        else:
            raise bad_request(
                f"sFDI {edev.sfdi} is not that of your certificate ({peer.sfdi}); "
                "give the lFDI of the device you register"
            )
        if not peer.privileged and lfdi != peer.lfdi:
            raise bad_request(f"lFDI {lfdi} is not that of your certificate ({peer.lfdi})")
        if sfdi_from_lfdi(lfdi) != edev.sfdi:
            raise bad_request(f"sFDI {edev.sfdi} does not belong to lFDI {lfdi}")
        return lfdi

    def unregister_job(self, peer: Peer, device_id: int) -> Job[EndDeviceRow]:
        """DELETE /edev/{id}: the device is no longer registered (its mirrors stay)."""

        def job(session: Session) -> EndDeviceRow:
            device = devices.by_id(session, device_id)
            if device is None:
                raise not_found(f"no EndDevice {device_id}")
            access.require_owner(peer, device.lfdi, f"EndDevice {device_id}")
            direct.delete_der_resources(session, device_id)
            devices.unregister(session, device.lfdi)
            return device

        return job

    def device_information_job(
        self, peer: Peer, device_id: int, info: DeviceInformation, xml: str
    ) -> Job[None]:
        """PUT /edev/{id}/di: keep the device's DeviceInformation."""

        def job(session: Session) -> None:
            device = devices.by_id(session, device_id)
            if device is None:
                raise not_found(f"no EndDevice {device_id}")
            access.require_owner(peer, device.lfdi, f"EndDevice {device_id}")
            if info.lfdi.upper() != device.lfdi:
                raise bad_request(f"DeviceInformation lFDI {info.lfdi} is not the device's")
            devices.set_device_information(session, device, xml)

        return job


def pre_register(session: Session, lfdi: str, pin: int, now: int) -> Registered:
    """Register ``lfdi`` out of band with ``pin`` (or set the PIN of a registered device)."""
    lfdi = normalise_lfdi(lfdi)
    return devices.register(
        session,
        lfdi=lfdi,
        sfdi=sfdi_from_lfdi(lfdi),
        pin=pin,
        via="out-of-band",
        now=now,
        keep_pin=False,
    )
