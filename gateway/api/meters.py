"""/api/v1/meters: the registered meters, one meter, and its owner wallet."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from solders.pubkey import Pubkey
from sqlmodel import Session

from gateway.api import paging
from gateway.api.context import ApiContext, bridge_of, runtime_of
from gateway.api.problems import ApiProblem, ProblemRoute, problem_responses
from gateway.api.readings import own_meter
from gateway.api.schemas import BIGINT_MAX, Lfdi, MeterOut, MeterPage, OwnerIn
from gateway.api.tokens import Claims, Role
from gateway.crud import ledger, owners
from gateway.crud.ledger import MeterView
from gateway.errors import Refusal
from oracle.registry import MeterDirectory
from sep2 import normalise_lfdi


def meter_out(view: MeterView) -> MeterOut:
    """The API view of a meter."""
    d = view.device
    owner = view.chain.owner if view.chain is not None else view.chosen_owner
    source = (
        view.chain.owner_source
        if view.chain is not None
        else ("api" if view.chosen_owner is not None else None)
    )
    return MeterOut(
        meter_id=d.lfdi,
        sfdi=d.sfdi,
        registered_at=d.registered_at,
        settling_mirror=view.settling_mirror,
        last_timestamp=view.latest[0] if view.latest else None,
        import_wh=view.latest[1] if view.latest else None,
        export_wh=view.latest[2] if view.latest else None,
        on_chain=view.chain is not None,
        owner=owner,
        owner_source=source,
    )


def router(context: ApiContext) -> APIRouter:
    """The meters routes."""
    api = APIRouter(route_class=ProblemRoute, tags=["meters"])
    readers = Depends(context.guard.allow(Role.OPERATOR, Role.VIEWER))
    readers_and_meter = Depends(context.guard.allow(Role.OPERATOR, Role.VIEWER, Role.METER))
    admins = Depends(context.guard.allow())

    @api.get("/meters", summary="Registered meters", responses=problem_responses(400, 401, 403))
    async def list_meters(
        request: Request,
        claims: Annotated[Claims, readers],
        limit: Annotated[int, Query(ge=1, le=BIGINT_MAX)] = 100,
        cursor: Annotated[str | None, Query(max_length=200)] = None,
    ) -> MeterPage:
        """Every registered device, by LFDI, with where its registers stand."""
        after = paging.decode_text(cursor)
        size = min(limit, context.settings.api_page_limit)
        views = await runtime_of(request).read(lambda s: ledger.meters_page(s, after, size))
        return MeterPage(
            items=[meter_out(v) for v in views],
            next=paging.encode(views[-1].device.lfdi) if len(views) == size else None,
        )

    @api.get("/meters/{meter_id}", summary="One meter", responses=problem_responses(401, 403, 404))
    async def get_meter(
        request: Request, meter_id: Lfdi, claims: Annotated[Claims, readers_and_meter]
    ) -> MeterOut:
        """A registered device as a meter."""
        lfdi = normalise_lfdi(meter_id)
        own_meter(claims, lfdi)
        view = await runtime_of(request).read(lambda s: ledger.meter(s, lfdi))
        if view is None:
            raise ApiProblem(404, f"no meter {lfdi} is registered with the gateway")
        return meter_out(view)

    @api.put(
        "/meters/{meter_id}/owner",
        summary="Choose the wallet a meter's tokens go to",
        responses=problem_responses(401, 403, 404, 409, 422),
    )
    async def set_owner(
        request: Request, meter_id: Lfdi, body: OwnerIn, claims: Annotated[Claims, admins]
    ) -> MeterOut:
        """The wallet the meter is registered on chain with (when the worker first
        registers it). A meter already on chain keeps its owner: 409."""
        lfdi = normalise_lfdi(meter_id)
        try:
            wallet = str(Pubkey.from_string(body.wallet))
        except ValueError:
            raise ApiProblem(422, f"{body.wallet!r} is not a base58 Solana address") from None
        runtime = runtime_of(request)

        def job(session: Session) -> None:
            from gateway.crud import devices

            if devices.by_lfdi(session, lfdi) is None:
                raise Refusal(404, f"no meter {lfdi} is registered with the gateway")
            chain = owners.on_chain(session, lfdi)
            if chain is not None and chain.owner != wallet:
                raise Refusal(
                    409,
                    f"meter {lfdi} is registered on chain with owner {chain.owner}, which the "
                    "program keeps for good",
                )
            owners.choose(session, lfdi, wallet, runtime.clock())

        await runtime.write(job)
        for directory in {id(d): d for d in _directories(context, request)}.values():
            directory.set_owner(lfdi, wallet)
        view = await runtime.read(lambda s: ledger.meter(s, lfdi))
        assert view is not None
        return meter_out(view)

    return api


def _directories(context: ApiContext, request: Request) -> list[MeterDirectory]:
    found: list[MeterDirectory] = [] if context.directory is None else [context.directory]
    bridge = bridge_of(request)
    if bridge is not None:
        found.append(bridge.registry.directory)
    return found
