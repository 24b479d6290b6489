/*
 * clear_epoch: settle each meter passed for an epoch that has ended, minting its net
 * export since its last settlement to its owner's token account.
 *
 * The registers "as of the end of epoch e" are the meter's current registers when its
 * last reading closes an epoch <= e, else its snapshot when that snapshot's epoch <= e;
 * otherwise the meter has no registers for e yet and is left for a later clearing.
 * Energy reported late is attributed to the epoch it reaches the chain in; totals are
 * exact whatever the order, because settlement only ever moves watermarks forward. What
 * is minted is capped by the meter's rated energy over the settled time (mint_cap_wh),
 * so not even the gateway's key can mint more than the rating allows.
 * Anyone may crank it (docs/chain-abi.md).
 */
#include "oracle.h"

static const uint8_t SEED_MINT_AUTHORITY[] = "mint_authority";

typedef struct {
    AccountInfo *mint;
    AccountInfo *mint_authority;
    AccountInfo *token_program;
    const SignerSeeds *signer;
} Minter;

typedef struct {
    Minter minter;
    int64_t epoch;
    uint64_t interval;
} Clearing;

/* SPL Token MintTo { amount } with the mint-authority PDA signing. */
static uint64_t mint_to(const Minter *minter, AccountInfo *destination, uint64_t amount) {
    uint8_t data[9];
    Writer w = {data, data};
    put_u8(&w, 7); /* TokenInstruction::MintTo */
    put_u64(&w, amount);
    AccountMeta metas[3] = {
        {minter->mint->key, true, false},
        {destination->key, true, false},
        {minter->mint_authority->key, false, true},
    };
    AccountInfo infos[4] = {*minter->mint, *destination, *minter->mint_authority,
                            *minter->token_program};
    Instruction ix = {minter->token_program->key, metas, 3, data, sizeof(data)};
    return sol_invoke_signed_c(&ix, infos, 4, minter->signer, 1);
}

static uint64_t check_token_account(const AccountInfo *a, const Config *c, const Meter *m) {
    if (!pubkey_eq(a->owner, &TOKEN_PROGRAM_ID)) {
        return ERR_WRONG_ACCOUNT_OWNER;
    }
    if (a->data_len != TOKEN_ACCOUNT_SIZE || a->data[TOKEN_ACCOUNT_STATE] != TOKEN_STATE_INITIALIZED) {
        return ERR_WRONG_TOKEN_ACCOUNT;
    }
    if (!pubkey_eq((const Pubkey *)(a->data + TOKEN_ACCOUNT_MINT), &c->mint) ||
        !pubkey_eq((const Pubkey *)(a->data + TOKEN_ACCOUNT_OWNER), &m->owner)) {
        return ERR_WRONG_TOKEN_ACCOUNT;
    }
    return require_writable(a);
}

/* MeterSettled { epoch, lfdi, owner, import_wh, export_wh, import_delta_wh,
 *                export_delta_wh, minted_wh, withheld_wh } */
static void emit_settled(uint64_t epoch, const Meter *m, uint64_t import_wh, uint64_t export_wh,
                         const uint64_t *deltas_and_minted) {
    uint8_t event[8 + 8 + LFDI_SIZE + 32 + 6 * 8];
    Writer w = {event, event};
    put_u64(&w, EVENT_METER_SETTLED);
    put_u64(&w, epoch);
    put_bytes(&w, m->lfdi, LFDI_SIZE);
    put_pubkey(&w, &m->owner);
    put_u64(&w, import_wh);
    put_u64(&w, export_wh);
    put_u64(&w, deltas_and_minted[0]);
    put_u64(&w, deltas_and_minted[1]);
    put_u64(&w, deltas_and_minted[2]);
    put_u64(&w, deltas_and_minted[3]);
    emit(&w);
}

/*
 * The most a settlement of `epoch` may mint: the meter's rated energy over the time this
 * settlement covers, from the end of the last settled epoch (or the baseline) to the end
 * of `epoch`. Counted from the baseline and differenced, so no fraction of a Wh is lost
 * between settlements: all settlements together mint at most
 * floor(rated_power_w * (end of the last settled epoch - baseline_ts) / 3600).
 */
static uint64_t mint_cap_wh(const Meter *m, int64_t epoch, uint64_t interval) {
    int64_t end = (epoch + 1) * (int64_t)interval;
    int64_t from = m->last_cleared_epoch == NO_EPOCH
                       ? m->baseline_ts
                       : (m->last_cleared_epoch + 1) * (int64_t)interval;
    if (from < m->baseline_ts) {
        from = m->baseline_ts;
    }
    if (end <= from) {
        return 0;
    }
    uint64_t upto = rated_energy_wh(m->rated_power_w, (uint64_t)(end - m->baseline_ts));
    if (upto == UINT64_MAX) {
        return UINT64_MAX;
    }
    return upto - rated_energy_wh(m->rated_power_w, (uint64_t)(from - m->baseline_ts));
}

/* Settle one meter for `epoch`; *status says what happened, *minted how many Wh. */
static uint64_t settle(const Clearing *clearing, Meter *m, AccountInfo *destination,
                       uint8_t *status, uint64_t *minted) {
    const int64_t epoch = clearing->epoch;
    *minted = 0;
    if (m->last_reading_ts == 0) {
        *status = SETTLEMENT_NO_READINGS;
        return 0;
    }
    if (m->last_cleared_epoch != NO_EPOCH && epoch <= m->last_cleared_epoch) {
        *status = SETTLEMENT_ALREADY_CLEARED;
        return 0;
    }
    uint64_t import_wh, export_wh;
    int64_t last_epoch = (int64_t)(((uint64_t)m->last_reading_ts - 1) / clearing->interval);
    if (last_epoch <= epoch) {
        import_wh = m->import_wh;
        export_wh = m->export_wh;
    } else if (m->snapshot_epoch != NO_EPOCH && m->snapshot_epoch <= epoch) {
        import_wh = m->snapshot_import_wh;
        export_wh = m->snapshot_export_wh;
    } else {
        *status = SETTLEMENT_PENDING;
        return 0;
    }
    if (import_wh < m->settled_import_wh || export_wh < m->settled_export_wh) {
        return ERR_SETTLEMENT_INVARIANT; /* watermarks only ever move forward */
    }
    uint64_t d[4]; /* import delta, export delta, minted, withheld */
    d[0] = import_wh - m->settled_import_wh;
    d[1] = export_wh - m->settled_export_wh;
    uint64_t net = d[1] > d[0] ? d[1] - d[0] : 0;
    uint64_t cap = mint_cap_wh(m, epoch, clearing->interval);
    d[2] = net < cap ? net : cap;
    d[3] = net - d[2];
    if (d[2] > 0) {
        uint64_t err = mint_to(&clearing->minter, destination, d[2]);
        if (err) {
            return err;
        }
    }
    m->settled_import_wh = import_wh;
    m->settled_export_wh = export_wh;
    m->last_cleared_epoch = epoch;
    m->minted_wh += d[2];
    m->withheld_wh += d[3];
    m->settlements += 1;
    m->last_import_delta_wh = d[0];
    m->last_export_delta_wh = d[1];
    m->last_minted_wh = d[2];
    *status = SETTLEMENT_SETTLED;
    *minted = d[2];
    emit_settled((uint64_t)epoch, m, import_wh, export_wh, d);
    return 0;
}

/* EpochCleared's fixed part, before the statuses: 8 + 8 + 4 + 4 + 8 + 4 bytes. */
#define EVENT_HEAD 36

/*
 * clear_epoch(epoch: u64)
 * accounts: config (writable), mint (writable), mint_authority, token_program, then pairs
 * (meter (writable), the meter owner's token account for the mint (writable)) as
 * remaining accounts
 */
uint64_t clear_epoch(Context *ctx) {
    if (ctx->account_count < 6) {
        return ERR_NOT_ENOUGH_ACCOUNTS;
    }
    if (ctx->data_len != 8 + 8) {
        return ERR_INVALID_INSTRUCTION_DATA;
    }
    if ((ctx->account_count - 4) % 2 != 0) {
        return ERR_NOT_ENOUGH_ACCOUNTS;
    }
    uint64_t epoch = load_u64(ctx->data + 8);
    AccountInfo *config_info = &ctx->accounts[0];
    Config *c;
    uint64_t err = load_config(ctx, config_info, &c);
    if (!err) err = require_writable(config_info);
    if (err) {
        return err;
    }
    if (!c->active) {
        return ERR_ORACLE_INACTIVE;
    }
    Clearing clearing = {{&ctx->accounts[1], &ctx->accounts[2], &ctx->accounts[3], NULL}, 0, 0};
    Minter *minter = &clearing.minter;
    if (!pubkey_eq(minter->token_program->key, &TOKEN_PROGRAM_ID)) {
        return ERR_WRONG_PROGRAM;
    }
    if (!pubkey_eq(minter->mint->key, &c->mint)) {
        return ERR_WRONG_MINT;
    }
    err = require_writable(minter->mint);
    if (err) {
        return err;
    }
    Pubkey authority;
    Bytes seeds[2] = {{SEED_MINT_AUTHORITY, sizeof(SEED_MINT_AUTHORITY) - 1},
                      {&c->mint_authority_bump, 1}};
    if (sol_create_program_address(seeds, 2, ctx->program_id, &authority) != 0 ||
        !pubkey_eq(minter->mint_authority->key, &authority)) {
        return ERR_WRONG_ADDRESS;
    }
    SignerSeeds signer = {seeds, 2};
    minter->signer = &signer;

    /* The epoch must have ended: (epoch + 1) * interval <= now. */
    uint64_t interval = (uint64_t)c->clearing_interval_s;
    Clock clock;
    sol_get_clock_sysvar(&clock);
    if (epoch >= (uint64_t)INT64_MAX / interval || clock.unix_timestamp < 0 ||
        (epoch + 1) * interval > (uint64_t)clock.unix_timestamp) {
        return ERR_EPOCH_NOT_ENDED;
    }
    clearing.epoch = (int64_t)epoch;
    clearing.interval = interval;

    uint64_t pairs = (ctx->account_count - 4) / 2;
    uint8_t *event = heap_alloc(&ctx->heap, EVENT_HEAD + pairs);
    uint8_t *statuses = event + EVENT_HEAD;
    uint64_t settled = 0, minted_total = 0;
    for (uint64_t i = 0; i < pairs; i++) {
        AccountInfo *meter_info = &ctx->accounts[4 + 2 * i];
        AccountInfo *destination = &ctx->accounts[5 + 2 * i];
        Meter *m;
        err = load_meter(ctx, meter_info, &m);
        if (!err) err = require_writable(meter_info);
        if (!err) err = check_token_account(destination, c, m);
        if (err) {
            return err;
        }
        uint64_t minted;
        err = settle(&clearing, m, destination, &statuses[i], &minted);
        if (err) {
            return err;
        }
        if (statuses[i] == SETTLEMENT_SETTLED) {
            settled += 1;
        }
        minted_total += minted;
    }
    c->minted_wh += minted_total;

    /* EpochCleared { epoch, settled, skipped, minted_wh, statuses } */
    Writer w = {event, event};
    put_u64(&w, EVENT_EPOCH_CLEARED);
    put_u64(&w, epoch);
    put_u32(&w, (uint32_t)settled);
    put_u32(&w, (uint32_t)(pairs - settled));
    put_u64(&w, minted_total);
    put_u32(&w, (uint32_t)pairs);
    w.at += pairs;
    emit(&w);
    return 0;
}
