"""A local Solana JSON-RPC server over the embedded chain (``gridmirror chain serve``).

It owns the chain's state directory and is its single writer; gateways, workers and
stock Solana tooling in other processes share the chain through it. JSON-RPC 2.0 over
HTTP POST at ``/`` (single requests and batches), and ``GET /health`` as agave serves it.
Every call runs to completion on the event loop before the next starts, so transactions
are executed one at a time, in arrival order.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web

from oracle.chain.backend import ChainError
from oracle.chain.local import LocalChain
from oracle.chain.rpc_methods import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    PARSE_ERROR,
    RpcError,
    RpcMethods,
)

log = logging.getLogger(__name__)

MAX_BODY = 4 * 1024 * 1024
CHAIN_KEY: web.AppKey[LocalChain] = web.AppKey("chain", LocalChain)
METHODS_KEY: web.AppKey[RpcMethods] = web.AppKey("methods", RpcMethods)


def _error(err: RpcError, request_id: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "error": err.to_json(), "id": request_id}


def answer(methods: RpcMethods, request: Any) -> dict[str, Any] | None:
    """The response to one JSON-RPC request object (None for a notification)."""
    if not isinstance(request, dict):
        return _error(RpcError(INVALID_REQUEST, "Invalid request"), None)
    request_id = request.get("id")
    method = request.get("method")
    if request.get("jsonrpc") != "2.0" or not isinstance(method, str):
        return _error(RpcError(INVALID_REQUEST, "Invalid request"), request_id)
    params = request.get("params", [])
    try:
        if not isinstance(params, list):
            raise RpcError(INVALID_PARAMS, "Invalid params: expected an array of parameters")
        result = methods.call(method, params)
    except RpcError as exc:
        response = _error(exc, request_id)
    except ChainError as exc:
        response = _error(RpcError(INTERNAL_ERROR, str(exc)), request_id)
    except Exception:
        log.exception("RPC method failed", extra={"method": method})
        response = _error(RpcError(INTERNAL_ERROR, "Internal error"), request_id)
    else:
        response = {"jsonrpc": "2.0", "result": result, "id": request_id}
    return None if "id" not in request else response


async def _rpc(request: web.Request) -> web.Response:
    methods = request.app[METHODS_KEY]
    try:
        body = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        return web.json_response(_error(RpcError(PARSE_ERROR, "Parse error"), None))
    if isinstance(body, list):
        if not body:
            return web.json_response(_error(RpcError(INVALID_REQUEST, "Invalid request"), None))
        responses = [r for r in (answer(methods, item) for item in body) if r is not None]
        return web.json_response(responses)
    response = answer(methods, body)
    if response is None:
        return web.Response(status=204)
    return web.json_response(response)


async def _health(request: web.Request) -> web.Response:
    broken = request.app[CHAIN_KEY].broken
    return web.Response(text="ok" if broken is None else "unknown")


def build_app(chain: LocalChain) -> web.Application:
    """The aiohttp application serving ``chain``."""
    app = web.Application(client_max_size=MAX_BODY)
    app[CHAIN_KEY] = chain
    app[METHODS_KEY] = RpcMethods(chain)
    app.router.add_post("/", _rpc)
    app.router.add_get("/health", _health)
    return app


class RpcServer:
    """The server running on an event loop; ``await start()``, then ``await stop()``."""

    def __init__(self, chain: LocalChain, host: str = "127.0.0.1", port: int = 0) -> None:
        self.chain = chain
        self.host = host
        self.port = port
        self._runner = web.AppRunner(build_app(chain), access_log=None)

    async def start(self) -> None:
        """Listen; afterwards :attr:`port` is the bound port (useful with port 0)."""
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        log.info("chain RPC listening", extra={"url": self.url})

    @property
    def url(self) -> str:
        """The endpoint's URL."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def stop(self) -> None:
        """Stop listening (the chain itself stays open; close it separately)."""
        await self._runner.cleanup()
