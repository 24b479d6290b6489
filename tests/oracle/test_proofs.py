"""Each reading's fate and Merkle proof, from a batch's event (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anchor.abi import ReadingStatus
from anchor.events import ReadingsSubmitted
from anchor.merkle import leaf_hash, merkle_proof, merkle_root
from oracle.proofs import (
    ProofError,
    SentReading,
    outcomes,
    proof_from_json,
    proof_in,
    proof_to_json,
    proves,
    tree,
)

readings = st.builds(
    SentReading,
    st.binary(min_size=20, max_size=20).map(lambda b: b.hex().upper()),
    st.integers(1, 2**62),
    st.integers(0, 2**63),
    st.integers(0, 2**63),
)


def event_for(batch: list[SentReading], statuses: list[ReadingStatus]) -> ReadingsSubmitted:
    """The event the program would emit (its root computed by the reference Merkle code)."""
    accepted = [
        leaf_hash(bytes.fromhex(r.lfdi), r.timestamp, r.import_wh, r.export_wh)
        for r, s in zip(batch, statuses, strict=True)
        if s == ReadingStatus.ACCEPTED
    ]
    return ReadingsSubmitted(
        7, 1_700_000_000, len(accepted), statuses.count(ReadingStatus.DUPLICATE),
        len(batch) - len(accepted) - statuses.count(ReadingStatus.DUPLICATE),
        merkle_root(accepted), tuple(statuses),
    )  # fmt: skip


batches = st.lists(
    st.tuples(readings, st.sampled_from(list(ReadingStatus))), min_size=1, max_size=60
)


@settings(max_examples=150, deadline=None)
@given(batches)
def test_every_accepted_reading_proves_against_the_root(
    batch: list[tuple[SentReading, ReadingStatus]],
) -> None:
    sent = [r for r, _ in batch]
    statuses = [s for _, s in batch]
    event = event_for(sent, statuses)
    results = outcomes(sent, event)
    assert [o.status for o in results] == statuses
    index = 0
    for reading, outcome in zip(sent, results, strict=True):
        if outcome.status != ReadingStatus.ACCEPTED:
            assert outcome.proof is None and outcome.leaf_index is None
            continue
        assert outcome.leaf_index == index
        index += 1
        assert outcome.proof is not None
        stored = proof_from_json(proof_to_json(outcome.proof))
        assert proves(reading, stored, event.merkle_root)
        # any other value, or another root, does not prove
        forged = SentReading(
            reading.lfdi, reading.timestamp, reading.import_wh + 1, reading.export_wh
        )
        assert not proves(forged, stored, event.merkle_root)
        assert not proves(reading, stored, bytes(32))


@settings(max_examples=60, deadline=None)
@given(batches, st.data())
def test_an_event_that_does_not_match_the_batch_is_refused(
    batch: list[tuple[SentReading, ReadingStatus]], data: st.DataObject
) -> None:
    sent = [r for r, _ in batch]
    statuses = [s for _, s in batch]
    event = event_for(sent, statuses)
    accepted = [i for i, s in enumerate(statuses) if s == ReadingStatus.ACCEPTED]
    if accepted:  # the database's values differ from what the chain accepted
        i = data.draw(st.sampled_from(accepted))
        r = sent[i]
        sent[i] = SentReading(r.lfdi, r.timestamp + 1, r.import_wh, r.export_wh)
        with pytest.raises(ProofError, match="root"):
            outcomes(sent, event)
    with pytest.raises(ProofError, match="statuses"):
        outcomes(sent + sent[:1], event)


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        '[{"side": "up", "sibling": "00"}]',
        '[{"side": "left"}]',
        '[{"side": "left", "sibling": "abcd"}]',
    ],
)
def test_malformed_stored_proofs_are_refused(text: str) -> None:
    with pytest.raises(ProofError):
        proof_from_json(text)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=70))
def test_proofs_from_one_tree_are_the_reference_proofs(leaves: list[bytes]) -> None:
    levels = tree(leaves)
    assert levels[-1] == [merkle_root(leaves)]
    for i in range(len(leaves)):
        assert list(proof_in(levels, i)) == merkle_proof(leaves, i)
