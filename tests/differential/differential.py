#!/usr/bin/env python3
"""differential.py - mbchain against GRUB's own BSD loaders, field by field (issue 6, item 1).

Each case boots one probe kernel (tests/probes) with the same modules and the same options twice
in QEMU (TCG, -M pc -m 128, from a GRUB 2 ISO):

  native   GRUB's own loader: `knetbsd` + `knetbsd_module_elf` / `knetbsd_module` with `-r` / `-h`,
           or `set kFreeBSD.x=y` + `kfreebsd` + `kfreebsd_module` (`kfreebsd_module_elf` for
           the .ko case); built and booted by
           tests/probes/grub-common.sh (grub_cfg_head, grub_boot; for ELF64 kfreebsd the patched
           copy of /usr/lib/grub/i386-pc made by grub_relocator64_fixed);
  mbchain  GRUB `multiboot /boot/mbchain.elf` + `module` lines with the equivalent mbchain
           options (tests/run.py's Case, write_inputs, grub_iso, qemu_command).

Both probe reports (tests/REPORT.md) are normalised into fields (`normalise`): addresses that
are layout choices are dropped or turned into relations (`stack.esym` = "symtab.esym" or "0",
`md.ssym` = its distance from the kernel's end, ...); module contents are compared by length and
CRC-32, symbols by lookup, records by kind, the kenv as a dict.  Every field that differs must
match an entry of ALLOWED (case pattern, field pattern, native value, mbchain value, reason,
source); tests/differential/ALLOWED.md is generated from ALLOWED (`--write-allowed`) and a copy
out of step with it fails every case.  A difference no entry explains fails; an entry that
selects a case but explains no difference there is stale and fails too (ALLOWED must say exactly
what GRUB does differently, nothing more).  Independently of the comparison, the mbchain boot
must pass on its own (QEMU exit 33, `result: PASS`) and the native boot must reach `result:`.

Exports CASES (names), run_case(name, build, verbose=False) -> (rc, summary, problems) for
tests/run.py; stand-alone:
    python3 tests/differential/differential.py [--build DIR] [--only S] [-j N] [-v] [--show]
    python3 tests/differential/differential.py --write-allowed
"""
import collections
import concurrent.futures
import fnmatch
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
ROOT = os.path.dirname(TESTS)
sys.path.insert(0, TESTS)
import nbexpect  # noqa: E402
import fbexpect  # noqa: E402
import harness  # noqa: E402

GRUB_COMMON = os.path.join(TESTS, 'probes', 'grub-common.sh')
ALLOWED_MD = os.path.join(HERE, 'ALLOWED.md')
EXIT_PASS = 33
ABSENT = '<absent>'


def _run():
    """tests/run.py, imported late: run.py imports this file."""
    import run
    return run


# ---------------------------------------------------------------------------------------------
# Cases

class DCase:
    """probe; native: GRUB lines before the kernel (`set kFreeBSD...`) and the kernel command's
    arguments; mbchain: its own command line and the kernel module's string; modules:
    [(file name, bytes or build-relative path, native command + args, mbchain module string)]."""

    def __init__(self, name, probe, native_pre, native_args, mb_cmdline, mb_kernel_args, modules):
        self.name, self.probe = name, probe
        self.native_pre, self.native_args = native_pre, native_args
        self.mb_cmdline, self.mb_kernel_args = mb_cmdline, mb_kernel_args
        self.modules = modules

    @property
    def os(self):
        return self.probe.split('-')[0]


def _cases():
    mb = lambda seed, size: ('bytes', seed, size)  # noqa: E731
    out = []
    # NetBSD: an ELF kernel module (knetbsd_module_elf: type 1, as mbchain's auto-detection) and
    # a data module (knetbsd_module can only give type 0; mbchain is told type=rnd).
    nb_mods = [('tmpfs.kmod', 'test-kmod.ko', 'knetbsd_module_elf /tmpfs.kmod', 'name=tmpfs.kmod'),
               ('rnd.seed', mb(1, 512), 'knetbsd_module /rnd.seed', 'type=rnd name=rnd.seed')]
    out.append(DCase('netbsd-i386', 'netbsd-i386', [], '-s -v -r wd0a -h com0,115200',
                     '-s', '-v root=wd0a console=com console_speed=115200 console_addr=0x3f8',
                     nb_mods))
    out.append(DCase('netbsd-amd64', 'netbsd-amd64', [], '-1 -q -r dk2 -h com0,115200',
                     '', '-1q root=dk2 console=com console_speed=115200', nb_mods))
    # FreeBSD: an md_image and a raw file with arguments; kenv pairs through set kFreeBSD.* /
    # plain name=value words; flags split between mbchain's line and the kernel's.
    fb_mods = [('mfsroot', mb(4, 20000), 'kfreebsd_module /mfsroot type=md_image',
                'type=md_image name=mfsroot'),
               ('data.bin', mb(5, 900), 'kfreebsd_module /data.bin type=raw hello world',
                'type=raw name=data.bin hello world')]
    out.append(DCase('freebsd-i386', 'freebsd-i386',
                     ['set kFreeBSD.foo=bar', 'set kFreeBSD.vfs.root.mountfrom=ufs:/dev/ada0p2'],
                     '-s -v -h', '-s foo=bar', '-v -h vfs.root.mountfrom=ufs:/dev/ada0p2', fb_mods))
    out.append(DCase('freebsd-amd64', 'freebsd-amd64',
                     ['set kFreeBSD.hw.physmem=96M', 'set kFreeBSD.kern.hz=100',
                      'set kFreeBSD.vfs.root.mountfrom=zfs:zroot/ROOT/default'],
                     '-s -D -h', '-D hw.physmem=96M', '-s -h kern.hz=100 '
                     'vfs.root.mountfrom=zfs:zroot/ROOT/default', fb_mods))
    # an amd64 kernel module (.ko, "elf obj module"): kfreebsd_module_elf against mbchain's
    # detection, section by section
    out.append(DCase('freebsd-amd64-ko', 'freebsd-amd64', [], '-s', '', '-s',
                     [('zfs.ko', 'test-kmod.ko', 'kfreebsd_module_elf /zfs.ko', 'name=zfs.ko'),
                      fb_mods[0]]))
    return out


DCASES = {c.name: c for c in _cases()}
CASES = list(DCASES)


# ---------------------------------------------------------------------------------------------
# Allowed differences: Allow(case patterns (blank-separated globs), field regex, native value regex, mbchain value regex,
# reason, source, optional).  Values are the normalised ones; ABSENT when a side has no such
# field.  A non-optional entry that selects a case must explain a difference there (else it is
# stale); optional=True only where GRUB's value is uninitialised or accidental.

Allow = collections.namedtuple('Allow', 'case field native mbchain reason source optional',
                               defaults=(False,))
A = ABSENT
ALLOWED = [Allow(*e) if len(e) == 6 else Allow(*e[:6], optional=e[6]) for e in [
    # --- NetBSD (knetbsd) ---
    ('netbsd-*', r'stack\.esym', r'0', r'symtab\.esym',
     'knetbsd passes esym = 0 on the stack; the kernel falls back to `end` and keeps the symbols '
     'only through MODULELIST endpa. mbchain passes the end of the symbols, as /boot does.',
     'SPEC C.2 stack word [4], C.2.2 item 1; grub-core/loader/i386/bsd.c grub_netbsd_boot'),
    ('netbsd-*', r'stack\.ret', r'nonzero', r'0',
     'knetbsd pushes the entry point as a fake return address; /boot\'s startprog and mbchain '
     'push 0. locore never returns.',
     'SPEC C.2 stack word [0]; SPEC A.3'),
    ('netbsd-*', r'check\.esym_matches', r'FAIL', r'ok',
     'follows from stack.esym = 0 under knetbsd',
     'tests/probes/README.md (NetBSD checks); SPEC C.2.2 item 1'),
    ('netbsd-*', r'result', r'FAIL', r'PASS',
     'the native report fails only by check.esym_matches (every check is compared field by field)',
     'tests/probes/grub-smoke.sh'),
    ('netbsd-*', r'bi\.bootpath', r'"netbsd"', r'"/netbsd"',
     'knetbsd writes the basename of the kernel\'s path; GRUB 2 passes mbchain no file name, so '
     'mbchain uses its default /netbsd (name= overrides). machdep.booted_kernel only.',
     'SPEC C.2 records table (BOOTPATH); README "Options" name='),
    ('netbsd-*', r'bi\.module\[1\]\.type', r'0', r'3',
     'knetbsd_module loads every file with type 0 (BI_MODULE_NONE, skipped by the kernel); '
     'mbchain gives type=rnd (3). knetbsd has no way to pass IMAGE/RND/FS modules.',
     'SPEC C.2.2 item 2, C.3.2; sys/arch/x86/include/bootinfo.h'),
    ('netbsd-*', r'bi\.kind\.userconf', r'0', r'1',
     'knetbsd emits no BTINFO_USERCONFCOMMANDS; mbchain always does (num=0 here), as /boot does',
     'SPEC C.2 "Not produced"; README "What NetBSD gets"'),
    ('netbsd-*', r'bi\.userconf\.num', A, r'0', 'the USERCONFCOMMANDS record above', 'SPEC C.2'),
    ('netbsd-*', r'bi\.kind\.framebuffer', r'0', r'1',
     'knetbsd emits BTINFO_FRAMEBUFFER only when GRUB set a video mode; mbchain always emits it '
     '(physaddr 0 = none), as /boot does',
     'SPEC C.2 records table (FRAMEBUF); README "What NetBSD gets"'),
    ('netbsd-*', r'bi\.framebuffer\..*', A, r'0|0x0|0,0,0/0,0,0', 'the FRAMEBUFFER record above (all zero)',
     'SPEC C.2'),
    ('netbsd-*', r'bi\.kind\.bootdisk', r'0', r'1',
     'booted from a CD, knetbsd finds no BIOS disk partition and emits neither BOOTWEDGE nor '
     'BOOTDISK; mbchain translates the MIS boot_device (0xe0ffffff) into BOOTDISK biosdev 0xe0, '
     'labelsector -1, as the kernel\'s own multiboot code does',
     'SPEC C.2 records table (BOOTWEDGE + BOOTDISK), F.1; grub-core/loader/i386/bsd.c '
     'grub_netbsd_add_boot_disk_and_wedge'),
    ('netbsd-*', r'bi\.bootdisk\..*', A, r'0xe0|-1|0', 'the BOOTDISK record above', 'SPEC F.1'),
    ('netbsd-*', r'bi\.modulelist\.endpa', r'page-rounded end of last module',
     r'end of last module',
     'knetbsd sets endpa = kern_end, page-rounded after the last module; mbchain (as /boot) the '
     'exact end. Both are >= the end of every module and of the symbols.',
     'SPEC C.2 records table (MODULES last_addr = kern_end), A.7'),
    ('netbsd-*', r'bi\.symtab\.ssym', r'kernel end \+ 0x[0-9a-f]+', r'kernel end \+ 0x[0-4]',
     'knetbsd puts the symbol image at ALIGN_UP(kern_end, word) with kern_end page-rounded; '
     'mbchain (as libsa loadfile_static) at the kernel\'s end rounded to a long',
     'SPEC C.2.1, A.2'),
    ('netbsd-*', r'bi\.symtab\.size', r'0x[0-9a-f]+', r'0x[0-9a-f]+',
     'knetbsd\'s symbol image has no .shstrtab (shstrndx = 0) and the first SYMTAB and its '
     'strtab only; mbchain copies libsa\'s layout (Ehdr, Shdrs, .shstrtab, .symtab, .strtab). '
     'Both are walked by ksyms_addsyms_elf: compare ksyms.*',
     'SPEC C.2.1, A.2'),
    ('netbsd-amd64', r'bi\.console\.addr', r'0x3f8', r'0x0',
     'knetbsd resolves com0 to its port (BIOS data area); mbchain without console_addr= passes 0, '
     'which consinit() takes as the default port 0x3f8 (netbsd-i386 passes console_addr=0x3f8 '
     'and the two agree)',
     'SPEC C.2 records table (CONSOLE); README "Options" console_addr; sys/arch/x86/x86/consinit.c'),
    ('netbsd-*', r'entry\.eax', r'0x[0-9a-f]{8}', r'0x00000000',
     'GRUB 2.06 leaves every register but EIP/ESP/EBP uninitialised in relocator32 (fixed in '
     '170f17734; it happens to be 0 in these boots); mbchain enters with EAX = 0. NetBSD\'s '
     'start only requires EAX != the Multiboot magics (check.eax_not_multiboot)',
     'SPEC C.2.2 item 6, A.3', True),
    # --- FreeBSD (kfreebsd) ---
    ('freebsd-*', r'file\[0\]\.name', r'"kernel"', r'"/boot/kernel/kernel"',
     'kfreebsd writes the basename; GRUB 2 passes mbchain no file name, so it uses loader(8)\'s '
     'default /boot/kernel/kernel (name= overrides)',
     'SPEC C.3 metadata item 1; README "GRUB menu entries (FreeBSD ...)"'),
    ('freebsd-amd64*', r'file\[0\]\.type', r'"elf64 kernel"', r'"elf kernel"',
     'kfreebsd types an ELF64 kernel "elf64 kernel" (hammer_time\'s fallback finds it); loader(8) '
     'and mbchain say "elf kernel"',
     'SPEC C.3 metadata item 1, B.5'),
    ('freebsd-*', r'file\[0\]\.size', r'0x[0-9a-f]+', r'0x[0-9a-f]+',
     'kfreebsd\'s kernel SIZE is the segments only (kern_end before the symbols); loader(8) and '
     'mbchain count the symbols too',
     'SPEC C.3, B.2; stand/common/load_elf.c'),
    ('freebsd-*', r'file\[0\]\.md\.SHDR', A, r'size=\d+',
     'kfreebsd gives the kernel no MODINFOMD_SHDR; loader(8) does', 'SPEC C.3.1 item 1'),
    ('freebsd-amd64*', r'file\[0\]\.md\.MODULEP', A, r'size=8',
     'kfreebsd gives no MODINFOMD_MODULEP; loader(8) does (amd64)', 'SPEC C.3.1 item 1, B.6'),
    ('freebsd-amd64*', r'md\.modulep', A, r'= stack\.modulep', 'the MODULEP record above',
     'SPEC C.3.1 item 1'),
    ('freebsd-*', r'md\.ssym', r'kernel end \+ 0x[0-9a-f]+', r'kernel end \+ 0x[0-7]',
     'kfreebsd puts the symbols at ALIGN(kern_end, word) with kern_end page-rounded; loader(8) '
     'and mbchain right after the kernel\'s end, rounded to a word',
     'SPEC C.1 kern_end, C.3 symbols, B.2'),
    ('freebsd-amd64', r'layout\.modulep_aligned', r'no', r'yes',
     'kfreebsd puts the metadata right after the env strings (modulep ...02c here); loader(8) and '
     'mbchain align it',
     'SPEC C.3 memory layout; tests/probes/grub-kfreebsd-smoke.sh'),
    ('freebsd-amd64', r'check\.metadata_aligned', r'FAIL', r'ok',
     'follows from layout.modulep_aligned', 'tests/probes/grub-kfreebsd-smoke.sh'),
    ('freebsd-i386', r'layout\.modulep_aligned', r'no', r'yes',
     'as for amd64, but 4-byte alignment: whether kfreebsd\'s modulep is aligned depends on the '
     'length of the env strings (aligned by chance in this case)',
     'SPEC C.3 memory layout', True),
    ('freebsd-i386', r'check\.metadata_aligned', r'FAIL', r'ok',
     'follows from layout.modulep_aligned', 'tests/probes/grub-kfreebsd-smoke.sh', True),
    ('freebsd-i386 freebsd-amd64', r'file\[2\]\.args', r'"hello world "', r'"hello world"',
     'kfreebsd joins the module arguments with a blank after each and stores the ARGS length '
     'without the NUL (the probe reads to the record\'s end)',
     'SPEC C.3.2 kfreebsd_module; tests/probes/grub-kfreebsd-smoke.sh'),
    ('freebsd-i386 freebsd-amd64', r'check\.md_strings_terminated', r'FAIL', r'ok', 'follows from file[2].args',
     'tests/probes/grub-kfreebsd-smoke.sh'),
    ('freebsd-*', r'kenv\.(kernelname|acpi\.rsdp|acpi\.revision|acpi\.oem|acpi\.rsdt)', A, r'.+',
     'kfreebsd sets no kernelname and no acpi.* variables (the kernel then scans for the RSDP '
     'itself on BIOS machines); loader(8) and mbchain always do',
     'SPEC C.3.1 item 1; README "Options" (FreeBSD kenv); stand/i386/libi386/biosacpi.c'),
    ('freebsd-*', r'kenv\.boot_(single|verbose|serial|multicons)', A, r'YES',
     'kfreebsd sets only howto bits; loader(8) and mbchain also mirror each flag into its boot_* '
     'variable',
     'SPEC B.9; stand/common/boot.c boot_parse_args / boot_howto_to_env'),
    ('freebsd-amd64-ko', r'check\.envp_present', r'FAIL', r'ok',
     'kfreebsd with no kFreeBSD.* variable writes no environment at all: MODINFOMD_ENVP = 0 '
     '(hammer_time then starts with an empty static kenv); loader(8) and mbchain always pass one '
     '(kernelname, acpi.*, boot_*)',
     'seen with GRUB 2.06-13+deb12u2; grub-core/loader/i386/bsd.c grub_freebsd_boot'),
    ('freebsd-amd64-ko', r'file\[1\]\.section\[7\]', r'type=1 flags=0x30 .*', A,
     'kfreebsd_module_elf loads every non-empty section in header order, also the non-ALLOC '
     '.comment (SHF_MERGE|SHF_STRINGS); loader(8)\'s load_elf_obj (and mbchain) load only '
     'ALLOC PROGBITS/NOBITS/UNWIND sections, the symbol and string tables, the section names and '
     'relocations. Every other section has the same type, flags, size and CRC on both sides',
     'SPEC C.3.2 kfreebsd_module_elf; stand/common/load_elf_obj.c; fbexpect.ko_layout'),
    ('freebsd-amd64-ko', r'(file\[1\]\.size|module\[0\]\.(size|crc32))', r'.+', r'.+',
     'follows from the extra .comment section in kfreebsd\'s image of the .ko',
     'SPEC C.3.2'),
    ('freebsd-*', r'result', r'FAIL', r'PASS',
     'the native report fails only by the checks listed here (each compared as a field)',
     'tests/probes/grub-kfreebsd-smoke.sh'),
    ('freebsd-i386', r'stack\.bootdev', r'0x[0-9a-f]{8}', r'0x00000000',
     'kfreebsd derives a bootdev word from its root device (0xb060ff00 from the CD here); '
     'mbchain has no BSD device for the boot drive and passes 0 (loader(8)\'s "default bootdev '
     'of 0" when it cannot tell). The root file system comes from vfs.root.mountfrom',
     'SPEC C.3 i386 stack word [2], B.7; stand/i386/libi386/bootinfo32.c bi_load32'),
    ('freebsd-amd64*', r'stack\.ret', r'nonzero', r'0',
     'kfreebsd leaves the 32-bit entry in the return slot at 0(%rsp); loader(8) leaves __exec\'s '
     'return address there, mbchain 0. btext reads only 4(%rsp) and 8(%rsp)',
     'SPEC B.4 stack, C.3 amd64 stack [0]; sys/amd64/amd64/locore.S btext'),
    ('freebsd-i386', r'entry\.eax', r'0x[0-9a-f]{8}', r'0x00000000',
     'GRUB 2.06\'s relocator32 leaves EAX uninitialised; mbchain enters with EAX = 0. i386 btext '
     'does not read EAX',
     'SPEC C.2.2 item 6', True),
    ('freebsd-i386', r'bootinfo\.(memsizes_valid|basemem|extmem)', r'0', r'.+',
     'kfreebsd leaves bi_memsizes_valid, bi_basemem, bi_extmem 0; loader(8) and mbchain fill them',
     'SPEC C.3 i386 bootinfo'),
    ('freebsd-i386', r'check\.memsizes_valid', r'FAIL', r'ok', 'follows from bootinfo.memsizes_valid',
     'tests/probes/grub-kfreebsd-smoke.sh'),
    ('freebsd-i386', r'bootinfo\.(symtab|esymtab)', r'0', r'= md\.(ssym|esym)',
     'kfreebsd leaves bi_symtab / bi_esymtab 0 (only MODINFOMD_SSYM/ESYM); loader(8) and mbchain '
     'set both',
     'SPEC C.3 i386 bootinfo'),
    ('freebsd-i386', r'check\.symtab_matches', r'FAIL', r'ok', 'follows from bootinfo.symtab',
     'tests/probes/grub-kfreebsd-smoke.sh'),
    ('freebsd-i386', r'bootinfo\.kernelname', r'""', r'"/boot/kernel/kernel"',
     'kfreebsd leaves bi_kernelname 0', 'SPEC C.3 i386 bootinfo'),
]]
del A


def allowed_markdown():
    """ALLOWED.md, generated from ALLOWED."""
    out = ['# Differences allowed between GRUB\'s own BSD loaders and mbchain',
           '',
           'Generated from `ALLOWED` in `differential.py` (`python3 tests/differential/differential.py '
           '--write-allowed`); the test fails when this file is out of step with it.',
           '',
           'Each case of `differential.py` boots one probe kernel twice in QEMU from a GRUB 2.06 '
           'ISO: through GRUB\'s `knetbsd` / `kfreebsd` ("native") and through GRUB `multiboot` + '
           'mbchain, with the same modules and equivalent options, and compares the two '
           'normalised reports field by field. A differing field must match one row below (case, '
           'field, and the value on each side, as regular expressions over the normalised '
           'values; `<absent>`: the side has no such field); a row that selects a case but '
           'explains no difference in it is stale and fails the case.',
           '',
           '| case | field | native GRUB | mbchain | reason | source | need not occur |',
           '|---|---|---|---|---|---|---|']
    esc = lambda s: s.replace('|', '\\|')  # noqa: E731
    for e in ALLOWED:
        out.append('| %s | `%s` | `%s` | `%s` | %s | %s | %s |' % (
            e.case, esc(e.field), esc(e.native), esc(e.mbchain), esc(e.reason), esc(e.source),
            'yes' if e.optional else ''))
    out += ['', 'Not compared at all (layout choices; the probes\' own checks cover their '
            'consistency): bootinfo/metadata/env/module addresses (`bi.module[].base`, '
            '`file[>0].addr`, `md.envp`, `md.kernend`, `stack.bootinfo`), the order of NetBSD '
            'bootinfo records (the kernel looks each up by type), the bootinfo count/bytes line '
            '(follows from `bi.kind.*`), and the order of FreeBSD metadata records inside a file '
            '(looked up by type).', '']
    return '\n'.join(out)


# ---------------------------------------------------------------------------------------------
# Normalisation

KV = re.compile(r'([\w.]+)=("(?:[^"\\]|\\.)*"|\S*)')
BTINFO_NAMES = {v: k for k, v in nbexpect.BTINFO.items()}
BTINFO_NAMES.update({10: 'bootwedge', 4: 'netif', 5: 'bootdisk_old'})
MD_NAMES = {0x1: 'NAME', 0x2: 'TYPE', 0x3: 'ARGS', 0x4: 'ADDR', 0x5: 'SIZE', 0x8002: 'ELFHDR',
            0x8003: 'SSYM', 0x8004: 'ESYM', 0x8005: 'DYNAMIC', 0x8006: 'ENVP', 0x8007: 'HOWTO',
            0x8008: 'KERNEND', 0x8009: 'SHDR', 0x9001: 'SMAP', 0x9004: 'EFI_MAP',
            0x9006: 'MODULEP', 0x9007: 'VBE_FB'}


def kv(v):
    return {k: val for k, val in KV.findall(v)}


def hexint(s):
    try:
        return int(s, 0)
    except ValueError:
        return None


def kernel_end(probe_bytes, os_name):
    """Physical end of the kernel's segments, as each OS's loader places them."""
    elf = nbexpect.Elf(probe_bytes)
    if os_name == 'netbsd':
        return nbexpect.symbol_layout(elf)[0]
    off = (elf.entry & ~0xfff) & (0xffffffffff000000 if elf.bits == 64 else 0xff000000)
    return max(s['vaddr'] - off + s['memsz'] for s in elf.segments)


def normalise(text, os_name, kend):
    """{field: value} from one probe report (see the module doc and ALLOWED.md)."""
    report = nbexpect.parse_report(text)
    f = {}

    def put(key, val):
        k, n = key, 2
        while k in f:
            k, n = '%s#%d' % (key, n), n + 1
        f[k] = val

    if os_name == 'netbsd':
        _normalise_netbsd(report, put, f, kend)
    else:
        _normalise_freebsd(report, put, f, kend)
    for k, v in report:
        if k == 'probe':
            put('probe', v)
        elif k.startswith('probe'):
            put(k, v)  # exceptions
        elif k == 'check':
            name, _, rest = v.partition(' ')
            put('check.' + name, rest.split()[0] if rest else '?')
        elif k == 'result':
            put('result', v)
        elif k == 'ksyms':
            for a, b in kv(v).items():
                put('ksyms.' + a, b)
        elif k == 'entry':
            for a, b in kv(v).items():
                put('entry.' + a, b)
    return f


def _nonzero(v):
    return '0' if hexint(v) == 0 else 'nonzero'


def _normalise_netbsd(report, put, f, kend):
    kinds = {}
    mods = []
    for k, v in report:
        if k == 'stack':
            s = kv(v)
            for a in ('howto', 'bootdev', 'extmem', 'basemem'):
                put('stack.' + a, s.get(a))
            put('stack.ret', _nonzero(s.get('ret', '0')))
            put('stack.bootinfo', _nonzero(s.get('bootinfo', '0')))
            put('stack._esym', s.get('esym'))  # resolved below
        elif re.match(r'bi\[\d+\]$', k):
            t = int(kv(v)['type'])
            name = BTINFO_NAMES.get(t, 'type%d' % t)
            kinds[name] = kinds.get(name, 0) + 1
        elif k == 'bi.modulelist':
            s = kv(v)
            put('bi.modulelist.num', s['num'])
            put('bi.modulelist._endpa', s['endpa'])
        elif re.match(r'bi\.module\[\d+\]$', k):
            s = kv(v)
            mods.append(s)
            for a in ('path', 'type', 'len', 'crc32'):
                put('%s.%s' % (k, a), s.get(a))
        elif k == 'bi.symtab':
            s = kv(v)
            ssym, esym = int(s['ssym'], 0), int(s['esym'], 0)
            put('bi.symtab.nsym', s['nsym'])
            put('bi.symtab.ssym', 'kernel end + 0x%x' % (ssym - kend) if ssym >= kend else
                'below kernel end (0x%x)' % ssym)
            put('bi.symtab.size', '0x%x' % (esym - ssym))
            put('bi.symtab._esym', s['esym'])
        elif k.startswith('bi.') and k != 'bi.unknown':
            s = kv(v)
            if s:
                for a, b in s.items():
                    put('%s.%s' % (k, a), b)
            else:
                put(k, v)
        elif k == 'bi.unknown':
            put(k, v)
    for name in set(BTINFO_NAMES.values()) | set(kinds):
        put('bi.kind.' + name, str(kinds.get(name, 0)))
    # relations instead of addresses
    esym = f.pop('stack._esym', None)
    sym_esym = f.pop('bi.symtab._esym', None)
    if esym is not None:
        put('stack.esym', 'symtab.esym' if sym_esym and hexint(esym) == hexint(sym_esym) else
            '0' if hexint(esym) == 0 else 'other (%s)' % esym)
    endpa = f.pop('bi.modulelist._endpa', None)
    if endpa is not None:
        last = max((int(m['base'], 0) + int(m['len']) for m in mods if m.get('base')), default=None)
        e = int(endpa, 0)
        if last is None:
            rel = 'no modules (0x%x)' % e
        elif e == last:
            rel = 'end of last module'
        elif e == nbexpect.roundup(last, nbexpect.PAGE):
            rel = 'page-rounded end of last module'
        else:
            rel = 'other (end of last module + %d)' % (e - last)
        put('bi.modulelist.endpa', rel)


def _normalise_freebsd(report, put, f, kend):
    stack = {}
    md = {}
    for k, v in report:
        if k == 'pagetables':
            for a, b in kv(v).items():
                put('pagetables.' + a, b)
        elif k == 'stack':
            stack = kv(v)
            for a in ('howto', 'bootdev', 'arg3', 'arg4', 'arg5'):
                if a in stack:
                    put('stack.' + a, stack[a])
            put('stack.ret', _nonzero(stack.get('ret', '0')))
            if 'bootinfo' in stack:
                put('stack.bootinfo', _nonzero(stack['bootinfo']))
        elif k.startswith('md.') and not k.startswith('md.smap'):
            md[k] = v
        elif k in ('md.smap',) or k.startswith('md.smap['):
            put(k, v)
    width = 8 if 'pagetables' in (k for k, _ in report) else 4
    modulep = hexint(stack.get('modulep', '0'))
    kernend = hexint(stack.get('kernend', '0'))
    put('layout.modulep_aligned', 'yes' if modulep and modulep % width == 0 else 'no')
    ssym = hexint(md.get('md.ssym', '')) if 'md.ssym' in md else None
    esym = hexint(md.get('md.esym', '')) if 'md.esym' in md else None
    if ssym is not None:
        put('md.ssym', 'kernel end + 0x%x' % (ssym - kend) if ssym >= kend else
            'below kernel end (0x%x)' % ssym)
    if ssym is not None and esym is not None:
        put('md.symbols.size', '0x%x' % (esym - ssym))
    if 'md.howto' in md:
        put('md.howto', md['md.howto'])
    if 'md.kernend' in md:
        put('md.kernend', '= stack.kernend' if hexint(md['md.kernend']) == kernend else
            'other (%s)' % md['md.kernend'])
    if 'md.modulep' in md:
        put('md.modulep', '= stack.modulep' if hexint(md['md.modulep']) == modulep else
            'other (%s)' % md['md.modulep'])
    if 'md.vbe_fb' in md:
        put('md.vbe_fb', md['md.vbe_fb'])
    envp = hexint(md.get('md.envp', '0'))
    file_index = None
    for k, v in report:
        m = re.match(r'file\[(\d+)\]$', k)
        if m:
            file_index = int(m.group(1))
            s = kv(v)
            for a in ('name', 'type', 'args', 'size'):
                put('%s.%s' % (k, a), s.get(a))
            if file_index == 0:
                put(k + '.addr', s.get('addr'))  # the kernel's address is fixed by its ELF
            continue
        if re.match(r'file\[\d+\]\.md$', k):
            s = kv(v)
            t = int(s['type'], 0)
            put('%s.%s' % (k, MD_NAMES.get(t, '0x%x' % t)), 'size=' + s['size'])
        elif re.match(r'file\[\d+\]\.(elfhdr|symbol)$', k):
            put(k, v)
        elif re.match(r'file\[\d+\]\.section\[\d+\]$', k):
            s = kv(v)
            put(k, 'type=%s flags=%s size=%s crc32=%s' % (s.get('type'), s.get('flags'),
                                                           s.get('size'), s.get('crc32')))
        elif re.match(r'module\[\d+\]$', k):
            s = kv(v)
            for a in ('name', 'type', 'size', 'crc32'):
                put('%s.%s' % (k, a), s.get(a))
        elif k == 'kenv':
            name, _, val = v.partition('=')
            put('kenv.' + name, val)
        elif k == 'bootinfo':
            s = kv(v)
            for a in ('version', 'size', 'kernelname', 'memsizes_valid', 'bios_dev', 'basemem',
                      'extmem'):
                put('bootinfo.' + a, s.get(a))
            rel = {'symtab': ('md.ssym', ssym), 'esymtab': ('md.esym', esym),
                   'kernend': ('stack.kernend', kernend), 'envp': ('md.envp', envp),
                   'modulep': ('stack.modulep', modulep)}
            for a, (what, val) in rel.items():
                x = hexint(s.get(a, ''))
                put('bootinfo.' + a, '0' if x == 0 and val else
                    ('= ' + what) if x == val else 'other (%s)' % s.get(a))
    # the MODINFO_METADATA records: kinds present per file (order not compared)


def _selects(entry, case_name):
    return any(fnmatch.fnmatchcase(case_name, p) for p in entry.case.split())


def compare(case_name, native, mbc):
    """(problems, explained [(field, native, mbchain, reason)], stale [entry])."""
    problems, explained = [], []
    used = set()
    for field in sorted(set(native) | set(mbc)):
        a, b = native.get(field, ABSENT), mbc.get(field, ABSENT)
        if a == b:
            continue
        hit = None
        for i, e in enumerate(ALLOWED):
            if (_selects(e, case_name) and re.fullmatch(e.field, field) and
                    re.fullmatch(e.native, a) and re.fullmatch(e.mbchain, b)):
                hit = i
                break
        if hit is None:
            problems.append('difference not allowed: %s: native GRUB %s, mbchain %s' % (field, a, b))
        else:
            used.add(hit)
            explained.append((field, a, b, ALLOWED[hit].reason))
    stale = [e for i, e in enumerate(ALLOWED)
             if _selects(e, case_name) and i not in used and not e.optional]
    for e in stale:
        problems.append('stale ALLOWED entry (no such difference in %s): %s %s' % (case_name, e.case, e.field))
    return problems, explained, stale


# ---------------------------------------------------------------------------------------------
# Boots

def _module_data(spec, build):
    if isinstance(spec, tuple):
        return _run().module_bytes(spec[1], spec[2])
    with open(os.path.join(build, spec), 'rb') as f:
        return f.read()


def boot_native(case, build, tmp, modules):
    """GRUB knetbsd/kfreebsd through grub-common.sh; returns (rc, 0xE9 text)."""
    tree = os.path.join(tmp, 'tree')
    os.makedirs(os.path.join(tree, 'boot', 'grub'))
    kpath = '/netbsd' if case.os == 'netbsd' else '/boot/kernel/kernel'
    os.makedirs(os.path.dirname(tree + kpath), exist_ok=True)
    shutil.copy(os.path.join(build, 'probes', case.probe + '.elf'), tree + kpath)
    body = list(case.native_pre)
    body.append('%s %s %s' % ('knetbsd' if case.os == 'netbsd' else 'kfreebsd', kpath,
                              case.native_args))
    for (fname, _, cmd, _), data in zip(case.modules, modules):
        with open(os.path.join(tree, fname), 'wb') as f:
            f.write(data)
        body.append(cmd)
    with open(os.path.join(tmp, 'body.cfg'), 'w') as f:
        f.write('\n'.join(body) + '\n')
    # Debian's GRUB 2.06 kfreebsd cannot enter an ELF64 kernel without the relocator64 fix
    patched = case.probe == 'freebsd-amd64'
    script = ('. "$1"; tmp=$2; ' +
              ('grub_relocator64_fixed "$tmp/grub-i386-pc" || exit 99; ' if patched else '') +
              '{ grub_cfg_head; cat "$tmp/body.cfg"; grub_cfg_tail; } > "$3/boot/grub/grub.cfg"; '
              'grub_boot "$3" native ' + ('"$tmp/grub-i386-pc"' if patched else '') +
              '; echo "rc=$rc"')
    proc = subprocess.run(['sh', '-c', script, 'sh', GRUB_COMMON, tmp, tree],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    m = re.search(r'rc=(\d+)', proc.stdout)
    if not m:
        raise RuntimeError('native GRUB boot did not run (exit %d): %s' %
                           (proc.returncode, proc.stderr.strip()[-500:]))
    path = os.path.join(tmp, 'e9-native.txt')
    text = open(path, errors='replace').read() if os.path.exists(path) else ''
    return int(m.group(1)), text


def boot_mbchain(case, build, tmp, modules):
    """GRUB multiboot + mbchain through tests/run.py's helpers; returns (rc, 0xE9 text)."""
    run = _run()
    rcase = run.Case('differential/' + case.name, 'grub', case.probe,
                     kernel_args=case.mb_kernel_args, cmdline=case.mb_cmdline,
                     modules=[(m[0], m[3], data) for m, data in zip(case.modules, modules)])
    _, entries = run.write_inputs(rcase, build, tmp)
    rcase.cmdline = (case.mb_cmdline + ' mbchain.exitport=0xf4').strip()
    iso = run.grub_iso(rcase, build, tmp, entries)
    cmd = run.qemu_command(rcase, tmp, None, entries) + ['-cdrom', iso]
    try:
        rc = subprocess.run(['timeout', '60'] + cmd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, timeout=70).returncode
    except subprocess.TimeoutExpired:
        rc = -1
    return rc, harness.read_log(tmp).replace('\r', '')


def run_case(name, build, verbose=False, show=False):
    """Boot one case both ways and compare; (rc of the mbchain boot, summary, problems)."""
    case = DCASES[name]
    need = [os.path.join(build, 'mbchain.elf'), os.path.join(build, 'probes', case.probe + '.elf')]
    need += [os.path.join(build, m[1]) for m in case.modules if not isinstance(m[1], tuple)]
    missing = harness.missing(need)
    if missing:
        return missing
    problems = []
    try:
        with open(ALLOWED_MD) as f:
            if f.read() != allowed_markdown():
                problems.append('tests/differential/ALLOWED.md is out of step with ALLOWED '
                                '(run differential.py --write-allowed)')
    except OSError:
        problems.append('tests/differential/ALLOWED.md missing (run differential.py --write-allowed)')
    modules = [_module_data(m[1], build) for m in case.modules]
    tmp = tempfile.mkdtemp(prefix='mbchain-diff-')
    try:
        t0 = time.time()
        os.makedirs(os.path.join(tmp, 'native'))
        os.makedirs(os.path.join(tmp, 'mbchain'))
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            fn = pool.submit(boot_native, case, build, os.path.join(tmp, 'native'), modules)
            fm = pool.submit(boot_mbchain, case, build, os.path.join(tmp, 'mbchain'), modules)
            (nrc, ntext), (mrc, mtext) = fn.result(), fm.result()
        elapsed = time.time() - t0
        if mrc != EXIT_PASS:
            problems.append('mbchain boot: QEMU exit %d, want %d' % (mrc, EXIT_PASS))
        if 'result: PASS' not in mtext:
            problems.append('mbchain boot: no "result: PASS" from the probe')
        if 'result: ' not in ntext:
            problems.append('native GRUB boot: the probe gave no result (QEMU exit %d)' % nrc)
        # the module contents, independently of both loaders (a FreeBSD .ko is laid out by
        # section, its sections' CRCs are compared as fields)
        for i, data in enumerate(modules):
            if case.os == 'freebsd' and data[:4] == b'\x7fELF':
                continue
            crc = '0x%08x' % zlib.crc32(data)
            key = 'crc32=' + crc
            if key not in mtext:
                problems.append('mbchain boot: module %d (%s) with %s not reported' % (i, case.modules[i][0], key))
            if key not in ntext:
                problems.append('native GRUB boot: module %d (%s) with %s not reported' % (i, case.modules[i][0], key))
        with open(os.path.join(build, 'probes', case.probe + '.elf'), 'rb') as f:
            kend = kernel_end(f.read(), case.os)
        native, mbc = normalise(ntext, case.os, kend), normalise(mtext, case.os, kend)
        diff_problems, explained, _ = compare(name, native, mbc)
        problems += diff_problems
        summary = '%d fields, %d allowed differences, %.1f s' % (len(set(native) | set(mbc)),
                                                                  len(explained), elapsed)
        if show:
            lines = ['%-34s %-34s %s' % ('field', 'native GRUB', 'mbchain')]
            for k in sorted(set(native) | set(mbc)):
                a, b = native.get(k, ABSENT), mbc.get(k, ABSENT)
                lines.append('%s %-34s %-34s %s' % ('=' if a == b else '*', k, a, b))
            problems_show = ['--- fields (* = differs) ---\n' + '\n'.join(lines)]
            problems_show += ['--- allowed differences ---\n' + '\n'.join(
                '%s: %s | %s  (%s)' % e for e in explained)]
        else:
            problems_show = []
        if problems and verbose:
            problems.append('--- native GRUB 0xE9 log ---\n' + ntext)
            problems.append('--- mbchain 0xE9 log ---\n' + mtext)
        return mrc, summary, problems + (problems_show if show else [])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _options(ap):
    ap.add_argument('--show', action='store_true', help='print every field of both reports')
    ap.add_argument('--write-allowed', action='store_true', help='regenerate ALLOWED.md')


def _write_allowed(args):
    if args.write_allowed:
        with open(ALLOWED_MD, 'w') as f:
            f.write(allowed_markdown())
        print('wrote', ALLOWED_MD)
        return 0


def main():
    # the "--- fields" and "--- allowed" tables of --show are attachments, no failure
    return harness.standalone_main(CASES, run_case, 'differential/', extra_args=_options, width=16,
                                   jobs=max(1, (os.cpu_count() or 2) // 2), before=_write_allowed,
                                   case_options=('show',))


if __name__ == '__main__':
    sys.exit(main())
