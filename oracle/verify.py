"""``gridmirror verify READING``: is this stored reading on chain, provably?

The answer does not trust the database's word: it fetches the transaction the reading is
said to be in, decodes the Oracle's ReadingsSubmitted event from its logs (only what the
Oracle program itself logged counts), recomputes the reading's Merkle leaf from the
values in the database, and folds the stored proof up to the event's root. Yes only if
the transaction landed without error, the event's status for the reading's position is
"accepted", and the proof reaches the root the program computed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from solders.signature import Signature
from sqlalchemy import Engine
from sqlmodel import Session, select

from anchor.abi import ReadingStatus
from oracle.chain.backend import ChainBackend
from oracle.events import EventMissing, batch_event
from oracle.outbox import OutboxEntry, OutboxState
from oracle.program import OracleProgram
from oracle.proofs import ProofError, SentReading, proof_from_json, proves
from sep2.identity import IdentityError, normalise_lfdi

_REF = re.compile(r"^(?P<lfdi>[0-9A-Fa-f]{40})@(?P<time>.+)$")


class BadReference(ValueError):
    """The reading reference is neither an id nor LFDI@timestamp."""


def parse_reference(text: str) -> int | tuple[str, int]:
    """An outbox id, or (LFDI, unix seconds) from ``LFDI@1767225615`` or ``LFDI@ISO-8601``."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    match = _REF.match(text)
    if match is None:
        raise BadReference(f"{text!r}: give a reading id or LFDI@timestamp")
    try:
        lfdi = normalise_lfdi(match["lfdi"])
    except IdentityError as exc:
        raise BadReference(str(exc)) from None
    when = match["time"]
    if when.isdigit():
        return lfdi, int(when)
    try:
        moment = datetime.fromisoformat(when.replace("Z", "+00:00"))
    except ValueError:
        raise BadReference(f"{when!r} is neither unix seconds nor an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise BadReference(f"{when!r} has no time zone (add Z for UTC)")
    return lfdi, int(moment.timestamp())


def find_reading(engine: Engine, reference: int | tuple[str, int]) -> OutboxEntry | None:
    """The outbox row a reference names."""
    with Session(engine) as session:
        if isinstance(reference, int):
            return session.get(OutboxEntry, reference)
        lfdi, timestamp = reference
        return session.exec(
            select(OutboxEntry).where(OutboxEntry.lfdi == lfdi, OutboxEntry.timestamp == timestamp)
        ).first()


@dataclass
class Verdict:
    """Yes or no, why, and what was checked."""

    ok: bool
    reason: str
    facts: dict[str, str | int] = field(default_factory=dict)


async def verify_reading(
    engine: Engine, chain: ChainBackend, program: OracleProgram, reference: str
) -> Verdict:
    """Check one reading against the chain (see the module's description)."""
    try:
        ref = parse_reference(reference)
    except BadReference as exc:
        return Verdict(False, str(exc))
    row = find_reading(engine, ref)
    if row is None:
        return Verdict(False, f"no reading {reference} in the database")
    facts: dict[str, str | int] = {
        "id": row.id or 0,
        "lfdi": row.lfdi,
        "timestamp": row.timestamp,
        "import_wh": row.import_wh,
        "export_wh": row.export_wh,
        "state": row.state,
    }
    if row.state != OutboxState.CONFIRMED:
        why = {
            OutboxState.PENDING: "it is waiting to be submitted",
            OutboxState.IN_FLIGHT: "its transaction is not confirmed yet",
            OutboxState.DUPLICATE: "the chain already had a reading of this meter at or after it",
            OutboxState.REJECTED: f"the program rejected it ({row.last_error})",
            OutboxState.DEAD: f"it is a dead letter ({row.last_error})",
        }.get(OutboxState(row.state), row.state)
        return Verdict(False, f"not on chain: {why}", facts)
    if not (row.signature and row.proof is not None and row.tx_position is not None):
        return Verdict(False, "confirmed, but its signature or proof is missing", facts)
    facts |= {"signature": row.signature, "slot": row.slot or 0, "batch": row.batch or 0}
    record = await chain.get_transaction(Signature.from_string(row.signature))
    if record is None:
        return Verdict(False, f"transaction {row.signature} is not on {chain.name}", facts)
    if record.err is not None:
        return Verdict(False, f"transaction {row.signature} failed: {record.err}", facts)
    try:
        event = batch_event(program, record)
    except EventMissing as exc:
        return Verdict(False, str(exc), facts)
    facts["root"] = event.merkle_root.hex()
    if event.batch != row.batch:
        return Verdict(False, f"the transaction holds batch {event.batch}, not {row.batch}", facts)
    if row.tx_position >= len(event.statuses):
        return Verdict(False, "the batch has no reading at the stored position", facts)
    status = event.statuses[row.tx_position]
    if status != ReadingStatus.ACCEPTED:
        return Verdict(False, f"the chain's status for it is {status.name.lower()}", facts)
    try:
        proof = proof_from_json(row.proof)
    except ProofError as exc:
        return Verdict(False, str(exc), facts)
    reading = SentReading(row.lfdi, row.timestamp, row.import_wh, row.export_wh)
    facts["leaf"] = reading.leaf.hex()
    if not proves(reading, proof, event.merkle_root):
        return Verdict(
            False, "the proof does not lead from this reading's leaf to the event's root", facts
        )
    return Verdict(
        True,
        f"accepted in batch {event.batch}, slot {record.slot}: the proof ({len(proof)} steps) "
        "leads from the reading's leaf to the root in the transaction's event",
        facts,
    )
