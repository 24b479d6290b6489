/*
 * The few pieces of Solana's C SDK this program needs, written for SBPFv0 and clang's
 * BPF backend: the syscalls, the layout of the input buffer, the structures of a
 * cross-program invocation, and loads that tolerate unaligned addresses.
 *
 * clang's BPF backend limits shape this file: no writable globals (the loader cannot
 * map them), at most five arguments per call, 512-byte stack frames (big buffers live
 * on the 32 KiB heap), no 128-bit integers, no signed division.
 */
#ifndef GRIDMIRROR_SBPF_H
#define GRIDMIRROR_SBPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HEAP_START ((uint8_t *)0x300000000ULL)
#define HEAP_SIZE (32u * 1024u)
/* Room the runtime leaves after each account's data, so a CPI can grow it. */
#define MAX_PERMITTED_DATA_INCREASE (10u * 1024u)
#define NON_DUP_MARKER 0xFF

typedef struct {
    uint8_t x[32];
} Pubkey;

/* Identical to the C SDK's SolAccountInfo: an array of these is passed to CPI. */
typedef struct {
    Pubkey *key;
    uint64_t *lamports;
    uint64_t data_len;
    uint8_t *data;
    Pubkey *owner;
    uint64_t rent_epoch;
    bool is_signer;
    bool is_writable;
    bool executable;
} AccountInfo;

typedef struct {
    const uint8_t *addr;
    uint64_t len;
} Bytes; /* SolBytes and SolSignerSeed share this layout */

typedef struct {
    const Bytes *addr;
    uint64_t len;
} SignerSeeds;

typedef struct {
    Pubkey *pubkey;
    bool is_writable;
    bool is_signer;
} AccountMeta;

typedef struct {
    Pubkey *program_id;
    AccountMeta *accounts;
    uint64_t account_len;
    uint8_t *data;
    uint64_t data_len;
} Instruction;

typedef struct {
    uint64_t slot;
    int64_t epoch_start_timestamp;
    uint64_t epoch;
    uint64_t leader_schedule_epoch;
    int64_t unix_timestamp;
} Clock;

typedef struct {
    uint64_t lamports_per_byte_year;
    uint64_t exemption_threshold_bits; /* an f64; read with integer arithmetic */
    uint8_t burn_percent;
} Rent;

/* A bump allocator over the heap region; no state outside the caller's stack. */
typedef struct {
    uint8_t *next;
    uint8_t *end;
} Heap;

/* What the entrypoint hands to an instruction handler. */
typedef struct {
    AccountInfo *accounts;
    uint64_t account_count;
    const uint8_t *data;
    uint64_t data_len;
    Pubkey *program_id;
    Heap heap;
} Context;

/* ----------------------------------------------------------------- syscalls */
void sol_log_(const char *message, uint64_t len);
void sol_log_64_(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e);
void sol_log_data(const Bytes *fields, uint64_t count);
uint64_t sol_sha256(const Bytes *slices, uint64_t count, uint8_t *result);
uint64_t sol_get_clock_sysvar(Clock *clock);
uint64_t sol_get_rent_sysvar(Rent *rent);
uint64_t sol_create_program_address(const Bytes *seeds, uint64_t count, const Pubkey *program_id,
                                    Pubkey *address);
uint64_t sol_try_find_program_address(const Bytes *seeds, uint64_t count,
                                      const Pubkey *program_id, Pubkey *address,
                                      uint8_t *bump);
uint64_t sol_invoke_signed_c(const Instruction *instruction, const AccountInfo *infos,
                             int info_count, const SignerSeeds *signers, int signer_count);
void sol_memcpy_(void *dst, const void *src, uint64_t n);
void sol_memset_(void *dst, uint8_t value, uint64_t n);

/* clang may emit calls to these for struct copies; sbpf.c defines them over syscalls. */
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int value, size_t n);

#define LOG(literal) sol_log_((literal), sizeof(literal) - 1)

/* ----------------------------------------------------------------- loads and stores */

/* One ldxdw, whatever the alignment: the VM allows it, clang's backend would split it. */
static inline uint64_t load_u64(const uint8_t *p) {
    uint64_t v;
    __asm__ volatile("%0 = *(u64 *)(%1 + 0)" : "=r"(v) : "r"(p) : "memory");
    return v;
}

static inline uint32_t load_u32(const uint8_t *p) {
    uint64_t v;
    __asm__ volatile("%0 = *(u32 *)(%1 + 0)" : "=r"(v) : "r"(p) : "memory");
    return (uint32_t)v;
}

static inline void store_u64(uint8_t *p, uint64_t v) {
    __asm__ volatile("*(u64 *)(%0 + 0) = %1" : : "r"(p), "r"(v) : "memory");
}

static inline void store_u32(uint8_t *p, uint32_t v) {
    uint64_t w = v;
    __asm__ volatile("*(u32 *)(%0 + 0) = %1" : : "r"(p), "r"(w) : "memory");
}

static inline void store_u16(uint8_t *p, uint16_t v) {
    uint64_t w = v;
    __asm__ volatile("*(u16 *)(%0 + 0) = %1" : : "r"(p), "r"(w) : "memory");
}

static inline bool pubkey_eq(const Pubkey *a, const Pubkey *b) {
    const uint8_t *x = a->x, *y = b->x;
    return ((load_u64(x) ^ load_u64(y)) | (load_u64(x + 8) ^ load_u64(y + 8)) |
            (load_u64(x + 16) ^ load_u64(y + 16)) | (load_u64(x + 24) ^ load_u64(y + 24))) == 0;
}

static inline bool pubkey_is_zero(const Pubkey *a) {
    const uint8_t *x = a->x;
    return (load_u64(x) | load_u64(x + 8) | load_u64(x + 16) | load_u64(x + 24)) == 0;
}

static inline void pubkey_copy(Pubkey *dst, const Pubkey *src) {
    store_u64(dst->x, load_u64(src->x));
    store_u64(dst->x + 8, load_u64(src->x + 8));
    store_u64(dst->x + 16, load_u64(src->x + 16));
    store_u64(dst->x + 24, load_u64(src->x + 24));
}

/* ----------------------------------------------------------------- heap and input */

/* n bytes from the heap, 8-aligned; NULL when the heap is exhausted. */
void *heap_alloc(Heap *heap, uint64_t n);

/* Parse the SBPFv0 input buffer; 0 or an error code. */
uint64_t parse_input(uint8_t *input, Context *ctx, uint64_t max_accounts,
                     uint64_t error_too_many);

/* ----------------------------------------------------------------- a borsh writer */

typedef struct {
    uint8_t *start;
    uint8_t *at;
} Writer;

static inline void put_u8(Writer *w, uint8_t v) { *w->at++ = v; }
static inline void put_u16(Writer *w, uint16_t v) { store_u16(w->at, v); w->at += 2; }
static inline void put_u32(Writer *w, uint32_t v) { store_u32(w->at, v); w->at += 4; }
static inline void put_u64(Writer *w, uint64_t v) { store_u64(w->at, v); w->at += 8; }
static inline void put_i64(Writer *w, int64_t v) { put_u64(w, (uint64_t)v); }
static inline void put_pubkey(Writer *w, const Pubkey *k) {
    pubkey_copy((Pubkey *)w->at, k);
    w->at += 32;
}
void put_bytes(Writer *w, const uint8_t *src, uint64_t n);

/* Emit the written bytes as one sol_log_data field ("Program data: <base64>"). */
void emit(const Writer *w);

#endif
