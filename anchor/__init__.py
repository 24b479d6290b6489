"""The Oracle program on Solana: C source, our sBPF linker, the build, the IDL, the ABI.

Layout (Anchor's workspace shape): ``programs/oracle/src/*.c`` is the program,
``target/deploy/oracle.so`` the committed build (``oracle.so.clang-version`` names its
compiler, ``oracle-keypair.json`` fixes its address), ``target/idl/oracle.json`` the IDL
(Anchor 0.30+; ``oracle.legacy.json`` beside it in the pre-0.30 format).
``python -m anchor.build`` rebuilds the products from source.

For clients (pure, no IO): :mod:`anchor.abi` (program id, discriminators, error and
status codes), :mod:`anchor.pda`, :mod:`anchor.instructions` (encoders and instruction
builders), :mod:`anchor.accounts` and :mod:`anchor.events` (decoders),
:mod:`anchor.merkle` (the batch Merkle tree and proofs). :mod:`anchor.testbed` runs the
program in LiteSVM for tests and benchmarks. docs/chain-abi.md documents the ABI.
"""
