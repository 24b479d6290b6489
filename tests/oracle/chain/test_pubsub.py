"""``chain serve``'s PubSub websocket, driven by solana-py's websocket client and by hand."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from solana.rpc.async_api import AsyncClient
from solana.rpc.types import TxOpts
from solana.rpc.websocket_api import SolanaWsClientProtocol, SubscriptionError, connect
from solders.keypair import Keypair
from solders.rpc.config import RpcTransactionLogsFilterMentions
from solders.rpc.responses import (
    AccountNotification,
    LogsNotification,
    SignatureNotification,
    SlotNotification,
    SubscriptionResult,
    UnsubscribeResult,
)

from oracle.chain.pubsub import PUBSUB_KEY
from oracle.chain.timesource import ManualTime
from tests.oracle.chain.conftest import transfer_tx
from tests.oracle.chain.test_rpc_server import Served, funded, serve

WAIT = 5.0


@pytest.fixture
async def served(tmp_path: Path, clock: ManualTime) -> AsyncIterator[Served]:
    s = await serve(tmp_path / "chain", clock)
    yield s
    await s.stop()


@pytest.fixture
async def client(served: Served) -> AsyncIterator[AsyncClient]:
    c = AsyncClient(served.url, commitment="confirmed")
    yield c
    await c.close()


async def next_message(ws: SolanaWsClientProtocol) -> Any:
    messages = await asyncio.wait_for(ws.recv(), WAIT)
    assert len(messages) == 1
    return messages[0]


async def subscribed(ws: SolanaWsClientProtocol) -> int:
    message = await next_message(ws)
    assert isinstance(message, SubscriptionResult)
    return int(message.result)


def test_the_websocket_is_on_the_next_port(served: Served) -> None:
    assert served.server.pubsub_port == served.server.port + 1
    assert served.server.pubsub_url == f"ws://127.0.0.1:{served.server.port + 1}"


async def test_a_signature_is_notified_when_it_lands_and_once(
    served: Served, client: AsyncClient
) -> None:
    payer = await funded(client)
    latest = (await client.get_latest_blockhash()).value
    tx = transfer_tx(payer, Keypair().pubkey(), 1_000_000, latest.blockhash)
    async with connect(served.server.pubsub_url) as ws:
        await ws.signature_subscribe(tx.signatures[0])
        sub = await subscribed(ws)
        await client.send_transaction(tx, TxOpts(skip_confirmation=True))
        note = await next_message(ws)
        assert isinstance(note, SignatureNotification) and note.subscription == sub
        assert note.result.value.err is None
        assert note.result.context.slot == served.chain.slot
        # the subscription ended with its notification
        await ws.signature_unsubscribe(sub)
        with pytest.raises(SubscriptionError):
            await next_message(ws)


async def test_a_signature_that_landed_before_is_notified_at_once(
    served: Served, client: AsyncClient
) -> None:
    payer = await funded(client)
    latest = (await client.get_latest_blockhash()).value
    failing = transfer_tx(payer, Keypair().pubkey(), 10**18, latest.blockhash)
    sig = (await client.send_transaction(failing, TxOpts(skip_preflight=True))).value
    async with connect(served.server.pubsub_url) as ws:
        await ws.signature_subscribe(sig)
        await subscribed(ws)
        note = await next_message(ws)
        assert isinstance(note, SignatureNotification)
        assert note.result.value.err is not None  # it landed and failed: the error is told


async def test_account_logs_and_slot_notifications(
    served: Served, client: AsyncClient, clock: ManualTime
) -> None:
    payer = await funded(client)
    to = Keypair().pubkey()
    async with connect(served.server.pubsub_url) as ws:
        await ws.account_subscribe(to, encoding="base64")
        account_sub = await subscribed(ws)
        await ws.logs_subscribe(RpcTransactionLogsFilterMentions(to))
        logs_sub = await subscribed(ws)
        latest = (await client.get_latest_blockhash()).value
        tx = transfer_tx(payer, to, 2_000_000, latest.blockhash)
        await client.send_transaction(tx, TxOpts(skip_confirmation=True))
        notes = [await next_message(ws), await next_message(ws)]
        account = next(n for n in notes if isinstance(n, AccountNotification))
        logs = next(n for n in notes if isinstance(n, LogsNotification))
        assert account.subscription == account_sub and account.result.value.lamports == 2_000_000
        assert logs.subscription == logs_sub
        assert logs.result.value.signature == tx.signatures[0]
        assert logs.result.value.logs[-1].endswith("success")
        # a transfer elsewhere tells neither
        await client.send_transaction(
            transfer_tx(payer, Keypair().pubkey(), 1, latest.blockhash),
            TxOpts(skip_confirmation=True),
        )
        await ws.account_unsubscribe(account_sub)
        await ws.logs_unsubscribe(logs_sub)
        for _ in range(2):
            done = await next_message(ws)
            assert isinstance(done, UnsubscribeResult) and done.result is True
        await ws.slot_subscribe()
        slot_sub = await subscribed(ws)
        before = served.chain.slot
        clock.advance(1.0)  # two slots or more
        for slot in (before + 1, before + 2):  # each slot is told, in order
            note = await next_message(ws)
            assert isinstance(note, SlotNotification) and note.subscription == slot_sub
            assert (note.result.parent, note.result.slot) == (slot - 1, slot)


async def raw_exchange(url: str, *messages: Any, answers: int) -> list[Any]:
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        for m in messages:
            await ws.send_str(m if isinstance(m, str) else json.dumps(m))
        return [json.loads(await ws.receive_str(timeout=WAIT)) for _ in range(answers)]


async def test_bad_requests_get_json_rpc_errors(served: Served) -> None:
    url = served.server.pubsub_url
    answers = await raw_exchange(
        url,
        {"jsonrpc": "2.0", "method": "ping", "params": None},  # web3.js's keep-alive: silence
        "{nope",
        {"jsonrpc": "2.0", "id": 1, "method": "blockSubscribe", "params": ["all"]},
        {"jsonrpc": "2.0", "id": 2, "method": "signatureSubscribe", "params": ["xyz"]},
        {"jsonrpc": "2.0", "id": 3, "method": "accountSubscribe", "params": []},
        {"jsonrpc": "2.0", "id": 4, "method": "slotUnsubscribe", "params": [12345]},
        {"jsonrpc": "2.0", "id": 5, "method": "logsSubscribe", "params": [{"mentions": []}]},
        {"jsonrpc": "2.0", "id": 6, "method": "slotSubscribe"},
        answers=7,
    )
    assert answers[0]["error"]["code"] == -32700
    assert [(a["id"], a["error"]["code"]) for a in answers[1:6]] == [
        (1, -32601),
        (2, -32602),
        (3, -32602),
        (4, -32602),
        (5, -32602),
    ]
    assert answers[6]["id"] == 6 and isinstance(answers[6]["result"], int)
    async with aiohttp.ClientSession() as session:
        plain = await session.get(url.replace("ws://", "http://"))
        assert plain.status == 400


async def test_a_closed_connection_leaves_no_subscriptions(
    served: Served, client: AsyncClient
) -> None:
    await raw_exchange(
        served.server.pubsub_url,
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "accountSubscribe",
            "params": [str(Keypair().pubkey())],
        },
        answers=1,
    )
    await asyncio.sleep(0.1)
    pubsub = served.server._pubsub_runner.app[PUBSUB_KEY]
    assert pubsub._subs == {}
