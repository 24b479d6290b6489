"""Hand-made BPF relocatable objects for the linker's tests (no compiler needed).

An :class:`ObjectBuilder` writes an ELF64 ET_REL object with the sections, symbols and
REL relocations a test asks for, in the shape clang emits them.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from anchor.sbpf_link import (
    EM_BPF,
    ET_REL,
    SHF_ALLOC,
    SHF_EXECINSTR,
    SHF_WRITE,
    SHN_UNDEF,
    SHT_NOBITS,
    SHT_PROGBITS,
    SHT_REL,
    SHT_STRTAB,
    SHT_SYMTAB,
    STB_GLOBAL,
    STB_LOCAL,
    STT_FUNC,
    STT_NOTYPE,
    STT_SECTION,
)

TEXT = SHF_ALLOC | SHF_EXECINSTR
RODATA = SHF_ALLOC
DATA = SHF_ALLOC | SHF_WRITE


def insn(opcode: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    """One 8-byte BPF instruction."""
    return struct.pack("<BBhi", opcode, (src << 4) | dst, off, imm)


def lddw(dst: int, imm64: int = 0) -> bytes:
    """The two-slot load of a 64-bit immediate."""
    return insn(0x18, dst, imm=imm64 & 0xFFFFFFFF) + insn(0, imm=(imm64 >> 32) & 0xFFFFFFFF)


def mov64_imm(dst: int, imm: int) -> bytes:
    return insn(0xB7, dst, imm=imm)


def call(imm: int = -1, src: int = 1) -> bytes:
    return insn(0x85, src=src, imm=imm)


EXIT = insn(0x95)


@dataclass
class _Sec:
    name: str
    data: bytes
    flags: int
    align: int
    nobits: bool
    relocs: list[tuple[int, int, int]] = field(default_factory=list)  # offset, type, symbol


@dataclass
class _Sym:
    name: str
    section: int  # index into ObjectBuilder.sections, -1 for undefined
    value: int
    bind: int
    type: int
    size: int


class ObjectBuilder:
    """Collects sections, symbols and relocations; :meth:`build` returns the object's bytes."""

    def __init__(self) -> None:
        self.sections: list[_Sec] = []
        self.symbols: list[_Sym] = []

    def section(
        self, name: str, data: bytes, flags: int = TEXT, align: int = 8, nobits: bool = False
    ) -> int:
        self.sections.append(_Sec(name, data, flags, align, nobits))
        index = len(self.sections) - 1
        self.symbols.append(_Sym("", index, 0, STB_LOCAL, STT_SECTION, 0))
        return index

    def symbol(
        self,
        name: str,
        section: int = -1,
        value: int = 0,
        *,
        bind: int = STB_GLOBAL,
        type: int = STT_FUNC,
        size: int = 0,
    ) -> int:
        if section < 0:
            type = STT_NOTYPE
        self.symbols.append(_Sym(name, section, value, bind, type, size))
        return len(self.symbols)  # symbol table index (0 is the null symbol)

    def section_symbol(self, section: int) -> int:
        for i, s in enumerate(self.symbols):
            if s.type == STT_SECTION and s.section == section:
                return i + 1
        raise KeyError(section)

    def reloc(self, section: int, offset: int, rtype: int, symbol: int) -> None:
        self.sections[section].relocs.append((offset, rtype, symbol))

    def build(self) -> bytes:
        # Locals first, as ELF requires; remember the new index of each symbol.
        order = sorted(range(len(self.symbols)), key=lambda i: self.symbols[i].bind != STB_LOCAL)
        new_index = {old + 1: new + 1 for new, old in enumerate(order)}
        first_global = 1 + sum(1 for s in self.symbols if s.bind == STB_LOCAL)

        strtab = bytearray(b"\0")
        name_off: dict[str, int] = {}

        def intern(name: str) -> int:
            if not name:
                return 0
            if name not in name_off:
                name_off[name] = len(strtab)
                strtab.extend(name.encode() + b"\0")
            return name_off[name]

        # Section header indexes: 0 null, then ours, then rel sections, symtab, strtab, shstrtab.
        n = len(self.sections)
        rel_sections = [i for i, s in enumerate(self.sections) if s.relocs]
        symtab_index = 1 + n + len(rel_sections)
        strtab_index = symtab_index + 1
        shstrtab_index = strtab_index + 1

        symtab = bytearray(24)
        for old in order:
            s = self.symbols[old]
            shndx = SHN_UNDEF if s.section < 0 else s.section + 1
            symtab += struct.pack(
                "<IBBHQQ", intern(s.name), (s.bind << 4) | s.type, 0, shndx, s.value, s.size
            )

        bodies: list[tuple[str, int, int, bytes, int, int, int, int, int]] = []
        # name, type, flags, data, link, info, align, entsize, size
        for s in self.sections:
            sh_type = SHT_NOBITS if s.nobits else SHT_PROGBITS
            body = b"" if s.nobits else s.data
            bodies.append((s.name, sh_type, s.flags, body, 0, 0, s.align, 0, len(s.data)))
        for i in rel_sections:
            s = self.sections[i]
            rel = b"".join(
                struct.pack("<QQ", off, (new_index[sym] << 32) | rtype)
                for off, rtype, sym in s.relocs
            )
            bodies.append((".rel" + s.name, SHT_REL, 0, rel, symtab_index, i + 1, 8, 16, len(rel)))
        bodies.append(
            (
                ".symtab",
                SHT_SYMTAB,
                0,
                bytes(symtab),
                strtab_index,
                first_global,
                8,
                24,
                len(symtab),
            )
        )
        bodies.append((".strtab", SHT_STRTAB, 0, bytes(strtab), 0, 0, 1, 0, len(strtab)))
        shstrtab = bytearray(b"\0")
        shname: list[int] = []
        for b in bodies:
            shname.append(len(shstrtab))
            shstrtab += b[0].encode() + b"\0"
        shname.append(len(shstrtab))
        shstrtab += b".shstrtab\0"
        bodies.append((".shstrtab", SHT_STRTAB, 0, bytes(shstrtab), 0, 0, 1, 0, len(shstrtab)))

        out = bytearray(64)
        offsets: list[int] = []
        for b in bodies:
            while len(out) % 8:
                out.append(0)
            offsets.append(len(out))
            out += b[3]
        while len(out) % 8:
            out.append(0)
        shoff = len(out)
        out += bytes(64)  # null section header
        for i, (_name, sh_type, flags, _data, link, info, align, entsize, size) in enumerate(
            bodies
        ):
            out += struct.pack(
                "<IIQQQQIIQQ",
                shname[i],
                sh_type,
                flags,
                0,
                offsets[i],
                size,
                link,
                info,
                align,
                entsize,
            )
        struct.pack_into(
            "<4sBBBBB7xHHIQQQIHHHHHH",
            out,
            0,
            b"\x7fELF",
            2,
            1,
            1,
            0,
            0,
            ET_REL,
            EM_BPF,
            1,
            0,
            0,
            shoff,
            0,
            64,
            0,
            0,
            64,
            len(bodies) + 1,
            shstrtab_index,
        )
        return bytes(out)
