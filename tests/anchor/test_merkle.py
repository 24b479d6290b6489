"""The Merkle reference (anchor/merkle.py): proofs, edges, tampering.

That the program computes the same root is tested against the chain in
test_readings.py (test_the_root_matches_the_reference_for_any_count and others).
"""

from __future__ import annotations

import hashlib
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anchor.merkle import (
    EMPTY_ROOT,
    ProofStep,
    leaf_hash,
    merkle_proof,
    merkle_root,
    node_hash,
    verify_proof,
)

leaves = st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=40)


def test_the_leaf_is_the_documented_preimage() -> None:
    lfdi = bytes(range(20))
    expected = hashlib.sha256(
        b"\x00" + lfdi + struct.pack("<q", -2) + struct.pack("<Q", 7) + struct.pack("<Q", 2**64 - 1)
    ).digest()
    assert leaf_hash(lfdi, -2, 7, 2**64 - 1) == expected
    with pytest.raises(ValueError):
        leaf_hash(b"short", 1, 1, 1)


def test_small_trees_by_hand() -> None:
    a, b, c = (bytes([i]) * 32 for i in (1, 2, 3))
    assert merkle_root([]) == EMPTY_ROOT == bytes(32)
    assert merkle_root([a]) == a
    assert merkle_root([a, b]) == hashlib.sha256(b"\x01" + a + b).digest()
    # an odd node is carried up unchanged, not hashed with itself
    assert merkle_root([a, b, c]) == node_hash(node_hash(a, b), c)
    assert merkle_proof([a, b, c], 2) == [ProofStep("left", node_hash(a, b))]


@given(leaves, st.data())
def test_every_leaf_has_a_proof_of_the_root(items: list[bytes], data: st.DataObject) -> None:
    root = merkle_root(items)
    index = data.draw(st.integers(0, len(items) - 1))
    proof = merkle_proof(items, index)
    assert verify_proof(items[index], proof, root)
    assert len(proof) <= max(1, (len(items) - 1).bit_length())


@given(leaves, st.data())
def test_a_tampered_leaf_or_proof_does_not_verify(items: list[bytes], data: st.DataObject) -> None:
    root = merkle_root(items)
    index = data.draw(st.integers(0, len(items) - 1))
    proof = merkle_proof(items, index)
    other = bytes(b ^ 0xFF for b in items[index])
    assert not verify_proof(other, proof, root)
    if proof:
        k = data.draw(st.integers(0, len(proof) - 1))
        flipped = list(proof)
        step = flipped[k]
        flipped[k] = ProofStep(step.side, bytes(b ^ 1 for b in step.sibling))
        assert not verify_proof(items[index], flipped, root)


@given(leaves, st.data())
def test_the_root_commits_to_the_order(items: list[bytes], data: st.DataObject) -> None:
    if len(set(items)) < 2:
        return
    i = data.draw(st.integers(0, len(items) - 1))
    j = data.draw(st.integers(0, len(items) - 1).filter(lambda k: items[k] != items[i]))
    swapped = list(items)
    swapped[i], swapped[j] = swapped[j], swapped[i]
    assert merkle_root(swapped) != merkle_root(items)
