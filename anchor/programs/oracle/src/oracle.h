/*
 * The Oracle program's ABI (Anchor's conventions) and what its modules share.
 *
 * Every discriminator below is sha256(preimage)[:8] read as a little-endian u64; the
 * preimage is in the comment on the same line, and anchor/abi.py checks both against
 * the IDL (tests/anchor/test_abi.py), so this header cannot drift from the IDL.
 *
 * Account layouts are borsh (packed), but every field sits at an offset that is a
 * multiple of its size, so the C structs below have no implicit padding and match the
 * borsh bytes exactly (checked by the static asserts); account data starts 8-aligned in
 * the input buffer, so their fields are read with plain aligned loads.
 */
#ifndef GRIDMIRROR_ORACLE_H
#define GRIDMIRROR_ORACLE_H

#include "sbpf.h"

/* ----------------------------------------------------------------- discriminators */
#define IX_INITIALIZE 0xed9b980d1f6dafafULL      /* sha256("global:initialize")[:8] */
#define IX_REGISTER_METER 0x7de0d68a48576a31ULL  /* sha256("global:register_meter")[:8] */
#define IX_SET_ACTIVE 0x21ced82684e1101dULL      /* sha256("global:set_active")[:8] */
#define IX_SET_GATEWAY 0x2dea738da9b8cee4ULL     /* sha256("global:set_gateway")[:8] */
#define IX_SET_ADMIN 0x5cbbc25b3400a3fbULL       /* sha256("global:set_admin")[:8] */
#define IX_UPDATE_LIMITS 0xc230464b3c892559ULL   /* sha256("global:update_limits")[:8] */
#define IX_SUBMIT_READINGS 0xa57ef7c75e944e0dULL /* sha256("global:submit_readings")[:8] */
#define IX_CLEAR_EPOCH 0x6e912c924d4101e5ULL     /* sha256("global:clear_epoch")[:8] */

#define ACCOUNT_CONFIG 0x82ccfa1ee0aa0c9bULL /* sha256("account:Config")[:8] */
#define ACCOUNT_METER 0xb6cea63ff0e37305ULL  /* sha256("account:Meter")[:8] */

#define EVENT_METER_REGISTERED 0x8fda2d4ffe72a894ULL   /* sha256("event:MeterRegistered")[:8] */
#define EVENT_READINGS_SUBMITTED 0xfefbe702154f4b43ULL /* sha256("event:ReadingsSubmitted")[:8] */
#define EVENT_READING_REJECTED 0xb9578326a207a02fULL   /* sha256("event:ReadingRejected")[:8] */
#define EVENT_METER_SETTLED 0xedf2f25142d137edULL      /* sha256("event:MeterSettled")[:8] */
#define EVENT_EPOCH_CLEARED 0xc255f1152a5d4a21ULL      /* sha256("event:EpochCleared")[:8] */

/* ----------------------------------------------------------------- errors (6000 up) */
enum {
    ERR_INVALID_INSTRUCTION = 6000,
    ERR_INVALID_INSTRUCTION_DATA = 6001,
    ERR_NOT_ENOUGH_ACCOUNTS = 6002,
    ERR_TOO_MANY_ACCOUNTS = 6003,
    ERR_MISSING_SIGNATURE = 6004,
    ERR_ACCOUNT_NOT_WRITABLE = 6005,
    ERR_WRONG_ACCOUNT_OWNER = 6006,
    ERR_WRONG_ACCOUNT_TYPE = 6007,
    ERR_WRONG_ADDRESS = 6008,
    ERR_WRONG_PROGRAM = 6009,
    ERR_UNAUTHORIZED = 6010,
    ERR_ORACLE_INACTIVE = 6011,
    ERR_INVALID_MINT = 6012,
    ERR_WRONG_MINT = 6013,
    ERR_WRONG_TOKEN_ACCOUNT = 6014,
    ERR_ALREADY_INITIALIZED = 6015,
    ERR_INVALID_LIMITS = 6016,
    ERR_INVALID_RATED_POWER = 6017,
    ERR_EMPTY_BATCH = 6018,
    ERR_TOO_MANY_READINGS = 6019,
    ERR_METER_INDEX_OUT_OF_RANGE = 6020,
    ERR_EPOCH_NOT_ENDED = 6021,
    ERR_ARITHMETIC_OVERFLOW = 6022,
    ERR_SETTLEMENT_INVARIANT = 6023,
    ERR_RATED_POWER_ABOVE_LIMIT = 6024,
};

/* ----------------------------------------------------------------- status codes */
/* One byte per reading in ReadingsSubmitted.statuses. */
enum {
    READING_ACCEPTED = 0,
    READING_DUPLICATE = 1,
    READING_FUTURE = 2,
    READING_REGISTER_DECREASED = 3,
    READING_EXCEEDS_RATED_POWER = 4,
    READING_BAD_TIMESTAMP = 5,
    READING_STALE_BASELINE = 6,
};

/* One byte per meter in EpochCleared.statuses. */
enum {
    SETTLEMENT_SETTLED = 0,
    SETTLEMENT_ALREADY_CLEARED = 1,
    SETTLEMENT_NO_READINGS = 2,
    SETTLEMENT_PENDING = 3,
};

/* ----------------------------------------------------------------- limits */
#define MAX_ACCOUNTS 128
#define MAX_READINGS 256
#define READING_SIZE 25 /* meter_index u8, timestamp i64, import_wh u64, export_wh u64 */
#define LFDI_SIZE 20
#define MAX_CLEARING_INTERVAL_S 86400
#define MAX_FUTURE_SKEW_S 86400
#define MAX_BASELINE_AGE_S 2592000      /* 30 days */
#define MAX_RATED_POWER_W 10000000000ULL /* 10 GW: keeps P * t within 64 bits for years */
#define NO_EPOCH (-1)

/* ----------------------------------------------------------------- accounts */
typedef struct {
    uint64_t discriminator;
    Pubkey admin;
    Pubkey gateway;
    Pubkey mint;
    int64_t clearing_interval_s;
    int64_t max_future_skew_s;
    uint64_t readings_accepted;
    uint64_t readings_duplicate;
    uint64_t readings_rejected;
    uint64_t batches;
    uint64_t meters_registered;
    uint64_t minted_wh;
    uint8_t active;
    uint8_t bump;
    uint8_t mint_authority_bump;
    uint8_t reserved[5];
    uint64_t max_rated_power_w; /* the most the gateway may register a meter for */
    int64_t max_baseline_age_s; /* how far behind the clock a first reading may be */
} Config;

typedef struct {
    uint64_t discriminator;
    Pubkey owner;
    uint8_t lfdi[LFDI_SIZE];
    uint8_t bump;
    uint8_t reserved[3];
    uint64_t rated_power_w;
    uint64_t import_wh;
    uint64_t export_wh;
    int64_t last_reading_ts; /* 0: no reading yet */
    int64_t snapshot_epoch;  /* NO_EPOCH, or the epoch snapshot_* are the registers of */
    uint64_t snapshot_import_wh;
    uint64_t snapshot_export_wh;
    uint64_t settled_import_wh; /* watermarks: registers at the last settlement */
    uint64_t settled_export_wh;
    int64_t last_cleared_epoch; /* NO_EPOCH until the first settlement */
    uint64_t minted_wh;
    uint64_t readings_accepted;
    uint64_t readings_duplicate;
    uint64_t readings_rejected;
    int64_t registered_at;
    int64_t baseline_ts; /* 0: none yet; else the first reading's time: the mint window opens */
    uint64_t baseline_import_wh;
    uint64_t baseline_export_wh;
    uint64_t settlements; /* how many times it was settled */
    /* the last settlement, as its MeterSettled event said it, so that the account alone
     * tells an observer what the last clear_epoch did (oracle/clearing.py follows them) */
    uint64_t last_import_delta_wh;
    uint64_t last_export_delta_wh;
    uint64_t last_minted_wh;
    uint64_t withheld_wh; /* net export above the mint cap, never minted */
} Meter;

_Static_assert(sizeof(Config) == 192, "Config layout");
_Static_assert(offsetof(Config, active) == 168, "Config layout");
_Static_assert(offsetof(Config, max_rated_power_w) == 176, "Config layout");
_Static_assert(sizeof(Meter) == 248, "Meter layout");
_Static_assert(offsetof(Meter, rated_power_w) == 64, "Meter layout");
_Static_assert(offsetof(Meter, registered_at) == 176, "Meter layout");
_Static_assert(offsetof(Meter, baseline_ts) == 184, "Meter layout");

/* SPL Token account layouts (fields at their byte offsets). */
#define MINT_SIZE 82
#define MINT_AUTHORITY_TAG 0
#define MINT_AUTHORITY 4
#define MINT_SUPPLY 36
#define MINT_DECIMALS 44
#define MINT_INITIALIZED 45
#define MINT_FREEZE_TAG 46
#define TOKEN_ACCOUNT_SIZE 165
#define TOKEN_ACCOUNT_MINT 0
#define TOKEN_ACCOUNT_OWNER 32
#define TOKEN_ACCOUNT_STATE 108
#define TOKEN_STATE_INITIALIZED 1
#define ENERGY_DECIMALS 3 /* 1 base unit = 1 Wh */

extern const Pubkey SYSTEM_PROGRAM_ID;
extern const Pubkey TOKEN_PROGRAM_ID;
extern const Pubkey BPF_LOADER_UPGRADEABLE_ID;

/* BPF upgradeable loader states: Program { programdata_address } and the ProgramData
 * header { slot, upgrade_authority_address: Option<Pubkey> }. */
#define LOADER_STATE_PROGRAM 2
#define LOADER_STATE_PROGRAM_DATA 3
#define PROGRAM_DATA_ADDRESS 4
#define PROGRAM_DATA_AUTHORITY_TAG 12
#define PROGRAM_DATA_AUTHORITY 13

/* ----------------------------------------------------------------- shared checks */
uint64_t require_signer(const AccountInfo *a);
uint64_t require_writable(const AccountInfo *a);
/* The account is the Config: owned by this program, Config discriminator and size. */
uint64_t load_config(const Context *ctx, const AccountInfo *a, Config **config);
/* The account is a Meter: owned by this program, Meter discriminator and size. */
uint64_t load_meter(const Context *ctx, const AccountInfo *a, Meter **meter);
/* A PDA to create: `space` bytes owned by this program, funded by `payer`. */
typedef struct {
    const Pubkey *program_id;
    AccountInfo *payer;
    AccountInfo *account;
    AccountInfo *system_program;
    uint64_t space;
    const SignerSeeds *seeds; /* the PDA's seeds, bump included */
} NewAccount;
uint64_t create_pda_account(const NewAccount *n);
/* Read a little-endian i64/u64 argument at data[*at], advancing; false if out of data. */
bool read_u64(const Context *ctx, uint64_t *at, uint64_t *value);
/* floor(rated_power_w * seconds / 3600): the Wh a meter delivers at its rating in
 * `seconds`, saturating at UINT64_MAX instead of overflowing. */
uint64_t rated_energy_wh(uint64_t rated_power_w, uint64_t seconds);

/* ----------------------------------------------------------------- handlers */
uint64_t initialize(Context *ctx);
uint64_t register_meter(Context *ctx);
uint64_t set_active(Context *ctx);
uint64_t set_gateway(Context *ctx);
uint64_t set_admin(Context *ctx);
uint64_t update_limits(Context *ctx);
uint64_t submit_readings(Context *ctx);
uint64_t clear_epoch(Context *ctx);

#endif
