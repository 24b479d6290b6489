"""Deploy oracle.so the strict way and use it: run by test_deploy.py under solders 0.29.

solders >= 0.29's LiteSVM (agave 4) deploys through the BPF upgradeable loader like a
real cluster: InitializeBuffer, Write in chunks, DeployWithMaxDataLen, then one slot
later the program runs. The loader applies the deployment checks (ELF parser, verifier,
syscall registry) that add_program skips. Then the program is driven end to end:
initialize, register_meter, submit_readings, clear_epoch, which mints.

Only the standard library and solders 0.29 are used (anchorpy cannot share its
environment). Usage: deploy_check.py ORACLE_SO PROGRAM_KEYPAIR_JSON; prints JSON.
"""

from __future__ import annotations

import hashlib
import json
import struct
import sys
from pathlib import Path

from solders.clock import Clock
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.transaction import Transaction
from solders.transaction_metadata import FailedTransactionMetadata

LOADER = Pubkey.from_string("BPFLoaderUpgradeab1e11111111111111111111111")
SYSTEM = Pubkey.from_string("11111111111111111111111111111111")
TOKEN = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
RENT = Pubkey.from_string("SysvarRent111111111111111111111111111111111")
CLOCK = Pubkey.from_string("SysvarC1ock11111111111111111111111111111111")
CHUNK = 900
T0 = 1_700_438_400 + 100  # inside an epoch of 900 s


class Failed(Exception):
    pass


def disc(preimage: str) -> bytes:
    return hashlib.sha256(preimage.encode()).digest()[:8]


def main(so_path: str, keypair_path: str) -> dict[str, object]:
    elf = Path(so_path).read_bytes()
    program = Keypair.from_bytes(bytes(json.loads(Path(keypair_path).read_text())))
    pid = program.pubkey()
    svm = LiteSVM()
    payer, gateway, owner = Keypair(), Keypair(), Keypair()
    for kp in (payer, gateway):
        svm.airdrop(kp.pubkey(), 100 * 10**9)

    def send(ixs: list[Instruction], signers: list[Keypair]) -> list[str]:
        svm.expire_blockhash()
        tx = Transaction(signers, Message(ixs, signers[0].pubkey()), svm.latest_blockhash())
        out = svm.send_transaction(tx)
        if isinstance(out, FailedTransactionMetadata):
            raise Failed(f"{out.err()}: {list(out.meta().logs())}")
        return list(out.logs())

    def create(account: Pubkey, space: int, owner_program: Pubkey) -> Instruction:
        lamports = svm.minimum_balance_for_rent_exemption(space)
        return Instruction(
            SYSTEM,
            struct.pack("<IQQ", 0, lamports, space) + bytes(owner_program),
            [AccountMeta(payer.pubkey(), True, True), AccountMeta(account, True, True)],
        )

    # --- the upgradeable loader's deployment
    buffer = Keypair()
    send(
        [
            create(buffer.pubkey(), 37 + len(elf), LOADER),
            Instruction(
                LOADER,
                struct.pack("<I", 0),  # InitializeBuffer
                [
                    AccountMeta(buffer.pubkey(), False, True),
                    AccountMeta(payer.pubkey(), False, False),
                ],
            ),
        ],
        [payer, buffer],
    )
    for offset in range(0, len(elf), CHUNK):
        chunk = elf[offset : offset + CHUNK]
        send(
            [
                Instruction(
                    LOADER,
                    struct.pack("<IIQ", 1, offset, len(chunk)) + chunk,  # Write
                    [
                        AccountMeta(buffer.pubkey(), False, True),
                        AccountMeta(payer.pubkey(), True, False),
                    ],
                )
            ],
            [payer],
        )
    programdata = Pubkey.find_program_address([bytes(pid)], LOADER)[0]
    deploy_logs = send(
        [
            create(pid, 36, LOADER),
            Instruction(
                LOADER,
                struct.pack("<IQ", 2, len(elf)),  # DeployWithMaxDataLen
                [
                    AccountMeta(payer.pubkey(), True, True),
                    AccountMeta(programdata, False, True),
                    AccountMeta(pid, False, True),
                    AccountMeta(buffer.pubkey(), False, True),
                    AccountMeta(RENT, False, False),
                    AccountMeta(CLOCK, False, False),
                    AccountMeta(SYSTEM, False, False),
                    AccountMeta(payer.pubkey(), True, False),
                ],
            ),
        ],
        [payer, program],
    )
    if not any(line.startswith(f"Deployed program {pid}") for line in deploy_logs):
        raise Failed(f"no deployment: {deploy_logs}")
    svm.warp_to_slot(svm.get_clock().slot + 1)

    def set_time(ts: int) -> None:
        c = svm.get_clock()
        svm.set_clock(Clock(c.slot, c.epoch_start_timestamp, c.epoch, c.leader_schedule_epoch, ts))

    # --- the oracle, driven end to end
    config = Pubkey.find_program_address([b"config"], pid)[0]
    authority = Pubkey.find_program_address([b"mint_authority"], pid)[0]
    lfdi = bytes(range(20))
    meter = Pubkey.find_program_address([b"meter", lfdi], pid)[0]
    mint, token = Keypair(), Keypair()
    set_time(T0)
    send(
        [
            create(mint.pubkey(), 82, TOKEN),
            Instruction(
                TOKEN,
                bytes([20, 3]) + bytes(authority) + b"\x00",  # InitializeMint2, no freeze
                [AccountMeta(mint.pubkey(), False, True)],
            ),
            create(token.pubkey(), 165, TOKEN),
            Instruction(
                TOKEN,
                bytes([18]) + bytes(owner.pubkey()),  # InitializeAccount3
                [
                    AccountMeta(token.pubkey(), False, True),
                    AccountMeta(mint.pubkey(), False, False),
                ],
            ),
        ],
        [payer, mint, token],
    )

    def initialize(admin: Keypair) -> Instruction:
        return Instruction(
            pid,
            disc("global:initialize")
            + bytes(gateway.pubkey())
            + struct.pack("<qqQq", 900, 60, 1_000_000, 900),
            [
                AccountMeta(admin.pubkey(), True, True),
                AccountMeta(config, False, True),
                AccountMeta(mint.pubkey(), False, False),
                AccountMeta(authority, False, False),
                AccountMeta(SYSTEM, False, False),
                AccountMeta(pid, False, False),
                AccountMeta(programdata, False, False),
            ],
        )

    # Someone watching the chain tries to initialize first: only the upgrade authority
    # (the payer, who deployed) may.
    squatter_refused = False
    try:
        send([initialize(gateway)], [gateway])
    except Failed as exc:
        squatter_refused = "Custom(6010)" in str(exc)
    send(
        [
            initialize(payer),
            Instruction(
                pid,
                disc("global:register_meter")
                + lfdi
                + bytes(owner.pubkey())
                + struct.pack("<Q", 5_000),
                [
                    AccountMeta(gateway.pubkey(), True, False),
                    AccountMeta(payer.pubkey(), True, True),
                    AccountMeta(config, False, True),
                    AccountMeta(meter, False, True),
                    AccountMeta(SYSTEM, False, False),
                ],
            ),
        ],
        [payer, gateway],
    )
    submit_cu = []
    for ts, imp, exp in ((T0, 1_000, 2_000), (T0 + 600, 1_100, 2_700)):
        set_time(ts)
        readings = struct.pack("<I", 1) + struct.pack("<BqQQ", 0, ts, imp, exp)
        logs = send(
            [
                Instruction(
                    pid,
                    disc("global:submit_readings") + readings,
                    [
                        AccountMeta(gateway.pubkey(), True, False),
                        AccountMeta(config, False, True),
                        AccountMeta(meter, False, True),
                    ],
                )
            ],
            [gateway],
        )
        submit_cu.append(next(line for line in logs if line.startswith(f"Program {pid} consumed")))
    epoch = (T0 + 600 - 1) // 900
    set_time((epoch + 1) * 900)
    send(
        [
            Instruction(
                pid,
                disc("global:clear_epoch") + struct.pack("<Q", epoch),
                [
                    AccountMeta(config, False, True),
                    AccountMeta(mint.pubkey(), False, True),
                    AccountMeta(authority, False, False),
                    AccountMeta(TOKEN, False, False),
                    AccountMeta(meter, False, True),
                    AccountMeta(token.pubkey(), False, True),
                ],
            )
        ],
        [payer],
    )
    account = svm.get_account(token.pubkey())
    assert account is not None
    balance = struct.unpack_from("<Q", bytes(account.data), 64)[0]
    program_account = svm.get_account(pid)
    return {
        "program_id": str(pid),
        "deployed": program_account is not None and program_account.owner == LOADER,
        "executable": bool(program_account and program_account.executable),
        "minted_wh": balance,
        "squatter_refused": squatter_refused,
        "submit_compute_units": submit_cu,
    }


if __name__ == "__main__":
    try:
        print(json.dumps(main(sys.argv[1], sys.argv[2])))
    except Failed as exc:
        print(json.dumps({"error": str(exc)}))
        sys.exit(1)
