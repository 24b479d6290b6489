"""The meters' state across restarts: their registers and their unsent samples.

A real meter never loses its registers; an emulated one must not either, or a restart
would post registers lower than the gateway (and the chain) already hold. So the fleet
saves, every ``state_every_s`` and when it stops, each meter's physics snapshot
(devices.meter.MeterSnapshot: the exact energy books, integers only) and its unsent
samples, to one JSON file written atomically (``<state_dir>/meters.json``).

A meter steps its physics only at its reading times, so one resumed from a snapshot
reproduces exactly the readings it made after the snapshot was saved: re-posting them is
an upsert of identical values at the gateway, never a different figure for the same time.

The file also records the seed; a file written with another seed (different weather and
synthetic meters) is ignored with a warning rather than mixed into this fleet.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devices.meter import MeterSnapshot
from devices.mirror import Sample, sample_from_list

log = logging.getLogger(__name__)

STATE_FILE = "meters.json"
STATE_FORMAT = 1


@dataclass
class SavedMeter:
    """What was saved of one meter."""

    snapshot: MeterSnapshot
    pending: list[Sample] = field(default_factory=list)
    post_rate: int | None = None
    """The postRate the meter last knew: its readings after a restart fall on the same grid."""


def load_state(directory: Path, seed: int) -> dict[str, SavedMeter]:
    """The saved meters by serial; empty if there is no usable state file."""
    path = directory / STATE_FILE
    if not path.is_file():
        return {}
    try:
        doc = json.loads(path.read_bytes())
        if doc.get("format") != STATE_FORMAT:
            raise ValueError(f"unknown format {doc.get('format')!r}")
        if doc.get("seed") != seed:
            log.warning(
                f"{path} was written with seed {doc.get('seed')}, not {seed}: meters start afresh"
            )
            return {}
        out = {}
        for serial, entry in doc["meters"].items():
            snapshot = MeterSnapshot.from_dict(entry["snapshot"])
            if snapshot.serial != serial:
                raise ValueError(f"entry {serial} holds the snapshot of {snapshot.serial}")
            pending = [sample_from_list(s) for s in entry.get("pending", [])]
            post_rate = entry.get("post_rate")
            if post_rate is not None and (not isinstance(post_rate, int) or post_rate < 1):
                raise ValueError(f"entry {serial}: post_rate {post_rate!r}")
            out[serial] = SavedMeter(snapshot, pending, post_rate)
        return out
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning(f"cannot read the meters' state {path} ({exc}): meters start afresh")
        return {}


def save_state(directory: Path, seed: int, meters: dict[str, dict[str, Any]]) -> Path:
    """Write the meters' state (``MeterClient.state()`` by serial) atomically."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / STATE_FILE
    data = json.dumps(
        {"format": STATE_FORMAT, "seed": seed, "meters": meters}, separators=(",", ":")
    ).encode()
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".meters.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
