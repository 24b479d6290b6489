/*
 * submit_readings: the gateway's batches of register readings, checked one by one.
 *
 * A reading is {meter_index u8, timestamp i64, import_wh u64, export_wh u64}; the meter
 * is remaining account meter_index. One bad reading is rejected with a reason and does
 * not fail the batch; a reading at or before the meter's last one is a duplicate,
 * skipped, so a retried batch changes nothing. The batch event carries the Merkle root
 * of the accepted readings and one status byte per reading (docs/chain-abi.md).
 */
#include "oracle.h"

static const uint8_t LEAF_PREFIX[1] = {0x00};
static const uint8_t NODE_PREFIX[1] = {0x01};

/* The epoch a reading at `ts` closes: e with e*interval < ts <= (e+1)*interval. */
static inline int64_t reading_epoch(int64_t ts, uint64_t interval) {
    return (int64_t)(((uint64_t)ts - 1) / interval);
}

/*
 * The most Wh both registers together may grow in `elapsed_s` at `rated_power_w`:
 * ceil(P * t / 3600) + 1. Registers are whole Wh, so each of the two may run up to one
 * Wh ahead of the energy it measures; their sum is then below the physical bound + 2,
 * i.e. at most its ceiling + 1. Saturates instead of overflowing.
 */
static inline uint64_t energy_limit_wh(uint64_t rated_power_w, uint64_t elapsed_s) {
    if (elapsed_s != 0 && rated_power_w > (UINT64_MAX - 3599) / elapsed_s) {
        return UINT64_MAX;
    }
    return (rated_power_w * elapsed_s + 3599) / 3600 + 1;
}

/* Root of the leaves at `nodes` (reduced in place): sha256(0x01 || left || right) per
 * pair, an odd last node carried up unchanged; 32 zero bytes for no leaves. */
static void merkle_root(uint8_t *nodes, uint64_t count, uint8_t *root) {
    if (count == 0) {
        sol_memset_(root, 0, 32);
        return;
    }
    Bytes slices[2] = {{NODE_PREFIX, 1}, {NULL, 64}};
    while (count > 1) {
        uint64_t pairs = count / 2;
        for (uint64_t i = 0; i < pairs; i++) {
            slices[1].addr = nodes + 64 * i;
            sol_sha256(slices, 2, nodes + 32 * i);
        }
        if (count & 1) {
            sol_memcpy_(nodes + 32 * pairs, nodes + 32 * (count - 1), 32);
        }
        count = pairs + (count & 1);
    }
    sol_memcpy_(root, nodes, 32);
}

/* ReadingRejected { batch, index, lfdi, timestamp, import_wh, export_wh, reason } */
static void emit_rejected(uint64_t batch, uint64_t index, const Meter *m, const uint8_t *reading,
                          uint8_t reason) {
    uint8_t event[8 + 8 + 2 + LFDI_SIZE + 24 + 1];
    Writer w = {event, event};
    put_u64(&w, EVENT_READING_REJECTED);
    put_u64(&w, batch);
    put_u16(&w, (uint16_t)index);
    put_bytes(&w, m->lfdi, LFDI_SIZE);
    put_bytes(&w, reading + 1, 24); /* timestamp, import_wh, export_wh as sent */
    put_u8(&w, reason);
    emit(&w);
}

/* ReadingsSubmitted's fixed part, before the statuses: 8 + 8 + 8 + 3*4 + 32 + 4 bytes. */
#define EVENT_HEAD 72

/*
 * submit_readings(readings: Vec<Reading>)
 * accounts: gateway (signer), config (writable), then the meters (writable) as remaining
 * accounts, indexed by Reading.meter_index
 */
uint64_t submit_readings(Context *ctx) {
    if (ctx->account_count < 3) {
        return ERR_NOT_ENOUGH_ACCOUNTS;
    }
    AccountInfo *gateway = &ctx->accounts[0];
    AccountInfo *config_info = &ctx->accounts[1];
    Config *c;
    uint64_t err = require_signer(gateway);
    if (!err) err = load_config(ctx, config_info, &c);
    if (!err) err = require_writable(config_info);
    if (err) {
        return err;
    }
    if (!pubkey_eq(gateway->key, &c->gateway)) {
        return ERR_UNAUTHORIZED;
    }
    if (!c->active) {
        return ERR_ORACLE_INACTIVE;
    }
    if (ctx->data_len < 12) {
        return ERR_INVALID_INSTRUCTION_DATA;
    }
    uint64_t n = load_u32(ctx->data + 8);
    if (n == 0) {
        return ERR_EMPTY_BATCH;
    }
    if (n > MAX_READINGS) {
        return ERR_TOO_MANY_READINGS;
    }
    if (ctx->data_len != 12 + n * READING_SIZE) {
        return ERR_INVALID_INSTRUCTION_DATA;
    }

    uint64_t meter_count = ctx->account_count - 2;
    Meter **meters = heap_alloc(&ctx->heap, meter_count * sizeof(Meter *));
    for (uint64_t i = 0; i < meter_count; i++) {
        AccountInfo *a = &ctx->accounts[2 + i];
        err = load_meter(ctx, a, &meters[i]);
        if (!err) err = require_writable(a);
        if (err) {
            return err;
        }
    }
    uint8_t *leaves = heap_alloc(&ctx->heap, n * 32);
    uint8_t *event = heap_alloc(&ctx->heap, EVENT_HEAD + n);
    if (leaves == NULL || event == NULL) {
        return ERR_TOO_MANY_READINGS;
    }
    uint8_t *statuses = event + EVENT_HEAD;

    Clock clock;
    sol_get_clock_sysvar(&clock);
    const int64_t latest = clock.unix_timestamp + c->max_future_skew_s;
    /* A first reading older than this would open the meter's mint window in the past. */
    const int64_t oldest_baseline = clock.unix_timestamp - c->max_baseline_age_s;
    const uint64_t interval = (uint64_t)c->clearing_interval_s;
    const uint64_t batch = c->batches + 1;
    uint64_t accepted = 0, duplicates = 0, rejected = 0;
    Bytes leaf[3] = {{LEAF_PREFIX, 1}, {NULL, LFDI_SIZE}, {NULL, 24}};

    const uint8_t *r = ctx->data + 12;
    for (uint64_t i = 0; i < n; i++, r += READING_SIZE) {
        uint64_t index = r[0];
        if (index >= meter_count) {
            return ERR_METER_INDEX_OUT_OF_RANGE;
        }
        Meter *m = meters[index];
        int64_t ts = (int64_t)load_u64(r + 1);
        uint64_t import_wh = load_u64(r + 9);
        uint64_t export_wh = load_u64(r + 17);
        int64_t last = m->last_reading_ts;
        uint8_t status = READING_ACCEPTED;

        if (ts <= 0) {
            status = READING_BAD_TIMESTAMP;
        } else if (ts <= last) {
            status = READING_DUPLICATE;
        } else if (ts > latest) {
            status = READING_FUTURE;
        } else if (last == 0 && ts < oldest_baseline) {
            status = READING_STALE_BASELINE;
        } else if (last == 0) {
            /* The baseline: nothing to settle from a lifetime register, and the mint
             * window opens at its time (clear_epoch caps what it mints by it). */
            m->settled_import_wh = import_wh;
            m->settled_export_wh = export_wh;
            m->baseline_ts = ts;
            m->baseline_import_wh = import_wh;
            m->baseline_export_wh = export_wh;
        } else if (import_wh < m->import_wh || export_wh < m->export_wh) {
            status = READING_REGISTER_DECREASED;
        } else {
            uint64_t allowed = energy_limit_wh(m->rated_power_w, (uint64_t)(ts - last));
            uint64_t d_import = import_wh - m->import_wh;
            uint64_t d_export = export_wh - m->export_wh;
            if (d_import > allowed || d_export > allowed - d_import) {
                status = READING_EXCEEDS_RATED_POWER;
            } else {
                int64_t last_epoch = reading_epoch(last, interval);
                if (reading_epoch(ts, interval) > last_epoch) {
                    /* Crossing an epoch end: keep the registers as of last_epoch's end. */
                    m->snapshot_epoch = last_epoch;
                    m->snapshot_import_wh = m->import_wh;
                    m->snapshot_export_wh = m->export_wh;
                }
            }
        }

        statuses[i] = status;
        if (status == READING_ACCEPTED) {
            m->import_wh = import_wh;
            m->export_wh = export_wh;
            m->last_reading_ts = ts;
            m->readings_accepted += 1;
            leaf[1].addr = m->lfdi;
            leaf[2].addr = r + 1; /* timestamp, import_wh, export_wh: little-endian as sent */
            sol_sha256(leaf, 3, leaves + 32 * accepted);
            accepted += 1;
        } else if (status == READING_DUPLICATE) {
            m->readings_duplicate += 1;
            duplicates += 1;
        } else {
            m->readings_rejected += 1;
            rejected += 1;
            emit_rejected(batch, i, m, r, status);
        }
    }

    c->readings_accepted += accepted;
    c->readings_duplicate += duplicates;
    c->readings_rejected += rejected;
    c->batches = batch;

    /* ReadingsSubmitted { batch, unix_timestamp, accepted, duplicates, rejected,
     *                     merkle_root, statuses } */
    Writer w = {event, event};
    put_u64(&w, EVENT_READINGS_SUBMITTED);
    put_u64(&w, batch);
    put_i64(&w, clock.unix_timestamp);
    put_u32(&w, (uint32_t)accepted);
    put_u32(&w, (uint32_t)duplicates);
    put_u32(&w, (uint32_t)rejected);
    merkle_root(leaves, accepted, w.at);
    w.at += 32;
    put_u32(&w, (uint32_t)n);
    w.at += n; /* the statuses are already in place */
    emit(&w);
    return 0;
}
