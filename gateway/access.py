"""Authorisation: who may see and change which 2030.5 resources.

- A device sees and changes only what is its own: the EndDevice with its LFDI, and the
  mirrors (and their UsagePoints and readings) its certificate created.
- Aggregators and operators (configured LFDIs) see and change everything; they may also
  register other devices and mirror devices other than themselves (any ``deviceLFDI``).
- A device may mirror only itself: the MirrorUsagePoint's ``deviceLFDI`` must be its own
  LFDI, because that LFDI is what the readings are settled under on chain.

Every refusal here is a 403. The rules are pure functions of the Peer and the owner's
LFDI, so they are tested without a server.
"""

from __future__ import annotations

from gateway.errors import forbidden
from gateway.peer import Peer


def can_see(peer: Peer, owner_lfdi: str) -> bool:
    """True if ``peer`` may see a resource owned by ``owner_lfdi``."""
    return peer.privileged or peer.lfdi == owner_lfdi


def require_owner(peer: Peer, owner_lfdi: str, what: str) -> None:
    """Refuse (403) unless ``peer`` may see and change a resource of ``owner_lfdi``."""
    if not can_see(peer, owner_lfdi):
        raise forbidden(f"{what} belongs to another device")


def owner_filter(peer: Peer) -> str | None:
    """The owner LFDI a list must be restricted to, or None for everything."""
    return None if peer.privileged else peer.lfdi


def require_may_mirror(peer: Peer, device_lfdi: str) -> None:
    """Refuse (403) a mirror of ``device_lfdi`` unless ``peer`` is that device or privileged."""
    if not peer.privileged and device_lfdi != peer.lfdi:
        raise forbidden(
            f"deviceLFDI {device_lfdi} is not the LFDI of your certificate ({peer.lfdi}); "
            "only an aggregator may mirror other devices"
        )
