"""Whose postRate a resource shows: the device's, if an operator gave it one, else the server's.

The server owns postRate (a client's proposal is ignored). ``gateway.post_rate`` is the
default; ``gridmirror gateway set-post-rate`` stores a device's own in
``end_device.post_rate``. Every resource reads it at answer time, so nothing has to be
copied when a device creates a mirror, and a change shows at once everywhere:

- a device's EndDevice shows the device's postRate;
- a mirror shows the postRate of the device it mirrors (``deviceLFDI``) if that one has
  its own, else that of the device that created it (an aggregator posting for others),
  else the server's.

An unregistered device has no row and so no postRate of its own; unregistering a device
forgets it.
"""

from __future__ import annotations

from collections.abc import Mapping


def device_post_rate(own: int | None, default: int) -> int:
    """The postRate a device's EndDevice shows."""
    return own if own is not None else default


def mirror_source(device_lfdi: str, owner_lfdi: str, overrides: Mapping[str, int]) -> str | None:
    """The LFDI whose postRate a mirror shows (None: the server's).

    ``overrides`` holds the devices' own postRates by LFDI (only those that have one).
    """
    if device_lfdi in overrides:
        return device_lfdi
    if owner_lfdi in overrides:
        return owner_lfdi
    return None


def mirror_post_rate(
    device_lfdi: str, owner_lfdi: str, overrides: Mapping[str, int], default: int
) -> int:
    """The postRate a mirror shows (see the module docstring)."""
    source = mirror_source(device_lfdi, owner_lfdi, overrides)
    return overrides[source] if source is not None else default
