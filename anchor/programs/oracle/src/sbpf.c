/* The runtime pieces of sbpf.h: memcpy/memset, the heap, the input parser, events. */
#include "sbpf.h"

void *memcpy(void *dst, const void *src, size_t n) {
    sol_memcpy_(dst, src, n);
    return dst;
}

void *memset(void *dst, int value, size_t n) {
    sol_memset_(dst, (uint8_t)value, n);
    return dst;
}

void *heap_alloc(Heap *heap, uint64_t n) {
    uint64_t size = (n + 7) & ~7ULL;
    if (size < n || size > (uint64_t)(heap->end - heap->next)) {
        return NULL;
    }
    uint8_t *p = heap->next;
    heap->next += size;
    return p;
}

/*
 * SBPFv0 input: u64 account count; per account either a duplicate marker (index of the
 * first occurrence, 7 bytes of padding) or the full entry (0xFF, is_signer, is_writable,
 * executable, 4 bytes padding, key, owner, lamports, data length, data, 10 KiB of growth
 * room, padding to 8, rent epoch); then u64 instruction data length, the data, and the
 * program id.
 */
uint64_t parse_input(uint8_t *input, Context *ctx, uint64_t max_accounts,
                     uint64_t error_too_many) {
    uint64_t count = load_u64(input);
    input += 8;
    if (count > max_accounts) {
        return error_too_many;
    }
    AccountInfo *accounts = heap_alloc(&ctx->heap, count * sizeof(AccountInfo));
    for (uint64_t i = 0; i < count; i++) {
        uint8_t dup = input[0];
        if (dup != NON_DUP_MARKER) {
            accounts[i] = accounts[dup];
            input += 8;
            continue;
        }
        AccountInfo *a = &accounts[i];
        a->is_signer = input[1] != 0;
        a->is_writable = input[2] != 0;
        a->executable = input[3] != 0;
        input += 8;
        a->key = (Pubkey *)input;
        input += 32;
        a->owner = (Pubkey *)input;
        input += 32;
        a->lamports = (uint64_t *)input;
        input += 8;
        a->data_len = load_u64(input);
        input += 8;
        a->data = input;
        input += a->data_len + MAX_PERMITTED_DATA_INCREASE;
        input = (uint8_t *)(((uint64_t)input + 7) & ~7ULL);
        a->rent_epoch = load_u64(input);
        input += 8;
    }
    ctx->accounts = accounts;
    ctx->account_count = count;
    ctx->data_len = load_u64(input);
    input += 8;
    ctx->data = input;
    input += ctx->data_len;
    ctx->program_id = (Pubkey *)input;
    return 0;
}

void put_bytes(Writer *w, const uint8_t *src, uint64_t n) {
    sol_memcpy_(w->at, src, n);
    w->at += n;
}

void emit(const Writer *w) {
    Bytes field = {w->start, (uint64_t)(w->at - w->start)};
    sol_log_data(&field, 1);
}
