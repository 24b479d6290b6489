"""The PKI directory: what ``gridmirror certs init`` makes and every other part loads.

Layout (the gateway, the meters and the demo rely on it)::

    pki/
      serca.pem                 SERCA certificate: the one trust anchor of gateway and meters
      mca.pem                   manufacturer CA certificate (issued by the SERCA)
      mica.pem                  manufacturer issuing CA certificate (issued by the MCA)
      private/                  0700
        serca.key mca.key mica.key     CA private keys, PKCS#8 PEM, 0600
      server/
        cert.pem                the gateway's certificate (a device certificate whose SAN
                                also names the hosts it serves)
        key.pem                 its key, 0600
        chain.pem               cert.pem + mica.pem + mca.pem: what the server presents
      devices/
        <serial>/cert.pem key.pem chain.pem    one meter each, same shapes as server/
        index.json              {"format": 1, "devices": [{"serial", "lfdi", "sfdi",
                                "cert", "key", "chain"}, ...]} sorted by serial; paths
                                are relative to pki/
      .lock                     held while ``init`` runs (two inits never interleave)

``chain.pem`` stops below the SERCA: a peer trusts the SERCA it already has and needs the
MICA and MCA to reach it (Python's ``load_cert_chain`` sends the extra certificates).

``init_pki`` is idempotent: it creates what is missing and changes nothing else. Run
again with the same arguments, it writes no file; with more serials, it issues only the
new ones; with fewer, it keeps the others. A device listed in index.json whose three
files exist is kept as is; a device directory without an index entry is adopted if its
certificate was issued by this MICA. Serials are chosen by the caller; ``default_serials``
gives synthetic ones, ``GM-SYN-00001`` onwards.
"""

from __future__ import annotations

import fcntl
import ipaddress
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from certs import der, pemfile, profile
from certs.bulk import CERT_FILE, CHAIN_FILE, KEY_FILE, IssueJob, issue_devices
from certs.issue import (
    Issuer,
    ca_name,
    device_policies,
    issue_ca,
    issue_device,
    issue_serca,
    new_key,
)
from sep2.identity import IdentityError, lfdi_from_der, normalise_lfdi, sfdi_from_lfdi

SERCA, MCA, MICA = "serca", "mca", "mica"
INDEX_FORMAT = 1
SERVER_SERIAL = "GM-GATEWAY"
DEFAULT_HOST_NAMES = ("localhost", "127.0.0.1", "::1")
SERIAL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_DNS_LABEL = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$")


class PkiError(Exception):
    """The PKI directory is missing something or is inconsistent; one-line message."""


@dataclass(frozen=True)
class DeviceIdentity:
    """One meter's files and identity."""

    serial: str
    lfdi: str
    sfdi: int
    cert: Path
    key: Path
    chain: Path

    def certificate(self) -> x509.Certificate:
        """The device certificate."""
        return pemfile.load_certificate(self.cert)


@dataclass(frozen=True)
class ServerIdentity:
    """The gateway's files, identity and the host names its certificate carries."""

    lfdi: str
    sfdi: int
    cert: Path
    key: Path
    chain: Path
    host_names: tuple[str, ...]


@dataclass(frozen=True)
class Pki:
    """A PKI directory made by :func:`init_pki`, opened for use."""

    dir: Path
    serca: Path
    mca: Path
    mica: Path
    server: ServerIdentity
    devices: Mapping[str, DeviceIdentity] = field(default_factory=dict)  # by serial

    @classmethod
    def open(cls, directory: Path) -> Pki:
        """Open the PKI in ``directory``; PkiError if it is incomplete."""
        directory = Path(directory)
        for name in (SERCA, MCA, MICA):
            if not (directory / f"{name}.pem").is_file():
                raise PkiError(f"no PKI in {directory}: {name}.pem is missing (run certs init)")
        server_dir = directory / "server"
        for name in (CERT_FILE, KEY_FILE, CHAIN_FILE):
            if not (server_dir / name).is_file():
                raise PkiError(f"PKI in {directory} has no server/{name} (run certs init)")
        server_cert = _load(server_dir / CERT_FILE)
        lfdi = lfdi_from_der(server_cert.public_bytes(serialization.Encoding.DER))
        server = ServerIdentity(
            lfdi,
            sfdi_from_lfdi(lfdi),
            server_dir / CERT_FILE,
            server_dir / KEY_FILE,
            server_dir / CHAIN_FILE,
            tuple(profile.host_names(server_cert)),
        )
        devices = {d.serial: d for d in _read_index(directory)}
        return cls(
            directory,
            directory / f"{SERCA}.pem",
            directory / f"{MCA}.pem",
            directory / f"{MICA}.pem",
            server,
            devices,
        )

    def device(self, serial: str) -> DeviceIdentity:
        """The device with this serial; PkiError if there is none."""
        try:
            return self.devices[serial]
        except KeyError:
            raise PkiError(f"no device {serial!r} in the PKI at {self.dir}") from None

    def device_by_lfdi(self, lfdi: str) -> DeviceIdentity:
        """The device with this LFDI (any case); PkiError if there is none."""
        wanted = normalise_lfdi(lfdi)
        for device in self.devices.values():
            if device.lfdi == wanted:
                return device
        raise PkiError(f"no device with LFDI {wanted} in the PKI at {self.dir}")

    def serca_certificate(self) -> x509.Certificate:
        """The SERCA certificate."""
        return _load(self.serca)

    def intermediates(self) -> list[x509.Certificate]:
        """The MICA and MCA certificates, in that order."""
        return [_load(self.mica), _load(self.mca)]


@dataclass(frozen=True)
class InitReport:
    """What :func:`init_pki` did."""

    pki: Pki
    created_cas: bool
    issued_server: bool
    new_devices: tuple[str, ...]

    @property
    def changed(self) -> bool:
        """True if anything was written."""
        return self.created_cas or self.issued_server or bool(self.new_devices)


def default_serials(count: int) -> list[str]:
    """Synthetic meter serials: GM-SYN-00001 … GM-SYN-<count>."""
    return [f"GM-SYN-{i:05d}" for i in range(1, count + 1)]


def check_serial(serial: str) -> str:
    """Return ``serial`` if it can name a device (and its directory); else PkiError."""
    if not SERIAL_RE.match(serial):
        raise PkiError(
            f"bad meter serial {serial!r}: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return serial


def check_host_name(name: str) -> str:
    """Return ``name`` if it is an IP address or a DNS name (``*.`` allowed first)."""
    try:
        ipaddress.ip_address(name)
        return name
    except ValueError:
        pass
    labels = name.removesuffix(".").split(".")
    if labels and labels[0] == "*":
        labels = labels[1:]
    if not labels or len(name) > 253 or not all(_DNS_LABEL.match(label) for label in labels):
        raise PkiError(f"bad host name {name!r}: give a DNS name or an IP address")
    return name


def init_pki(
    directory: Path,
    serials: Sequence[str],
    *,
    hw_type: str,
    host_names: Sequence[str] = DEFAULT_HOST_NAMES,
    test_pki: bool = True,
    organisation: str = "gridmirror",
    workers: int | None = None,
    at: datetime | None = None,
) -> InitReport:
    """Create (or complete) the PKI in ``directory`` for the gateway and ``serials``.

    ``hw_type`` is the HardwareModuleName hwType OID of meters and gateway; ``host_names``
    the DNS names and IPs of the server certificate; ``organisation`` names the CAs (a
    foreign PKI uses another). ``at`` (default: now) is the issuing time.
    """
    at = at or datetime.now(UTC)
    wanted = list(dict.fromkeys(check_serial(s) for s in serials))
    if not host_names:
        raise PkiError("the server certificate needs at least one host name or IP address")
    for name in host_names:
        check_host_name(name)
    try:
        der.encode_oid(hw_type)
    except der.DerError:
        raise PkiError(f"hwType must be a dotted OID, got {hw_type!r}") from None
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with _locked(directory):
            cas = _CaSet(directory, organisation, test_pki, at)
            issued_server = _ensure_server(directory, cas, hw_type, host_names, test_pki, at)
            new = _ensure_devices(directory, cas, wanted, hw_type, test_pki, at, workers)
    except OSError as exc:
        raise PkiError(f"cannot write the PKI in {directory}: {exc.strerror or exc}") from None
    return InitReport(Pki.open(directory), cas.created, issued_server, tuple(new))


# --- CAs ------------------------------------------------------------------------------


class _CaSet:
    """The SERCA, MCA and MICA of a directory: loaded if present, created if not."""

    def __init__(self, directory: Path, organisation: str, test_pki: bool, at: datetime) -> None:
        self.dir = directory
        self.created = False
        certs = {n: directory / f"{n}.pem" for n in (SERCA, MCA, MICA)}
        present = [n for n, p in certs.items() if p.exists()]
        if len(present) < 3:
            if present and _has_leaf_certificates(directory):
                missing = ", ".join(f"{n}.pem" for n in certs if n not in present)
                raise PkiError(
                    f"PKI in {directory} is incomplete: {missing} missing while device or "
                    "server certificates exist; restore it or use an empty directory"
                )
            if not present and _has_leaf_certificates(directory):
                raise PkiError(
                    f"{directory} holds device or server certificates but no CA; "
                    "restore serca.pem, mca.pem and mica.pem or use an empty directory"
                )
            self._create(organisation, test_pki, at)
        self.serca = _load(certs[SERCA])
        self.mca = _load(certs[MCA])
        self.mica = _load(certs[MICA])
        for child, parent, names in (
            (self.mca, self.serca, "mca/serca"),
            (self.mica, self.mca, "mica/mca"),
        ):
            try:
                child.verify_directly_issued_by(parent)
            except (ValueError, TypeError, InvalidSignature):
                raise PkiError(f"PKI in {directory}: {names} do not chain") from None
        has_test = profile.POLICY_TEST in (profile.policy_oids(self.mica) or set())
        if has_test != test_pki:
            made = "a test" if has_test else "a production"
            raise PkiError(
                f"PKI in {directory} is {made} PKI; test_pki={test_pki} does not match it"
            )
        self.chain_tail_pem = pemfile.cert_pem(self.mica) + pemfile.cert_pem(self.mca)
        self._mica_issuer: Issuer | None = None

    def mica_issuer(self) -> Issuer:
        """The MICA with its key, loaded on first use (only issuing needs it)."""
        if self._mica_issuer is None:
            path = self.dir / "private" / f"{MICA}.key"
            if not path.is_file():
                raise PkiError(f"cannot issue: the MICA key {path} is missing")
            try:
                key = pemfile.load_private_key(path)
            except pemfile.PemError as exc:
                raise PkiError(str(exc)) from None
            if key.public_key() != self.mica.public_key():
                raise PkiError(f"{path} is not the key of mica.pem")
            self._mica_issuer = Issuer(self.mica, key)
        return self._mica_issuer

    def _create(self, organisation: str, test_pki: bool, at: datetime) -> None:
        private = self.dir / "private"
        private.mkdir(mode=pemfile.PRIVATE_DIR, exist_ok=True)
        private.chmod(pemfile.PRIVATE_DIR)
        policies = device_policies(test_pki)
        serca_key, mca_key, mica_key = new_key(), new_key(), new_key()
        serca = issue_serca(serca_key, ca_name(f"{organisation} SERCA", organisation), at)
        mca = issue_ca(
            Issuer(serca, serca_key),
            mca_key.public_key(),
            ca_name(f"{organisation} MCA", organisation),
            path_length=1,
            policies=policies,
            at=at,
        )
        mica = issue_ca(
            Issuer(mca, mca_key),
            mica_key.public_key(),
            ca_name(f"{organisation} MICA", organisation),
            path_length=0,
            policies=policies,
            at=at,
        )
        # Keys before certificates, the SERCA certificate last: a crash leaves at most
        # an incomplete CA set with no leaf under it, which the next run replaces.
        for name, key in ((SERCA, serca_key), (MCA, mca_key), (MICA, mica_key)):
            pemfile.write_private(private / f"{name}.key", pemfile.key_pem(key))
        for name, cert in ((MCA, mca), (MICA, mica), (SERCA, serca)):
            pemfile.write_public(self.dir / f"{name}.pem", pemfile.cert_pem(cert))
        self.created = True


def _has_leaf_certificates(directory: Path) -> bool:
    if (directory / "server" / CERT_FILE).exists():
        return True
    devices = directory / "devices"
    return devices.is_dir() and any(devices.glob(f"*/{CERT_FILE}"))


# --- the server -----------------------------------------------------------------------


def _ensure_server(
    directory: Path,
    cas: _CaSet,
    hw_type: str,
    host_names: Sequence[str],
    test_pki: bool,
    at: datetime,
) -> bool:
    server = directory / "server"
    files = [server / n for n in (CERT_FILE, KEY_FILE, CHAIN_FILE)]
    if all(f.is_file() for f in files):
        cert = _load(files[0])
        _require_issued_by(cert, cas.mica, files[0])
        if _covers(profile.host_names(cert), host_names) and _consistent(server, cert):
            return False
    server.mkdir(exist_ok=True)
    key = new_key()
    cert = issue_device(
        cas.mica_issuer(),
        key.public_key(),
        serial=SERVER_SERIAL,
        hw_type=hw_type,
        policies=device_policies(test_pki),
        at=at,
        host_names=list(dict.fromkeys(host_names)),
    )
    pem = pemfile.cert_pem(cert)
    pemfile.write_private(server / KEY_FILE, pemfile.key_pem(key))
    pemfile.write_public(server / CERT_FILE, pem)
    pemfile.write_public(server / CHAIN_FILE, pem + cas.chain_tail_pem)
    return True


def _covers(have: Sequence[str], want: Sequence[str]) -> bool:
    return {_canonical_host(h) for h in want} <= {_canonical_host(h) for h in have}


def _canonical_host(name: str) -> str:
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        return name.lower().rstrip(".")


# --- devices --------------------------------------------------------------------------


def _ensure_devices(
    directory: Path,
    cas: _CaSet,
    wanted: list[str],
    hw_type: str,
    test_pki: bool,
    at: datetime,
    workers: int | None,
) -> list[str]:
    devices_dir = directory / "devices"
    devices_dir.mkdir(exist_ok=True)
    index_path = devices_dir / "index.json"
    before = index_path.read_bytes() if index_path.is_file() else None
    known = {d.serial: d for d in _read_index(directory)} if before is not None else {}
    # Entries whose files have gone are dropped (the index describes what is on disk).
    rows = {s: d for s, d in known.items() if _complete(devices_dir / s)}
    missing: list[str] = []
    for serial in wanted:
        if serial in rows:
            continue
        adopted = _adopt(directory, devices_dir / serial, serial, cas)
        if adopted is not None:
            rows[serial] = adopted
        else:
            missing.append(serial)
    if missing:
        issuer = cas.mica_issuer()
        job = IssueJob(
            devices_dir=devices_dir,
            mica_cert_pem=pemfile.cert_pem(issuer.cert),
            mica_key_pem=pemfile.key_pem(issuer.key),
            chain_tail_pem=cas.chain_tail_pem,
            hw_type=hw_type,
            policies=tuple(p.dotted_string for p in device_policies(test_pki)),
            at=at,
        )
        for issued in issue_devices(job, missing, workers):
            rows[issued.serial] = _identity(directory, issued.serial, issued.lfdi, issued.sfdi)
    after = _index_bytes(directory, rows.values())
    if after != before:
        pemfile.write_public(index_path, after)
    return missing


def _complete(device_dir: Path) -> bool:
    return all((device_dir / n).is_file() for n in (CERT_FILE, KEY_FILE, CHAIN_FILE))


def _adopt(directory: Path, device_dir: Path, serial: str, cas: _CaSet) -> DeviceIdentity | None:
    """A device on disk but not in the index (a run cut short): its identity, if whole."""
    if not _complete(device_dir):
        return None
    cert = _load(device_dir / CERT_FILE)
    _require_issued_by(cert, cas.mica, device_dir / CERT_FILE)
    if not _consistent(device_dir, cert):
        return None
    lfdi = lfdi_from_der(cert.public_bytes(serialization.Encoding.DER))
    return _identity(directory, serial, lfdi, sfdi_from_lfdi(lfdi))


def _consistent(directory: Path, cert: x509.Certificate) -> bool:
    """True if key.pem is cert's key and chain.pem starts with cert (no run cut short)."""
    try:
        key = pemfile.load_private_key(directory / KEY_FILE)
        chain = pemfile.load_certificates(directory / CHAIN_FILE)
    except pemfile.PemError:
        return False
    return key.public_key() == cert.public_key() and chain[0] == cert


def _identity(directory: Path, serial: str, lfdi: str, sfdi: int) -> DeviceIdentity:
    d = directory / "devices" / serial
    return DeviceIdentity(serial, lfdi, sfdi, d / CERT_FILE, d / KEY_FILE, d / CHAIN_FILE)


def _index_bytes(directory: Path, devices: Iterable[DeviceIdentity]) -> bytes:
    entries = [
        {
            "serial": d.serial,
            "lfdi": d.lfdi,
            "sfdi": d.sfdi,
            "cert": d.cert.relative_to(directory).as_posix(),
            "key": d.key.relative_to(directory).as_posix(),
            "chain": d.chain.relative_to(directory).as_posix(),
        }
        for d in sorted(devices, key=lambda d: d.serial)
    ]
    return (json.dumps({"format": INDEX_FORMAT, "devices": entries}, indent=1) + "\n").encode()


def _read_index(directory: Path) -> list[DeviceIdentity]:
    path = directory / "devices" / "index.json"
    if not path.is_file():
        return []
    try:
        doc = json.loads(path.read_bytes())
        if doc.get("format") != INDEX_FORMAT:
            raise PkiError(f"{path}: unknown format {doc.get('format')!r}")
        result = []
        for entry in doc["devices"]:
            serial = check_serial(str(entry["serial"]))
            lfdi = normalise_lfdi(str(entry["lfdi"]))
            sfdi = int(entry["sfdi"])
            if sfdi != sfdi_from_lfdi(lfdi):
                raise PkiError(f"{path}: SFDI of {serial} does not match its LFDI")
            identity = _identity(directory, serial, lfdi, sfdi)
            # The paths are there for other tools; they must say what the layout says.
            for name in ("cert", "key", "chain"):
                if directory / entry[name] != getattr(identity, name):
                    raise PkiError(f"{path}: {name} of {serial} is not where the layout puts it")
            result.append(identity)
    except (ValueError, KeyError, TypeError, AttributeError, IdentityError) as exc:
        raise PkiError(f"{path} is not a device index ({type(exc).__name__}: {exc})") from None
    return result


# --- small helpers --------------------------------------------------------------------


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    with open(directory / ".lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _load(path: Path) -> x509.Certificate:
    try:
        return pemfile.load_certificate(path)
    except pemfile.PemError as exc:
        raise PkiError(str(exc)) from None


def _require_issued_by(cert: x509.Certificate, mica: x509.Certificate, path: Path) -> None:
    try:
        cert.verify_directly_issued_by(mica)
    except (ValueError, TypeError, InvalidSignature):
        raise PkiError(
            f"{path} was not issued by this PKI's MICA; move it away or use another directory"
        ) from None
