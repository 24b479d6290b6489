"""/api/v1/settlements, /api/v1/chain/status and /api/v1/dead-letters: the chain side."""

from typing import Annotated

from anyio import to_thread
from fastapi import APIRouter, Depends, Query, Request

from gateway.api import paging
from gateway.api.context import ApiContext, bridge_of, runtime_of
from gateway.api.problems import ProblemRoute, problem_responses
from gateway.api.readings import pair_out
from gateway.api.schemas import (
    BIGINT_MAX,
    ChainStatusOut,
    Lfdi,
    PairPage,
    SettlementOut,
    SettlementPage,
)
from gateway.api.tokens import Claims, Role
from gateway.crud import ledger
from oracle.records import Settlement
from oracle.status import STATS, outbox_counts
from sep2 import normalise_lfdi


def settlement_out(row: Settlement) -> SettlementOut:
    """The API view of a settlement."""
    assert row.id is not None
    return SettlementOut(
        id=row.id,
        epoch=row.epoch,
        meter_id=row.lfdi,
        owner=row.owner,
        import_wh=row.import_wh,
        export_wh=row.export_wh,
        import_delta_wh=row.import_delta_wh,
        export_delta_wh=row.export_delta_wh,
        net_export_wh=row.net_export_wh,
        minted_wh=row.minted_wh,
        signature=row.signature,
        slot=row.slot,
    )


def router(context: ApiContext) -> APIRouter:
    """The chain views."""
    api = APIRouter(route_class=ProblemRoute, tags=["chain"])
    readers = Depends(context.guard.allow(Role.OPERATOR, Role.VIEWER))

    @api.get(
        "/settlements",
        summary="What clearing settled and minted, per epoch and meter",
        responses=problem_responses(400, 401, 403),
    )
    async def list_settlements(
        request: Request,
        claims: Annotated[Claims, readers],
        epoch: Annotated[int | None, Query(ge=0, le=BIGINT_MAX)] = None,
        meter_id: Lfdi | None = None,
        limit: Annotated[int, Query(ge=1, le=BIGINT_MAX)] = 100,
        cursor: Annotated[str | None, Query(max_length=200)] = None,
    ) -> SettlementPage:
        """Settlements recorded from the program's MeterSettled events."""
        lfdi = normalise_lfdi(meter_id) if meter_id is not None else None
        after = paging.decode_int(cursor)
        size = min(limit, context.settings.api_page_limit)
        rows = await runtime_of(request).read(
            lambda s: ledger.settlements_page(s, epoch=epoch, lfdi=lfdi, after=after, limit=size)
        )
        return SettlementPage(
            items=[settlement_out(r) for r in rows],
            next=paging.encode(rows[-1].id) if len(rows) == size else None,
        )

    @api.get(
        "/chain/status",
        summary="The bridge, the outbox by state, clearing",
        responses=problem_responses(401, 403),
    )
    async def chain_status(request: Request, claims: Annotated[Claims, readers]) -> ChainStatusOut:
        """Outbox rows per state, the last cleared epoch and this process's bridge figures."""
        runtime = runtime_of(request)
        counts = await to_thread.run_sync(outbox_counts, runtime.database.read)
        last = await runtime.read(ledger.last_cleared_epoch)
        bridge = bridge_of(request)
        return ChainStatusOut(
            bridge_running=bridge is not None,
            chain=bridge.chain.name if bridge is not None else None,
            outbox=counts,
            last_cleared_epoch=last,
            stats=STATS.snapshot(),
        )

    @api.get(
        "/dead-letters",
        summary="Register pairs that failed too often",
        responses=problem_responses(400, 401, 403),
    )
    async def dead_letters(
        request: Request,
        claims: Annotated[Claims, readers],
        limit: Annotated[int, Query(ge=1, le=BIGINT_MAX)] = 100,
        cursor: Annotated[str | None, Query(max_length=200)] = None,
    ) -> PairPage:
        """Dead letters with their last error; POST /admin/dead-letters/redrive retries."""
        after = paging.decode_int(cursor)
        size = min(limit, context.settings.api_page_limit)
        rows = await runtime_of(request).read(lambda s: ledger.dead_page(s, after, size))
        return PairPage(
            items=[pair_out(r) for r in rows],
            next=paging.encode(rows[-1].id) if len(rows) == size else None,
        )

    return api
