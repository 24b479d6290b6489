"""A local Solana JSON-RPC server over the embedded chain (``gridmirror chain serve``).

It owns the chain's state directory and is its single writer; gateways, workers and
stock Solana tooling in other processes share the chain through it. JSON-RPC 2.0 over
HTTP POST at ``/`` (single requests and batches), and ``GET /health`` as agave serves it;
the PubSub websocket (oracle/chain/pubsub.py) on the next port, as a validator does.
Every call runs to completion on the event loop before the next starts, so transactions
are executed one at a time, in arrival order.
"""

from __future__ import annotations

import errno
import json
import logging
from typing import Any

from aiohttp import web

from oracle.chain.backend import ChainError
from oracle.chain.local import LocalChain
from oracle.chain.pubsub import build_pubsub_app
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


def build_app(chain: LocalChain, methods: RpcMethods) -> web.Application:
    """The aiohttp application serving ``chain``'s JSON-RPC."""
    app = web.Application(client_max_size=MAX_BODY)
    app[CHAIN_KEY] = chain
    app[METHODS_KEY] = methods
    app.router.add_post("/", _rpc)
    app.router.add_get("/health", _health)
    return app


# With port 0, the PubSub port is the ephemeral RPC port + 1, which may be taken: try again.
EPHEMERAL_ATTEMPTS = 20


class RpcServer:
    """The server running on an event loop; ``await start()``, then ``await stop()``.

    ``pubsub_port`` None puts the websocket on ``port + 1`` (where web3.js, the solana CLI
    and Anchor look for it); with ``port`` 0 both are picked free, side by side.
    """

    def __init__(
        self,
        chain: LocalChain,
        host: str = "127.0.0.1",
        port: int = 0,
        pubsub_port: int | None = None,
    ) -> None:
        self.chain = chain
        self.host = host
        self.port = port
        self.pubsub_port = pubsub_port if pubsub_port is not None else (port + 1 if port else 0)
        self._wanted = (port, pubsub_port)
        methods = RpcMethods(chain)
        self._runner = web.AppRunner(build_app(chain, methods), access_log=None)
        self._pubsub_runner = web.AppRunner(build_pubsub_app(chain, methods), access_log=None)

    async def start(self) -> None:
        """Listen; afterwards :attr:`port` and :attr:`pubsub_port` are the bound ports."""
        await self._runner.setup()
        await self._pubsub_runner.setup()
        port, pubsub_port = self._wanted
        attempts = EPHEMERAL_ATTEMPTS if port == 0 and pubsub_port is None else 1
        for attempt in range(attempts):
            rpc_site = web.TCPSite(self._runner, self.host, port)
            await rpc_site.start()
            self.port = self._runner.addresses[-1][1]
            self.pubsub_port = pubsub_port if pubsub_port is not None else self.port + 1
            try:
                await web.TCPSite(self._pubsub_runner, self.host, self.pubsub_port).start()
            except OSError as exc:
                await rpc_site.stop()
                if exc.errno != errno.EADDRINUSE or attempt == attempts - 1:
                    await self.stop()
                    raise
                continue
            break
        log.info("chain RPC listening", extra={"url": self.url, "pubsub": self.pubsub_url})

    @property
    def url(self) -> str:
        """The JSON-RPC endpoint's URL."""
        return f"http://{self._host()}:{self.port}"

    @property
    def pubsub_url(self) -> str:
        """The PubSub websocket's URL."""
        return f"ws://{self._host()}:{self.pubsub_port}"

    def _host(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host

    async def stop(self) -> None:
        """Stop listening (the chain itself stays open; close it separately)."""
        await self._pubsub_runner.cleanup()
        await self._runner.cleanup()
