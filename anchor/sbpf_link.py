"""A small static linker for Solana programs: BPF relocatable objects in, an SBPFv0 ELF out.

Debian's ``ld.lld`` cannot link BPF objects for Solana, and Solana's own toolchain cannot be
installed here, so this module turns the ``.o`` files clang emits (``-target bpf``) into
the shared object the Solana loader accepts:

* every executable section is merged into one ``.text``, every other allocated section
  into one ``.rodata``; writable sections (``.data``, ``.bss``) are refused, because the
  SBPFv0 loader cannot map them;
* every reference between the objects is resolved here; the only references left are
  calls to syscalls, each an undefined symbol in ``.dynsym`` with an ``R_BPF_64_32``
  entry in ``.rel.dyn`` that the loader patches with the syscall's hash;
* every section's address equals its file offset, and a byte at file offset ``x`` has the
  VM address ``MM_PROGRAM_START + x``, so absolute addresses are final at link time.

The output is deterministic: it depends only on the bytes of the objects and their order
(no paths, no timestamps, no symbol table of the inputs).
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

# Where the SBPF VM maps the program's ELF.
MM_PROGRAM_START = 0x1_0000_0000

# ELF constants (only those this linker reads or writes).
ELFCLASS64 = 2
ELFDATA2LSB = 1
ET_REL = 1
ET_DYN = 3
EM_BPF = 247
SHT_NULL = 0
SHT_PROGBITS = 1
SHT_SYMTAB = 2
SHT_STRTAB = 3
SHT_NOBITS = 8
SHT_REL = 9
SHT_DYNAMIC = 6
SHT_DYNSYM = 11
SHF_WRITE = 0x1
SHF_ALLOC = 0x2
SHF_EXECINSTR = 0x4
SHN_UNDEF = 0
SHN_ABS = 0xFFF1
SHN_COMMON = 0xFFF2
STB_LOCAL = 0
STB_GLOBAL = 1
STB_WEAK = 2
STT_NOTYPE = 0
STT_FUNC = 2
STT_SECTION = 3
PT_LOAD = 1
PT_DYNAMIC = 2
PF_X = 1
PF_W = 2
PF_R = 4
DT_NULL = 0
DT_STRTAB = 5
DT_SYMTAB = 6
DT_STRSZ = 10
DT_SYMENT = 11
DT_REL = 17
DT_RELSZ = 18
DT_RELENT = 19
DT_TEXTREL = 22
DT_FLAGS = 30
DF_TEXTREL = 0x4

# BPF relocation types (LLVM's numbering).
R_BPF_NONE = 0
R_BPF_64_64 = 1
R_BPF_64_ABS64 = 2
R_BPF_64_ABS32 = 3
R_BPF_64_NODYLD32 = 4
R_BPF_64_32 = 10

# Instruction opcodes the linker looks at.
OP_LDDW = 0x18
OP_CALL = 0x85
INSN_SIZE = 8

EHDR_SIZE = 64
PHDR_SIZE = 56
SHDR_SIZE = 64
SYM_SIZE = 24
REL_SIZE = 16
DYN_SIZE = 16

# The syscalls a deployed program may call (agave's deployment set; sol_alloc_free_ is
# refused at deployment, so it is refused here too).
SYSCALLS: frozenset[str] = frozenset(
    {
        "abort",
        "sol_panic_",
        "sol_log_",
        "sol_log_64_",
        "sol_log_compute_units_",
        "sol_log_pubkey",
        "sol_log_data",
        "sol_create_program_address",
        "sol_try_find_program_address",
        "sol_sha256",
        "sol_keccak256",
        "sol_blake3",
        "sol_secp256k1_recover",
        "sol_poseidon",
        "sol_big_mod_exp",
        "sol_curve_validate_point",
        "sol_curve_group_op",
        "sol_curve_multiscalar_mul",
        "sol_alt_bn128_group_op",
        "sol_alt_bn128_compression",
        "sol_memcpy_",
        "sol_memmove_",
        "sol_memset_",
        "sol_memcmp_",
        "sol_get_clock_sysvar",
        "sol_get_rent_sysvar",
        "sol_get_epoch_schedule_sysvar",
        "sol_get_epoch_rewards_sysvar",
        "sol_get_last_restart_slot",
        "sol_get_sysvar",
        "sol_get_epoch_stake",
        "sol_get_stack_height",
        "sol_get_processed_sibling_instruction",
        "sol_remaining_compute_units",
        "sol_invoke_signed_c",
        "sol_invoke_signed_rust",
        "sol_set_return_data",
        "sol_get_return_data",
    }
)


class LinkError(Exception):
    """The objects cannot be linked into a program the Solana loader accepts."""


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Section:
    """One section header of an input object, with its bytes."""

    index: int
    name: str
    type: int
    flags: int
    data: bytes
    align: int
    link: int
    info: int


@dataclass(frozen=True)
class Symbol:
    """One entry of an input object's symbol table."""

    name: str
    value: int
    size: int
    bind: int
    type: int
    shndx: int


@dataclass(frozen=True)
class Relocation:
    """One REL entry: where, which type, against which symbol."""

    offset: int
    type: int
    symbol: int


@dataclass
class ObjectFile:
    """A parsed BPF relocatable object."""

    name: str
    sections: list[Section]
    symbols: list[Symbol]
    # target section index -> relocations applied to it
    relocations: dict[int, list[Relocation]] = field(default_factory=dict)


def _cstr(table: bytes, offset: int) -> str:
    end = table.find(b"\0", offset)
    if end < 0:
        raise LinkError("string table entry is not terminated")
    return table[offset:end].decode("ascii", "replace")


def parse_object(data: bytes, name: str = "<object>") -> ObjectFile:
    """Parse an ELF64 little-endian BPF relocatable object (what ``clang -c`` emits)."""
    if len(data) < EHDR_SIZE or data[:4] != b"\x7fELF":
        raise LinkError(f"{name}: not an ELF file")
    if data[4] != ELFCLASS64 or data[5] != ELFDATA2LSB:
        raise LinkError(f"{name}: not a 64-bit little-endian ELF")
    e_type, e_machine = struct.unpack_from("<HH", data, 16)
    if e_type != ET_REL:
        raise LinkError(f"{name}: not a relocatable object (e_type {e_type})")
    if e_machine != EM_BPF:
        raise LinkError(f"{name}: not a BPF object (e_machine {e_machine})")
    e_shoff = struct.unpack_from("<Q", data, 40)[0]
    e_shentsize, e_shnum, e_shstrndx = struct.unpack_from("<HHH", data, 58)
    if e_shentsize != SHDR_SIZE or e_shoff + e_shnum * SHDR_SIZE > len(data):
        raise LinkError(f"{name}: bad section header table")

    raw: list[tuple[int, int, int, int, int, int, int, int, int]] = []
    for i in range(e_shnum):
        (sh_name, sh_type, sh_flags, _addr, sh_offset, sh_size, sh_link, sh_info, sh_align, _es) = (
            struct.unpack_from("<IIQQQQIIQQ", data, e_shoff + i * SHDR_SIZE)
        )
        if sh_type != SHT_NOBITS and sh_offset + sh_size > len(data):
            raise LinkError(f"{name}: section {i} lies outside the file")
        raw.append((sh_name, sh_type, sh_flags, sh_offset, sh_size, sh_link, sh_info, sh_align, i))
    shstr_off, shstr_size = raw[e_shstrndx][3], raw[e_shstrndx][4]
    shstrtab = data[shstr_off : shstr_off + shstr_size]

    sections: list[Section] = []
    for sh_name, sh_type, sh_flags, sh_offset, sh_size, sh_link, sh_info, sh_align, i in raw:
        body = b"\0" * sh_size if sh_type == SHT_NOBITS else data[sh_offset : sh_offset + sh_size]
        sections.append(
            Section(
                index=i,
                name=_cstr(shstrtab, sh_name),
                type=sh_type,
                flags=sh_flags,
                data=body,
                align=max(sh_align, 1),
                link=sh_link,
                info=sh_info,
            )
        )

    symtabs = [s for s in sections if s.type == SHT_SYMTAB]
    if len(symtabs) != 1:
        raise LinkError(f"{name}: expected one symbol table, found {len(symtabs)}")
    symtab = symtabs[0]
    strtab = sections[symtab.link].data
    symbols: list[Symbol] = []
    for off in range(0, len(symtab.data), SYM_SIZE):
        st_name, st_info, _other, st_shndx, st_value, st_size = struct.unpack_from(
            "<IBBHQQ", symtab.data, off
        )
        symbols.append(
            Symbol(
                name=_cstr(strtab, st_name),
                value=st_value,
                size=st_size,
                bind=st_info >> 4,
                type=st_info & 0xF,
                shndx=st_shndx,
            )
        )

    obj = ObjectFile(name=name, sections=sections, symbols=symbols)
    for sec in sections:
        if sec.type != SHT_REL:
            continue
        if sec.link != symtab.index:
            raise LinkError(f"{name}: {sec.name} refers to another symbol table")
        relocs = obj.relocations.setdefault(sec.info, [])
        for off in range(0, len(sec.data), REL_SIZE):
            r_offset, r_info = struct.unpack_from("<QQ", sec.data, off)
            relocs.append(Relocation(r_offset, r_info & 0xFFFFFFFF, r_info >> 32))
    return obj


# --------------------------------------------------------------------------- linking


def _align(value: int, alignment: int) -> int:
    return (value + alignment - 1) // alignment * alignment


@dataclass(frozen=True)
class _Placed:
    """Where an input section landed: in which output section, at which file offset."""

    output: str  # ".text" or ".rodata"
    offset: int  # file offset (== address) of the section's first byte


@dataclass
class LinkedProgram:
    """The linker's result: the ELF bytes and a few facts about them."""

    elf: bytes
    text_offset: int
    text_size: int
    rodata_offset: int
    rodata_size: int
    entry: int
    syscalls: list[str]


def _is_allocated(sec: Section, obj: ObjectFile) -> bool:
    if not sec.flags & SHF_ALLOC:
        return False
    if sec.type not in (SHT_PROGBITS, SHT_NOBITS):
        # e.g. .init_array: nothing runs constructors in a Solana program
        raise LinkError(f"{obj.name}: allocated section {sec.name} of type {sec.type}")
    return True


def link(
    objects: Sequence[bytes | ObjectFile],
    *,
    entry: str = "entrypoint",
    syscalls: Iterable[str] = SYSCALLS,
) -> LinkedProgram:
    """Link BPF relocatable objects into an SBPFv0 shared object for the Solana loader.

    Raises LinkError for anything the loader would reject or the program could not run:
    writable data, a reference to an unknown symbol, a symbol defined twice, a missing
    or misplaced entry point, an unsupported relocation.
    """
    objs = [
        o if isinstance(o, ObjectFile) else parse_object(o, f"object {i}")
        for i, o in enumerate(objects)
    ]
    allowed_syscalls = frozenset(syscalls)

    # 1. Choose the sections and lay them out: .text first, then .rodata.
    text_secs: list[tuple[int, Section]] = []
    ro_secs: list[tuple[int, Section]] = []
    for oi, obj in enumerate(objs):
        for sec in obj.sections:
            if not _is_allocated(sec, obj):
                continue
            if sec.flags & SHF_WRITE or sec.type == SHT_NOBITS:
                raise LinkError(
                    f"{obj.name}: writable section {sec.name} ({len(sec.data)} bytes): "
                    "SBPFv0 programs cannot have writable globals; use const data or the heap"
                )
            if not sec.data:
                continue
            (text_secs if sec.flags & SHF_EXECINSTR else ro_secs).append((oi, sec))
    if not text_secs:
        raise LinkError("no code: the objects have no executable section")

    headers_end = EHDR_SIZE + 3 * PHDR_SIZE
    placed: dict[tuple[int, int], _Placed] = {}
    cursor = _align(headers_end, INSN_SIZE)
    text_offset = cursor
    text = bytearray()
    for oi, sec in text_secs:
        if len(sec.data) % INSN_SIZE:
            raise LinkError(f"{objs[oi].name}: {sec.name} is not a whole number of instructions")
        pad = _align(text_offset + len(text), max(sec.align, INSN_SIZE)) - (text_offset + len(text))
        text += b"\0" * pad
        placed[(oi, sec.index)] = _Placed(".text", text_offset + len(text))
        text += sec.data
    ro_align = max([sec.align for _, sec in ro_secs] + [8])
    rodata_offset = _align(text_offset + len(text), ro_align)
    rodata = bytearray()
    for oi, sec in ro_secs:
        pad = _align(rodata_offset + len(rodata), sec.align) - (rodata_offset + len(rodata))
        rodata += b"\0" * pad
        placed[(oi, sec.index)] = _Placed(".rodata", rodata_offset + len(rodata))
        rodata += sec.data

    # 2. Symbols: addresses of every defined symbol; one table of global names.
    def symbol_address(oi: int, sym: Symbol) -> int | None:
        if sym.shndx in (SHN_UNDEF, SHN_COMMON):
            return None
        if sym.shndx == SHN_ABS:
            raise LinkError(f"{objs[oi].name}: absolute symbol {sym.name!r} is not supported")
        place = placed.get((oi, sym.shndx))
        if place is None:
            return None
        return place.offset + sym.value

    globals_: dict[str, tuple[int, Symbol]] = {}
    for oi, obj in enumerate(objs):
        for sym in obj.symbols:
            if sym.shndx == SHN_COMMON:
                raise LinkError(f"{obj.name}: common symbol {sym.name!r}: compile -fno-common")
            if sym.bind not in (STB_GLOBAL, STB_WEAK) or sym.shndx == SHN_UNDEF:
                continue
            if symbol_address(oi, sym) is None:
                continue
            if sym.name in globals_:
                raise LinkError(
                    f"symbol {sym.name!r} is defined twice "
                    f"({objs[globals_[sym.name][0]].name} and {obj.name})"
                )
            globals_[sym.name] = (oi, sym)

    def resolve(oi: int, sym: Symbol) -> int | None:
        """File offset of what sym refers to; None for an undefined external name."""
        address = symbol_address(oi, sym)
        if address is not None:
            return address
        if sym.shndx != SHN_UNDEF:
            raise LinkError(
                f"{objs[oi].name}: reference to {sym.name or 'a symbol'} in a section "
                "that is not part of the program"
            )
        found = globals_.get(sym.name)
        if found is None:
            return None
        return symbol_address(*found)

    # 3. Relocations.
    out_text = text
    out_ro = rodata
    syscall_sites: list[tuple[int, str]] = []  # (file offset of the call, name)

    for oi, obj in enumerate(objs):
        for target_index, relocs in obj.relocations.items():
            place = placed.get((oi, target_index))
            if place is None:
                continue  # relocations of debug or other unallocated sections
            buf, base = (
                (out_text, text_offset) if place.output == ".text" else (out_ro, rodata_offset)
            )
            for rel in relocs:
                if rel.type == R_BPF_NONE:
                    continue
                where = place.offset + rel.offset  # file offset of the patched bytes
                at = where - base
                sym = obj.symbols[rel.symbol]
                label = sym.name or f"section {sym.shndx}"
                if rel.type == R_BPF_64_64:
                    if place.output != ".text" or buf[at] != OP_LDDW:
                        raise LinkError(
                            f"{obj.name}: R_BPF_64_64 at {rel.offset:#x} is not an lddw"
                        )
                    target = resolve(oi, sym)
                    if target is None:
                        raise LinkError(f"{obj.name}: undefined symbol {label!r} (lddw)")
                    addend = struct.unpack_from("<i", buf, at + 4)[0]
                    value = MM_PROGRAM_START + target + addend
                    struct.pack_into("<I", buf, at + 4, value & 0xFFFFFFFF)
                    struct.pack_into("<I", buf, at + 12, value >> 32)
                elif rel.type == R_BPF_64_ABS64:
                    target = resolve(oi, sym)
                    if target is None:
                        raise LinkError(f"{obj.name}: undefined symbol {label!r} (data)")
                    addend = struct.unpack_from("<q", buf, at)[0]
                    struct.pack_into("<Q", buf, at, MM_PROGRAM_START + target + addend)
                elif rel.type == R_BPF_64_32:
                    if place.output != ".text" or buf[at] != OP_CALL:
                        raise LinkError(f"{obj.name}: R_BPF_64_32 at {rel.offset:#x} is not a call")
                    target = resolve(oi, sym)
                    imm = struct.unpack_from("<i", buf, at + 4)[0]
                    if target is None:
                        if sym.name not in allowed_syscalls:
                            raise LinkError(
                                f"{obj.name}: call to undefined function {sym.name!r} "
                                "(neither in the objects nor a Solana syscall)"
                            )
                        # The loader writes the syscall's hash; src 0 marks a syscall.
                        struct.pack_into("<i", buf, at + 4, -1)
                        buf[at + 1] &= 0x0F
                        syscall_sites.append((where, sym.name))
                        continue
                    # The immediate carries the addend in instructions, minus one.
                    dest = target + (imm + 1) * INSN_SIZE
                    if not text_offset <= dest < text_offset + len(out_text) or dest % INSN_SIZE:
                        raise LinkError(f"{obj.name}: call to {label!r} lands outside .text")
                    struct.pack_into("<i", buf, at + 4, (dest - (where + INSN_SIZE)) // INSN_SIZE)
                elif rel.type in (R_BPF_64_ABS32, R_BPF_64_NODYLD32):
                    raise LinkError(
                        f"{obj.name}: 32-bit absolute relocation in {place.output}: "
                        "program addresses do not fit 32 bits"
                    )
                else:
                    raise LinkError(f"{obj.name}: unsupported relocation type {rel.type}")

    # 4. The entry point.
    found = globals_.get(entry)
    if found is None:
        raise LinkError(f"no global symbol {entry!r}: the program has no entry point")
    entry_address = symbol_address(*found)
    assert entry_address is not None
    if found[1].type != STT_FUNC or entry_address >= rodata_offset:
        raise LinkError(f"entry point {entry!r} is not a function in .text")

    elf = _write_shared_object(
        bytes(out_text),
        text_offset,
        bytes(out_ro),
        rodata_offset,
        entry_address,
        sorted(syscall_sites),
    )
    program = LinkedProgram(
        elf=elf,
        text_offset=text_offset,
        text_size=len(out_text),
        rodata_offset=rodata_offset,
        rodata_size=len(out_ro),
        entry=entry_address,
        syscalls=sorted({name for _, name in syscall_sites}),
    )
    verify(program.elf)
    return program


# --------------------------------------------------------------------------- writing


def _write_shared_object(
    text: bytes,
    text_offset: int,
    rodata: bytes,
    rodata_offset: int,
    entry: int,
    syscall_sites: list[tuple[int, str]],
) -> bytes:
    names = sorted({name for _, name in syscall_sites})
    dynstr = bytearray(b"\0")
    name_offset: dict[str, int] = {}
    for name in names:
        name_offset[name] = len(dynstr)
        dynstr += name.encode() + b"\0"
    dynsym = bytearray(SYM_SIZE)  # index 0: the null symbol
    sym_index: dict[str, int] = {}
    for name in names:
        sym_index[name] = len(dynsym) // SYM_SIZE
        dynsym += struct.pack(
            "<IBBHQQ", name_offset[name], (STB_GLOBAL << 4) | STT_NOTYPE, 0, SHN_UNDEF, 0, 0
        )
    reldyn = b"".join(
        struct.pack("<QQ", where, (sym_index[name] << 32) | R_BPF_64_32)
        for where, name in syscall_sites
    )

    end_of_rodata = rodata_offset + len(rodata)
    dynamic_offset = _align(end_of_rodata, 8)
    # The loader rejects a relocation table of size 0: without syscalls there is none.
    n_dynamic = 10 if reldyn else 7
    dynsym_offset = dynamic_offset + n_dynamic * DYN_SIZE
    dynstr_offset = dynsym_offset + len(dynsym)
    reldyn_offset = _align(dynstr_offset + len(dynstr), 8)
    tags = [(DT_FLAGS, DF_TEXTREL)]
    if reldyn:
        tags += [(DT_REL, reldyn_offset), (DT_RELSZ, len(reldyn)), (DT_RELENT, REL_SIZE)]
    tags += [
        (DT_SYMTAB, dynsym_offset),
        (DT_SYMENT, SYM_SIZE),
        (DT_STRTAB, dynstr_offset),
        (DT_STRSZ, len(dynstr)),
        (DT_TEXTREL, 0),
        (DT_NULL, 0),
    ]
    dynamic = b"".join(struct.pack("<qQ", tag, value) for tag, value in tags)
    assert len(dynamic) == n_dynamic * DYN_SIZE

    section_names = [".text", ".rodata", ".dynamic", ".dynsym", ".dynstr", ".rel.dyn", ".shstrtab"]
    shstrtab = bytearray(b"\0")
    shname: dict[str, int] = {}
    for n in section_names:
        shname[n] = len(shstrtab)
        shstrtab += n.encode() + b"\0"
    shstrtab_offset = reldyn_offset + len(reldyn)
    shoff = _align(shstrtab_offset + len(shstrtab), 8)

    sections: list[tuple[str, int, int, int, int, int, int, int, int]] = [
        # name, type, flags, offset, size, link, info, align, entsize
        (".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, text_offset, len(text), 0, 0, 8, 0),
    ]
    if rodata:
        sections.append(
            (".rodata", SHT_PROGBITS, SHF_ALLOC, rodata_offset, len(rodata), 0, 0, 8, 0)
        )
    dynsym_index = len(sections) + 2  # after null and .dynamic
    dynstr_index = dynsym_index + 1
    sections += [
        (".dynamic", SHT_DYNAMIC, SHF_ALLOC, dynamic_offset, len(dynamic),
         dynstr_index, 0, 8, DYN_SIZE),
        (".dynsym", SHT_DYNSYM, SHF_ALLOC, dynsym_offset, len(dynsym), dynstr_index, 1, 8,
         SYM_SIZE),
        (".dynstr", SHT_STRTAB, SHF_ALLOC, dynstr_offset, len(dynstr), 0, 0, 1, 0),
    ]  # fmt: skip
    if reldyn:
        sections.append(
            (
                ".rel.dyn",
                SHT_REL,
                SHF_ALLOC,
                reldyn_offset,
                len(reldyn),
                dynsym_index,
                0,
                8,
                REL_SIZE,
            )
        )
    sections.append((".shstrtab", SHT_STRTAB, 0, shstrtab_offset, len(shstrtab), 0, 0, 1, 0))

    out = bytearray(shoff)
    out[text_offset : text_offset + len(text)] = text
    out[rodata_offset:end_of_rodata] = rodata
    out[dynamic_offset : dynamic_offset + len(dynamic)] = dynamic
    out[dynsym_offset : dynsym_offset + len(dynsym)] = dynsym
    out[dynstr_offset : dynstr_offset + len(dynstr)] = dynstr
    out[reldyn_offset : reldyn_offset + len(reldyn)] = reldyn
    out[shstrtab_offset : shstrtab_offset + len(shstrtab)] = shstrtab

    out += bytes(SHDR_SIZE)  # the null section
    for name, sh_type, flags, offset, size, link, info, align, entsize in sections:
        addr = offset if flags & SHF_ALLOC else 0
        out += struct.pack(
            "<IIQQQQIIQQ", shname[name], sh_type, flags, addr, offset, size, link, info, align,
            entsize,
        )  # fmt: skip

    ro_end = reldyn_offset + len(reldyn)
    phdrs = [
        (PT_LOAD, PF_R | PF_X, text_offset, len(text)),
        (PT_LOAD, PF_R, rodata_offset, ro_end - rodata_offset),
        (PT_DYNAMIC, PF_R, dynamic_offset, len(dynamic)),
    ]
    struct.pack_into(
        "<4sBBBBB7xHHIQQQIHHHHHH",
        out,
        0,
        b"\x7fELF",
        ELFCLASS64,
        ELFDATA2LSB,
        1,  # EI_VERSION
        0,  # EI_OSABI
        0,  # EI_ABIVERSION
        ET_DYN,
        EM_BPF,
        1,  # e_version
        entry,
        EHDR_SIZE,  # e_phoff
        shoff,
        0,  # e_flags: 0 selects SBPFv0
        EHDR_SIZE,
        PHDR_SIZE,
        len(phdrs),
        SHDR_SIZE,
        len(sections) + 1,
        len(sections),  # .shstrtab is the last section
    )
    for i, (p_type, p_flags, offset, size) in enumerate(phdrs):
        struct.pack_into(
            "<IIQQQQQQ", out, EHDR_SIZE + i * PHDR_SIZE,
            p_type, p_flags, offset, offset, offset, size, size, 8,
        )  # fmt: skip
    return bytes(out)


# --------------------------------------------------------------------------- checking


@dataclass(frozen=True)
class SharedObject:
    """What :func:`read_shared_object` finds in a linked program."""

    entry: int
    sections: dict[str, tuple[int, int, int, int]]  # name -> (type, flags, offset, size)
    text: bytes
    text_offset: int
    syscall_relocations: dict[int, str]  # file offset of a call -> syscall name


def read_shared_object(elf: bytes) -> SharedObject:
    """Parse a linked program far enough to check it (sections, entry, syscall sites)."""
    if elf[:4] != b"\x7fELF" or struct.unpack_from("<H", elf, 16)[0] != ET_DYN:
        raise LinkError("not an ELF shared object")
    entry = struct.unpack_from("<Q", elf, 24)[0]
    shoff = struct.unpack_from("<Q", elf, 40)[0]
    shnum, shstrndx = struct.unpack_from("<HH", elf, 60)
    raw = [struct.unpack_from("<IIQQQQIIQQ", elf, shoff + i * SHDR_SIZE) for i in range(shnum)]
    str_off, str_size = raw[shstrndx][4], raw[shstrndx][5]
    shstrtab = elf[str_off : str_off + str_size]
    sections: dict[str, tuple[int, int, int, int]] = {}
    spans: list[tuple[int, int, str]] = []
    for sh_name, sh_type, flags, addr, offset, size, *_ in raw[1:]:
        name = _cstr(shstrtab, sh_name)
        if name in sections:
            raise LinkError(f"section {name} appears twice")
        if offset + size > len(elf):
            raise LinkError(f"section {name} lies outside the file")
        if flags & SHF_ALLOC and addr != offset:
            raise LinkError(f"section {name}: address {addr:#x} != file offset {offset:#x}")
        sections[name] = (sh_type, flags, offset, size)
        spans.append((offset, offset + size, name))
    spans.sort()
    for (_, end, a), (start, _, b) in itertools.pairwise(spans):
        if start < end:
            raise LinkError(f"sections {a} and {b} overlap")
    if ".text" not in sections:
        raise LinkError("no .text section")
    _, _, text_offset, text_size = sections[".text"]

    dynsym = _section_bytes(elf, sections, ".dynsym")
    dynstr = _section_bytes(elf, sections, ".dynstr")
    reldyn = _section_bytes(elf, sections, ".rel.dyn") if ".rel.dyn" in sections else b""
    relocs: dict[int, str] = {}
    for off in range(0, len(reldyn), REL_SIZE):
        r_offset, r_info = struct.unpack_from("<QQ", reldyn, off)
        if r_info & 0xFFFFFFFF != R_BPF_64_32:
            raise LinkError(f"dynamic relocation of type {r_info & 0xFFFFFFFF}")
        st_name = struct.unpack_from("<I", dynsym, (r_info >> 32) * SYM_SIZE)[0]
        relocs[r_offset] = _cstr(dynstr, st_name)
    return SharedObject(
        entry=entry,
        sections=sections,
        text=elf[text_offset : text_offset + text_size],
        text_offset=text_offset,
        syscall_relocations=relocs,
    )


def _section_bytes(elf: bytes, sections: dict[str, tuple[int, int, int, int]], name: str) -> bytes:
    if name not in sections:
        raise LinkError(f"no {name} section")
    _, _, offset, size = sections[name]
    return elf[offset : offset + size]


def verify(elf: bytes) -> SharedObject:
    """Check a linked program the way the loader will.

    Every call to imm -1 carries a syscall relocation, every other call lands on an
    instruction inside .text, every lddw is whole, and the entry point is in .text.
    """
    so = read_shared_object(elf)
    n = len(so.text) // INSN_SIZE
    if not so.text_offset <= so.entry < so.text_offset + len(so.text):
        raise LinkError("entry point outside .text")
    if (so.entry - so.text_offset) % INSN_SIZE:
        raise LinkError("entry point not on an instruction boundary")
    pc = 0
    while pc < n:
        opcode = so.text[pc * INSN_SIZE]
        where = so.text_offset + pc * INSN_SIZE
        if opcode == OP_LDDW:
            if pc + 1 >= n:
                raise LinkError(f"lddw at {where:#x} is cut off at the end of .text")
            pc += 2
            continue
        if opcode == OP_CALL:
            imm = struct.unpack_from("<i", so.text, pc * INSN_SIZE + 4)[0]
            if imm == -1:
                if where not in so.syscall_relocations:
                    raise LinkError(f"call at {where:#x} to an unresolved function")
            elif where in so.syscall_relocations:
                raise LinkError(f"syscall relocation at {where:#x} on a resolved call")
            elif not 0 <= pc + 1 + imm < n:
                raise LinkError(f"call at {where:#x} lands outside .text")
        pc += 1
    for where in so.syscall_relocations:
        if not so.text_offset <= where < so.text_offset + len(so.text):
            raise LinkError(f"syscall relocation at {where:#x} outside .text")
    return so
