/*
 * The Oracle program: checks meter readings, keeps each meter's registers, clears the
 * market per epoch and mints the energy token for net production. Its ABI is Anchor's
 * (anchor/target/idl/oracle.json, docs/chain-abi.md); this file dispatches on the
 * 8-byte instruction discriminator.
 */
#include "oracle.h"

uint64_t entrypoint(uint8_t *input) {
    Context ctx;
    ctx.heap.next = HEAP_START;
    ctx.heap.end = HEAP_START + HEAP_SIZE;
    uint64_t err = parse_input(input, &ctx, MAX_ACCOUNTS, ERR_TOO_MANY_ACCOUNTS);
    if (err) {
        return err;
    }
    if (ctx.data_len < 8) {
        return ERR_INVALID_INSTRUCTION;
    }
    switch (load_u64(ctx.data)) {
    case IX_SUBMIT_READINGS:
        return submit_readings(&ctx);
    case IX_CLEAR_EPOCH:
        return clear_epoch(&ctx);
    case IX_REGISTER_METER:
        return register_meter(&ctx);
    case IX_INITIALIZE:
        return initialize(&ctx);
    case IX_SET_ACTIVE:
        return set_active(&ctx);
    case IX_SET_GATEWAY:
        return set_gateway(&ctx);
    case IX_SET_ADMIN:
        return set_admin(&ctx);
    case IX_UPDATE_LIMITS:
        return update_limits(&ctx);
    default:
        return ERR_INVALID_INSTRUCTION;
    }
}
