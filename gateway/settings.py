"""Settings of the gateway: the 2030.5 server, its storage and its REST API."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from sep2.identity import IdentityError, normalise_lfdi

PollList = Literal["dcap", "edev", "fsa", "mup", "upt", "der"]
"""The resources whose pollRate can be set on its own (``gateway.poll_rates``)."""


class PollRates(BaseModel):
    """The ``[gateway.poll_rates]`` section: a pollRate (seconds) per resource; each one
    left unset is ``gateway.poll_rate``. CSIP-AUS tests (cactus S-ALL-43) set the entry
    point and the device lists slower than the mirror list."""

    model_config = ConfigDict(extra="forbid")

    dcap: int | None = Field(default=None, ge=1, description="DeviceCapability (/dcap).")
    edev: int | None = Field(default=None, ge=1, description="EndDeviceList (/edev).")
    fsa: int | None = Field(
        default=None, ge=1, description="FunctionSetAssignmentsList (/edev/{e}/fsa)."
    )
    mup: int | None = Field(default=None, ge=1, description="MirrorUsagePointList (/mup).")
    upt: int | None = Field(default=None, ge=1, description="UsagePointList (/upt).")
    der: int | None = Field(default=None, ge=1, description="DERList (/edev/{e}/der).")


def _lfdis(values: list[str]) -> list[str]:
    try:
        return [normalise_lfdi(v) for v in values]
    except IdentityError as exc:
        raise ValueError(str(exc)) from None


class GatewaySettings(BaseModel):
    """The ``[gateway]`` section."""

    host: str = Field(default="127.0.0.1", description="Address the HTTPS server binds.")
    port: int = Field(default=8443, ge=0, le=65535, description="HTTPS port (0: any free one).")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; SQLite under data_dir if unset."
    )
    post_rate: int = Field(
        default=15, ge=1, description="Seconds between a mirror's readings (postRate)."
    )
    poll_rate: int = Field(
        default=900,
        ge=1,
        description="pollRate (seconds) the server suggests for its resources; "
        "poll_rates overrides it per list.",
    )
    poll_rates: PollRates = Field(
        default_factory=PollRates,
        description="pollRate per resource (dcap, edev, fsa, mup, upt, der); poll_rate if unset.",
    )
    timezone: str = Field(default="Asia/Bangkok", description="Zone the /tm resource reports.")
    time_quality: int = Field(
        default=7,
        ge=3,
        le=7,
        description="Time.quality: 3 if this host's clock is NTP-synchronised, 7 if unknown.",
    )
    api_enabled: bool = Field(
        default=True,
        description="Serve the REST API, /docs, /metrics and the dashboard on a second "
        "listener (the 2030.5 port requires device certificates, which browsers lack).",
    )
    api_host: str = Field(default="127.0.0.1", description="Address the API listener binds.")
    api_port: int = Field(
        default=8080, ge=0, le=65535, description="API listener port (0: any free one)."
    )
    api_tls: bool = Field(
        default=False,
        description="Serve the API listener over HTTPS with the gateway's server "
        "certificate (no client certificate asked); plain HTTP if false.",
    )
    mdns: bool = Field(default=True, description="Advertise _smartenergy._tcp.local.")
    xmdns: bool = Field(
        default=True,
        description="With mdns, also advertise _smartenergy._tcp.site. by xmDNS on the IPv6 "
        "site-local group FF05::FB (2018-era clients), on the interfaces mDNS runs on.",
    )
    mdns_name: str | None = Field(
        default=None,
        description="DNS-SD instance name; gridmirror-<host>-<port>-<pid> if unset.",
    )
    mdns_interfaces: list[str] | None = Field(
        default=None,
        description='Addresses of the interfaces mDNS runs on (e.g. ["127.0.0.1"]); all if unset.',
    )
    proxy_mode: bool = Field(
        default=False,
        description="Behind a TLS terminator: take the client certificate from "
        "X-Forwarded-Client-Cert, from trusted_proxies only.",
    )
    header_timeout_s: float = Field(
        default=10.0,
        ge=0,
        description="Seconds from a connection (or a next request's first byte) until "
        "the request's headers are complete, else the connection is closed; 0: no bound.",
    )
    body_timeout_s: float = Field(
        default=30.0,
        ge=0,
        description="Seconds from a request's headers until its body's last byte, else "
        "the connection is closed; 0: no bound.",
    )
    max_connections: int = Field(
        default=20_000,
        ge=0,
        description="Open connections the 2030.5 port holds at most; one more is answered "
        "503 with Retry-After and closed. 0: no cap.",
    )
    max_connections_per_peer: int = Field(
        default=1_024,
        ge=0,
        description="Open connections one peer address holds at most (meters behind one "
        "NAT share one; raise it for large fleets from one host). 0: no cap.",
    )
    client_profile_relax: list[str] = Field(
        default_factory=list,
        description="Rules of the 2030.5 device certificate profile not enforced on "
        'client certificates, by name (e.g. ["not-after", "certificate-policies"] for a '
        'lab PKI; "*" for all); none by default. The names are those `gridmirror certs '
        "show FILE --role device` prints in brackets.",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses or networks (CIDR) whose forwarded client certificates count.",
    )
    aggregator_lfdis: list[str] = Field(
        default_factory=list,
        description="LFDIs that see everything and may mirror any device.",
    )
    operator_lfdis: list[str] = Field(
        default_factory=list, description="LFDIs that see and change everything."
    )
    in_band_registration: bool = Field(
        default=True, description="Let a device register itself by POSTing its EndDevice."
    )
    default_pin: int = Field(
        default=111115,
        ge=0,
        le=999_999,
        description="Registration PIN of devices with none of their own (a test-lab value).",
    )
    registration_pins: dict[str, int] = Field(
        default_factory=dict, description="Registration PIN by device LFDI."
    )
    mirrors_per_device: int = Field(
        default=4, ge=0, description="MirrorUsagePoints one device may have (0: no mirroring)."
    )
    max_future_skew: int = Field(
        default=60,
        ge=0,
        description="Seconds a reading may be stamped ahead of our clock; the same as the "
        "chain's max_future_skew_s by default, so a reading the gateway accepts is never "
        "held back by the program's own future check.",
    )
    sqlite_synchronous: Literal["normal", "full"] = Field(
        default="full",
        description="SQLite durability: full survives a power cut, normal a killed process.",
    )
    batch_limit: int = Field(
        default=256, ge=1, description="Most requests one group commit carries."
    )
    batch_linger: float = Field(
        default=0.005,
        ge=0,
        le=0.1,
        description="Seconds the writer waits for more requests to join a group commit.",
    )
    list_limit: int = Field(default=500, ge=1, description="Most items one list page holds.")
    keep_alive: float = Field(
        default=60.0, gt=0, description="Seconds an idle keep-alive connection stays open."
    )
    drain_timeout: float = Field(
        default=30.0, gt=0, description="Seconds to finish in-flight requests on shutdown."
    )
    handshake_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description="Seconds a client has to finish the TLS handshake before the "
        "connection is closed (logged at INFO, as every refused handshake is).",
    )
    tls_read_buffer_kib: int = Field(
        default=32,
        ge=16,
        le=256,
        description="Read buffer of each TLS connection (asyncio's default, 256 KiB, is "
        "2.5 GiB for 10,000 meters); applies to the whole process while the gateway runs.",
    )
    # --- the REST API's authentication and limits (docs/rest-api.md)
    api_jwt_secret: SecretStr | None = Field(
        default=None,
        description="HS256 key of the API's bearer tokens (at least 32 bytes); when unset, "
        "a random one is generated once and kept in api_jwt_secret_file.",
    )
    api_jwt_secret_file: Path | None = Field(
        default=None,
        description="Where the generated JWT key is kept (mode 0600); data_dir/api-jwt.key "
        "if unset.",
    )
    api_jwt_issuer: str = Field(default="gridmirror", min_length=1, description="JWT iss.")
    api_jwt_audience: str = Field(
        default="gridmirror-api", min_length=1, description="JWT aud the API accepts."
    )
    api_token_ttl: int = Field(
        default=3600, ge=1, description="Seconds `gridmirror auth token` makes a token last."
    )
    api_batch_limit: int = Field(
        default=1000, ge=1, description="Most readings one batch POST may carry."
    )
    api_page_limit: int = Field(
        default=500, ge=1, description="Most items one page of an API list holds."
    )

    metrics_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        description="Seconds /metrics and the dashboard reuse what they read from the database.",
    )

    dashboard_interval: float = Field(
        default=2.0,
        gt=0,
        le=60,
        description="Seconds between the dashboard's snapshots (one database read each).",
    )
    dashboard_history_hours: float = Field(
        default=24.0,
        gt=0,
        le=24 * 31,
        description="Hours of fleet power the dashboard's history chart shows (15-min epochs).",
    )
    dashboard_utc_offset_hours: float = Field(
        default=0.0,
        ge=-12,
        le=14,
        description="The site's clock (offset from UTC) the dashboard shows times in; the "
        "demo sets it to its campus' offset.",
    )

    def poll_rate_of(self, resource: PollList) -> int:
        """The pollRate ``resource`` answers: its own setting, else ``poll_rate``."""
        own: int | None = getattr(self.poll_rates, resource)
        return own if own is not None else self.poll_rate

    @field_validator("aggregator_lfdis", "operator_lfdis")
    @classmethod
    def _check_lfdis(cls, values: list[str]) -> list[str]:
        return _lfdis(values)

    @field_validator("registration_pins")
    @classmethod
    def _check_pins(cls, pins: dict[str, int]) -> dict[str, int]:
        for pin in pins.values():
            if not 0 <= pin <= 999_999:
                raise ValueError(f"a registration PIN has at most 6 digits, got {pin}")
        return dict(zip(_lfdis(list(pins)), pins.values(), strict=True))
