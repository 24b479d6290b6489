/*
 * register_meter: a Meter account per LFDI, created at its PDA by the admin or gateway.
 * The rating bounds everything the meter can ever mint, so the gateway may only register
 * meters up to the admin's Config.max_rated_power_w; the admin may rate a meter above it.
 */
#include "oracle.h"

static const uint8_t SEED_METER[] = "meter";

/*
 * register_meter(lfdi: [u8; 20], owner: Pubkey, rated_power_w: u64)
 * accounts: authority (signer: admin or gateway), payer (signer, writable),
 * config (writable), meter (writable), system_program
 */
uint64_t register_meter(Context *ctx) {
    if (ctx->account_count < 5) {
        return ERR_NOT_ENOUGH_ACCOUNTS;
    }
    if (ctx->data_len != 8 + LFDI_SIZE + 32 + 8) {
        return ERR_INVALID_INSTRUCTION_DATA;
    }
    AccountInfo *authority = &ctx->accounts[0];
    AccountInfo *payer = &ctx->accounts[1];
    AccountInfo *config_info = &ctx->accounts[2];
    AccountInfo *meter_info = &ctx->accounts[3];
    AccountInfo *system_program = &ctx->accounts[4];
    const uint8_t *lfdi = ctx->data + 8;
    const Pubkey *owner = (const Pubkey *)(ctx->data + 8 + LFDI_SIZE);
    uint64_t rated_power_w = load_u64(ctx->data + 8 + LFDI_SIZE + 32);

    Config *c;
    uint64_t err = require_signer(authority);
    if (!err) err = require_signer(payer);
    if (!err) err = require_writable(payer);
    if (!err) err = load_config(ctx, config_info, &c);
    if (!err) err = require_writable(config_info);
    if (!err) err = require_writable(meter_info);
    if (err) {
        return err;
    }
    if (!pubkey_eq(authority->key, &c->admin) && !pubkey_eq(authority->key, &c->gateway)) {
        return ERR_UNAUTHORIZED;
    }
    if (rated_power_w == 0) {
        return ERR_INVALID_RATED_POWER;
    }
    if (!pubkey_eq(authority->key, &c->admin) && rated_power_w > c->max_rated_power_w) {
        return ERR_RATED_POWER_ABOVE_LIMIT;
    }

    Pubkey expected;
    uint8_t bump;
    Bytes seeds[3] = {{SEED_METER, sizeof(SEED_METER) - 1}, {lfdi, LFDI_SIZE}, {&bump, 1}};
    sol_try_find_program_address(seeds, 2, ctx->program_id, &expected, &bump);
    if (!pubkey_eq(meter_info->key, &expected)) {
        return ERR_WRONG_ADDRESS;
    }
    SignerSeeds signer = {seeds, 3};
    NewAccount create = {ctx->program_id, payer, meter_info, system_program, sizeof(Meter),
                         &signer};
    err = create_pda_account(&create);
    if (err) {
        return err;
    }
    Clock clock;
    sol_get_clock_sysvar(&clock);

    Meter *m = (Meter *)meter_info->data;
    m->discriminator = ACCOUNT_METER;
    pubkey_copy(&m->owner, owner);
    sol_memcpy_(m->lfdi, lfdi, LFDI_SIZE);
    m->bump = bump;
    m->rated_power_w = rated_power_w;
    m->snapshot_epoch = NO_EPOCH;
    m->last_cleared_epoch = NO_EPOCH;
    m->registered_at = clock.unix_timestamp;
    c->meters_registered += 1;

    /* MeterRegistered { meter, lfdi, owner, rated_power_w } */
    uint8_t event[8 + 32 + LFDI_SIZE + 32 + 8];
    Writer w = {event, event};
    put_u64(&w, EVENT_METER_REGISTERED);
    put_pubkey(&w, meter_info->key);
    put_bytes(&w, lfdi, LFDI_SIZE);
    put_pubkey(&w, owner);
    put_u64(&w, rated_power_w);
    emit(&w);
    return 0;
}
