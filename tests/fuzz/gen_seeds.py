#!/usr/bin/env python3
"""gen_seeds.py - writes the non-ELF seeds of tests/fuzz/corpus/ (mis, options, reloc, memmap,
and the env / raw module seeds of freebsd).  gen_seeds.c writes the ELF ones.  Run by
`make -C tests/fuzz seeds`; the output is committed.  Formats: the comment atop each fuzz_*.c."""
import os
import struct
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")
MIS_PA = 0x10000

# MIS flags
MEM, BOOTDEV, CMDLINE, MODS, MMAP, DRIVES, LOADER, VBE, FB = 1, 2, 4, 8, 0x40, 0x80, 0x200, 0x800, 0x1000


def save(harness, name, data):
    d = os.path.join(ROOT, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


class Mis:
    """A MIS and what it points to, laid out after it; pointers relative (ctrl bit 0) or absolute."""

    def __init__(self, ctrl=1, ebda=0x9fc0, magic=0x2BADB002):
        self.ctrl, self.ebda, self.magic = ctrl, ebda, magic
        self.f = {}
        self.flags = 0
        self.tail = bytearray()

    def add(self, data):
        while (120 + len(self.tail)) % 8:
            self.tail.append(0)
        off = 120 + len(self.tail)
        self.tail += data
        return off if self.ctrl & 1 else MIS_PA + off

    def build(self):
        mis = bytearray(120)
        struct.pack_into("<I", mis, 0, self.flags)
        for off, (fmt, val) in self.f.items():
            struct.pack_into(fmt, mis, off, val)
        hdr = struct.pack("<BBHII", self.ctrl, 0, self.ebda, 0x20000, self.magic)
        return hdr + bytes(mis) + bytes(self.tail)

    def mem(self, lower, upper):
        self.flags |= MEM
        self.f[4] = ("<I", lower)
        self.f[8] = ("<I", upper)

    def cmdline(self, s):
        self.flags |= CMDLINE
        self.f[16] = ("<I", self.add(s.encode() + b"\0"))

    def loader(self, s):
        self.flags |= LOADER
        self.f[64] = ("<I", self.add(s.encode() + b"\0"))

    def mmap(self, ranges, entry_size=20):
        self.flags |= MMAP
        data = b"".join(struct.pack("<IQQI", entry_size, b, l, t) + bytes(entry_size - 20) for b, l, t in ranges)
        self.f[44] = ("<I", len(data))
        self.f[48] = ("<I", self.add(data))

    def mods(self, mods):
        # strings first, so their pointers are known; the harness relocates module strings too
        entries = b""
        for start, end, s in mods:
            sp = self.add(s.encode() + b"\0") if s is not None else 0
            entries += struct.pack("<IIII", start, end, sp, 0)
        self.flags |= MODS
        self.f[20] = ("<I", len(mods))
        self.f[24] = ("<I", self.add(entries))

    def drives(self, drives):
        data = b"".join(struct.pack("<IBBHBB", 10, n, m, c, h, s) for n, m, c, h, s in drives)
        self.flags |= DRIVES
        self.f[52] = ("<I", len(data))
        self.f[56] = ("<I", self.add(data))

    def framebuffer(self, pa, pitch, w, h, bpp, typ, colors):
        self.flags |= FB | VBE
        self.f[76] = ("<H", 0x118)
        self.f[88] = ("<Q", pa)
        self.f[96] = ("<I", pitch)
        self.f[100] = ("<I", w)
        self.f[104] = ("<I", h)
        self.f[108] = ("<B", bpp)
        self.f[109] = ("<B", typ)
        for i, c in enumerate(colors):
            self.f[112 + i] = ("<B", c)


QEMU_MAP = [(0, 0x9fc00, 1), (0x9fc00, 0x400, 2), (0xf0000, 0x10000, 2), (0x100000, 0x7ee0000, 1), (0xfffc0000, 0x40000, 2)]


def mis_seeds():
    m = Mis()
    m.mem(639, 130048)
    m.cmdline("/mbchain.elf console=com -s")
    m.loader("qemu")
    m.mmap(QEMU_MAP)
    m.mods([(0x121000, 0x140000, "/netbsd root=wd0a"), (0x140000, 0x142345, "/miniroot.kmod type=fs")])
    m.flags |= BOOTDEV
    m.f[12] = ("<I", 0x8000FFFF)
    save("mis", "qemu", m.build())

    m = Mis()
    m.mem(639, 2096000)
    m.cmdline("console=pc mbchain.verbose")
    m.loader("GRUB 2.06-13+deb12u1")
    m.mmap(QEMU_MAP + [(0x100000000, 0x40000000, 1), (0x7fe0000, 0x20000, 3)])
    m.mods([(0x200000, 0x400000, "-s"), (0x400000, 0x400800, "type=rnd name=/var/db/entropy-file")])
    m.drives([(0x80, 1, 1023, 16, 63), (0x81, 0, 80, 2, 18)])
    m.framebuffer(0xfd000000, 4096, 1024, 768, 32, 1, [16, 8, 8, 8, 0, 8])
    save("mis", "grub-fb-drives", m.build())

    # kexec-tools: map at physical 0 (absolute pointers), entries of size 24, no mem_lower
    m = Mis(ctrl=0x00, ebda=0)
    m.cmdline("mbchain.onerror=reboot:5")
    m.mmap([(0x100000, 0x3ff00000, 1), (0, 0x9f000, 1), (0x9f000, 0x1000, 2)], entry_size=24)
    m.mods([(0x1000000, 0x1100000, "netbsd -s")])
    save("mis", "kexec-absolute", m.build())

    # no map: mem_lower/mem_upper only; a GRUB 2 DHCP packet where the drives go
    m = Mis()
    m.mem(640, 65536)
    m.flags |= DRIVES
    m.f[52] = ("<I", 300)
    m.f[56] = ("<I", m.add(bytes(range(256)) + bytes(44)))
    m.mods([(0x300000, 0x300000, None)])
    save("mis", "sizes-only-dhcp", m.build())

    # image range checks (ctrl bit 3) and verbose (bit 4)
    m = Mis(ctrl=0x1 | 0x8 | 0x10)
    m.mem(639, 130048)
    m.mmap(QEMU_MAP)
    m.cmdline("x" * 300)
    save("mis", "image-overlap-verbose", m.build())


def options_seeds():
    def s(loader, mods, *strings):
        return bytes([loader, mods]) + b"\0".join(x.encode() for x in strings)

    save("options", "qemu", s(1, 2, "/mbchain.elf -sv root=wd0a console=com console_speed=115200",
                               "/netbsd -a name=/onetbsd userconf=disable_ahc*", "/mod.kmod type=elf name=/x"))
    save("options", "grub2", s(0, 1, "mbchain.verbose mbchain.onerror=reboot:30 mbchain.exitport=0xf4",
                                "-s root=dk3 \"kern.msg=a b\" mbchain.kernel=0"))
    save("options", "freebsd-env", s(2, 1, "mbchain.os=freebsd boot_verbose hw.x=1 -Dh console=comconsole,vidconsole",
                                      "/boot/kernel/kernel vfs.root.mountfrom=ufs:/dev/ada0p2"))
    save("options", "custom-loader", s(4, 0, "my loader", "mbchain.verbose=0 -1234 console_addr=0x2f8"))
    save("options", "kernel-index", s(3, 3, "mbchain.kernel=2", "a", "b type=rnd", "/netbsd -m userconf=a userconf=b"))


def reloc_seeds():
    def piece(kind, dst, src, length):
        return struct.pack("<BHHH", kind, length, dst, src)

    # the harness reads {kind, len, dst, src}: len first, then dst % (arena - len + 1), src likewise
    save("reloc", "swap", bytes([16, 0]) + piece(0, 0x0000, 0x1000, 0x100) + piece(0, 0x1000, 0x0000, 0x80))
    save("reloc", "chain-zero-inplace", bytes([16, 0]) + piece(0, 0x1000, 0x0000, 0x1000) + piece(0, 0x2000, 0x1000, 0x1000)
         + piece(1, 0x0000, 0, 0x800) + piece(3, 0x3000, 0x3000, 0x100))
    save("reloc", "cycle3-split-bounce", bytes([64, 1]) + piece(0, 0x0000, 0x0800, 0x800) + piece(0, 0x0800, 0x1000, 0x800)
         + piece(2, 0x1000, 0x0000, 0x800))
    save("reloc", "kernel-over-own-file", bytes([255, 0]) + piece(0, 0x0000, 0x2000, 0x1fff) + piece(0, 0x3000, 0x3fff, 0x300)
         + piece(1, 0x3300, 0, 0xf03) + piece(0, 0x5000, 0x6000, 0x1000) + piece(2, 0x4400, 0x9000, 0x40))


def memmap_seeds():
    def entries(choice, ranges):
        return bytes([choice]) + b"".join(struct.pack("<QQI", b, l, t) for b, l, t in ranges)

    save("memmap", "qemu", entries(0, QEMU_MAP))
    save("memmap", "overlaps-unsorted", entries(1, [(0x100000, 0x1000000, 1), (0, 0xa0000, 1), (0x9f000, 0x2000, 2),
                                                     (0x800000, 0x1000, 5), (0x800000, 0x2000, 3), (0x900000, 0, 1),
                                                     (0x7ff000, 0x3000, 4)]))
    save("memmap", "wrap-unknown-types", entries(0x80 | 2, [(0xfffffffffffff000, 0x2000, 1), (0x1000, 0x1000, 7),
                                                             (0x1800, 0x1000, 9), (0x2000, 0x1000, 1)]))
    save("memmap", "tight-cap", entries(3 | (2 << 2), [(0, 0x10000, 1), (0x1000, 0x1000, 2), (0x3000, 0x1000, 2),
                                                       (0x5000, 0x1000, 3)]))


def freebsd_seeds():
    save("freebsd", "env-loader-conf", bytes([0x02]) + b"# loader.conf\nkern.hz=\"100\"\n  hw.physmem=1G \r\n\nvfs.root.mountfrom=ufs:/dev/ada0p2\n#x\n")
    save("freebsd", "raw-i386-md-image", bytes([0x03]) + bytes(range(256)) * 4)


if __name__ == "__main__":
    mis_seeds()
    options_seeds()
    reloc_seeds()
    memmap_seeds()
    freebsd_seeds()
