"""Errors of the REST API as JSON problem documents (RFC 9457).

Routes and dependencies raise :class:`ApiProblem` (or the 2030.5 side's
:class:`gateway.errors.Refusal`, which ingest raises); :class:`ProblemRoute`, the route
class of every API router, answers them as ``application/problem+json``::

    {"type": "about:blank", "title": "Conflict", "status": 409,
     "detail": "reading of 0123... at 1767225600 replays one already accepted"}

with any extra members (``index`` of the refused item of a batch, ``errors`` of a request
that does not fit the schema) and headers
(``WWW-Authenticate`` on a 401).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Mapping
from http import HTTPStatus
from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateway.errors import Refusal, unavailable

PROBLEM_TYPE = "application/problem+json"
log = logging.getLogger(__name__)


class ApiProblem(Exception):
    """A refused API request: status, what went wrong in one line, extra members."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        **members: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = dict(headers or {})
        self.members = members


def problem_response(problem: ApiProblem) -> JSONResponse:
    """The problem document of ``problem``."""
    body = {
        "type": "about:blank",
        "title": HTTPStatus(problem.status).phrase,
        "status": problem.status,
        "detail": problem.detail,
        **problem.members,
    }
    return JSONResponse(body, problem.status, headers=problem.headers, media_type=PROBLEM_TYPE)


def from_refusal(refusal: Refusal, **members: Any) -> ApiProblem:
    """The API problem of a refusal by the 2030.5 side (ingest)."""
    return ApiProblem(refusal.status, refusal.problem, headers=refusal.headers, **members)


def invalid(exc: RequestValidationError) -> ApiProblem:
    """422 for a request that does not fit the schema; ``errors`` says where (pydantic's
    loc, msg and type of each error, without echoing the input)."""
    errors = [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type"))}
        for e in exc.errors()
    ]
    first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(p) for p in first["loc"])
    return ApiProblem(
        422, f"{where}: {first['msg']}" if where else str(first["msg"]), errors=errors
    )


class ProblemRoute(APIRoute):
    """An API route whose ApiProblem and Refusal (from the handler or a dependency)
    become problem documents."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except ApiProblem as problem:
                return problem_response(problem)
            except Refusal as refusal:
                return problem_response(from_refusal(refusal))
            except RequestValidationError as exc:
                return problem_response(invalid(exc))
            except (OperationalError, InterfaceError) as exc:
                # Nothing was stored; as gateway.app answers it, but as a problem document.
                log.warning(
                    "database unavailable",
                    extra={"path": request.url.path, "error": str(exc).splitlines()[0]},
                )
                return problem_response(
                    from_refusal(unavailable("the database is unavailable; retry later"))
                )

        return route


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the problem documents a route may answer (every
    API route may answer 401, 403 and 422)."""
    from gateway.api.schemas import Problem

    statuses = tuple(sorted({401, 403, 422, *statuses}))

    return {
        s: {
            "model": Problem,
            "description": HTTPStatus(s).phrase,
            "content": {PROBLEM_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for s in statuses
    }
