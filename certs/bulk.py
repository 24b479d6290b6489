"""Issuing many device certificates at once, across processes.

Each device gets a fresh P-256 key and a certificate from the MICA, written as
``devices/<serial>/{key.pem,cert.pem,chain.pem}`` (key first, each file atomic, the key
0600). Signing holds the GIL and creating files costs kernel time, so large batches are
spread over worker processes (forked, each loads the MICA once). Small batches stay in
process: starting workers costs more than issuing a few hundred certificates.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import os
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from certs import pemfile
from certs.issue import Issuer, issue_device, new_key
from sep2.identity import lfdi_from_der, sfdi_from_lfdi

# Below this many devices one process is faster than starting workers.
PARALLEL_THRESHOLD = 1000
CERT_FILE, KEY_FILE, CHAIN_FILE = "cert.pem", "key.pem", "chain.pem"


@dataclass(frozen=True)
class IssueJob:
    """Everything a worker needs to issue device certificates (picklable)."""

    devices_dir: Path
    mica_cert_pem: bytes
    mica_key_pem: bytes
    chain_tail_pem: bytes  # MICA then MCA, appended to each device's chain.pem
    hw_type: str
    policies: tuple[str, ...]  # dotted OIDs
    at: datetime


@dataclass(frozen=True)
class IssuedDevice:
    """One device written to disk, with its identity."""

    serial: str
    lfdi: str
    sfdi: int


def default_workers() -> int:
    """One worker per core."""
    return max(1, os.cpu_count() or 1)


def issue_devices(
    job: IssueJob, serials: Sequence[str], workers: int | None = None
) -> list[IssuedDevice]:
    """Issue a certificate and key for each serial, in order; returns their identities.

    ``workers`` None picks one process per core for large batches and this process for
    small ones; a number is obeyed (when forking is safe, see ``_fork_context``).
    """
    if workers is None:
        workers = default_workers() if len(serials) >= PARALLEL_THRESHOLD else 1
    context = _fork_context()
    if workers <= 1 or len(serials) < 2 or context is None:
        return _issue(job, _mica(job), serials)
    chunks = list(_chunks(list(serials), workers * 4))
    with ProcessPoolExecutor(workers, context, initializer=_load_worker, initargs=(job,)) as pool:
        return [device for chunk in pool.map(_issue_chunk, chunks) for device in chunk]


def _fork_context() -> multiprocessing.context.BaseContext | None:
    """fork, if it is safe here; else None and the work stays in this process.

    fork is safe only in a single-threaded process (a forked child inherits locks held by
    other threads). spawn would be safe but re-imports the caller's main module, which
    breaks scripts without a ``__main__`` guard.
    """
    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return None


def write_device(
    devices_dir: Path,
    serial: str,
    key: ec.EllipticCurvePrivateKey,
    cert: x509.Certificate,
    chain_tail_pem: bytes,
) -> IssuedDevice:
    """Write one device's key, certificate and chain (certificate, MICA, MCA)."""
    directory = devices_dir / serial
    directory.mkdir(parents=True, exist_ok=True)
    pem = pemfile.cert_pem(cert)
    pemfile.write_private(directory / KEY_FILE, pemfile.key_pem(key), durable=False)
    pemfile.write_public(directory / CERT_FILE, pem, durable=False)
    pemfile.write_public(directory / CHAIN_FILE, pem + chain_tail_pem, durable=False)
    lfdi = lfdi_from_der(cert.public_bytes(serialization.Encoding.DER))
    return IssuedDevice(serial, lfdi, sfdi_from_lfdi(lfdi))


def _issue(job: IssueJob, mica: Issuer, serials: Sequence[str]) -> list[IssuedDevice]:
    policies = [x509.ObjectIdentifier(p) for p in job.policies]
    issued = []
    for serial in serials:
        key = new_key()
        cert = issue_device(
            mica, key.public_key(), serial=serial, hw_type=job.hw_type, policies=policies, at=job.at
        )
        issued.append(write_device(job.devices_dir, serial, key, cert, job.chain_tail_pem))
    return issued


def _mica(job: IssueJob) -> Issuer:
    key = serialization.load_pem_private_key(job.mica_key_pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TypeError("the MICA key is not an EC key")
    return Issuer(x509.load_pem_x509_certificate(job.mica_cert_pem), key)


# --- in each worker process -----------------------------------------------------------

_worker: tuple[IssueJob, Issuer] | None = None


def _load_worker(job: IssueJob) -> None:
    global _worker
    _worker = (job, _mica(job))


def _issue_chunk(serials: list[str]) -> list[IssuedDevice]:
    assert _worker is not None, "worker not initialised"
    job, mica = _worker
    return _issue(job, mica, serials)


def _chunks(items: list[str], count: int) -> Iterator[list[str]]:
    size = max(1, -(-len(items) // count))
    for start in range(0, len(items), size):
        yield items[start : start + size]
