"""The sBPF linker: layout, relocations, refusals, and programs that really run."""

from __future__ import annotations

import itertools
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.transaction import Transaction

from anchor.build import CLANG_FLAGS, find_clang
from anchor.sbpf_link import (
    MM_PROGRAM_START,
    R_BPF_64_32,
    R_BPF_64_64,
    R_BPF_64_ABS32,
    R_BPF_64_ABS64,
    STB_LOCAL,
    STT_NOTYPE,
    LinkError,
    link,
    read_shared_object,
    verify,
)
from tests.anchor.elf_objects import (
    DATA,
    EXIT,
    RODATA,
    ObjectBuilder,
    call,
    insn,
    lddw,
    mov64_imm,
)
from tests.conftest import require


def run(elf: bytes, data: bytes = b"") -> tuple[int | None, list[str]]:
    """Deploy elf in LiteSVM, invoke it; (custom error code or None, logs)."""
    svm = LiteSVM()
    program_id = Pubkey.new_unique()
    svm.add_program(program_id, elf)
    payer = Keypair()
    svm.airdrop(payer.pubkey(), 10**9)
    tx = Transaction(
        [payer],
        Message([Instruction(program_id, data, [])], payer.pubkey()),
        svm.latest_blockhash(),
    )
    out = svm.send_transaction(tx)
    if hasattr(out, "err"):
        err = out.err()
        return int(err.err.code), list(out.meta().logs())
    return None, list(out.logs())


def returns(value: int) -> ObjectBuilder:
    """An object whose entrypoint returns value."""
    o = ObjectBuilder()
    text = o.section(".text", mov64_imm(0, value) + EXIT)
    o.symbol("entrypoint", text, 0)
    return o


# --------------------------------------------------------------------------- layout


def test_minimal_program_layout_and_it_runs() -> None:
    program = link([returns(42).build()])
    elf = program.elf
    assert elf[:4] == b"\x7fELF"
    e_type, e_machine = struct.unpack_from("<HH", elf, 16)
    assert (e_type, e_machine) == (3, 247)  # ET_DYN, EM_BPF
    assert struct.unpack_from("<I", elf, 48)[0] == 0  # e_flags 0: SBPFv0
    so = read_shared_object(elf)
    # no syscalls: no relocation table (the loader refuses an empty one)
    assert list(so.sections) == [".text", ".dynamic", ".dynsym", ".dynstr", ".shstrtab"]
    assert so.entry == program.text_offset
    assert run(elf)[0] == 42


def test_sections_are_in_file_order_without_overlap_and_addresses_equal_offsets() -> None:
    o = ObjectBuilder()
    text = o.section(".text", call() + mov64_imm(0, 0) + EXIT)
    o.symbol("entrypoint", text, 0)
    o.reloc(text, 0, R_BPF_64_32, o.symbol("sol_log_compute_units_", -1))
    o.section(".rodata.str1.1", b"hello\0", RODATA, align=1)
    o.section(".rodata.cst16", bytes(range(16)), RODATA, align=16)
    elf = link([o.build()]).elf
    so = read_shared_object(elf)
    names = list(so.sections)
    assert names == [".text", ".rodata", ".dynamic", ".dynsym", ".dynstr", ".rel.dyn", ".shstrtab"]
    spans = sorted((off, off + size) for _, _, off, size in so.sections.values())
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    ro_off = so.sections[".rodata"][2]
    assert ro_off % 16 == 0
    ro = elf[ro_off : ro_off + so.sections[".rodata"][3]]
    assert b"hello\0" in ro and bytes(range(16)) in ro
    # the 16-aligned constant lands on a 16-byte boundary
    assert (ro_off + ro.index(bytes(range(16)))) % 16 == 0


def test_program_headers_cover_text_and_read_only_data() -> None:
    o = returns(0)
    o.section(".rodata", b"x" * 24, RODATA)
    elf = link([o.build()]).elf
    phnum = struct.unpack_from("<H", elf, 56)[0]
    headers = [struct.unpack_from("<IIQQQQQQ", elf, 64 + 56 * i) for i in range(phnum)]
    so = read_shared_object(elf)
    text_off, text_size = so.sections[".text"][2:]
    ro_off = so.sections[".rodata"][2]
    pt_load = [h for h in headers if h[0] == 1]
    assert pt_load[0][1] == 5 and pt_load[0][2] == text_off and pt_load[0][5] == text_size
    assert pt_load[1][1] == 4 and pt_load[1][2] == ro_off
    assert next(h for h in headers if h[0] == 2)[2] == so.sections[".dynamic"][2]


def test_the_same_objects_link_to_the_same_bytes() -> None:
    obj = returns(7).build()
    assert link([obj]).elf == link([obj]).elf


# --------------------------------------------------------------------------- relocations


def test_lddw_gets_the_vm_address_of_rodata_plus_addend() -> None:
    o = ObjectBuilder()
    code = lddw(1, 5) + insn(0x71, 0, 1) + EXIT  # r1 = &rodata + 5; r0 = *(u8 *)r1
    text = o.section(".text", code)
    ro = o.section(".rodata", b"abcde\x2a", RODATA)
    o.symbol("entrypoint", text, 0)
    o.reloc(text, 0, R_BPF_64_64, o.section_symbol(ro))
    program = link([o.build()])
    so = read_shared_object(program.elf)
    lo, hi = struct.unpack_from("<I", so.text, 4)[0], struct.unpack_from("<I", so.text, 12)[0]
    assert (hi << 32) | lo == MM_PROGRAM_START + program.rodata_offset + 5
    assert run(program.elf)[0] == 0x2A  # the loaded byte is the program's return value


def test_abs64_in_rodata_points_at_its_target() -> None:
    o = ObjectBuilder()
    # r1 = &table; r1 = *(u64 *)r1 (a pointer to the string); r0 = *(u8 *)r1
    code = lddw(1) + insn(0x79, 1, 1) + insn(0x71, 0, 1) + EXIT
    text = o.section(".text", code)
    strings = o.section(".rodata.str1.1", b"zz\x07", RODATA, align=1)
    table = o.section(".rodata", struct.pack("<Q", 2), RODATA)  # implicit addend 2
    o.symbol("entrypoint", text, 0)
    o.reloc(text, 0, R_BPF_64_64, o.section_symbol(table))
    o.reloc(table, 0, R_BPF_64_ABS64, o.section_symbol(strings))
    assert run(link([o.build()]).elf)[0] == 7


def test_calls_between_objects_are_pc_relative() -> None:
    a = ObjectBuilder()
    a_text = a.section(".text", mov64_imm(1, 20) + call() + EXIT)
    a.symbol("entrypoint", a_text, 0)
    callee_ref = a.symbol("add_one", -1)
    a.reloc(a_text, 8, R_BPF_64_32, callee_ref)
    b = ObjectBuilder()
    b_text = b.section(".text", mov64_imm(0, 0) + insn(0x0F, 0, 1) + insn(0x07, 0, imm=1) + EXIT)
    b.symbol("add_one", b_text, 0)
    program = link([a.build(), b.build()])
    so = read_shared_object(program.elf)
    imm = struct.unpack_from("<i", so.text, 12)[0]
    assert imm == (24 - 16) // 8  # add_one starts at text+24; the call is at text+8
    assert so.text[9] >> 4 == 1  # a program call keeps src 1
    assert run(program.elf)[0] == 21


def test_call_through_a_section_symbol_uses_the_addend_in_the_immediate() -> None:
    o = ObjectBuilder()
    text = o.section(".text", call() + EXIT)
    helper = o.section(".text.helper", mov64_imm(0, 99) + EXIT + mov64_imm(0, 5) + EXIT)
    o.symbol("entrypoint", text, 0)
    # call the second function of .text.helper: imm = offset/8 - 1 = 1
    o.sections[text].data = call(imm=1) + EXIT
    o.reloc(text, 0, R_BPF_64_32, o.section_symbol(helper))
    assert run(link([o.build()]).elf)[0] == 5


def test_syscalls_become_dynamic_relocations() -> None:
    o = ObjectBuilder()
    code = lddw(1) + mov64_imm(2, 2) + call() + mov64_imm(0, 0) + EXIT
    text = o.section(".text", code)
    ro = o.section(".rodata", b"hi", RODATA)
    o.symbol("entrypoint", text, 0)
    o.reloc(text, 0, R_BPF_64_64, o.section_symbol(ro))
    o.reloc(text, 24, R_BPF_64_32, o.symbol("sol_log_", -1))
    program = link([o.build()])
    so = read_shared_object(program.elf)
    site = program.text_offset + 24
    assert so.syscall_relocations == {site: "sol_log_"}
    assert struct.unpack_from("<i", so.text, 28)[0] == -1
    assert so.text[25] >> 4 == 0  # src 0 marks a syscall
    err, logs = run(program.elf)
    assert err is None and "Program log: hi" in logs


def test_unused_sections_and_their_relocations_are_dropped() -> None:
    o = returns(3)
    debug = o.section(".debug_info", b"\0" * 16, 0)
    o.reloc(debug, 0, R_BPF_64_ABS32, o.symbol("whatever", -1))
    program = link([o.build()])
    assert b".debug" not in program.elf
    assert run(program.elf)[0] == 3


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("name", "flags", "nobits"),
    [(".data", DATA, False), (".bss", DATA, True), (".data.counter", DATA, False)],
)
def test_writable_data_is_refused(name: str, flags: int, nobits: bool) -> None:
    o = returns(0)
    o.section(name, b"\0" * 8, flags, nobits=nobits)
    with pytest.raises(LinkError, match="writable"):
        link([o.build()])


def test_an_allocated_section_of_another_kind_is_refused() -> None:
    o = returns(0)
    o.section(".init_array", b"\0" * 8, DATA)
    o.sections[-1].nobits = False
    built = bytearray(o.build())
    # retype the .init_array section header (SHT_INIT_ARRAY = 14)
    shoff = int.from_bytes(built[40:48], "little")
    index = 2  # null, .text, .init_array
    built[shoff + 64 * index + 4 : shoff + 64 * index + 8] = (14).to_bytes(4, "little")
    with pytest.raises(LinkError, match=r"allocated section \.init_array of type 14"):
        link([bytes(built)])


def test_a_call_to_an_unknown_function_is_refused() -> None:
    o = ObjectBuilder()
    text = o.section(".text", call() + EXIT)
    o.symbol("entrypoint", text, 0)
    o.reloc(text, 0, R_BPF_64_32, o.symbol("sol_log", -1))  # a typo of sol_log_
    with pytest.raises(LinkError, match="undefined function 'sol_log'"):
        link([o.build()])


def test_a_syscall_the_deployer_refuses_is_refused() -> None:
    o = ObjectBuilder()
    text = o.section(".text", call() + EXIT)
    o.symbol("entrypoint", text, 0)
    o.reloc(text, 0, R_BPF_64_32, o.symbol("sol_alloc_free_", -1))
    with pytest.raises(LinkError, match="sol_alloc_free_"):
        link([o.build()])


def test_a_reference_to_undefined_data_is_refused() -> None:
    o = ObjectBuilder()
    text = o.section(".text", lddw(1) + EXIT)
    o.symbol("entrypoint", text, 0)
    o.reloc(text, 0, R_BPF_64_64, o.symbol("table", -1, type=STT_NOTYPE))
    with pytest.raises(LinkError, match="undefined symbol 'table'"):
        link([o.build()])


def test_a_symbol_defined_twice_is_refused() -> None:
    with pytest.raises(LinkError, match="defined twice"):
        link([returns(1).build(), returns(2).build()])


def test_a_missing_entrypoint_is_refused() -> None:
    o = ObjectBuilder()
    text = o.section(".text", EXIT)
    o.symbol("main", text, 0)
    with pytest.raises(LinkError, match="no entry point"):
        link([o.build()])


def test_an_entrypoint_that_is_data_is_refused() -> None:
    o = ObjectBuilder()
    o.section(".text", EXIT)
    ro = o.section(".rodata", b"\0" * 8, RODATA)
    o.symbol("entrypoint", ro, 0, type=1)  # STT_OBJECT
    with pytest.raises(LinkError, match="not a function"):
        link([o.build()])


def test_relocation_types_the_loader_cannot_take_are_refused() -> None:
    o = returns(0)
    ro = o.section(".rodata", b"\0" * 8, RODATA)
    o.reloc(ro, 0, R_BPF_64_ABS32, o.section_symbol(0))
    with pytest.raises(LinkError, match="32-bit absolute"):
        link([o.build()])
    o = returns(0)
    o.reloc(0, 0, 7, o.section_symbol(0))
    with pytest.raises(LinkError, match="unsupported relocation type 7"):
        link([o.build()])


def test_a_call_relocation_on_something_else_is_refused() -> None:
    o = returns(0)
    o.reloc(0, 0, R_BPF_64_32, o.symbol("sol_log_", -1))  # at the mov, not a call
    with pytest.raises(LinkError, match="is not a call"):
        link([o.build()])


def test_a_local_symbol_does_not_satisfy_another_objects_reference() -> None:
    a = ObjectBuilder()
    a_text = a.section(".text", call() + EXIT)
    a.symbol("entrypoint", a_text, 0)
    a.reloc(a_text, 0, R_BPF_64_32, a.symbol("helper", -1))
    b = ObjectBuilder()
    b_text = b.section(".text", EXIT)
    b.symbol("helper", b_text, 0, bind=STB_LOCAL)
    with pytest.raises(LinkError, match="undefined function 'helper'"):
        link([a.build(), b.build()])


def test_verify_catches_an_unresolved_call_and_a_wild_call() -> None:
    good = link([returns(0).build()]).elf
    so = read_shared_object(good)
    unresolved = bytearray(good)
    unresolved[so.text_offset : so.text_offset + 8] = call(-1, src=0)
    with pytest.raises(LinkError, match="unresolved function"):
        verify(bytes(unresolved))
    wild = bytearray(good)
    wild[so.text_offset : so.text_offset + 8] = call(1000)
    with pytest.raises(LinkError, match=r"outside \.text"):
        verify(bytes(wild))


def test_not_an_object_is_refused() -> None:
    with pytest.raises(LinkError, match="not an ELF"):
        link([b"hello"])
    elf = link([returns(0).build()]).elf  # a shared object, not a relocatable one
    with pytest.raises(LinkError, match="not a relocatable object"):
        link([elf])


# --------------------------------------------------------------------------- with clang

C_MAIN = r"""
typedef unsigned long long u64;
extern void sol_log_(const char *, u64);
u64 square(u64 x);
u64 twice(u64 x);
struct entry { u64 (*f)(u64); const char *name; };
static const struct entry TABLE[2] = {{square, "square"}, {twice, "twice"}};
u64 entrypoint(const unsigned char *input) {
    (void)input;
    u64 total = 0;
    for (int i = 0; i < 2; i++) {
        sol_log_(TABLE[i].name, i == 0 ? 6 : 5);
        total += TABLE[i].f(5);
    }
    return total;  /* 25 + 10 */
}
"""

C_LIB = r"""
typedef unsigned long long u64;
static const u64 K[4] = {0, 1, 2, 3};
__attribute__((noinline)) u64 square(u64 x) { return x * x + K[0]; }
__attribute__((noinline)) u64 twice(u64 x) { return x * K[2]; }
"""


@pytest.mark.clang
def test_clang_objects_link_and_run(tmp_path: Path) -> None:
    clang = find_clang()
    require(clang is not None, "Debian's clang (apt-get install clang llvm)")
    assert clang is not None
    objects = []
    for name, source in (("main.c", C_MAIN), ("lib.c", C_LIB)):
        (tmp_path / name).write_text(source)
        subprocess.run(
            [clang, *CLANG_FLAGS, "-c", name, "-o", name + ".o"], cwd=tmp_path, check=True
        )
        objects.append((tmp_path / (name + ".o")).read_bytes())
    program = link(objects)
    err, logs = run(program.elf)
    assert err == 35
    assert "Program log: square" in logs and "Program log: twice" in logs
    if shutil.which("llvm-readelf"):
        out = subprocess.run(
            ["llvm-readelf", "-h", "-S", "--dyn-syms", "-"],
            input=program.elf,
            capture_output=True,
            check=True,
        ).stdout.decode()
        assert "sol_log_" in out and "DYN (Shared object file)" in out
