"""``chain serve``'s JSON-RPC server, driven by the RPC backend and by solana-py itself."""

from __future__ import annotations

import base64
import json
import re
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import based58
import httpx
import pytest
from solana.rpc.async_api import AsyncClient
from solana.rpc.types import MemcmpOpts, TxOpts
from solders.keypair import Keypair
from solders.message import to_bytes_versioned
from solders.pubkey import Pubkey
from solders.rpc.responses import GetTransactionResp
from solders.signature import Signature
from spl.token.async_client import AsyncToken
from spl.token.constants import TOKEN_PROGRAM_ID

from oracle.chain import ChainBackend, TransactionRejected
from oracle.chain.local import LocalChain
from oracle.chain.rpc import RpcBackend
from oracle.chain.server import RpcServer
from oracle.chain.timesource import ManualTime
from tests.oracle.chain.conftest import transfer_tx
from tests.oracle.chain.scenario import check_survived, run_scenario


@dataclass
class Served:
    """A chain and the server in front of it."""

    chain: LocalChain
    server: RpcServer

    @property
    def url(self) -> str:
        return self.server.url

    async def stop(self) -> None:
        await self.server.stop()
        self.chain.close()


async def serve(state_dir: Path | None, clock: ManualTime) -> Served:
    chain = LocalChain(state_dir, time_source=clock)
    server = RpcServer(chain, "127.0.0.1", 0)
    await server.start()
    assert server.port != 0
    return Served(chain, server)


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


async def rpc(url: str, method: str, *params: Any) -> dict[str, Any]:
    """One raw JSON-RPC call; the whole response object."""
    body = {"jsonrpc": "2.0", "id": 7, "method": method, "params": list(params)}
    async with httpx.AsyncClient() as http:
        response = await http.post(url, json=body)
    assert response.status_code == 200
    doc: dict[str, Any] = response.json()
    assert doc["jsonrpc"] == "2.0"
    return doc


async def funded(client: AsyncClient, lamports: int = 10 * 10**9) -> Keypair:
    kp = Keypair()
    sig = (await client.request_airdrop(kp.pubkey(), lamports)).value
    await client.confirm_transaction(sig)
    return kp


def backend(url: str) -> RpcBackend:
    return RpcBackend(url, commitment="confirmed", poll_interval=0.02, confirm_timeout=5)


async def test_rpc_backend_scenario_and_restart(tmp_path: Path, clock: ManualTime) -> None:
    served = await serve(tmp_path / "chain", clock)
    chain = backend(served.url)
    assert isinstance(chain, ChainBackend)
    outcome = await run_scenario(chain)
    await chain.close()
    await served.stop()

    served = await serve(tmp_path / "chain", clock)  # same state, a new process's worth
    chain = backend(served.url)
    await check_survived(chain, outcome)
    await chain.close()
    await served.stop()


async def test_solana_py_token_client(client: AsyncClient) -> None:
    payer = await funded(client)
    token = await AsyncToken.create_mint(
        client, payer, payer.pubkey(), 6, TOKEN_PROGRAM_ID, skip_confirmation=False
    )
    owner = Keypair().pubkey()
    account = await token.create_associated_token_account(owner, skip_confirmation=False)
    await token.mint_to(account, payer, 2_500_000, opts=TxOpts(skip_confirmation=False))
    balance = (await token.get_balance(account)).value
    assert (balance.amount, balance.decimals, balance.ui_amount_string) == ("2500000", 6, "2.5")
    info = await token.get_account_info(account)
    assert info.owner == owner and info.amount == 2_500_000
    parsed = (await client.get_account_info_json_parsed(account)).value
    assert parsed is not None
    assert parsed.data.parsed["info"]["tokenAmount"]["uiAmountString"] == "2.5"
    assert parsed.data.program == "spl-token"


async def test_get_transaction_encodings(client: AsyncClient, served: Served) -> None:
    payer = await funded(client)
    latest = (await client.get_latest_blockhash()).value
    to = Keypair().pubkey()
    sig = (await client.send_transaction(transfer_tx(payer, to, 1_000_000, latest.blockhash))).value
    found = (await client.get_transaction(sig, "json", max_supported_transaction_version=0)).value
    assert found is not None
    meta = found.transaction.meta
    assert meta is not None and meta.err is None and meta.fee == 5_000
    assert meta.compute_units_consumed == 150
    assert meta.log_messages and meta.log_messages[-1].endswith("success")
    assert meta.post_balances[1] == 1_000_000
    assert found.block_time == int(ManualTime().now)
    raw = (await client.get_transaction(sig, "base64", max_supported_transaction_version=0)).value
    assert raw is not None
    # a v0 transaction needs maxSupportedTransactionVersion, as on a real node
    doc = await rpc(served.url, "getTransaction", str(sig), {"encoding": "json"})
    assert doc["error"]["code"] == -32015
    # a legacy one does not; the answer parses as solders' typed response
    payer_legacy = await funded(client)
    from solders.message import Message
    from solders.system_program import TransferParams, transfer
    from solders.transaction import Transaction

    ix = transfer(TransferParams(from_pubkey=payer_legacy.pubkey(), to_pubkey=to, lamports=1))
    msg = Message.new_with_blockhash([ix], payer_legacy.pubkey(), latest.blockhash)
    legacy = (
        await client.send_transaction(Transaction([payer_legacy], msg, latest.blockhash))
    ).value
    doc = await rpc(served.url, "getTransaction", str(legacy), "json")
    assert "version" not in doc["result"]
    typed = GetTransactionResp.from_json(json.dumps(doc))
    assert isinstance(typed, GetTransactionResp) and typed.value is not None
    assert typed.value.slot == doc["result"]["slot"]
    assert (await rpc(served.url, "getTransaction", str(Signature.default())))["result"] is None


async def test_preflight_failure_carries_the_logs(client: AsyncClient, served: Served) -> None:
    payer = await funded(client, 10_000_000)
    latest = (await client.get_latest_blockhash()).value
    tx = transfer_tx(payer, Keypair().pubkey(), 10**12, latest.blockhash)
    doc = await rpc(
        served.url, "sendTransaction", base64.b64encode(bytes(tx)).decode(), {"encoding": "base64"}
    )
    assert doc["error"]["code"] == -32002
    assert doc["error"]["message"].startswith(
        "Transaction simulation failed: Error processing Instruction 0: custom program error: 0x1"
    )
    assert doc["error"]["data"]["err"] == {"InstructionError": [0, {"Custom": 1}]}
    assert any("insufficient lamports" in line for line in doc["error"]["data"]["logs"])
    # the RPC backend turns it into TransactionRejected with the same logs
    chain = backend(served.url)
    with pytest.raises(TransactionRejected) as info:
        await chain.send_transaction(tx, skip_preflight=False)
    assert info.value.err.custom_code == 1 and info.value.logs
    assert (await chain.signature_statuses([tx.signatures[0]])) == [None]
    # without preflight it lands and fails
    sig = await chain.send_transaction(tx, skip_preflight=True)
    status = await chain.confirm_transaction(sig)
    assert status is not None and status.err is not None and status.err.custom_code == 1
    await chain.close()


async def test_send_base58_and_resend(client: AsyncClient, served: Served) -> None:
    payer = await funded(client)
    latest = (await client.get_latest_blockhash()).value
    to = Keypair().pubkey()
    tx = transfer_tx(payer, to, 1_000_000, latest.blockhash)
    encoded = based58.b58encode(bytes(tx)).decode()
    first = await rpc(served.url, "sendTransaction", encoded)  # base58 is the default
    second = await rpc(served.url, "sendTransaction", encoded)
    assert first["result"] == second["result"] == str(tx.signatures[0])
    assert (await client.get_balance(to)).value == 1_000_000  # executed once


async def test_bad_signature_and_stale_blockhash(
    client: AsyncClient, served: Served, clock: ManualTime
) -> None:
    payer = await funded(client)
    latest = (await client.get_latest_blockhash()).value
    tx = transfer_tx(payer, Keypair().pubkey(), 1_000_000, latest.blockhash)
    forged = bytearray(bytes(tx))
    forged[1] ^= 0xFF  # first signature byte
    doc = await rpc(
        served.url,
        "sendTransaction",
        base64.b64encode(bytes(forged)).decode(),
        {"encoding": "base64"},
    )
    assert doc["error"]["code"] == -32003
    doc = await rpc(
        served.url,
        "sendTransaction",
        base64.b64encode(bytes(forged)).decode(),
        {"encoding": "base64", "skipPreflight": True},
    )
    assert doc["error"]["code"] == -32002 and doc["error"]["data"]["err"] == "SignatureFailure"
    clock.advance(61)
    valid = await rpc(served.url, "isBlockhashValid", str(latest.blockhash))
    assert valid["result"]["value"] is False
    doc = await rpc(
        served.url, "sendTransaction", base64.b64encode(bytes(tx)).decode(), {"encoding": "base64"}
    )
    assert doc["error"]["code"] == -32002
    assert doc["error"]["data"]["err"] == "BlockhashNotFound"


@pytest.mark.parametrize(
    "body, code",
    [
        (b"{not json", -32700),
        (b'{"jsonrpc": "1.0", "id": 1, "method": "getSlot"}', -32600),
        (b'{"jsonrpc": "2.0", "id": 1}', -32600),
        (b"[]", -32600),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "getNothing"}', -32601),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "getBalance", "params": []}', -32602),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "getBalance", "params": ["nope"]}', -32602),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "getBalance", "params": {"a": 1}}', -32602),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "sendTransaction", "params": ["%%%"]}', -32602),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "sendTransaction", "params": ["3vZ"]}', -32602),
        (
            b'{"jsonrpc": "2.0", "id": 1, "method": "getMinimumBalanceForRentExemption",'
            b' "params": [-1]}',
            -32602,
        ),
        (
            b'{"jsonrpc": "2.0", "id": 1, "method": "getTransaction", "params":'
            b' ["1111111111111111111111111111111111111111111111111111111111111111",'
            b' {"commitment": "processed"}]}',
            -32602,
        ),
    ],
)
async def test_json_rpc_errors(served: Served, body: bytes, code: int) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(
            served.url, content=body, headers={"content-type": "application/json"}
        )
    doc = response.json()
    assert doc["error"]["code"] == code, doc
    assert doc["jsonrpc"] == "2.0" and "result" not in doc


async def test_batches_and_notifications(served: Served) -> None:
    batch = [
        {"jsonrpc": "2.0", "id": 1, "method": "getSlot"},
        {"jsonrpc": "2.0", "id": 2, "method": "getNothing"},
        {"jsonrpc": "2.0", "method": "getSlot"},  # a notification: no answer
        {"jsonrpc": "2.0", "id": 3, "method": "getHealth"},
    ]
    async with httpx.AsyncClient() as http:
        answers = (await http.post(served.url, json=batch)).json()
        health = await http.get(served.url + "/health")
    assert [a["id"] for a in answers] == [1, 2, 3]
    assert answers[0]["result"] == served.chain.slot
    assert answers[1]["error"]["code"] == -32601
    assert answers[2]["result"] == "ok"
    assert health.text == "ok"


async def test_program_accounts_with_filters(client: AsyncClient, served: Served) -> None:
    payer = await funded(client)
    mints = []
    for decimals in (0, 2):
        token = await AsyncToken.create_mint(
            client, payer, payer.pubkey(), decimals, TOKEN_PROGRAM_ID, skip_confirmation=False
        )
        mints.append(token)
    owners = [Keypair().pubkey() for _ in range(3)]
    for owner in owners:
        await mints[0].create_associated_token_account(owner, skip_confirmation=False)
    await mints[1].create_associated_token_account(owners[0], skip_confirmation=False)

    everything = (await client.get_program_accounts(TOKEN_PROGRAM_ID, encoding="base64")).value
    assert len(everything) == 2 + 4
    token_accounts = (
        await client.get_program_accounts(TOKEN_PROGRAM_ID, encoding="base64", filters=[165])
    ).value
    assert len(token_accounts) == 4
    by_mint = (
        await client.get_program_accounts(
            TOKEN_PROGRAM_ID,
            encoding="base64",
            filters=[165, MemcmpOpts(offset=0, bytes=str(mints[0].pubkey))],
        )
    ).value
    assert len(by_mint) == 3
    assert {bytes(a.account.data)[32:64] for a in by_mint} == {bytes(o) for o in owners}
    # memcmp in base64, and on the owner field
    doc = await rpc(
        served.url,
        "getProgramAccounts",
        str(TOKEN_PROGRAM_ID),
        {
            "encoding": "jsonParsed",
            "withContext": True,
            "filters": [
                {"dataSize": 165},
                {
                    "memcmp": {
                        "offset": 32,
                        "bytes": base64.b64encode(bytes(owners[0])).decode(),
                        "encoding": "base64",
                    }
                },
            ],
        },
    )
    value = doc["result"]["value"]
    assert doc["result"]["context"]["slot"] >= 0
    assert {v["account"]["data"]["parsed"]["info"]["mint"] for v in value} == {
        str(m.pubkey) for m in mints
    }
    mints_only = await rpc(
        served.url,
        "getProgramAccounts",
        str(TOKEN_PROGRAM_ID),
        {"encoding": "base64", "filters": [{"dataSize": 82}]},
    )
    assert {v["pubkey"] for v in mints_only["result"]} == {str(m.pubkey) for m in mints}
    sliced = await rpc(
        served.url,
        "getProgramAccounts",
        str(TOKEN_PROGRAM_ID),
        {
            "encoding": "base64",
            "dataSlice": {"offset": 0, "length": 32},
            "filters": [{"dataSize": 82}],
        },
    )
    assert all(len(base64.b64decode(v["account"]["data"][0])) == 32 for v in sliced["result"])
    mint = await rpc(served.url, "getAccountInfo", str(mints[1].pubkey), {"encoding": "jsonParsed"})
    parsed = mint["result"]["value"]["data"]["parsed"]
    assert parsed["type"] == "mint" and parsed["info"]["decimals"] == 2
    assert parsed["info"]["mintAuthority"] == str(payer.pubkey())
    not_token = await rpc(served.url, "getTokenAccountBalance", str(mints[0].pubkey))
    assert not_token["error"] == {"code": -32602, "message": "Invalid param: not a Token account"}
    bad = await rpc(
        served.url,
        "getProgramAccounts",
        str(TOKEN_PROGRAM_ID),
        {"filters": [{"memcmp": {"offset": 0, "bytes": "0OIl"}}]},
    )
    assert bad["error"]["code"] == -32602
    unknown = await rpc(
        served.url,
        "getProgramAccounts",
        str(TOKEN_PROGRAM_ID),
        {"filters": [{"tokenAccountState": True}]},
    )
    assert unknown["error"]["code"] == -32602


async def test_cluster_queries_parse_in_solana_py(client: AsyncClient, served: Served) -> None:
    assert await client.is_connected()
    assert (await client.get_version()).value.solana_core == "2.2.0"
    assert str((await client.get_genesis_hash()).value) == str(served.chain.genesis_hash)
    epoch = (await client.get_epoch_info()).value
    slot = (await client.get_slot()).value
    assert epoch.absolute_slot == slot == (await client.get_block_height()).value
    assert epoch.slots_in_epoch == 432_000
    latest = (await client.get_latest_blockhash()).value
    assert latest.last_valid_block_height == slot + 150
    valid = await rpc(served.url, "isBlockhashValid", str(latest.blockhash))
    assert valid["result"]["value"] is True
    payer = Keypair()
    from solders.message import MessageV0
    from solders.system_program import TransferParams, transfer

    ix = transfer(
        TransferParams(from_pubkey=payer.pubkey(), to_pubkey=Pubkey.default(), lamports=1)
    )
    message = MessageV0.try_compile(payer.pubkey(), [ix], [], latest.blockhash)
    assert (await client.get_fee_for_message(message)).value == 5_000
    assert (await client.get_minimum_balance_for_rent_exemption(165)).value == 2_039_280
    clock_sysvar = (
        await client.get_account_info(
            Pubkey.from_string("SysvarC1ock11111111111111111111111111111111")
        )
    ).value
    assert clock_sysvar is not None and len(clock_sysvar.data) == 40
    missing = (await client.get_account_info(Keypair().pubkey())).value
    assert missing is None
    multiple = (
        await client.get_multiple_accounts(
            [Keypair().pubkey(), Pubkey.from_string("SysvarC1ock11111111111111111111111111111111")]
        )
    ).value
    assert multiple[0] is None and multiple[1] is not None
    big = await rpc(served.url, "getAccountInfo", str(TOKEN_PROGRAM_ID), {"encoding": "base58"})
    assert big["error"]["code"] == -32600  # base58 is for small accounts only
    assert to_bytes_versioned(message)  # the message we priced is a real one


async def test_rpc_backend_reports_an_unreachable_endpoint() -> None:
    from oracle.chain import ChainUnavailable

    with socket.socket() as s:  # a port that was free a moment ago: nobody listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    chain = RpcBackend(f"http://127.0.0.1:{port}", timeout=2)
    with pytest.raises(ChainUnavailable, match=f"127.0.0.1:{port}"):
        await chain.latest_blockhash()
    await chain.close()


async def test_rpc_backend_refuses_to_deploy(served: Served) -> None:
    from oracle.chain import ChainError

    chain = backend(served.url)
    with pytest.raises(ChainError, match="cannot deploy"):
        await chain.deploy_program(Keypair().pubkey(), b"\x7fELF", Keypair().pubkey())
    await chain.close()


async def test_get_version_names_a_feature_set(client: AsyncClient, served: Served) -> None:
    doc = (await rpc(served.url, "getVersion"))["result"]
    # web3.js's superstruct schema wants a u32 here, not null
    assert isinstance(doc["feature-set"], int) and 0 <= doc["feature-set"] < 2**32
    assert (await client.get_version()).value.feature_set == doc["feature-set"]


async def test_signatures_for_address_newest_first_with_memos_and_paging(
    client: AsyncClient, served: Served
) -> None:
    payer = await funded(client)
    to = Keypair().pubkey()
    sigs = []
    for lamports in (1_000_000, 2_000_000, 3_000_000):
        latest = (await client.get_latest_blockhash()).value
        tx = transfer_tx(payer, to, lamports, latest.blockhash)
        sigs.append((await client.send_transaction(tx)).value)
    # a failed one is listed too, with its error
    latest = (await client.get_latest_blockhash()).value
    failed = transfer_tx(payer, to, 10**18, latest.blockhash)
    sigs.append((await client.send_transaction(failed, TxOpts(skip_preflight=True))).value)
    found = (await client.get_signatures_for_address(to)).value
    assert [s.signature for s in found] == sigs[::-1]
    assert found[0].err is not None and all(s.err is None for s in found[1:])
    assert all(s.confirmation_status is not None for s in found)
    assert found[0].block_time == int(ManualTime().now)
    paged = (await client.get_signatures_for_address(to, before=sigs[2], limit=1)).value
    assert [s.signature for s in paged] == [sigs[1]]
    since = (await client.get_signatures_for_address(to, until=sigs[1])).value
    assert [s.signature for s in since] == [sigs[3], sigs[2]]
    # the payer's list starts with the airdrop that funded it, which carries a memo
    payer_list = (await client.get_signatures_for_address(payer.pubkey())).value
    assert len(payer_list) == 5
    memo = payer_list[-1].memo
    assert memo is not None and re.fullmatch(r"\[24\] airdrop [0-9a-f]{16}", memo)
    assert payer_list[0].memo is None
    assert (await client.get_signatures_for_address(Keypair().pubkey())).value == []
    for bad in ({"limit": 0}, {"limit": 1001}, {"before": "nope"}):
        assert (await rpc(served.url, "getSignaturesForAddress", str(to), bad))["error"][
            "code"
        ] == -32602


async def test_the_address_index_is_built_for_an_older_state_file(
    tmp_path: Path, clock: ManualTime
) -> None:
    served = await serve(tmp_path / "chain", clock)
    async with AsyncClient(served.url) as c:
        payer = await funded(c)
    await served.stop()
    import sqlite3

    db = sqlite3.connect(tmp_path / "chain" / "chain.sqlite3")
    db.execute("DROP TABLE transaction_addresses")
    db.execute("PRAGMA user_version = 0")
    db.commit()
    db.close()
    served = await serve(tmp_path / "chain", clock)
    async with AsyncClient(served.url) as c:
        assert len((await c.get_signatures_for_address(payer.pubkey())).value) == 1
    await served.stop()


async def test_token_supply_and_accounts_by_owner(client: AsyncClient, served: Served) -> None:
    from solana.rpc.types import TokenAccountOpts

    payer = await funded(client)
    token = await AsyncToken.create_mint(
        client, payer, payer.pubkey(), 3, TOKEN_PROGRAM_ID, skip_confirmation=False
    )
    other = await AsyncToken.create_mint(
        client, payer, payer.pubkey(), 0, TOKEN_PROGRAM_ID, skip_confirmation=False
    )
    owner = Keypair().pubkey()
    account = await token.create_associated_token_account(owner, skip_confirmation=False)
    await other.create_associated_token_account(owner, skip_confirmation=False)
    await token.create_associated_token_account(Keypair().pubkey(), skip_confirmation=False)
    await token.mint_to(account, payer, 12_345, opts=TxOpts(skip_confirmation=False))
    supply = (await client.get_token_supply(token.pubkey)).value
    assert (supply.amount, supply.decimals, supply.ui_amount_string) == ("12345", 3, "12.345")
    by_mint = (
        await client.get_token_accounts_by_owner_json_parsed(
            owner, TokenAccountOpts(mint=token.pubkey)
        )
    ).value
    assert [a.pubkey for a in by_mint] == [account]
    info = by_mint[0].account.data.parsed["info"]
    assert info["tokenAmount"]["uiAmountString"] == "12.345" and info["owner"] == str(owner)
    by_program = (
        await client.get_token_accounts_by_owner(
            owner, TokenAccountOpts(program_id=TOKEN_PROGRAM_ID, encoding="base64")
        )
    ).value
    assert len(by_program) == 2
    by_owner = (await token.get_accounts_by_owner(owner)).value
    assert [a.pubkey for a in by_owner] == [account]
    nobody = (
        await client.get_token_accounts_by_owner(
            Keypair().pubkey(), TokenAccountOpts(program_id=TOKEN_PROGRAM_ID, encoding="base64")
        )
    ).value
    assert nobody == []
    errors = [
        ("getTokenSupply", [str(account)]),  # a token account is not a mint
        ("getTokenSupply", [str(Keypair().pubkey())]),
        ("getTokenAccountsByOwner", [str(owner), {"mint": str(Keypair().pubkey())}]),
        ("getTokenAccountsByOwner", [str(owner), {"programId": str(Pubkey.default())}]),
        ("getTokenAccountsByOwner", [str(owner), {}]),
    ]
    for method, params in errors:
        assert (await rpc(served.url, method, *params))["error"]["code"] == -32602, method


async def test_recent_prioritization_fees(
    client: AsyncClient, served: Served, clock: ManualTime
) -> None:
    from solders.compute_budget import set_compute_unit_price
    from solders.system_program import TransferParams, transfer

    from tests.oracle.chain.conftest import signed

    payer = await funded(client)
    to, elsewhere = Keypair().pubkey(), Keypair().pubkey()
    clock.advance(1)  # a slot of its own, apart from the airdrop's
    latest = (await client.get_latest_blockhash()).value
    pay = transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=to, lamports=10**6))
    cheap = transfer(
        TransferParams(from_pubkey=payer.pubkey(), to_pubkey=elsewhere, lamports=10**6)
    )
    await client.send_transaction(
        signed(payer, [set_compute_unit_price(7_000), pay], latest.blockhash)
    )
    await client.send_transaction(
        signed(payer, [set_compute_unit_price(50), cheap], latest.blockhash)
    )
    slot = served.chain.slot
    fees = (await rpc(served.url, "getRecentPrioritizationFees"))["result"]
    assert [f["slot"] for f in fees] == list(range(max(0, slot - 149), slot + 1))
    by_slot = {f["slot"]: f["prioritizationFee"] for f in fees}
    assert by_slot[slot] == 50  # the block's lowest price
    # (solana-py has no call for it)
    written = (await rpc(served.url, "getRecentPrioritizationFees", [str(to)]))["result"]
    assert {f["slot"]: f["prioritizationFee"] for f in written}[slot] == 7_000  # who wrote `to`
    assert {f["slot"]: f["prioritizationFee"] for f in fees if f["slot"] != slot} == {
        s: 0 for s in by_slot if s != slot
    }
    too_many = [str(Keypair().pubkey()) for _ in range(129)]
    doc = await rpc(served.url, "getRecentPrioritizationFees", too_many)
    assert doc["error"]["code"] == -32602
