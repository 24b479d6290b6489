"""/api/v1/admin: trigger clearing, re-drive dead letters, engineering-authority keys."""

import time
from typing import Annotated

from anyio import to_thread
from fastapi import APIRouter, Depends, Path, Request
from sqlmodel import Session

from gateway.api.context import ApiContext, require_bridge, runtime_of
from gateway.api.problems import ApiProblem, ProblemRoute, problem_responses
from gateway.api.schemas import (
    BIGINT_MAX,
    AuthorityKeyIn,
    AuthorityKeyOut,
    ClearingOut,
    RedriveIn,
    RedriveOut,
)
from gateway.api.signatures import EncodingError, public_key_from_text, public_key_text
from gateway.api.tokens import Claims, Role
from gateway.crud import authorities
from gateway.errors import Refusal
from gateway.models import AuthorityKeyRow
from oracle import claims as leases
from oracle.chain.backend import ChainError, ChainUnavailable
from oracle.submissions import redrive
from sep2 import normalise_lfdi


def key_out(row: AuthorityKeyRow) -> AuthorityKeyOut:
    """The API view of an engineering-authority key."""
    assert row.id is not None
    return AuthorityKeyOut(
        id=row.id,
        name=row.name,
        public_key=row.public_key,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


def register_key(session: Session, name: str, text: str, now: float) -> AuthorityKeyRow:
    """Register a key given as base64 (the job of the API and of `gridmirror auth add-key`);
    a Refusal if it is malformed or taken."""
    try:
        canonical = public_key_text(public_key_from_text(text))
    except EncodingError as exc:
        raise Refusal(422, str(exc)) from None
    if authorities.by_name(session, name) is not None:
        raise Refusal(409, f"a key named {name!r} is registered already")
    if authorities.by_public_key(session, canonical) is not None:
        raise Refusal(409, "this public key is registered already")
    return authorities.add(session, name, canonical, now)


def router(context: ApiContext) -> APIRouter:
    """The admin routes."""
    api = APIRouter(prefix="/admin", route_class=ProblemRoute, tags=["admin"])
    operators = Depends(context.guard.allow(Role.OPERATOR))
    admins = Depends(context.guard.allow())

    @api.post(
        "/clearing",
        summary="Clear every epoch that is ready, now",
        responses=problem_responses(401, 403, 409, 502, 503),
    )
    async def trigger_clearing(
        request: Request, claims: Annotated[Claims, operators]
    ) -> ClearingOut:
        """Runs the bridge's clearing crank once (it also runs on its own schedule)."""
        bridge = require_bridge(request)
        if bridge.clearer is None:
            raise ApiProblem(409, "clearing is switched off (chain.clearing)")
        worker = bridge.worker.id
        lease_s = bridge.worker.settings.lease_s
        held = await to_thread.run_sync(
            lambda: leases.claim_crank(bridge.worker.engine, worker, time.time(), lease_s=lease_s)
        )
        if not held:
            raise ApiProblem(409, "another worker holds the clearing crank; try again shortly")
        try:
            cleared = await bridge.clearer.crank(worker)
        except ChainUnavailable as exc:
            raise ApiProblem(503, f"the chain is unavailable: {exc}") from None
        except ChainError as exc:
            raise ApiProblem(502, f"clearing failed on chain: {exc}") from None
        return ClearingOut(cleared=cleared)

    @api.post(
        "/dead-letters/redrive",
        summary="Put dead letters back in the outbox",
        responses=problem_responses(401, 403, 422),
    )
    async def redrive_dead(
        request: Request, body: RedriveIn, claims: Annotated[Claims, operators]
    ) -> RedriveOut:
        """Dead rows (all, or by id or meter) go back to pending with their attempts reset."""
        if not (body.all or body.ids or body.meter_ids):
            raise ApiProblem(422, "say which: ids, meter_ids or all")
        lfdis = [normalise_lfdi(m) for m in body.meter_ids]
        engine = runtime_of(request).database.write
        count = await to_thread.run_sync(
            lambda: redrive(engine, ids=body.ids, lfdis=lfdis, every=body.all)
        )
        return RedriveOut(redriven=count)

    @api.get(
        "/authority-keys",
        summary="Engineering-authority keys",
        responses=problem_responses(401, 403),
    )
    async def list_keys(
        request: Request, claims: Annotated[Claims, operators]
    ) -> list[AuthorityKeyOut]:
        """Every registered key, revoked ones too."""
        return [key_out(r) for r in await runtime_of(request).read(authorities.every)]

    @api.post(
        "/authority-keys",
        status_code=201,
        summary="Register an engineering-authority key",
        responses=problem_responses(401, 403, 409, 422),
    )
    async def add_key(
        request: Request, body: AuthorityKeyIn, claims: Annotated[Claims, admins]
    ) -> AuthorityKeyOut:
        """Readings signed by this key are accepted from now on."""
        runtime = runtime_of(request)
        row = await runtime.write(
            lambda s: register_key(s, body.name, body.public_key, runtime.clock())
        )
        return key_out(row)

    @api.delete(
        "/authority-keys/{key_id}",
        summary="Revoke an engineering-authority key",
        responses=problem_responses(401, 403, 404),
    )
    async def revoke_key(
        request: Request,
        key_id: Annotated[int, Path(ge=1, le=BIGINT_MAX)],
        claims: Annotated[Claims, admins],
    ) -> AuthorityKeyOut:
        """Readings it signed stay; new ones are refused."""
        runtime = runtime_of(request)
        row = await runtime.write(lambda s: authorities.revoke(s, key_id, runtime.clock()))
        if row is None:
            raise ApiProblem(404, f"no authority key {key_id}")
        return key_out(row)

    return api
