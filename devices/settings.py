"""Settings of the emulated meter fleet."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, Field, model_validator

ClientProfile = Literal["ieee-2030.5", "csip-aus"]
"""What the meters behave as: a plain IEEE 2030.5 client, or one for CSIP-AUS servers."""

FaultKind = Literal["drop", "duplicate", "skew", "corrupt", "backwards", "foreign_cert"]


def _pin_off(value: object) -> object:
    """``"off"`` (any case) means no PIN check: a spelling TOML and the environment share
    (TOML has no null, and an environment variable is always a string)."""
    if isinstance(value, str) and value.strip().lower() == "off":
        return None
    return value


def _flags(value: object) -> object:
    """roleFlags as the standard writes them, ``"0x49"``, from the environment (TOML has
    hex integers of its own: ``0x49``)."""
    if isinstance(value, str):
        try:
            return int(value.strip(), 0)
        except ValueError:
            return value  # pydantic says what is wrong with it
    return value


RoleFlagsSetting = Annotated[Annotated[int, Field(ge=0, le=0x7F)] | None, BeforeValidator(_flags)]
"""A MirrorUsagePoint's roleFlags (bits 0..6), or None: the profile's default."""

# roleFlags by profile: (site mirror, DER mirror). Plain 2030.5: the site is the revenue
# meter of the premises (isMirror|isPremisesAggregationPoint|isRevenueQuality), the DER
# isMirror|isDER. CSIP-AUS procedures expect the site mirror as isMirror|
# isPremisesAggregationPoint and the DER's as isMirror|isDER|isSubmeter.
PROFILE_ROLE_FLAGS: dict[str, tuple[int, int]] = {
    "ieee-2030.5": (0x13, 0x09),
    "csip-aus": (0x03, 0x49),
}


RegistrationPin = Annotated[
    Annotated[int, Field(ge=0, le=999_999)] | None, BeforeValidator(_pin_off)
]
"""A Registration PIN (0..999999), or None (spelled ``"off"``): not checked."""


class FaultSpec(BaseModel):
    """One fault to inject, into some meters (``[[meters.faults]]``).

    The meters are those named in ``serials`` plus a ``fraction`` of the fleet chosen
    from the seed (the same meters on every run). Per-post faults (drop, duplicate,
    corrupt, backwards) then strike each of their POSTs with ``probability``.
    """

    kind: FaultKind = Field(
        description="drop: the connection is dropped after the gateway got the POST, "
        "before the answer is read (the meter retries); duplicate: a POST is sent twice; "
        "skew: readings are stamped skew_s off; corrupt: the XML is damaged on the way; "
        "backwards: the import register reads backwards_wh lower than it should; "
        "foreign_cert: the meter presents a certificate from a CA the gateway does not trust."
    )
    fraction: float = Field(default=0.0, ge=0.0, le=1.0, description="Share of the fleet.")
    serials: list[str] = Field(default_factory=list, description="Meters named explicitly.")
    probability: float = Field(
        default=1.0, ge=0.0, le=1.0, description="Chance per POST of a per-post fault."
    )
    skew_s: int = Field(
        default=300, description="Clock skew in seconds (positive: ahead, into the future)."
    )
    backwards_wh: int = Field(default=10, ge=1, description="How far a register goes back.")


class FleetSettings(BaseModel):
    """The ``[meters]`` section."""

    server_url: str | None = Field(
        default=None,
        description="Gateway DeviceCapability URL (https://host:port/dcap, or the base URL "
        "and /dcap is assumed); found by DNS-SD when unset.",
    )
    count: int | None = Field(
        default=None,
        ge=1,
        le=99_999,
        description="Synthetic fleet size (GM-SYN-00001, …) on the campus site; the "
        "campus file's meters if unset.",
    )
    seed: int = Field(
        default=2030,
        description="Seed of the weather, the load noise and synthetic meters: the same "
        "seed and the same time steps give identical registers.",
    )
    campus_file: Path | None = Field(
        default=None,
        description="Campus TOML (site, climate, meters); the shipped Bangkok campus "
        "(devices/campus.toml) if unset.",
    )
    # --- discovery and the conversation with the gateway
    discovery_instance: str | None = Field(
        default=None,
        description="DNS-SD instance name to use when several gateways advertise "
        "_smartenergy._tcp (.local or .site; the first suitable one if unset).",
    )
    discovery_timeout_s: float = Field(
        default=10.0, gt=0, description="How long to browse DNS-SD for a gateway."
    )
    discovery_site: bool = Field(
        default=True,
        description="Also browse _smartenergy._tcp.site. by xmDNS on the IPv6 site-local "
        "group FF05::FB (servers of the IEEE 2030.5-2018 discovery).",
    )
    discovery_site_interfaces: list[str] | None = Field(
        default=None,
        description='Interfaces (names, e.g. ["eth0"]) to ask xmDNS on; every IPv6 '
        "multicast interface if unset.",
    )
    profile: ClientProfile = Field(
        default="ieee-2030.5",
        description='"ieee-2030.5": readings on a per-meter phase of the postRate, so a '
        'fleet spreads its posts over the period; "csip-aus": as CSIP-AUS servers check '
        "them, readings on the minute and every interval (the first after a start too) a "
        "multiple of 60 s.",
    )
    registration_pin: RegistrationPin = Field(
        default=111115,
        description="The Registration PIN the meters were given out of band; a meter "
        "refuses a server whose Registration carries another. 111115 is the gateway's "
        'test-lab default (set your own on both sides); "off" (in TOML or '
        "GRIDMIRROR_METERS__REGISTRATION_PIN): not checked, so a server without a "
        "RegistrationLink or with per-device PINs is accepted.",
    )
    registration_pins: dict[str, RegistrationPin] = Field(
        default_factory=dict,
        description='PINs of single meters by serial ("off" for none), overriding '
        "registration_pin.",
    )
    proposed_post_rate: int | None = Field(
        default=None,
        ge=1,
        description="postRate (s) a meter proposes when it creates its mirror; the "
        "server's postRate always wins.",
    )
    mup_poll_s: int | None = Field(
        default=None,
        ge=1,
        description="How often a meter re-reads its MirrorUsagePoint to notice a new "
        "postRate; the server's pollRate (900 s if it gives none) if unset.",
    )
    clock_tolerance_s: float = Field(
        default=5.0,
        ge=0,
        description="How far the server's clock (its Time resource, read at start and at "
        "its pollRate) may be from ours before a meter says so at WARNING; readings are "
        "stamped in the server's time either way.",
    )
    request_timeout_s: float = Field(default=30.0, gt=0, description="Per HTTP request.")
    check_hostname: bool = Field(
        default=True, description="Check the gateway's certificate names its host."
    )
    der_mirror: bool | None = Field(
        default=None,
        description="Meters with PV also mirror their DER: PV output, battery power and "
        "state of charge; the gateway stores it and never settles it. One more POST per "
        'period for each such meter. If unset: off under "ieee-2030.5", on under '
        '"csip-aus" (its procedures look for a DER mirror).',
    )
    site_role_flags: RoleFlagsSetting = Field(
        default=None,
        description="roleFlags of the site MirrorUsagePoint; by profile if unset: "
        '0x13 (isMirror, isPremisesAggregationPoint, isRevenueQuality) under "ieee-2030.5", '
        '0x03 (isMirror, isPremisesAggregationPoint) under "csip-aus". Hex in TOML '
        '(0x13) or the environment ("0x13").',
    )
    der_role_flags: RoleFlagsSetting = Field(
        default=None,
        description="roleFlags of the DER MirrorUsagePoint; by profile if unset: 0x09 "
        '(isMirror, isDER) under "ieee-2030.5", 0x49 (isMirror, isDER, isSubmeter) under '
        '"csip-aus".',
    )
    # --- reliability
    backoff_base_s: float = Field(default=1.0, gt=0, description="First retry delay ceiling.")
    backoff_cap_s: float = Field(default=300.0, gt=0, description="Largest retry delay.")
    buffer_samples: int = Field(
        default=240,
        ge=1,
        description="Unsent samples a meter keeps in full (240 = 1 h at 15 s); older ones "
        "keep only their energy registers.",
    )
    buffer_registers: int = Field(
        default=5760,
        ge=0,
        description="Unsent register-only samples a meter keeps (5760 = 1 day at 15 s); "
        "past that the oldest pairs are dropped (later pairs carry their energy).",
    )
    samples_per_post: int = Field(
        default=60, ge=1, le=1000, description="Most samples one POST carries (backlogs)."
    )
    # --- the fleet
    start_rate: float = Field(
        default=100.0, gt=0, description="Meters started per second (staggers TLS handshakes)."
    )
    setup_concurrency: int = Field(
        default=64, ge=1, description="Meters setting up (discovery to mirror) at once."
    )
    replay_hours: float = Field(
        default=0.0,
        ge=0,
        description="Start this many hours in the past and replay up to now at --speed.",
    )
    speed: float = Field(
        default=1.0, ge=1.0, description="How much faster than real time a replay runs."
    )
    tls_read_buffer_kib: int = Field(
        default=32,
        ge=4,
        le=256,
        description="Read buffer of each TLS connection (asyncio allocates 256 KiB per "
        "connection by default: 2.5 GiB for 10,000 meters); applies to the whole process "
        "while the fleet runs.",
    )
    state_dir: Path | None = Field(
        default=None,
        description="Where meters keep their registers across restarts; data_dir/meters if unset.",
    )
    state_every_s: float = Field(
        default=60.0, gt=0, description="How often the meters' state is saved."
    )
    xsd_sample_rate: float = Field(
        default=0.001,
        ge=0.0,
        le=1.0,
        description="Share of outgoing documents checked against the XSD after the first "
        "of each shape (1.0: all).",
    )
    faults: list[FaultSpec] = Field(default_factory=list, description="Faults to inject.")

    def role_flags(self) -> tuple[int, int]:
        """(site, DER) roleFlags: the settings', else the profile's."""
        site, der = PROFILE_ROLE_FLAGS[self.profile]
        return (
            site if self.site_role_flags is None else self.site_role_flags,
            der if self.der_role_flags is None else self.der_role_flags,
        )

    def mirrors_der(self) -> bool:
        """Whether meters with PV mirror their DER: the setting, else the profile's."""
        return self.profile == "csip-aus" if self.der_mirror is None else self.der_mirror

    @model_validator(mode="after")
    def _replay_needs_speed(self) -> FleetSettings:
        if self.replay_hours > 0 and self.speed <= 1.0:
            raise ValueError("a replay (replay_hours > 0) needs speed > 1")
        if self.backoff_cap_s < self.backoff_base_s:
            raise ValueError("backoff_cap_s must be at least backoff_base_s")
        return self
