"""Counting 2030.5 requests by resource and status: a plain ASGI middleware.

A plain ASGI callable rather than Starlette's BaseHTTPMiddleware, which runs the
endpoint in a task of its own and costs a readings POST far more than the counting.
The *resource* is the template of the route that serves the path (``/mup/{m}``), found
with the routes' own matchers, so the label set stays as small as the route table
however many meters there are; a path no route serves counts as ``unmatched``.
Requests outside the 2030.5 paths (the REST API, /metrics, the dashboard) are not
counted here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from prometheus_client import Counter, Histogram
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.metrics.instruments import SEP2_REQUEST_SECONDS, SEP2_REQUESTS

UNMATCHED = "unmatched"


class Sep2RequestMetrics:
    """ASGI middleware: count and time the requests ``is_sep2`` accepts, by route."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        routes: Sequence[Route],
        is_sep2: Callable[[str], bool],
        requests: Counter = SEP2_REQUESTS,
        seconds: Histogram = SEP2_REQUEST_SECONDS,
    ) -> None:
        self.app = app
        self._patterns = tuple((route.path_regex, route.path) for route in routes)
        self._is_sep2 = is_sep2
        self._requests = requests
        self._seconds = seconds
        # labels() looks the child up under a lock each time; these dicts spare that.
        self._counters: dict[tuple[str, str, str], Any] = {}
        self._timers: dict[tuple[str, str], Any] = {}

    def resource(self, scope: Scope) -> str:
        """The template of the route serving ``scope``'s path, or ``unmatched``."""
        path = scope["path"]
        # The routes' own path patterns, first match first as in the router; a bare regex
        # match costs a tenth of Route.matches, which also builds the child scope.
        for pattern, template in self._patterns:
            if pattern.match(path):
                return template
        return UNMATCHED

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._is_sep2(scope["path"]):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server answers if the application fails before answering

        async def send_counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_counted)
        finally:
            self._count(scope, status, time.perf_counter() - started)

    def _count(self, scope: Scope, status: int, seconds: float) -> None:
        resource, method = self.resource(scope), scope["method"]
        key = (resource, method, str(status))
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = self._requests.labels(*key)
        counter.inc()
        timer = self._timers.get(key[:2])
        if timer is None:
            timer = self._timers[key[:2]] = self._seconds.labels(resource, method)
        timer.observe(seconds)
