"""/api/v1/meters/readings (POST, one or a batch) and /api/v1/readings (GET, proofs)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from sqlmodel import Session

from gateway.api import paging
from gateway.api.context import ApiContext, bridge_of, intake_of, runtime_of
from gateway.api.intake import Accepted, ItemRefused, Verified, verify
from gateway.api.problems import ApiProblem, ProblemRoute, from_refusal, problem_responses
from gateway.api.schemas import (
    BIGINT_MAX,
    BatchAccepted,
    PairOut,
    PairPage,
    ProofOut,
    ProofStepOut,
    ReadingAccepted,
    ReadingBatchIn,
    ReadingIn,
    iso,
)
from gateway.api.tokens import Claims, Role
from gateway.crud import authorities, ledger
from gateway.errors import Refusal
from oracle.outbox import OutboxEntry, OutboxState
from oracle.proofs import ProofError, SentReading, proof_from_json, proves
from oracle.verify import verify_reading
from sep2 import IdentityError, normalise_lfdi


def pair_out(row: OutboxEntry) -> PairOut:
    """The API view of an outbox row."""
    assert row.id is not None
    return PairOut(
        id=row.id,
        meter_id=row.lfdi,
        timestamp=row.timestamp,
        time=iso(row.timestamp),
        import_wh=row.import_wh,
        export_wh=row.export_wh,
        state=row.state,
        attempts=row.attempts,
        last_error=row.last_error,
        signature=row.signature,
        slot=row.slot,
        batch=row.batch,
    )


def _accepted(a: Accepted) -> ReadingAccepted:
    return ReadingAccepted(
        id=a.pair_id,
        meter_id=a.lfdi,
        timestamp=a.timestamp,
        time=iso(a.timestamp),
        import_wh=a.import_mwh // 1000,
        export_wh=a.export_mwh // 1000,
        import_mwh=a.import_mwh,
        export_mwh=a.export_mwh,
        authority_key=a.key_name,
    )


def own_meter(claims: Claims, lfdi: str) -> None:
    """A meter token acts for its own meter only (403 otherwise)."""
    if claims.role is Role.METER and _lfdi_or_none(claims.subject) != lfdi:
        raise ApiProblem(403, f"a meter token for {claims.subject} may not act for meter {lfdi}")


def _lfdi_or_none(text: str) -> str | None:
    try:
        return normalise_lfdi(text)
    except IdentityError:
        return None


def router(context: ApiContext) -> APIRouter:
    """The readings routes."""
    api = APIRouter(route_class=ProblemRoute, tags=["readings"])
    post_roles = Depends(context.guard.allow(Role.OPERATOR, Role.METER))
    read_roles = Depends(context.guard.allow(Role.OPERATOR, Role.VIEWER, Role.METER))

    async def store(
        request: Request, claims: Claims, items: list[ReadingIn], *, batch: bool
    ) -> list[Accepted]:
        runtime = runtime_of(request)
        keys = await runtime.read(authorities.active)
        checked: list[Verified] = []
        for index, item in enumerate(items):
            lfdi = normalise_lfdi(item.meter_id)
            try:
                own_meter(claims, lfdi)
                checked.append(verify(item, keys))
            except ApiProblem as problem:
                if batch:
                    problem.detail = f"reading {index}: {problem.detail}"
                    problem.members["index"] = index
                raise
            except Refusal as refusal:
                raise (
                    from_refusal(ItemRefused(index, refusal), index=index)
                    if batch
                    else from_refusal(refusal)
                ) from None
        try:
            return await runtime.write(intake_of(runtime).job(checked, indexed=batch))
        except ItemRefused as refused:
            raise from_refusal(refused, index=refused.index) from None

    @api.post(
        "/meters/readings",
        status_code=201,
        summary="Submit one signed reading",
        responses=problem_responses(401, 403, 404, 409, 422),
    )
    async def submit_reading(
        request: Request, body: ReadingIn, claims: Annotated[Claims, post_roles]
    ) -> ReadingAccepted:
        """Store one reading signed by a registered engineering authority. Its energies
        are added to the meter's registers, which go to the chain like 2030.5 readings.
        """
        (accepted,) = await store(request, claims, [body], batch=False)
        return _accepted(accepted)

    @api.post(
        "/meters/readings/batch",
        status_code=201,
        summary="Submit many signed readings, all or none",
        responses=problem_responses(401, 403, 404, 409, 413, 422),
    )
    async def submit_batch(
        request: Request, body: ReadingBatchIn, claims: Annotated[Claims, post_roles]
    ) -> BatchAccepted:
        """Store every reading or, if any is refused, none (the problem names its index).
        A meter's readings in a batch must be in time order."""
        if len(body.readings) > context.settings.api_batch_limit:
            raise ApiProblem(
                413,
                f"{len(body.readings)} readings in one batch; at most "
                f"{context.settings.api_batch_limit}",
            )
        accepted = await store(request, claims, body.readings, batch=True)
        return BatchAccepted(accepted=len(accepted), readings=[_accepted(a) for a in accepted])

    @api.get(
        "/readings",
        summary="Register pairs (REST and 2030.5), oldest first",
        responses=problem_responses(400, 401, 403),
    )
    async def list_readings(
        request: Request,
        claims: Annotated[Claims, read_roles],
        meter_id: Annotated[str | None, Query(pattern=r"^[0-9A-Fa-f]{40}$")] = None,
        since: Annotated[
            int | None, Query(ge=0, le=BIGINT_MAX, description="Unix s, inclusive")
        ] = None,
        until: Annotated[
            int | None, Query(ge=0, le=BIGINT_MAX, description="Unix s, exclusive")
        ] = None,
        state: OutboxState | None = None,
        limit: Annotated[int, Query(ge=1, le=BIGINT_MAX)] = 100,
        cursor: Annotated[str | None, Query(max_length=200)] = None,
    ) -> PairPage:
        """Every meter's register pairs by time (then id), filtered; page with ``next``."""
        lfdi = normalise_lfdi(meter_id) if meter_id is not None else None
        if claims.role is Role.METER:
            lfdi = lfdi or _lfdi_or_none(claims.subject) or ""
            own_meter(claims, lfdi)
        after = paging.decode_pair(cursor)
        size = min(limit, context.settings.api_page_limit)

        def query(session: Session) -> list[OutboxEntry]:
            return ledger.pairs_page(
                session,
                lfdi=lfdi,
                since=since,
                until=until,
                state=state.value if state is not None else None,
                after=after,
                limit=size,
            )

        rows = await runtime_of(request).read(query)
        last = rows[-1] if len(rows) == size else None
        return PairPage(
            items=[pair_out(r) for r in rows],
            next=paging.encode([last.timestamp, last.id]) if last is not None else None,
        )

    async def one_pair(request: Request, claims: Claims, pair_id: int) -> OutboxEntry:
        row = await runtime_of(request).read(lambda s: ledger.pair(s, pair_id))
        if row is None:
            raise ApiProblem(404, f"no reading {pair_id}")
        own_meter(claims, row.lfdi)
        return row

    @api.get(
        "/readings/{pair_id}",
        summary="One register pair",
        responses=problem_responses(401, 403, 404),
    )
    async def get_reading(
        request: Request,
        pair_id: Annotated[int, Path(ge=1, le=BIGINT_MAX)],
        claims: Annotated[Claims, read_roles],
    ) -> PairOut:
        """A register pair and where it is on its way to the chain."""
        return pair_out(await one_pair(request, claims, pair_id))

    @api.get(
        "/readings/{pair_id}/proof",
        summary="A confirmed reading's Merkle inclusion proof",
        responses=problem_responses(401, 403, 404, 409),
    )
    async def get_proof(
        request: Request,
        pair_id: Annotated[int, Path(ge=1, le=BIGINT_MAX)],
        claims: Annotated[Claims, read_roles],
    ) -> ProofOut:
        """The proof stored for a confirmed reading, checked here against its batch root;
        with a bridge running, also `gridmirror verify`'s check against the chain."""
        row = await one_pair(request, claims, pair_id)
        if row.state != OutboxState.CONFIRMED or row.proof is None or row.batch_root is None:
            raise ApiProblem(409, f"reading {pair_id} is not confirmed on chain ({row.state})")
        try:
            steps = proof_from_json(row.proof)
            root = bytes.fromhex(row.batch_root)
        except (ProofError, ValueError) as exc:
            raise ApiProblem(
                409, f"reading {pair_id} has a malformed stored proof: {exc}"
            ) from None
        sent = SentReading(row.lfdi, row.timestamp, row.import_wh, row.export_wh)
        verdict_ok: bool | None = None
        verdict: str | None = None
        bridge = bridge_of(request)
        if bridge is not None:
            found = await verify_reading(
                runtime_of(request).database.read, bridge.chain, bridge.oracle.program, str(pair_id)
            )
            verdict_ok, verdict = found.ok, found.reason
        return ProofOut(
            reading=pair_out(row),
            leaf=sent.leaf.hex(),
            batch_root=row.batch_root,
            leaf_index=row.leaf_index or 0,
            proof=[ProofStepOut(side=s.side, sibling=s.sibling.hex()) for s in steps],
            proof_valid=proves(sent, steps, root),
            chain_verified=verdict_ok,
            chain_verdict=verdict,
        )

    return api
