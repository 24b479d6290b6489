"""Solana's PubSub (websocket) methods over a LocalChain, as agave serves them.

Stock clients confirm transactions over this endpoint: web3.js ``confirmTransaction`` and
``sendAndConfirmTransaction`` and Anchor's ``.rpc()`` wait for a ``signatureNotification``;
wallets and explorers watch accounts and slots. Served: signatureSubscribe,
accountSubscribe, logsSubscribe, slotSubscribe and their unsubscribes, on the RPC port + 1
(where web3.js and the solana CLI look for it) unless configured otherwise.

Notifications are built when the chain commits a transaction (``LocalChain.on_commit``)
and when its slot moves (polled, since time moves the slot here), and queued per
connection so each client gets them in order after the answer to its subscribe.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web
from solders.account import Account
from solders.pubkey import Pubkey

from oracle.chain.ledger import StoredTransaction, transaction_addresses
from oracle.chain.local import LocalChain
from oracle.chain.rpc_methods import (
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    RpcError,
    RpcMethods,
    config_param,
    invalid,
    pubkey_param,
    signature_param,
)

log = logging.getLogger(__name__)

SLOT_POLL_SECONDS = 0.1
MAX_SLOTS_PER_POLL = 64
MAX_MESSAGE = 1024 * 1024
SYSTEM_PROGRAM = Pubkey.default()


@dataclass
class _Client:
    """One websocket connection: its outgoing queue and its subscription ids."""

    queue: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    ids: set[int] = field(default_factory=set)

    def send(self, doc: dict[str, Any]) -> None:
        self.queue.put_nowait(json.dumps(doc))


@dataclass
class _Subscription:
    client: _Client
    kind: str  # the subscribe method's name without "Subscribe": signature, account, ...
    method: str  # the notification's method name
    target: Any  # a Signature, a Pubkey, or for logs None (all) / a Pubkey (mentions)
    config: dict[str, Any]


class PubSub:
    """The subscriptions of one chain, fed by its commits and its slot."""

    def __init__(self, chain: LocalChain, methods: RpcMethods) -> None:
        self.chain = chain
        self.methods = methods
        self._subs: dict[int, _Subscription] = {}
        self._next_id = 0
        self._slot = chain.slot
        self._handlers: dict[str, Callable[[_Client, list[Any]], Any]] = {
            "signatureSubscribe": self._signature_subscribe,
            "accountSubscribe": self._account_subscribe,
            "logsSubscribe": self._logs_subscribe,
            "slotSubscribe": self._slot_subscribe,
        }
        for kind in ("signature", "account", "logs", "slot"):
            self._handlers[f"{kind}Unsubscribe"] = self._unsubscribe
        chain.on_commit.append(self._committed)

    def close(self) -> None:
        """Stop listening to the chain."""
        if self._committed in self.chain.on_commit:
            self.chain.on_commit.remove(self._committed)

    # -- requests ------------------------------------------------------------------------

    def handle(self, client: _Client, text: str) -> None:
        """Answer one websocket message (a request or a batch); answers go to the queue."""
        try:
            body = json.loads(text)
        except ValueError:
            client.send(_error(RpcError(PARSE_ERROR, "Parse error"), None))
            return
        for request in body if isinstance(body, list) else [body]:
            response = self._answer(client, request)
            if response is not None:
                client.send(response)

    def _answer(self, client: _Client, request: Any) -> dict[str, Any] | None:
        if not isinstance(request, dict):
            return _error(RpcError(INVALID_REQUEST, "Invalid request"), None)
        if "id" not in request:
            return None  # a notification (web3.js pings this way every 5 s): no answer
        request_id = request["id"]
        method = request.get("method")
        if request.get("jsonrpc") != "2.0" or not isinstance(method, str):
            return _error(RpcError(INVALID_REQUEST, "Invalid request"), request_id)
        params = request.get("params") or []
        handler = self._handlers.get(method)
        try:
            if handler is None:
                raise RpcError(METHOD_NOT_FOUND, "Method not found")
            if not isinstance(params, list):
                raise RpcError(INVALID_PARAMS, "Invalid params: expected an array of parameters")
            result, after = handler(client, params)
        except RpcError as exc:
            return _error(exc, request_id)
        client.send({"jsonrpc": "2.0", "result": result, "id": request_id})
        if after is not None:
            after()
        return None

    def _add(self, client: _Client, kind: str, target: Any, config: dict[str, Any]) -> int:
        self._next_id += 1
        sub_id = self._next_id
        self._subs[sub_id] = _Subscription(client, kind, f"{kind}Notification", target, config)
        client.ids.add(sub_id)
        return sub_id

    def _signature_subscribe(
        self, client: _Client, params: list[Any]
    ) -> tuple[int, Callable[[], None] | None]:
        if not params:
            raise invalid("`params` should have at least 1 argument(s): missing signature")
        signature = signature_param(params[0])
        config = config_param(params, 1)
        sub_id = self._add(client, "signature", signature, config)
        # Landed before the client asked: tell it at once, as agave does from its status
        # cache, so a confirm that subscribes late does not wait for its timeout.
        status = self.chain.statuses([signature])[0]
        if status is None:
            return sub_id, None
        slot, err = status
        return sub_id, lambda: self._notify_signature(sub_id, slot, err)

    def _account_subscribe(
        self, client: _Client, params: list[Any]
    ) -> tuple[int, Callable[[], None] | None]:
        if not params:
            raise invalid("`params` should have at least 1 argument(s): missing pubkey")
        key = pubkey_param(params[0])
        config = config_param(params, 1)
        encoding = config.get("encoding", "binary")
        if encoding not in ("binary", "base58", "base64", "base64+zstd", "jsonParsed"):
            raise invalid(f"Invalid param: unknown encoding {encoding!r}")
        return self._add(client, "account", key, config), None

    def _logs_subscribe(
        self, client: _Client, params: list[Any]
    ) -> tuple[int, Callable[[], None] | None]:
        if not params:
            raise invalid("`params` should have at least 1 argument(s): missing filter")
        which = params[0]
        target: Pubkey | None
        if which in ("all", "allWithVotes"):
            target = None
        elif isinstance(which, dict) and isinstance(which.get("mentions"), list):
            if len(which["mentions"]) != 1:
                raise invalid("Invalid Request: Only 1 address supported")
            target = pubkey_param(which["mentions"][0])
        else:
            raise invalid('Invalid param: logs filter is "all" or {"mentions": [key]}')
        return self._add(client, "logs", target, config_param(params, 1)), None

    def _slot_subscribe(
        self, client: _Client, params: list[Any]
    ) -> tuple[int, Callable[[], None] | None]:
        return self._add(client, "slot", None, {}), None

    def _unsubscribe(
        self, client: _Client, params: list[Any]
    ) -> tuple[bool, Callable[[], None] | None]:
        sub_id = params[0] if params else None
        if not isinstance(sub_id, int) or sub_id not in client.ids:
            raise invalid("Invalid subscription id.")
        self._drop(sub_id)
        return True, None

    def _drop(self, sub_id: int) -> None:
        sub = self._subs.pop(sub_id, None)
        if sub is not None:
            sub.client.ids.discard(sub_id)

    def disconnected(self, client: _Client) -> None:
        """Forget a closed connection's subscriptions."""
        for sub_id in list(client.ids):
            self._drop(sub_id)

    # -- notifications -----------------------------------------------------------------

    def _notify(self, sub_id: int, result: Any) -> None:
        sub = self._subs[sub_id]
        sub.client.send(
            {
                "jsonrpc": "2.0",
                "method": sub.method,
                "params": {"result": result, "subscription": sub_id},
            }
        )

    def _context(self, slot: int, value: Any) -> dict[str, Any]:
        return {"context": {"slot": slot}, "value": value}

    def _notify_signature(self, sub_id: int, slot: int, err: Any) -> None:
        if sub_id in self._subs:
            self._notify(sub_id, self._context(slot, {"err": err}))
            self._drop(sub_id)  # one notification, then the subscription ends (as agave)

    def _committed(
        self, record: StoredTransaction, accounts: Sequence[tuple[Pubkey, Account | None]]
    ) -> None:
        if not self._subs:
            return
        changed = dict(accounts)
        named: set[Pubkey] | None = None
        for sub_id, sub in list(self._subs.items()):
            if sub.kind == "signature" and sub.target == record.signature:
                self._notify_signature(sub_id, record.slot, record.err)
            elif sub.kind == "account" and sub.target in changed:
                account = changed[sub.target] or Account(0, b"", SYSTEM_PROGRAM)
                value = self.methods.ui_account(account, sub.config)
                self._notify(sub_id, self._context(record.slot, value))
            elif sub.kind == "logs":
                if sub.target is not None:
                    if named is None:
                        named = transaction_addresses(record.tx, record.loaded_addresses)
                    if sub.target not in named:
                        continue
                value = {
                    "signature": str(record.signature),
                    "err": record.err,
                    "logs": record.logs,
                }
                self._notify(sub_id, self._context(record.slot, value))

    def poll_slot(self) -> None:
        """Tell slot subscribers of each slot begun since the last poll (at most the last
        :data:`MAX_SLOTS_PER_POLL`, should the loop have stalled)."""
        slot = self.chain.slot
        if slot == self._slot:
            return
        previous, self._slot = self._slot, slot
        subs = [sub_id for sub_id, sub in self._subs.items() if sub.kind == "slot"]
        for s in range(max(previous + 1, slot - MAX_SLOTS_PER_POLL + 1), slot + 1):
            for sub_id in subs:
                # Everything is final at once here, so the root is the slot itself.
                self._notify(sub_id, {"parent": s - 1, "root": s, "slot": s})


def _error(err: RpcError, request_id: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "error": err.to_json(), "id": request_id}


PUBSUB_KEY: web.AppKey[PubSub] = web.AppKey("pubsub", PubSub)


async def _websocket(request: web.Request) -> web.StreamResponse:
    pubsub = request.app[PUBSUB_KEY]
    ws = web.WebSocketResponse(max_msg_size=MAX_MESSAGE)
    if not ws.can_prepare(request).ok:
        return web.Response(status=400, text="a websocket endpoint: connect with ws://\n")
    await ws.prepare(request)
    client = _Client()

    async def writer() -> None:
        while True:
            text = await client.queue.get()
            await ws.send_str(text)

    sending = asyncio.create_task(writer())
    try:
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                pubsub.handle(client, message.data)
            elif message.type == WSMsgType.ERROR:
                break
    finally:
        pubsub.disconnected(client)
        sending.cancel()
    return ws


async def _poll_slots(app: web.Application) -> AsyncIterator[None]:
    pubsub = app[PUBSUB_KEY]

    async def loop() -> None:
        while True:
            await asyncio.sleep(SLOT_POLL_SECONDS)
            try:
                pubsub.poll_slot()
            except Exception:
                log.exception("slot poll failed")

    task = asyncio.create_task(loop())
    yield
    task.cancel()
    pubsub.close()


def build_pubsub_app(chain: LocalChain, methods: RpcMethods) -> web.Application:
    """The aiohttp application serving the PubSub websocket at ``/``."""
    app = web.Application()
    app[PUBSUB_KEY] = PubSub(chain, methods)
    app.router.add_get("/", _websocket)
    app.cleanup_ctx.append(_poll_slots)
    return app
