"""Putting the oracle on a chain (``gridmirror chain init``) and finding it again.

The keys live as solana CLI keypair files (mode 0600) in ``keys_dir``:

- ``admin.json``: deploys (on the embedded chain), initializes and steers the oracle;
- ``gateway.json``: the only key the program takes readings from; it also pays for the
  worker's transactions and owns the address lookup tables;
- ``mint.json``: the energy mint's address, used once to create it;
- ``owners/<LFDI>.json``: wallets generated for meters that have no owner configured.

:func:`init_oracle` is idempotent: it deploys the program if the chain lacks it (the
embedded chain, through the BPF upgradeable loader with the admin key as upgrade
authority, the only key ``initialize`` then accepts; an RPC chain must already have it),
creates the mint and the Config if they are missing, brings the admin's limits (future
skew, the gateway's rating limit, the baseline age) to the settings' values when it holds
the admin key, and checks that an existing Config names this gateway's key.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountParams, create_account
from spl.token.instructions import InitializeMintParams, initialize_mint

from anchor.abi import BPF_LOADER_UPGRADEABLE_ID, ENERGY_DECIMALS, TOKEN_PROGRAM_ID
from anchor.accounts import ConfigAccount
from anchor.artifacts import program_bytes
from anchor.instructions import Limits
from anchor.pda import program_data_address
from oracle.chain.backend import ChainBackend, ChainError
from oracle.chain.keyfile import load_keypair, load_or_create_keypair
from oracle.chain.spl_token import MINT_LEN, parse_mint
from oracle.program import OracleProgram, ProgramError
from oracle.settings import ChainSettings
from oracle.transact import land

log = logging.getLogger(__name__)

ADMIN_KEY = "admin.json"
GATEWAY_KEY = "gateway.json"
MINT_KEY = "mint.json"
OWNERS_DIR = "owners"


def keys_dir(settings: ChainSettings) -> Path:
    """Where the oracle's keypair files are: ``keys_dir``, else ``state_dir/keys``."""
    if settings.keys_dir is not None:
        return settings.keys_dir
    if settings.state_dir is None:
        raise ChainError("chain.keys_dir (or chain.state_dir) must be set")
    return settings.state_dir / "keys"


def gateway_keypair(settings: ChainSettings, *, create: bool = False) -> Keypair:
    """The gateway's signing key (created, mode 0600, when ``create``)."""
    path = keys_dir(settings) / GATEWAY_KEY
    if create:
        return load_or_create_keypair(path)
    if not path.exists():
        raise ChainError(f"no gateway key at {path}: run `gridmirror chain init`")
    return load_keypair(path)


@dataclass(frozen=True)
class Oracle:
    """An initialized oracle, as the bridge uses it."""

    program: OracleProgram
    config: ConfigAccount
    gateway: Keypair

    @property
    def mint(self) -> Pubkey:
        """The energy token mint."""
        return self.config.mint


@dataclass(frozen=True)
class InitReport:
    """What :func:`init_oracle` found and did."""

    program_id: Pubkey
    config: ConfigAccount
    deployed: bool
    initialized: bool
    funded: list[Pubkey]


async def _fund(chain: ChainBackend, keys: list[Keypair], lamports: int) -> list[Pubkey]:
    """Airdrop to keys running low (local chains; a real cluster's faucet may refuse)."""
    funded = []
    for key in keys:
        if lamports <= 0 or await chain.get_balance(key.pubkey()) >= lamports // 2:
            continue
        try:
            signature = await chain.request_airdrop(key.pubkey(), lamports)
            await chain.confirm_transaction(signature)
        except ChainError as exc:
            log.warning("airdrop failed", extra={"pubkey": str(key.pubkey()), "error": str(exc)})
            continue
        funded.append(key.pubkey())
    return funded


async def _ensure_program(
    chain: ChainBackend, program: OracleProgram, admin: Keypair
) -> tuple[bool, Pubkey | None]:
    """Deploy the committed oracle.so if the chain lacks it, through the upgradeable loader
    with the admin as upgrade authority; (deployed now, its ProgramData account, or None
    when another loader holds it and so no authority can initialize it)."""
    account = await chain.get_account(program.program_id)
    deployed = False
    if account is None:
        await chain.deploy_program(program.program_id, program_bytes(), admin.pubkey())
        account = await chain.get_account(program.program_id)
        if account is None:
            raise ChainError(f"deploying the oracle at {program.program_id} left no program")
        deployed = True
    if not account.executable:
        raise ChainError(f"{program.program_id} on {chain.name} is not a program")
    # initialize checks the upgrade authority through the ProgramData account
    if account.owner == BPF_LOADER_UPGRADEABLE_ID:
        return deployed, program_data_address(program.program_id)
    return deployed, None


async def _ensure_mint(
    chain: ChainBackend, program: OracleProgram, admin: Keypair, mint: Keypair
) -> None:
    account = await chain.get_account(mint.pubkey())
    if account is not None:
        parsed = parse_mint(account)
        if parsed is None or parsed.mint_authority != program.mint_authority:
            raise ChainError(
                f"{mint.pubkey()} exists but is not the oracle's energy mint; move "
                f"{MINT_KEY} away to make a new one"
            )
        return
    rent = await chain.minimum_balance_for_rent_exemption(MINT_LEN)
    await land(
        chain,
        admin,
        [
            create_account(
                CreateAccountParams(
                    from_pubkey=admin.pubkey(),
                    to_pubkey=mint.pubkey(),
                    lamports=rent,
                    space=MINT_LEN,
                    owner=TOKEN_PROGRAM_ID,
                )
            ),
            initialize_mint(
                InitializeMintParams(
                    decimals=ENERGY_DECIMALS,
                    program_id=TOKEN_PROGRAM_ID,
                    mint=mint.pubkey(),
                    mint_authority=program.mint_authority,
                    freeze_authority=None,
                )
            ),
        ],
        [mint],
        what="creating the energy mint",
    )


async def read_config(chain: ChainBackend, program: OracleProgram) -> ConfigAccount | None:
    """The oracle's Config, or None if it is not initialized on this chain."""
    account = await chain.get_account(program.config)
    if account is None:
        return None
    try:
        return program.decode_config(bytes(account.data))
    except ProgramError as exc:
        raise ChainError(
            f"the oracle's Config on {chain.name} does not decode ({exc}): it was made by "
            "another version of the program (on the embedded chain: start from a fresh "
            "chain state directory)"
        ) from None


async def init_oracle(
    chain: ChainBackend, settings: ChainSettings, program: OracleProgram | None = None
) -> InitReport:
    """Deploy (if needed), create the mint and the Config; idempotent."""
    program = program or OracleProgram()
    directory = keys_dir(settings)
    admin = load_or_create_keypair(directory / ADMIN_KEY)
    gateway = load_or_create_keypair(directory / GATEWAY_KEY)
    funded = await _fund(chain, [admin, gateway], settings.airdrop_lamports)
    deployed, program_data = await _ensure_program(chain, program, admin)
    config = await read_config(chain, program)
    initialized = False
    if config is None:
        if program_data is None:
            raise ChainError(
                f"{program.program_id} on {chain.name} is not under the BPF upgradeable loader:"
                " it has no upgrade authority, so nobody may initialize it"
            )
        mint = load_or_create_keypair(directory / MINT_KEY)
        await _ensure_mint(chain, program, admin, mint)
        await land(
            chain,
            admin,
            [
                program.initialize(
                    admin.pubkey(),
                    mint.pubkey(),
                    gateway.pubkey(),
                    settings.clearing_interval_s,
                    limits_of(settings),
                    program_data,
                )
            ],
            what="initializing the oracle",
        )
        config = await read_config(chain, program)
        if config is None:
            raise ChainError("the oracle's Config is missing after initialize")
        initialized = True
    elif _limits_of_config(config) != limits_of(settings) and config.admin == admin.pubkey():
        # the settings' limits are the admin's: bring the chain to them (update_limits)
        await land(
            chain,
            admin,
            [program.update_limits(admin.pubkey(), limits_of(settings))],
            what="updating the oracle's limits",
        )
        config = await read_config(chain, program)
        if config is None:
            raise ChainError("the oracle's Config is missing after update_limits")
    _check_gateway(config, gateway)
    return InitReport(program.program_id, config, deployed, initialized, funded)


def _limits_of_config(config: ConfigAccount) -> Limits:
    return Limits(config.max_future_skew_s, config.max_rated_power_w, config.max_baseline_age_s)


def limits_of(settings: ChainSettings) -> Limits:
    """The admin's limits as the settings give them."""
    return Limits(
        settings.max_future_skew_s, settings.max_rated_power_w, settings.max_baseline_age_s
    )


def _check_gateway(config: ConfigAccount, gateway: Keypair) -> None:
    if config.gateway != gateway.pubkey():
        raise ChainError(
            f"the oracle takes readings from {config.gateway}, not from this gateway's key "
            f"{gateway.pubkey()} (set_gateway, or use that key)"
        )


async def open_oracle(
    chain: ChainBackend, settings: ChainSettings, program: OracleProgram | None = None
) -> Oracle:
    """The initialized oracle with this gateway's key; ChainError if it is not set up."""
    program = program or OracleProgram()
    gateway = gateway_keypair(settings)
    config = await read_config(chain, program)
    if config is None:
        raise ChainError(
            f"the oracle is not initialized on {chain.name}: run `gridmirror chain init`"
        )
    _check_gateway(config, gateway)
    return Oracle(program, config, gateway)
