"""Build the Oracle program: ``python -m anchor.build``.

Compiles every ``programs/oracle/src/*.c`` with Debian's clang to BPF objects, links them
with our linker (:mod:`anchor.sbpf_link`) into ``target/deploy/oracle.so``, records the
compiler in ``oracle.so.clang-version`` and writes the IDL to ``target/idl/oracle.json``
(Anchor 0.30+ format) and ``target/idl/oracle.legacy.json`` (pre-0.30).
The output depends only on the sources and the compiler: the same clang gives the same
bytes. ``--check`` builds in memory and compares with the committed files instead.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from anchor import artifacts
from anchor.abi import header_problems
from anchor.idl import idl_json, legacy_idl_json
from anchor.sbpf_link import LinkError, link

CLANG_FLAGS = (
    "-target", "bpf",
    "-mcpu=v2",  # v3 emits 32-bit jumps the SBPFv0 loader rejects
    "-O2",
    "-fno-builtin",
    "-ffreestanding",
    "-nostdlib",
    "-fno-common",
    "-fno-stack-protector",
    "-fno-jump-tables",
    "-fno-unwind-tables",
    "-fno-asynchronous-unwind-tables",
    "-Wall",
    "-Wextra",
)  # fmt: skip

CLANG_CANDIDATES = ("clang-14", "clang", "clang-19", "clang-18", "clang-17", "clang-16", "clang-15")


class BuildError(Exception):
    """The program cannot be built (no compiler, a compile error, a link error)."""


@dataclass(frozen=True)
class Build:
    """The products of one build."""

    program: bytes
    clang_version: str  # first line of `clang --version`
    idl: str  # Anchor 0.30+ format
    legacy_idl: str  # pre-0.30 format (anchorpy, Anchor TS 0.29)

    @property
    def clang_major(self) -> int:
        """The compiler's major version."""
        return clang_major(self.clang_version)


def clang_major(version_line: str) -> int:
    """14 for "Debian clang version 14.0.6"."""
    m = re.search(r"clang version (\d+)", version_line)
    if m is None:
        raise BuildError(f"cannot read a clang version from {version_line!r}")
    return int(m.group(1))


def find_clang(explicit: str | None = None) -> str | None:
    """The clang to use: the one named, else $CLANG, else the first of CLANG_CANDIDATES."""
    explicit = explicit or os.environ.get("CLANG")
    if explicit:
        return shutil.which(explicit) or (explicit if Path(explicit).is_file() else None)
    for name in CLANG_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def clang_version(clang: str) -> str:
    """The first line of ``clang --version``."""
    out = subprocess.run(  # noqa: S603 (the compiler the user chose)
        [clang, "--version"], capture_output=True, text=True, check=True
    )
    return out.stdout.splitlines()[0].strip()


def compile_sources(clang: str, source_dir: Path = artifacts.SOURCE_DIR) -> list[bytes]:
    """Compile each .c file (sorted by name) to a BPF object; return the objects' bytes."""
    sources = sorted(p.name for p in source_dir.glob("*.c"))
    if not sources:
        raise BuildError(f"no C sources in {source_dir}")
    objects: list[bytes] = []
    with tempfile.TemporaryDirectory(prefix="gridmirror-oracle-") as tmp:
        for name in sources:
            out = Path(tmp) / (name[:-2] + ".o")
            # Relative names from the source directory: no path reaches the object.
            result = subprocess.run(  # noqa: S603 (the compiler the user chose)
                [clang, *CLANG_FLAGS, "-c", name, "-o", str(out)],
                cwd=source_dir,
                capture_output=True,
                text=True,
            )
            if result.returncode != 0:
                raise BuildError(f"clang failed on {name}:\n{result.stderr.strip()}")
            if result.stderr.strip():
                print(result.stderr.strip(), file=sys.stderr)
            objects.append(out.read_bytes())
    return objects


def build(clang: str | None = None, source_dir: Path = artifacts.SOURCE_DIR) -> Build:
    """Compile and link the program and render the IDL, writing nothing."""
    problems = header_problems((source_dir / "oracle.h").read_text())
    if problems:
        raise BuildError("oracle.h disagrees with anchor/abi.py: " + "; ".join(problems))
    compiler = find_clang(clang)
    if compiler is None:
        raise BuildError("no clang found: apt-get install clang llvm (or pass --clang)")
    version = clang_version(compiler)
    objects = compile_sources(compiler, source_dir)
    try:
        linked = link(objects)
    except LinkError as exc:
        raise BuildError(f"link failed: {exc}") from exc
    return Build(
        program=linked.elf,
        clang_version=version,
        idl=idl_json(),
        legacy_idl=legacy_idl_json(),
    )


def legacy_path(idl_path: Path) -> Path:
    """Where the legacy IDL goes beside the current one: oracle.json -> oracle.legacy.json."""
    return idl_path.with_name(idl_path.stem + ".legacy" + idl_path.suffix)


def write(result: Build, deploy_dir: Path, idl_path: Path) -> None:
    """Write oracle.so, its clang-version file and both IDLs."""
    deploy_dir.mkdir(parents=True, exist_ok=True)
    idl_path.parent.mkdir(parents=True, exist_ok=True)
    (deploy_dir / "oracle.so").write_bytes(result.program)
    (deploy_dir / "oracle.so.clang-version").write_text(result.clang_version + "\n")
    idl_path.write_text(result.idl)
    legacy_path(idl_path).write_text(result.legacy_idl)


def differences(result: Build) -> list[str]:
    """How a fresh build differs from the committed files (empty when identical)."""
    found: list[str] = []
    committed_version = artifacts.CLANG_VERSION.read_text().strip()
    if result.idl != artifacts.IDL_PATH.read_text():
        found.append("the IDL differs from anchor/target/idl/oracle.json")
    if result.legacy_idl != artifacts.LEGACY_IDL_PATH.read_text():
        found.append("the legacy IDL differs from anchor/target/idl/oracle.legacy.json")
    same_major = clang_major(committed_version) == result.clang_major
    if same_major and result.program != artifacts.program_bytes():
        found.append(
            f"oracle.so differs from the committed build with the same clang major "
            f"({result.clang_version!r} vs {committed_version!r})"
        )
    return found


def main(argv: list[str] | None = None) -> int:
    """Command line: build (default) or --check against the committed files."""
    parser = argparse.ArgumentParser(prog="python -m anchor.build", description=__doc__)
    parser.add_argument("--clang", help="the clang to use (default: $CLANG, clang-14, clang)")
    parser.add_argument("--check", action="store_true", help="compare, write nothing")
    parser.add_argument(
        "--out-dir",
        type=Path,
        help="write oracle.so and oracle.json here instead of anchor/target",
    )
    args = parser.parse_args(argv)
    try:
        result = build(args.clang)
    except BuildError as exc:
        print(f"anchor.build: {exc}", file=sys.stderr)
        return 1
    if args.check:
        diffs = differences(result)
        for d in diffs:
            print(f"anchor.build: {d}", file=sys.stderr)
        if not diffs:
            print(f"anchor.build: up to date ({len(result.program)} bytes, {result.clang_version})")
        return 1 if diffs else 0
    if args.out_dir is not None:
        write(result, args.out_dir, args.out_dir / "oracle.json")
        target = args.out_dir
    else:
        write(result, artifacts.DEPLOY_DIR, artifacts.IDL_PATH)
        target = artifacts.DEPLOY_DIR
    print(f"anchor.build: wrote {target / 'oracle.so'} ({len(result.program)} bytes, "
          f"{result.clang_version})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
