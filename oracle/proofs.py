"""A batch's event, turned into each reading's fate and Merkle inclusion proof (pure).

The program's ReadingsSubmitted event gives one status per reading, in batch order, and
the Merkle root of the accepted ones (``anchor/merkle.py`` is the specification). Given
the readings the batch carried, :func:`outcomes` rebuilds the tree, refuses an event
whose root is not the one those readings give, and hands each accepted reading its leaf
index and proof. Proofs are stored as JSON: ``[{"side": "left"|"right", "sibling": hex}]``
from the leaf up.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from anchor.abi import ReadingStatus
from anchor.events import ReadingsSubmitted
from anchor.merkle import EMPTY_ROOT, ProofStep, leaf_hash, node_hash, verify_proof


class ProofError(ValueError):
    """An event or a stored proof does not fit the readings it should describe."""


@dataclass(frozen=True)
class SentReading:
    """A reading as a batch carried it: meter LFDI (hex), time and both registers."""

    lfdi: str
    timestamp: int
    import_wh: int
    export_wh: int

    @property
    def leaf(self) -> bytes:
        """Its Merkle leaf."""
        return leaf_hash(bytes.fromhex(self.lfdi), self.timestamp, self.import_wh, self.export_wh)


@dataclass(frozen=True)
class ReadingOutcome:
    """What the chain did with the reading at ``position`` of a batch."""

    position: int
    status: ReadingStatus
    leaf_index: int | None = None
    proof: tuple[ProofStep, ...] | None = None


def outcomes(readings: Sequence[SentReading], event: ReadingsSubmitted) -> list[ReadingOutcome]:
    """Each reading's status and, if accepted, its proof against ``event.merkle_root``."""
    if len(event.statuses) != len(readings):
        raise ProofError(
            f"the event has {len(event.statuses)} statuses for a batch of {len(readings)}"
        )
    accepted = [i for i, s in enumerate(event.statuses) if s == ReadingStatus.ACCEPTED]
    leaves = [readings[i].leaf for i in accepted]
    levels = tree(leaves)
    if (levels[-1][0] if leaves else EMPTY_ROOT) != event.merkle_root:
        raise ProofError(
            f"batch {event.batch}: the accepted readings' Merkle root is not the event's "
            f"{event.merkle_root.hex()}"
        )
    out = [ReadingOutcome(i, ReadingStatus(s)) for i, s in enumerate(event.statuses)]
    for index, position in enumerate(accepted):
        proof = proof_in(levels, index)
        out[position] = ReadingOutcome(position, ReadingStatus.ACCEPTED, index, proof)
    return out


def tree(leaves: Sequence[bytes]) -> list[list[bytes]]:
    """Every level of the Merkle tree, leaves first, root last (anchor/merkle.py's rules)."""
    levels = [list(leaves)]
    while len(levels[-1]) > 1:
        level = levels[-1]
        up = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            up.append(level[-1])  # an odd node is carried up unchanged
        levels.append(up)
    return levels


def proof_in(levels: Sequence[Sequence[bytes]], index: int) -> tuple[ProofStep, ...]:
    """The proof of leaf ``index`` from a built tree: what ``merkle_proof`` gives, without
    rebuilding the tree for every leaf of a batch."""
    steps = []
    for level in levels[:-1]:
        if index % 2:
            steps.append(ProofStep("left", level[index - 1]))
        elif index + 1 < len(level):
            steps.append(ProofStep("right", level[index + 1]))
        index //= 2
    return tuple(steps)


def proof_to_json(proof: Sequence[ProofStep]) -> str:
    """The stored form of a proof."""
    return json.dumps([{"side": s.side, "sibling": s.sibling.hex()} for s in proof])


def proof_from_json(text: str) -> list[ProofStep]:
    """A stored proof; ProofError if it is malformed."""
    try:
        steps = json.loads(text)
        out = []
        for step in steps:
            side, sibling = step["side"], bytes.fromhex(step["sibling"])
            if side not in ("left", "right") or len(sibling) != 32:
                raise ValueError(f"bad step {step!r}")
            out.append(ProofStep(side, sibling))
        return out
    except (ValueError, TypeError, KeyError) as exc:
        raise ProofError(f"malformed proof: {exc}") from None


def proves(reading: SentReading, proof: Sequence[ProofStep], root: bytes) -> bool:
    """Whether ``proof`` takes the reading's leaf to ``root``."""
    return verify_proof(reading.leaf, proof, root)
