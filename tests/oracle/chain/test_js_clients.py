"""The stock Solana JS clients from npm against ``gridmirror chain serve``.

tests/oracle/chain/js/stock_clients.cjs drives a served chain with @solana/web3.js v1,
@solana/spl-token and @coral-xyz/anchor 0.29 (legacy IDL) and 0.32 (the 0.30+ IDL):
transactions sent and confirmed over the PubSub websocket, accounts fetched and decoded,
events parsed from getTransaction. This test checks what they saw against the chain as
gridmirror's own Python reads it, so a client that misreads (or a server that answers in
the wrong shape) fails here.

The npm packages are installed at test time from the lock file beside the driver into
.venv-peers/npm-solana (gitignored), once per lock file. node and npm come from Debian
(CI's apt line); Debian bookworm's nodejs 18.20 runs these packages.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from solders.pubkey import Pubkey
from solders.signature import Signature

from anchor.abi import PROGRAM_ID
from anchor.accounts import ConfigAccount, MeterAccount
from anchor.artifacts import IDL_PATH, LEGACY_IDL_PATH, PROGRAM_SO
from anchor.events import MeterRegistered, ReadingsSubmitted, events_from_logs
from anchor.merkle import leaf_hash, merkle_root
from anchor.pda import config_address, meter_address
from oracle.chain.keyfile import load_keypair
from oracle.chain.rpc import RpcBackend
from tests.conftest import require
from tests.oracle.chain.test_chain_cli import Serve

pytestmark = [pytest.mark.interop, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[3]
JS = Path(__file__).with_name("js")
PEERS = REPO / ".venv-peers" / "npm-solana"
OLDEST_NODE = 18  # Debian bookworm's


def _node_major(node: str) -> int:
    out = subprocess.run([node, "--version"], capture_output=True, text=True, check=True)
    match = re.match(r"v(\d+)\.", out.stdout.strip())
    return int(match.group(1)) if match else 0


@pytest.fixture(scope="session")
def js_peers() -> Path:
    """.venv-peers/npm-solana with the lock file's packages installed (``npm ci``)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    require(node is not None and npm is not None, "node and npm (Debian's nodejs, npm)")
    assert node is not None and npm is not None
    require(_node_major(node) >= OLDEST_NODE, f"node {OLDEST_NODE} or newer")
    lock = (JS / "package-lock.json").read_bytes()
    stamp = PEERS / ".installed-lock-sha256"
    wanted = hashlib.sha256(lock).hexdigest()
    if not stamp.exists() or stamp.read_text() != wanted:
        PEERS.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(JS / name, PEERS / name)
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=PEERS,
            check=True,
            timeout=600,
        )
        stamp.write_text(wanted)
    shutil.copyfile(JS / "stock_clients.cjs", PEERS / "stock_clients.cjs")
    return PEERS


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Serve]:
    """``chain serve`` with the Oracle program deployed through the upgradeable loader."""
    serve = Serve(tmp_path, "--program", f"{PROGRAM_ID}={PROGRAM_SO}")
    try:
        yield serve
    finally:
        if serve.proc.poll() is None:
            serve.proc.kill()
        serve.proc.wait()


def run_driver(peers: Path, url: str, admin_key: Path) -> dict[str, Any]:
    """The driver's JSON document (it fails the test with its stderr if it fails)."""
    node = shutil.which("node")
    assert node is not None
    args = [node, "stock_clients.cjs", url, str(admin_key), str(IDL_PATH), str(LEGACY_IDL_PATH)]
    done = subprocess.run(args, cwd=peers, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"stock_clients.cjs failed:\n{done.stderr}"
    doc: dict[str, Any] = json.loads(done.stdout)
    return doc


async def test_stock_js_clients_against_served_chain(
    js_peers: Path, served: Serve, tmp_path: Path
) -> None:
    # serve made the admin key (the program's upgrade authority) under its data dir
    admin_key = tmp_path / "chain" / "keys" / "admin.json"
    out = run_driver(js_peers, served.url, admin_key)
    chain = RpcBackend(served.url)
    try:
        await _check(out, chain, load_keypair(admin_key).pubkey())
    finally:
        await chain.close()


async def _check(out: dict[str, Any], chain: RpcBackend, admin: Pubkey) -> None:
    # web3.js: getVersion in the validator's shape; the transfer confirmed, its account
    # change and a slot pushed over the websocket.
    assert isinstance(out["version"]["feature-set"], int)
    transfer = out["transfer"]
    recipient = Pubkey.from_string(transfer["recipient"])
    account = await chain.get_account(recipient)
    assert account is not None and account.lamports == transfer["lamports"]
    assert transfer["balance"] == transfer["notified"]["lamports"] == transfer["lamports"]
    assert transfer["signatures"] == [transfer["signature"]]
    assert transfer["slotNotified"] > 0

    # spl-token: a mint, an associated account, a mintTo, read back three ways.
    token = out["token"]
    minted = token["minted"]
    assert token["amount"] == token["supply"] == minted
    assert token["tokenSupply"]["amount"] == token["balance"]["amount"] == minted
    assert token["byOwner"] == [token["account"]]

    oracle = out["oracle"]
    assert oracle["programId"] == str(PROGRAM_ID)
    config_key, _ = config_address()
    assert oracle["config"] == str(config_key)
    lfdi = bytes(oracle["lfdi"])
    meter_key, _ = meter_address(lfdi)
    assert oracle["meter"] == str(meter_key)

    # Anchor 0.32's initialize made the upgrade authority the admin.
    config_account = await chain.get_account(config_key)
    assert config_account is not None
    config = ConfigAccount.decode(bytes(config_account.data))
    assert config.admin == admin
    assert str(config.gateway) == oracle["gateway"] and str(config.mint) == oracle["mint"]
    limits = oracle["limits"]
    assert (config.clearing_interval_s, config.max_rated_power_w) == (
        limits["clearingIntervalS"],
        limits["maxRatedPowerW"],
    )
    assert (config.meters_registered, config.readings_accepted, config.batches) == (1, 2, 1)
    # Both Anchor majors decode the Config as Python does.
    for decoded in (oracle["config32"], oracle["config29"]):
        assert decoded["admin"] == str(config.admin)
        assert int(decoded["readingsAccepted"]) == config.readings_accepted
        assert int(decoded["maxBaselineAgeS"]) == config.max_baseline_age_s

    readings = oracle["readings"]
    meter_account = await chain.get_account(meter_key)
    assert meter_account is not None
    meter = MeterAccount.decode(bytes(meter_account.data))
    last = readings[-1]
    assert (meter.import_wh, meter.export_wh) == (last["importWh"], last["exportWh"])
    assert meter.last_reading_ts == last["timestamp"]
    assert meter.baseline_ts == readings[0]["timestamp"]
    assert str(meter.owner) == oracle["meterOwner"] and meter.rated_power_w == oracle["ratedPowerW"]
    for decoded in (oracle["meter32"], oracle["meter29"]):
        assert int(decoded["importWh"]) == meter.import_wh
        assert int(decoded["lastReadingTs"]) == meter.last_reading_ts
        assert bytes(decoded["lfdi"]) == lfdi
    assert oracle["meters32"] == oracle["meters29"] == [str(meter_key)]

    # Events: what each Anchor major parsed from getTransaction is what Python decodes from
    # the same transaction's logs.
    register = await _events(chain, oracle["register"]["signature"])
    assert register == [MeterRegistered(meter_key, lfdi, meter.owner, meter.rated_power_w)]
    (parsed,) = oracle["register"]["events"]
    assert parsed["name"] == "MeterRegistered"  # 0.29 keeps the IDL's name
    assert parsed["data"]["meter"] == str(meter_key)
    assert int(parsed["data"]["ratedPowerW"]) == meter.rated_power_w

    (submitted,) = await _events(chain, oracle["submit"]["signature"])
    assert isinstance(submitted, ReadingsSubmitted)
    leaves = [leaf_hash(lfdi, r["timestamp"], r["importWh"], r["exportWh"]) for r in readings]
    assert submitted.merkle_root == merkle_root(leaves)
    (parsed,) = oracle["submit"]["events"]
    assert parsed["name"] == "readingsSubmitted"  # 0.30+ camel-cases event names
    data = parsed["data"]
    assert bytes(data["merkleRoot"]) == submitted.merkle_root
    assert (
        (data["accepted"], data["rejected"])
        == (submitted.accepted, submitted.rejected)
        == (
            2,
            0,
        )
    )
    assert int(data["batch"]) == submitted.batch == config.batches


async def _events(chain: RpcBackend, signature: str) -> list[object]:
    record = await chain.get_transaction(Signature.from_string(signature))
    assert record is not None and record.err is None
    return list(events_from_logs(record.logs))
