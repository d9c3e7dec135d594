"""elfpad.py - bench inputs made from the probe kernels (no linker needed).

pad(elf_bytes, mib): the same kernel with one more PT_LOAD of `mib` MiB of initialised data
(PF_R|PF_W, so NetBSD's loader takes it) right after the highest segment, page-aligned, VA and
PA advancing together; the program header table is rewritten at the end of the file (the
original one stays where it is, unused).  Sections, symbols and entry are unchanged, so the
probe still checks its pattern, BSS and symbols; the symbol image moves after the new segment.

delivered(elf_bytes, module_sizes): what mbchain should report as "delivered" for a kernel
and its modules, computed independently of mbchain (see bench/README.md): every PT_LOAD's
filesz with PF_W or PF_X, the symbol image Ehdr | Shdrs | .shstrtab | .symtab | .strtab, and
each module's bytes.
"""
import struct

PT_LOAD, PF_X, PF_W, PF_R = 1, 1, 2, 4
MIB = 1 << 20


class Elf:
    def __init__(self, b):
        self.b = bytes(b)
        self.c64 = b[4] == 2
        if self.c64:
            (self.entry, self.phoff, self.shoff) = struct.unpack_from('<QQQ', b, 24)
            (self.phentsize, self.phnum, self.shentsize, self.shnum, self.shstrndx) = \
                struct.unpack_from('<HHHHH', b, 54)
        else:
            (self.entry, self.phoff, self.shoff) = struct.unpack_from('<III', b, 24)
            (self.phentsize, self.phnum, self.shentsize, self.shnum, self.shstrndx) = \
                struct.unpack_from('<HHHHH', b, 42)
        self.ehsize = 64 if self.c64 else 52

    def phdrs(self):
        out = []
        for i in range(self.phnum):
            o = self.phoff + i * self.phentsize
            if self.c64:
                t, fl, off, va, pa, fs, ms, al = struct.unpack_from('<IIQQQQQQ', self.b, o)
            else:
                t, off, va, pa, fs, ms, fl, al = struct.unpack_from('<IIIIIIII', self.b, o)
            out.append(dict(type=t, flags=fl, offset=off, vaddr=va, paddr=pa, filesz=fs, memsz=ms, align=al))
        return out

    def shdrs(self):
        out = []
        for i in range(self.shnum):
            o = self.shoff + i * self.shentsize
            if self.c64:
                name, typ, fl, addr, off, size, link, info, al, es = struct.unpack_from('<IIQQQQIIQQ', self.b, o)
            else:
                name, typ, fl, addr, off, size, link, info, al, es = struct.unpack_from('<IIIIIIIIII', self.b, o)
            out.append(dict(name=name, type=typ, offset=off, size=size, link=link))
        return out


def _pack_phdr(c64, p):
    if c64:
        return struct.pack('<IIQQQQQQ', p['type'], p['flags'], p['offset'], p['vaddr'], p['paddr'],
                           p['filesz'], p['memsz'], p['align'])
    return struct.pack('<IIIIIIII', p['type'], p['offset'], p['vaddr'], p['paddr'], p['filesz'],
                       p['memsz'], p['flags'], p['align'])


def pad(b, mib):
    if not mib:
        return bytes(b)
    e = Elf(b)
    ph = e.phdrs()
    loads = [p for p in ph if p['type'] == PT_LOAD]
    top = max(loads, key=lambda p: p['vaddr'] + p['memsz'])
    va = (top['vaddr'] + top['memsz'] + 0xfff) & ~0xfff
    pa = va - (top['vaddr'] - top['paddr'])
    out = bytearray(b)
    out += bytes((-len(out)) % 0x1000)
    off = len(out)
    size = mib * MIB
    block = bytes(range(256)) * 4096  # 1 MiB of a simple pattern
    for _ in range(mib):
        out += block
    ph.append(dict(type=PT_LOAD, flags=PF_R | PF_W, offset=off, vaddr=va, paddr=pa, filesz=size,
                   memsz=size, align=0x1000))
    out += bytes((-len(out)) % 8)
    new_phoff = len(out)
    for p in ph:
        out += _pack_phdr(e.c64, p)
    if e.c64:
        struct.pack_into('<Q', out, 32, new_phoff)
        struct.pack_into('<H', out, 56, len(ph))
    else:
        struct.pack_into('<I', out, 28, new_phoff)
        struct.pack_into('<H', out, 44, len(ph))
    return bytes(out)


def delivered(b, module_sizes):
    """(total, parts) - the bytes a NetBSD loader puts in place for this kernel + modules."""
    e = Elf(b)
    segs = sum(p['filesz'] for p in e.phdrs() if p['type'] == PT_LOAD and p['flags'] & (PF_W | PF_X))
    sh = e.shdrs()
    symtabs = [s for s in sh if s['type'] == 2]
    sym = symtabs[0]
    strtab = sh[sym['link']]
    shstr = sh[e.shstrndx]
    headers = e.ehsize + e.shnum * e.shentsize
    syms = headers + shstr['size'] + sym['size'] + strtab['size']
    mods = sum(module_sizes)
    parts = dict(segments=segs, symbol_headers=headers, shstrtab=shstr['size'], symtab=sym['size'],
                 strtab=strtab['size'], modules=mods)
    return segs + syms + mods, parts
