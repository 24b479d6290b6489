"""Keypair files in the solana CLI's format: a JSON array of the 64 secret-key bytes.

Used for the gateway's signing key, wallets and the local chain's faucet. Files are
created with mode 0600 and never silently overwritten; a key that others can read is
reported in the log, since anyone who can read it can spend from it.
"""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path

from solders.keypair import Keypair

from oracle.chain.backend import ChainError

log = logging.getLogger(__name__)


class KeyfileError(ChainError):
    """A keypair file is missing, unreadable or not a solana CLI keypair."""


def load_keypair(path: Path) -> Keypair:
    """Read a keypair written by ``solana-keygen`` (or by :func:`save_keypair`)."""
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise KeyfileError(f"cannot read keypair file {path}: {exc.strerror}") from exc
    try:
        values = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise KeyfileError(f"keypair file {path} is not JSON") from exc
    if (
        not isinstance(values, list)
        or len(values) != 64
        or not all(isinstance(v, int) and 0 <= v <= 255 for v in values)
    ):
        raise KeyfileError(f"keypair file {path} is not a list of 64 bytes")
    try:
        keypair = Keypair.from_bytes(bytes(values))
    except ValueError as exc:
        raise KeyfileError(f"keypair file {path} holds an inconsistent keypair") from exc
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning(
            "keypair file is readable by others",
            extra={"path": str(path), "mode": oct(stat.S_IMODE(mode))},
        )
    return keypair


def save_keypair(path: Path, keypair: Keypair) -> None:
    """Write a new keypair file with mode 0600; refuses to replace an existing file."""
    body = json.dumps(list(bytes(keypair))).encode()
    # Written whole under a temporary name, then linked into place: a reader never sees
    # half a key, and link() fails rather than replace a key someone else just made.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        os.link(tmp, path)
    except FileExistsError as exc:
        raise KeyfileError(f"keypair file {path} already exists") from exc
    except OSError as exc:
        raise KeyfileError(f"cannot create keypair file {path}: {exc.strerror}") from exc
    finally:
        tmp.unlink(missing_ok=True)


def load_or_create_keypair(path: Path) -> Keypair:
    """The keypair at ``path``, created (mode 0600) on first use."""
    if path.exists():
        return load_keypair(path)
    keypair = Keypair()
    try:
        save_keypair(path, keypair)
    except KeyfileError:
        if path.exists():  # another process created it first: use theirs
            return load_keypair(path)
        raise
    log.info("created keypair", extra={"path": str(path), "pubkey": str(keypair.pubkey())})
    return keypair
