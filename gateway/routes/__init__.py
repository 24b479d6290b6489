"""The 2030.5 function sets the gateway serves, one router per module.

Each path is one route with all its methods, so that a 405 names every allowed method in
``Allow``; every route needs a caller (gateway.peer) and refuses with 406 a caller
that does not accept application/sep+xml.
"""

from __future__ import annotations

from starlette.routing import Route

SEP2_PREFIXES = ("/dcap", "/tm", "/edev", "/mup", "/upt")


def sep2_routes() -> list[Route]:
    """The routes of every 2030.5 function set served, the busiest first.

    No two of their paths overlap, so the order only decides how many patterns a request
    is tried against (by the router and by the request metrics): the readings POSTs of
    the Metering Mirror function set come first.
    """
    from gateway.routes import dcap, der, edev, metering, mirror, time

    return [r for module in (mirror, edev, time, dcap, metering, der) for r in module.routes.routes]
