/*
 * Setting the oracle up and steering it: initialize, and the admin's set_active,
 * set_gateway, set_admin and update_limits.
 */
#include "oracle.h"

static const uint8_t SEED_CONFIG[] = "config";
static const uint8_t SEED_MINT_AUTHORITY[] = "mint_authority";

typedef struct {
    int64_t max_future_skew_s;
    uint64_t max_rated_power_w;
    int64_t max_baseline_age_s;
} Limits;

static bool valid_limits(int64_t clearing_interval_s, const Limits *l) {
    return clearing_interval_s >= 1 && clearing_interval_s <= MAX_CLEARING_INTERVAL_S &&
           l->max_future_skew_s >= 0 && l->max_future_skew_s <= MAX_FUTURE_SKEW_S &&
           l->max_rated_power_w >= 1 && l->max_rated_power_w <= MAX_RATED_POWER_W &&
           l->max_baseline_age_s >= 0 && l->max_baseline_age_s <= MAX_BASELINE_AGE_S;
}

/* The three admin-set limits, little-endian at data[at..at + 24]. */
static void read_limits(const Context *ctx, uint64_t at, Limits *l) {
    l->max_future_skew_s = (int64_t)load_u64(ctx->data + at);
    l->max_rated_power_w = load_u64(ctx->data + at + 8);
    l->max_baseline_age_s = (int64_t)load_u64(ctx->data + at + 16);
}

static void store_limits(Config *c, const Limits *l) {
    c->max_future_skew_s = l->max_future_skew_s;
    c->max_rated_power_w = l->max_rated_power_w;
    c->max_baseline_age_s = l->max_baseline_age_s;
}

/*
 * The energy mint is created off-chain with the mint-authority PDA as its authority;
 * this is what makes it the oracle's: 3 decimals, our PDA as mint authority, no freeze
 * authority (nobody can freeze a producer's tokens), and no supply yet (every token in
 * existence was minted by a settlement).
 */
static uint64_t check_mint(const AccountInfo *mint, const Pubkey *mint_authority) {
    if (!pubkey_eq(mint->owner, &TOKEN_PROGRAM_ID)) {
        return ERR_WRONG_ACCOUNT_OWNER;
    }
    const uint8_t *d = mint->data;
    if (mint->data_len != MINT_SIZE || d[MINT_INITIALIZED] != 1) {
        return ERR_INVALID_MINT;
    }
    if (load_u32(d + MINT_AUTHORITY_TAG) != 1 ||
        !pubkey_eq((const Pubkey *)(d + MINT_AUTHORITY), mint_authority)) {
        return ERR_INVALID_MINT;
    }
    if (load_u32(d + MINT_FREEZE_TAG) != 0 || d[MINT_DECIMALS] != ENERGY_DECIMALS ||
        load_u64(d + MINT_SUPPLY) != 0) {
        return ERR_INVALID_MINT;
    }
    return 0;
}

/*
 * Only the program's upgrade authority may initialize it: otherwise anyone watching the
 * chain could initialize a freshly deployed oracle first, with their own admin. The
 * authority is read from the ProgramData account of the upgradeable loader; a program
 * under any other loader (or whose authority was dropped) has none, and cannot be
 * initialized at all.
 */
static uint64_t check_deployer(const Context *ctx, const AccountInfo *admin,
                               const AccountInfo *program, const AccountInfo *program_data) {
    if (!pubkey_eq(program->key, ctx->program_id)) {
        return ERR_WRONG_ADDRESS;
    }
    if (!pubkey_eq(program->owner, &BPF_LOADER_UPGRADEABLE_ID)) {
        return ERR_UNAUTHORIZED; /* a loader whose authority we cannot read */
    }
    const uint8_t *p = program->data;
    if (program->data_len < PROGRAM_DATA_ADDRESS + 32 || load_u32(p) != LOADER_STATE_PROGRAM ||
        !pubkey_eq((const Pubkey *)(p + PROGRAM_DATA_ADDRESS), program_data->key)) {
        return ERR_WRONG_ADDRESS;
    }
    if (!pubkey_eq(program_data->owner, &BPF_LOADER_UPGRADEABLE_ID)) {
        return ERR_WRONG_ACCOUNT_OWNER;
    }
    const uint8_t *d = program_data->data;
    if (program_data->data_len < PROGRAM_DATA_AUTHORITY + 32 ||
        load_u32(d) != LOADER_STATE_PROGRAM_DATA) {
        return ERR_WRONG_ACCOUNT_TYPE;
    }
    if (d[PROGRAM_DATA_AUTHORITY_TAG] != 1 ||
        !pubkey_eq((const Pubkey *)(d + PROGRAM_DATA_AUTHORITY), admin->key)) {
        return ERR_UNAUTHORIZED;
    }
    return 0;
}

/*
 * initialize(gateway: Pubkey, clearing_interval_s: i64, max_future_skew_s: i64,
 *            max_rated_power_w: u64, max_baseline_age_s: i64)
 * accounts: admin (signer, writable: pays; the program's upgrade authority), config
 * (writable), mint, mint_authority, system_program, program (this program's account),
 * program_data (its ProgramData account)
 */
uint64_t initialize(Context *ctx) {
    if (ctx->account_count < 7) {
        return ERR_NOT_ENOUGH_ACCOUNTS;
    }
    if (ctx->data_len != 8 + 32 + 8 + 24) {
        return ERR_INVALID_INSTRUCTION_DATA;
    }
    AccountInfo *admin = &ctx->accounts[0];
    AccountInfo *config_info = &ctx->accounts[1];
    AccountInfo *mint = &ctx->accounts[2];
    AccountInfo *mint_authority = &ctx->accounts[3];
    AccountInfo *system_program = &ctx->accounts[4];
    const Pubkey *gateway = (const Pubkey *)(ctx->data + 8);
    int64_t interval = (int64_t)load_u64(ctx->data + 40);
    Limits limits;
    read_limits(ctx, 48, &limits);

    uint64_t err = require_signer(admin);
    if (!err) err = require_writable(admin);
    if (!err) err = require_writable(config_info);
    if (err) {
        return err;
    }
    err = check_deployer(ctx, admin, &ctx->accounts[5], &ctx->accounts[6]);
    if (err) {
        return err;
    }
    if (!valid_limits(interval, &limits)) {
        return ERR_INVALID_LIMITS;
    }

    Pubkey expected;
    uint8_t config_bump, mint_authority_bump;
    Bytes config_seeds[2] = {{SEED_CONFIG, sizeof(SEED_CONFIG) - 1}, {&config_bump, 1}};
    sol_try_find_program_address(config_seeds, 1, ctx->program_id, &expected, &config_bump);
    if (!pubkey_eq(config_info->key, &expected)) {
        return ERR_WRONG_ADDRESS;
    }
    Bytes authority_seeds[1] = {{SEED_MINT_AUTHORITY, sizeof(SEED_MINT_AUTHORITY) - 1}};
    sol_try_find_program_address(authority_seeds, 1, ctx->program_id, &expected,
                                 &mint_authority_bump);
    if (!pubkey_eq(mint_authority->key, &expected)) {
        return ERR_WRONG_ADDRESS;
    }
    err = check_mint(mint, mint_authority->key);
    if (err) {
        return err;
    }

    SignerSeeds signer = {config_seeds, 2};
    NewAccount create = {ctx->program_id, admin, config_info, system_program, sizeof(Config),
                         &signer};
    err = create_pda_account(&create);
    if (err) {
        return err;
    }
    Config *c = (Config *)config_info->data;
    c->discriminator = ACCOUNT_CONFIG;
    pubkey_copy(&c->admin, admin->key);
    pubkey_copy(&c->gateway, gateway);
    pubkey_copy(&c->mint, mint->key);
    c->clearing_interval_s = interval;
    store_limits(c, &limits);
    c->active = 1;
    c->bump = config_bump;
    c->mint_authority_bump = mint_authority_bump;
    return 0;
}

/* The Config, writable, with the admin as a signer in account 0. */
static uint64_t load_as_admin(Context *ctx, uint64_t data_len, Config **config) {
    if (ctx->account_count < 2) {
        return ERR_NOT_ENOUGH_ACCOUNTS;
    }
    if (ctx->data_len != data_len) {
        return ERR_INVALID_INSTRUCTION_DATA;
    }
    AccountInfo *admin = &ctx->accounts[0];
    uint64_t err = require_signer(admin);
    if (!err) err = load_config(ctx, &ctx->accounts[1], config);
    if (!err) err = require_writable(&ctx->accounts[1]);
    if (err) {
        return err;
    }
    return pubkey_eq(admin->key, &(*config)->admin) ? 0 : ERR_UNAUTHORIZED;
}

/* set_active(active: bool); accounts: admin (signer), config (writable) */
uint64_t set_active(Context *ctx) {
    Config *c;
    uint64_t err = load_as_admin(ctx, 8 + 1, &c);
    if (err) {
        return err;
    }
    uint8_t active = ctx->data[8];
    if (active > 1) {
        return ERR_INVALID_INSTRUCTION_DATA;
    }
    c->active = active;
    return 0;
}

/* set_gateway(gateway: Pubkey); accounts: admin (signer), config (writable) */
uint64_t set_gateway(Context *ctx) {
    Config *c;
    uint64_t err = load_as_admin(ctx, 8 + 32, &c);
    if (err) {
        return err;
    }
    pubkey_copy(&c->gateway, (const Pubkey *)(ctx->data + 8));
    return 0;
}

/*
 * set_admin(); accounts: admin (signer), config (writable), new_admin (signer).
 * The new admin signs too, so a mistyped key cannot lock the oracle.
 */
uint64_t set_admin(Context *ctx) {
    Config *c;
    uint64_t err = load_as_admin(ctx, 8, &c);
    if (err) {
        return err;
    }
    if (ctx->account_count < 3) {
        return ERR_NOT_ENOUGH_ACCOUNTS;
    }
    AccountInfo *new_admin = &ctx->accounts[2];
    err = require_signer(new_admin);
    if (err) {
        return err;
    }
    pubkey_copy(&c->admin, new_admin->key);
    return 0;
}

/*
 * update_limits(max_future_skew_s: i64, max_rated_power_w: u64, max_baseline_age_s: i64);
 * accounts: admin (signer), config (writable).
 * The clearing interval is fixed at initialize: epochs are numbered by it, so changing
 * it would renumber every settled epoch.
 */
uint64_t update_limits(Context *ctx) {
    Config *c;
    uint64_t err = load_as_admin(ctx, 8 + 24, &c);
    if (err) {
        return err;
    }
    Limits limits;
    read_limits(ctx, 8, &limits);
    if (!valid_limits(c->clearing_interval_s, &limits)) {
        return ERR_INVALID_LIMITS;
    }
    store_limits(c, &limits);
    return 0;
}
