// Drives a served gridmirror chain with the stock Solana JS clients from npm, as a dapp
// would: @solana/web3.js v1, @solana/spl-token, and @coral-xyz/anchor of both majors
// (0.29 reading the legacy IDL, 0.32 reading the 0.30+ one).
//
// usage: node stock_clients.cjs RPC_URL ADMIN_KEY_JSON IDL_JSON LEGACY_IDL_JSON
// The admin key is the program's upgrade authority (the only key that may initialize).
// Prints one JSON document on stdout: what each client saw, for tests/oracle/chain/
// test_js_clients.py to check against the chain as Python reads it. Exits non-zero on
// any failure, with the error on stderr.
"use strict";

const fs = require("fs");
const web3 = require("@solana/web3.js");
const spl = require("@solana/spl-token");
const anchor29 = require("anchor-029");
const anchor32 = require("anchor-032");

const [url, adminPath, idlPath, legacyIdlPath] = process.argv.slice(2);
const COMMITMENT = "confirmed";
// A notification that never comes fails the run instead of hanging it.
const NOTIFY_TIMEOUT_MS = 20000;

function readKeypair(path) {
  return web3.Keypair.fromSecretKey(Uint8Array.from(JSON.parse(fs.readFileSync(path, "utf8"))));
}

function withTimeout(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${NOTIFY_TIMEOUT_MS} ms`)), NOTIFY_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// BN, PublicKey, byte arrays and Buffers as JSON-friendly values.
function plain(value) {
  if (value === null || value === undefined) return value;
  if (value instanceof web3.PublicKey) return value.toBase58();
  if (typeof value.toArrayLike === "function" && typeof value.toString === "function") return value.toString(10);
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return Array.from(value);
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === "bigint") return value.toString(10);
  if (typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

async function events(connection, anchor, program, signature) {
  const tx = await connection.getTransaction(signature, {
    commitment: COMMITMENT,
    maxSupportedTransactionVersion: 0,
  });
  if (!tx || !tx.meta) throw new Error(`getTransaction(${signature}) found nothing`);
  const parser = new anchor.EventParser(program.programId, new anchor.BorshCoder(program.idl));
  return { slot: tx.slot, events: Array.from(parser.parseLogs(tx.meta.logMessages)).map(plain) };
}

async function web3Part(connection, out) {
  out.version = await connection.getVersion();
  out.blockHeight = await connection.getBlockHeight();
  out.epochInfo = plain(await connection.getEpochInfo());

  const payer = web3.Keypair.generate();
  const recipient = web3.Keypair.generate().publicKey;
  const airdrop = await connection.requestAirdrop(payer.publicKey, 2 * web3.LAMPORTS_PER_SOL);
  const latest = await connection.getLatestBlockhash(COMMITMENT);
  await connection.confirmTransaction({ signature: airdrop, ...latest }, COMMITMENT);

  // Websocket notifications, subscribed before the transfer they report.
  const accountSeen = new Promise((resolve) => {
    const id = connection.onAccountChange(
      recipient,
      (info, context) => {
        connection.removeAccountChangeListener(id);
        resolve({ lamports: info.lamports, slot: context.slot });
      },
      { commitment: COMMITMENT },
    );
  });
  const slotSeen = new Promise((resolve) => {
    const id = connection.onSlotChange((info) => {
      connection.removeSlotChangeListener(id);
      resolve(info.slot);
    });
  });
  // The server answers one connection's subscribes in order: once a slot is notified, the
  // account subscription made before it is in place, and the transfer cannot outrun it.
  const slotNotified = await withTimeout(slotSeen, "slotNotification");
  const lamports = 1234567;
  const transfer = new web3.Transaction().add(
    web3.SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: recipient, lamports }),
  );
  const signature = await web3.sendAndConfirmTransaction(connection, transfer, [payer], {
    commitment: COMMITMENT,
  });
  out.transfer = {
    signature,
    recipient: recipient.toBase58(),
    lamports,
    balance: await connection.getBalance(recipient, COMMITMENT),
    notified: await withTimeout(accountSeen, "accountNotification"),
    slotNotified,
    signatures: (await connection.getSignaturesForAddress(recipient)).map((s) => s.signature),
  };
  return payer;
}

async function tokenPart(connection, payer, out) {
  const owner = web3.Keypair.generate().publicKey;
  const mint = await spl.createMint(connection, payer, payer.publicKey, null, 3);
  const ata = await spl.getOrCreateAssociatedTokenAccount(connection, payer, mint, owner);
  const amount = 4321n;
  await spl.mintTo(connection, payer, mint, ata.address, payer, amount);
  const account = await spl.getAccount(connection, ata.address, COMMITMENT);
  const info = await spl.getMint(connection, mint, COMMITMENT);
  const byOwner = await connection.getTokenAccountsByOwner(owner, { mint });
  out.token = {
    mint: mint.toBase58(),
    owner: owner.toBase58(),
    account: ata.address.toBase58(),
    minted: amount.toString(),
    amount: account.amount.toString(),
    supply: info.supply.toString(),
    decimals: info.decimals,
    tokenSupply: (await connection.getTokenSupply(mint)).value,
    balance: (await connection.getTokenAccountBalance(ata.address)).value,
    byOwner: byOwner.value.map((a) => a.pubkey.toBase58()),
  };
}

async function oraclePart(connection, admin, out) {
  const idl = JSON.parse(fs.readFileSync(idlPath, "utf8"));
  const legacyIdl = JSON.parse(fs.readFileSync(legacyIdlPath, "utf8"));
  const programId = new web3.PublicKey(idl.address);
  const pda = (...seeds) => web3.PublicKey.findProgramAddressSync(seeds, programId)[0];
  const config = pda(Buffer.from("config"));
  const mintAuthority = pda(Buffer.from("mint_authority"));
  const [programData] = web3.PublicKey.findProgramAddressSync(
    [programId.toBuffer()],
    new web3.PublicKey("BPFLoaderUpgradeab1e11111111111111111111111"),
  );
  const airdrop = await connection.requestAirdrop(admin.publicKey, 10 * web3.LAMPORTS_PER_SOL);
  await connection.confirmTransaction({ signature: airdrop, ...(await connection.getLatestBlockhash()) });

  // 0.32 reads the 0.30+ IDL (address inside); 0.29 the legacy one (address given).
  const provider32 = new anchor32.AnchorProvider(connection, new anchor32.Wallet(admin), {
    commitment: COMMITMENT,
  });
  const program32 = new anchor32.Program(idl, provider32);
  const provider29 = new anchor29.AnchorProvider(connection, new anchor29.Wallet(admin), {
    commitment: COMMITMENT,
  });
  const program29 = new anchor29.Program(legacyIdl, programId, provider29);

  // The energy mint, as initialize wants it: 3 decimals, the PDA mints, no freeze authority.
  const mint = await spl.createMint(connection, admin, mintAuthority, null, 3);
  const gateway = web3.Keypair.generate();
  const limits = { clearingIntervalS: 900, maxFutureSkewS: 60, maxRatedPowerW: 100000, maxBaselineAgeS: 3600 };
  const initialize = await program32.methods
    .initialize(
      gateway.publicKey,
      new anchor32.BN(limits.clearingIntervalS),
      new anchor32.BN(limits.maxFutureSkewS),
      new anchor32.BN(limits.maxRatedPowerW),
      new anchor32.BN(limits.maxBaselineAgeS),
    )
    .accountsPartial({
      admin: admin.publicKey,
      config,
      mint,
      mintAuthority,
      systemProgram: web3.SystemProgram.programId,
      program: programId,
      programData,
    })
    .rpc();

  // Anchor 0.29, legacy IDL: the admin registers a meter; its event from getTransaction.
  const lfdi = Array.from({ length: 20 }, (_, i) => (i * 13 + 7) & 0xff);
  const meterOwner = web3.Keypair.generate().publicKey;
  const meter = pda(Buffer.from("meter"), Buffer.from(lfdi));
  const ratedPowerW = 5000;
  const register = await program29.methods
    .registerMeter(lfdi, meterOwner, new anchor29.BN(ratedPowerW))
    .accounts({
      authority: admin.publicKey,
      payer: admin.publicKey,
      config,
      meter,
      systemProgram: web3.SystemProgram.programId,
    })
    .rpc();

  // Anchor 0.32: the gateway submits two readings (a baseline, then 10 Wh in / 5 Wh out).
  const now = Math.floor(Date.now() / 1000);
  const readings = [
    { meterIndex: 0, timestamp: now - 40, importWh: 1000, exportWh: 500 },
    { meterIndex: 0, timestamp: now - 10, importWh: 1010, exportWh: 505 },
  ];
  const submit = await program32.methods
    .submitReadings(
      readings.map((r) => ({
        meterIndex: r.meterIndex,
        timestamp: new anchor32.BN(r.timestamp),
        importWh: new anchor32.BN(r.importWh),
        exportWh: new anchor32.BN(r.exportWh),
      })),
    )
    .accountsPartial({ gateway: gateway.publicKey, config })
    .remainingAccounts([{ pubkey: meter, isWritable: true, isSigner: false }])
    .signers([gateway])
    .rpc();

  out.oracle = {
    programId: programId.toBase58(),
    config: config.toBase58(),
    mint: mint.toBase58(),
    gateway: gateway.publicKey.toBase58(),
    limits,
    lfdi,
    meter: meter.toBase58(),
    meterOwner: meterOwner.toBase58(),
    ratedPowerW,
    readings,
    initialize: { signature: initialize },
    register: { signature: register, ...(await events(connection, anchor29, program29, register)) },
    submit: { signature: submit, ...(await events(connection, anchor32, program32, submit)) },
    // Each major decodes both account types.
    config32: plain(await program32.account.config.fetch(config)),
    config29: plain(await program29.account.config.fetch(config)),
    meter32: plain(await program32.account.meter.fetch(meter)),
    meter29: plain(await program29.account.meter.fetch(meter)),
    meters32: (await program32.account.meter.all()).map((m) => m.publicKey.toBase58()),
    meters29: (await program29.account.meter.all()).map((m) => m.publicKey.toBase58()),
  };
}

async function main() {
  const connection = new web3.Connection(url, COMMITMENT); // PubSub: the RPC port + 1
  const out = { node: process.version };
  const payer = await web3Part(connection, out);
  await tokenPart(connection, payer, out);
  await oraclePart(connection, readKeypair(adminPath), out);
  process.stdout.write(JSON.stringify(out) + "\n");
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${err && err.stack ? err.stack : err}\n`);
    if (err && err.logs) process.stderr.write(`logs:\n${err.logs.join("\n")}\n`);
    process.exit(1);
  },
);
