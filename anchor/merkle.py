"""The Merkle tree of a ReadingsSubmitted event, as the program computes it (reference).

* leaf   = sha256(0x00 || lfdi[20] || timestamp i64 LE || import_wh u64 LE || export_wh u64 LE)
* parent = sha256(0x01 || left || right)
* leaves in batch order, accepted readings only; an odd node at the end of a level is
  carried up unchanged; the root of no leaves is 32 zero bytes.

A proof lists, from the leaf up, the sibling of each level where the node has one, with
the side the sibling is on; levels where the node is carried up add nothing.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = bytes(32)


def leaf_hash(lfdi: bytes, timestamp: int, import_wh: int, export_wh: int) -> bytes:
    """The leaf of one accepted reading."""
    if len(lfdi) != 20:
        raise ValueError(f"an LFDI is 20 bytes, got {len(lfdi)}")
    body = struct.pack("<qQQ", timestamp, import_wh, export_wh)
    return hashlib.sha256(LEAF_PREFIX + bytes(lfdi) + body).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The parent of two nodes."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """The root over leaves in order."""
    level = list(leaves)
    if not level:
        return EMPTY_ROOT
    while len(level) > 1:
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


@dataclass(frozen=True)
class ProofStep:
    """One sibling on the way up: its hash and whether it sits left or right of our node."""

    side: Literal["left", "right"]
    sibling: bytes


def merkle_proof(leaves: Sequence[bytes], index: int) -> list[ProofStep]:
    """The inclusion proof of leaves[index]."""
    if not 0 <= index < len(leaves):
        raise IndexError(f"leaf {index} of {len(leaves)}")
    steps: list[ProofStep] = []
    level = list(leaves)
    while len(level) > 1:
        if index % 2:
            steps.append(ProofStep("left", level[index - 1]))
        elif index + 1 < len(level):
            steps.append(ProofStep("right", level[index + 1]))
        # else: the last node of an odd level is carried up; no step
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
        index //= 2
    return steps


def verify_proof(leaf: bytes, proof: Sequence[ProofStep], root: bytes) -> bool:
    """Whether leaf, folded with proof, gives root."""
    node = leaf
    for step in proof:
        node = (
            node_hash(step.sibling, node) if step.side == "left" else node_hash(node, step.sibling)
        )
    return node == root
