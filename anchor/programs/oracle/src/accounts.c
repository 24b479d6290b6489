/* Account checks shared by the handlers, and creating a PDA through the System Program. */
#include "oracle.h"

const Pubkey SYSTEM_PROGRAM_ID = {{0}};

/* TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA */
const Pubkey TOKEN_PROGRAM_ID = {{0x06, 0xdd, 0xf6, 0xe1, 0xd7, 0x65, 0xa1, 0x93, 0xd9, 0xcb, 0xe1,
                                  0x46, 0xce, 0xeb, 0x79, 0xac, 0x1c, 0xb4, 0x85, 0xed, 0x5f, 0x5b,
                                  0x37, 0x91, 0x3a, 0x8c, 0xf5, 0x85, 0x7e, 0xff, 0x00, 0xa9}};

/* BPFLoaderUpgradeab1e11111111111111111111111 */
const Pubkey BPF_LOADER_UPGRADEABLE_ID = {{0x02, 0xa8, 0xf6, 0x91, 0x4e, 0x88, 0xa1, 0xb0, 0xe2, 0x10, 0x15,
                                           0x3e, 0xf7, 0x63, 0xae, 0x2b, 0x00, 0xc2, 0xb9, 0x3d, 0x16, 0xc1,
                                           0x24, 0xd2, 0xc0, 0x53, 0x7a, 0x10, 0x04, 0x80, 0x00, 0x00}};

uint64_t require_signer(const AccountInfo *a) {
    return a->is_signer ? 0 : ERR_MISSING_SIGNATURE;
}

uint64_t require_writable(const AccountInfo *a) {
    return a->is_writable ? 0 : ERR_ACCOUNT_NOT_WRITABLE;
}

uint64_t load_config(const Context *ctx, const AccountInfo *a, Config **config) {
    if (!pubkey_eq(a->owner, ctx->program_id)) {
        return ERR_WRONG_ACCOUNT_OWNER;
    }
    Config *c = (Config *)a->data;
    if (a->data_len < sizeof(Config) || c->discriminator != ACCOUNT_CONFIG) {
        return ERR_WRONG_ACCOUNT_TYPE;
    }
    *config = c;
    return 0;
}

uint64_t load_meter(const Context *ctx, const AccountInfo *a, Meter **meter) {
    if (!pubkey_eq(a->owner, ctx->program_id)) {
        return ERR_WRONG_ACCOUNT_OWNER;
    }
    Meter *m = (Meter *)a->data;
    if (a->data_len < sizeof(Meter) || m->discriminator != ACCOUNT_METER) {
        return ERR_WRONG_ACCOUNT_TYPE;
    }
    *meter = m;
    return 0;
}

bool read_u64(const Context *ctx, uint64_t *at, uint64_t *value) {
    if (*at + 8 > ctx->data_len) {
        return false;
    }
    *value = load_u64(ctx->data + *at);
    *at += 8;
    return true;
}

uint64_t rated_energy_wh(uint64_t rated_power_w, uint64_t seconds) {
    /* (UINT64_MAX - 3599), as in energy_limit_wh: clang turns the exact bound into an
     * overflow intrinsic the BPF backend cannot lower. Saturating a little early only
     * lifts the cap for ratings no limit allows. */
    if (seconds != 0 && rated_power_w > (UINT64_MAX - 3599) / seconds) {
        return UINT64_MAX;
    }
    return rated_power_w * seconds / 3600;
}

/* 64 x 64 -> 128-bit product (clang's BPF backend has no 128-bit integers). */
static void mul_64x64(uint64_t a, uint64_t b, uint64_t *hi, uint64_t *lo) {
    const uint64_t m = 0xFFFFFFFFULL;
    uint64_t a0 = a & m, a1 = a >> 32, b0 = b & m, b1 = b >> 32;
    uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    uint64_t mid = (p00 >> 32) + (p01 & m) + (p10 & m);
    *lo = (p00 & m) | (mid << 32);
    *hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}

/*
 * Lamports that make `space` bytes rent-exempt: (128 + space) * lamports_per_byte_year *
 * exemption_threshold, rounded up. The threshold is an f64 (2.0 on every cluster so
 * far); it is multiplied exactly in integers, and rounding up can only ask for one
 * lamport more than the runtime's float arithmetic, never less.
 */
static uint64_t rent_exempt_minimum(const Rent *rent, uint64_t space, uint64_t *lamports) {
    uint64_t base = (128 + space) * rent->lamports_per_byte_year;
    uint64_t bits = rent->exemption_threshold_bits;
    uint64_t exponent = (bits >> 52) & 0x7FF;
    if ((bits >> 63) != 0 || exponent == 0x7FF) {
        return ERR_ARITHMETIC_OVERFLOW; /* negative, infinite or NaN */
    }
    if (exponent == 0) { /* zero or subnormal: at most one lamport */
        *lamports = (bits != 0 && base != 0) ? 1 : 0;
        return 0;
    }
    uint64_t mantissa = (bits & ((1ULL << 52) - 1)) | (1ULL << 52);
    uint64_t hi, lo;
    mul_64x64(base, mantissa, &hi, &lo);
    /* value = (hi:lo) * 2^(exponent - 1075) */
    if (exponent >= 1075) {
        uint64_t shift = exponent - 1075;
        if (hi != 0 || shift >= 64 || (shift > 0 && (lo >> (64 - shift)) != 0)) {
            return ERR_ARITHMETIC_OVERFLOW;
        }
        *lamports = lo << shift;
        return 0;
    }
    uint64_t shift = 1075 - exponent;
    uint64_t quotient, remainder;
    if (shift >= 128) {
        quotient = 0;
        remainder = hi | lo;
    } else if (shift >= 64) {
        uint64_t s = shift - 64;
        quotient = s == 0 ? hi : hi >> s;
        remainder = lo | (s == 0 ? 0 : (hi & ((1ULL << s) - 1)));
    } else {
        if ((hi >> shift) != 0) {
            return ERR_ARITHMETIC_OVERFLOW;
        }
        quotient = (lo >> shift) | (shift == 0 ? 0 : hi << (64 - shift));
        remainder = shift == 0 ? 0 : lo & ((1ULL << shift) - 1);
    }
    *lamports = quotient + (remainder != 0 ? 1 : 0);
    return 0;
}

static uint64_t invoke_system(const NewAccount *n, uint8_t *data, uint64_t data_len,
                              bool with_payer) {
    AccountMeta metas[2] = {
        {n->payer->key, true, true},
        {n->account->key, true, true},
    };
    AccountInfo infos[3] = {*n->payer, *n->account, *n->system_program};
    Instruction ix = {
        .program_id = n->system_program->key,
        .accounts = with_payer ? metas : metas + 1,
        .account_len = with_payer ? 2 : 1,
        .data = data,
        .data_len = data_len,
    };
    uint64_t err = sol_invoke_signed_c(&ix, infos, 3, n->seeds, 1);
    /* The runtime updated our copies; carry the new length back to the caller's info. */
    n->account->data_len = infos[1].data_len;
    return err;
}

uint64_t create_pda_account(const NewAccount *n) {
    if (!pubkey_eq(n->system_program->key, &SYSTEM_PROGRAM_ID)) {
        return ERR_WRONG_PROGRAM;
    }
    if (!pubkey_eq(n->account->owner, &SYSTEM_PROGRAM_ID) || n->account->data_len != 0) {
        return ERR_ALREADY_INITIALIZED;
    }
    Rent rent;
    sol_get_rent_sysvar(&rent);
    uint64_t needed;
    uint64_t err = rent_exempt_minimum(&rent, n->space, &needed);
    if (err) {
        return err;
    }
    uint64_t have = *n->account->lamports;
    uint8_t data[52];
    Writer w = {data, data};
    if (have == 0) {
        put_u32(&w, 0); /* CreateAccount { lamports, space, owner } */
        put_u64(&w, needed);
        put_u64(&w, n->space);
        put_pubkey(&w, n->program_id);
        return invoke_system(n, data, (uint64_t)(w.at - w.start), true);
    }
    /*
     * Someone sent lamports to the address first (CreateAccount would fail): top it up,
     * then allocate and assign it, as Anchor's `init` does.
     */
    if (have < needed) {
        put_u32(&w, 2); /* Transfer { lamports } */
        put_u64(&w, needed - have);
        AccountMeta metas[2] = {{n->payer->key, true, true}, {n->account->key, true, false}};
        AccountInfo infos[3] = {*n->payer, *n->account, *n->system_program};
        Instruction ix = {n->system_program->key, metas, 2, data, (uint64_t)(w.at - w.start)};
        err = sol_invoke_signed_c(&ix, infos, 3, NULL, 0);
        if (err) {
            return err;
        }
        w.at = w.start;
    }
    put_u32(&w, 8); /* Allocate { space } */
    put_u64(&w, n->space);
    err = invoke_system(n, data, (uint64_t)(w.at - w.start), false);
    if (err) {
        return err;
    }
    w.at = w.start;
    put_u32(&w, 1); /* Assign { owner } */
    put_pubkey(&w, n->program_id);
    return invoke_system(n, data, (uint64_t)(w.at - w.start), false);
}
