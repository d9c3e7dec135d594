#!/usr/bin/env python3
"""passthrough.py - Multiboot passthrough boots (src/mbpass.c), for tests/run.py to import.

mbchain starts any Multiboot v1 kernel that is neither NetBSD nor FreeBSD with a fresh
Multiboot information structure (MIS).  Three kinds of case:

  {qemu,grub}/{elf,kludge}/...  the mbinfo probe (mbinfo.c: a plain Multiboot kernel that
        echoes every MIS field as `mb.<field>: value` and checks what the spec promises it) as
        mbchain's kernel module, booted by QEMU -kernel or from a GRUB ISO (tests/run.py's
        write_inputs / grub_iso):
            -kernel BUILD/mbchain.elf -append mbchain.exitport=0xf4
            -initrd "BUILD/mbinfo.elf ARGS,MOD1 ARGS,MOD2 ARGS"
        The report is compared line by line with what expected_mb() computes from the case.
  {qemu,grub}/chain/netbsd-i386  mbchain starting mbchain (a Multiboot kernel with no BSD
        identity) starting the NetBSD probe:
            -initrd "BUILD/mbchain.elf mbchain.exitport=0xf4,BUILD/probes/netbsd-i386.elf -s"
        The NetBSD probe's report is compared with tests/nbexpect.py as tests/run.py judge()
        does, the kernel path being the string the inner mbchain receives.
  {qemu,grub}/xen  Debian 12's Xen 4.17 hypervisor (package xen-hypervisor-4.17-amd64, fetched
        with `apt-get download` into $MBCHAIN_CACHE or ~/.cache/mbchain, never installed) as the
        kernel module, the NetBSD/amd64 probe as a stand-in "dom0" (Xen parses its ELF headers,
        then panics "Could not construct domain 0": the run is stopped on that panic).  Asserted
        on what Xen prints on COM1 (see XEN_FACTS).  No download possible: the single problem
        'SKIP: reason'.

Exports
  CASES                                 case names
  run_case(name, build, verbose=False)  -> (rc, summary, problems); problems empty = pass
  main(): python3 tests/passthrough/passthrough.py [--build DIR] [--only SUBSTRING] [-j N] [-v]

Facts the expectations rest on (QEMU 7.2, SeaBIOS 1.16.2, GRUB 2.06, Debian 12):
  - The MIS mbchain builds (src/mbpass.c): flags = mem | cmdline | mods | mmap | loader name
    (0x24d), plus boot device (0x2) when mbchain's loader gave one: QEMU's Multiboot ROM gives
    0x8000ffff, GRUB on a CD 0xe0ffffff; both give flags 0x24f here.  No framebuffer: the probe's
    header does not ask for video.
  - mem_lower / mem_upper = what mbchain's loader reported = the RAM at 0 and at 1 MiB in QEMU's
    E820 (tests/run.py qemu_e820), in KiB.
  - The map = QEMU's E820 after mbchain's sanitising (sorted, merged; for these machines the
    same list), each entry size 20, mmap_length = 24 * entries.
  - cmdline = the kernel module's string exactly as the loader gave it to mbchain: QEMU
    "FILE ARGS" (just "FILE" without args), GRUB 2 "ARGS" (no file name).  Module strings the
    same way.  Loader name "mbchain".
  - Modules: the other modules in request order, each page-aligned right after the previous one,
    the first page-aligned right after the kernel image's end (ELF: max p_paddr + p_memsz of the
    PT_LOADs; a.out kludge: bss_end_addr, else load_end_addr), each with its CRC-32.
  - The probe builds: mbinfo.elf (ELF32, header flags 0x3, linked at 0x800000) and
    mbinfo-kludge.bin (flat image, header flags 0x10003, loaded at 0x1400000 by its header).
"""
import fcntl
import glob
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
ROOT = os.path.dirname(TESTS)
sys.path.insert(0, TESTS)
import harness  # noqa: E402

EXIT_PASS = 33
MBCHAIN_ARGS = 'mbchain.exitport=0xf4'
PROBES = {'elf': 'mbinfo.elf', 'kludge': 'mbinfo-kludge.bin'}
MB_HEADER_MAGIC = 0x1BADB002
MB_LOADER_MAGIC = 0x2BADB002
BOOT_DEVICE = {'qemu': 0x8000ffff, 'grub': 0xe0ffffff}
PAGE = 4096

# The Xen package and what it is asserted to print (Xen 4.17 xen/arch/x86/setup.c __start_xen,
# xen/arch/x86/e820.c print_e820_memory_map, xen/common/libelf/libelf-loader.c):
#   "(XEN) Xen version V (Debian DEBVER) ..."   V = the Debian version up to '+'/'-'
#   "(XEN) Bootloader: mbchain"                  MIS boot_loader_name
#   "(XEN) Command line: ARGS"                   MIS cmdline after cmdline_cook(): leading
#        blanks dropped and, unless the loader name contains "GRUB " followed by a non-'0'
#        (GRUB 2), the first word (the image name) dropped too
#   "(XEN) Multiboot-e820 RAM map:" + one line per MIS mmap entry
#        " [%016lx, %016lx] (usable|reserved|ACPI data|ACPI NVS|unusable)" (end inclusive);
#        "Multiboot-e820" only with no-real-mode (else Xen asks the BIOS itself: "Xen-e820")
#   "(XEN) System RAM: %luMB (%lukB)"             the usable entries, each trimmed to whole pages
#   "(XEN) ELF: phdr: paddr=0x%x memsz=0x%x"     dom0=verbose: module 0's PT_LOADs, read from
#   "(XEN) ELF: memory: 0x%x -> 0x%x"            the bytes mbchain delivered
#   "(XEN) Panic on CPU 0:" / "(XEN) Could not construct domain 0"   the expected end (the probe
#        is no Xen guest); "dom0 kernel not specified" would mean no module reached Xen.
XEN_PACKAGE = 'xen-hypervisor-4.17-amd64'
XEN_GZ = 'boot/xen-4.17-amd64.gz'
XEN_ARGS = 'loglvl=all guest_loglvl=all console=com1 com1=115200,8n1 no-real-mode dom0=verbose'
XEN_DOM0_ARGS = 'dom0 args'
XEN_RAM_MIB = 512
XEN_END_PANIC = 'Could not construct domain 0'
E820_XEN_NAMES = {1: 'usable', 2: 'reserved', 3: 'ACPI data', 4: 'ACPI NVS', 5: 'unusable'}

CASES = []
for _loader in ('qemu', 'grub'):
    for _kind in ('elf', 'kludge'):
        CASES += ['%s/%s/no-modules' % (_loader, _kind), '%s/%s/two-modules' % (_loader, _kind)]
CASES += ['qemu/elf/ram-3g', 'qemu/elf/q35-8g', 'qemu/elf/kernel-index-1', 'qemu/kludge/big-module', 'qemu/chain/netbsd-i386', 'grub/chain/netbsd-i386',
          'qemu/xen', 'grub/xen']


def _run():
    """tests/run.py: the running one when it is __main__ (it imports this module), else imported."""
    main = sys.modules.get('__main__')
    if all(hasattr(main, f) for f in ('grub_iso', 'write_inputs', 'judge', 'qemu_e820', 'Case')):
        return main
    import run
    return run


def module_bytes(seed, size):
    import cases as forge_cases  # noqa (tests/forge on sys.path through run.py)
    return forge_cases.module_bytes(seed, size)


def big_bytes(size):
    """Deterministic, nowhere-repeating content, fast enough for megabytes (SHA-256 of a counter)."""
    import hashlib
    return b''.join(hashlib.sha256(b'%d' % i).digest() for i in range((size + 31) // 32))[:size]


# ---- what the case must produce ----------------------------------------------------------------

def mb_header(data):
    """(offset, flags, [header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr]) of the
    Multiboot v1 header in the first 8 KiB, by the spec (3.1.1: 4-aligned, checksum)."""
    for off in range(0, min(len(data), 8192) - 11, 4):
        magic, flags, csum = struct.unpack_from('<III', data, off)
        if magic == MB_HEADER_MAGIC and (magic + flags + csum) & 0xffffffff == 0:
            kludge = list(struct.unpack_from('<5I', data, off + 12)) if flags & 0x10000 else None
            return off, flags, kludge
    raise ValueError('no Multiboot header')


def image_facts(data):
    """(start, end, entry) of the kernel image as a Multiboot loader places it."""
    off, flags, kl = mb_header(data)
    if kl:
        header_addr, load_addr, load_end, bss_end, entry = kl
        file_off = off - (header_addr - load_addr)
        end = bss_end or load_end or load_addr + len(data) - file_off
        return load_addr, end, entry
    assert data[:4] == b'\x7fELF' and data[4] == 1, 'ELF32 expected'
    entry, phoff = struct.unpack_from('<II', data, 24)
    phentsize, phnum = struct.unpack_from('<HH', data, 42)
    loads = []
    for i in range(phnum):
        p_type, _, _, paddr, _, memsz = struct.unpack_from('<6I', data, phoff + i * phentsize)
        if p_type == 1:
            loads.append((paddr, paddr + memsz))
    return min(s for s, _ in loads), max(e for _, e in loads), entry


def quote(s):
    """A string as the probe prints it (../probes/lib.c print_str, quoted)."""
    out = ''
    for b in s.encode():
        out += '\\x%02x' % b if b < 0x20 or b > 0x7e or b in b'\\"' else chr(b)
    return '"%s"' % out


def page_up(x):
    return (x + PAGE - 1) & ~(PAGE - 1)


def expected_mb(loader, probe_bytes, kernel_string, modules, memmap):
    """The report lines (key, value) in order.  modules: [(string, bytes)] in request order."""
    run = _run()
    start, end, entry = image_facts(probe_bytes)
    flags = 0x1 | 0x4 | 0x8 | 0x40 | 0x200 | (0x2 if loader in BOOT_DEVICE else 0)
    lines = [('image', 'start=0x%x end=0x%x entry=0x%x' % (start, end, entry)),
             ('mb.flags', '0x%08x' % flags),
             ('mb.mem_lower', '%d' % (run.ram_at(memmap, 0) // 1024)),
             ('mb.mem_upper', '%d' % (run.ram_at(memmap, 1 << 20) // 1024))]
    if loader in BOOT_DEVICE:
        lines.append(('mb.boot_device', '0x%08x' % BOOT_DEVICE[loader]))
    lines += [('mb.cmdline', quote(kernel_string)), ('mb.mods_count', '%d' % len(modules))]
    pos = end
    for i, (string, data) in enumerate(modules):
        pos = page_up(pos)
        lines.append(('mb.mod[%d]' % i, 'start=0x%x end=0x%x string=%s crc32=0x%08x' % (
            pos, pos + len(data), quote(string), zlib.crc32(data))))
        pos += len(data)
    lines.append(('mb.mmap_length', '%d' % (24 * len(memmap))))
    for i, (base, size, typ) in enumerate(memmap):
        lines.append(('mb.mmap[%d]' % i, 'size=20 base=0x%x len=0x%x type=%d' % (base, size, typ)))
    lines.append(('mb.loader_name', quote('mbchain')))
    return lines


INFORMATIONAL = ('mb.mis', 'mb.mods_addr', 'mb.mmap_addr')  # placed by mbchain's layout
CHECKS = ['eax_magic', 'entry_state', 'mmap_well_formed', 'strings_terminated', 'info_outside_image',
          'info_in_ram', 'modules_page_aligned', 'modules_disjoint', 'modules_in_ram', 'data_pattern',
          'bss_zero']


def parse_lines(text):
    out = []
    for line in text.replace('\r', '').split('\n'):
        key, sep, value = line.partition(': ')
        if sep and re.match(r'^(probe|image|entry|mb\.[a-z_]+(\[\d+\])?|check|result)$', key):
            out.append((key, value))
    return out


def compare_mb(exp, report, flavour):
    problems = []
    got = [(k, v) for k, v in report if k not in INFORMATIONAL and k not in ('check', 'entry', 'result')]
    want = [('probe', flavour)] + exp
    for i in range(max(len(got), len(want))):
        g = got[i] if i < len(got) else None
        w = want[i] if i < len(want) else None
        if g != w:
            problems.append('line %d: got %s, want %s' % (i, '%s: %s' % g if g else '(none)',
                                                          '%s: %s' % w if w else '(none)'))
    entry = [v for k, v in report if k == 'entry']
    if not entry or not re.match(r'^eax=0x2badb002 ebx=0x[0-9a-f]{8} cr0_pe=1 cr0_pg=0 if=0 vm=0 '
                                 r'cs_flat=1 ds_flat=1 ss_flat=1$', entry[0]):
        problems.append('entry line %r' % (entry[0] if entry else None))
    checks = {v.split(' ')[0]: v for k, v in report if k == 'check'}
    for name in CHECKS:
        if checks.get(name) != '%s ok' % name:
            problems.append('check %s: %s' % (name, checks.get(name, '(missing)')))
    for name, v in checks.items():
        if name not in CHECKS:
            problems.append('unexpected check: %s' % v)
    if ('result', 'PASS') not in report:
        problems.append('no "result: PASS"')
    return problems


# ---- running QEMU ------------------------------------------------------------------------------

def qemu_base(tmp, machine='pc', ram_mib=128, cpu=None):
    cmd = ['qemu-system-x86_64', '-M', machine, '-m', str(ram_mib), '-display', 'none', '-nic', 'none',
           '-monitor', 'none', '-no-reboot', '-serial', 'file:' + os.path.join(tmp, 'com1.log'),
           '-debugcon', 'file:' + os.path.join(tmp, 'e9.log'),
           '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04']
    if cpu:
        cmd += ['-cpu', cpu]
    return cmd


def boot_media(loader, build, tmp, entries, cmdline=MBCHAIN_ARGS):
    """QEMU arguments that start mbchain with these modules [(path, args)]."""
    run = _run()
    if loader == 'qemu':
        args = ['-kernel', os.path.join(build, 'mbchain.elf'), '-append', cmdline]
        if entries:
            args += ['-initrd', ','.join(('%s %s' % (p, a)).strip().replace(',', ',,') for p, a in entries)]
        return args
    case = run.Case('passthrough', loader='grub', cmdline=cmdline)
    return ['-cdrom', run.grub_iso(case, build, tmp, entries)]


def run_qemu(cmd, tmp, limit):
    try:
        rc = subprocess.run(['timeout', str(limit)] + cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            timeout=limit + 10).returncode
    except subprocess.TimeoutExpired:
        rc = -1
    return rc, harness.read_log(tmp)


def string_for(loader, path, args, index=None, kernel_index=0):
    """The Multiboot string the passed-through kernel gets for `module PATH ARGS`: QEMU gives
    "PATH ARGS" and mbchain passes it on; GRUB 2 gives ARGS only, and mbchain puts a path word
    in front (name= if given, else /kernel or /moduleN, N counted in mbchain's own list)."""
    if loader != 'grub':
        return ('%s %s' % (path, args)).strip()
    import nbexpect
    name = nbexpect.parse_options([args]).get('name')
    if not name:
        name = '/kernel' if index is None or index == kernel_index else '/module%d' % index
    return ('%s %s' % (name, args)).rstrip() if args else name + ' '



def probe_case(name, build, verbose):
    loader, kind, variant = name.split('/')
    machine, ram = {'ram-3g': ('pc', 3072), 'q35-8g': ('q35', 8192)}.get(variant, ('pc', 128))
    run = _run()
    probe_path = os.path.join(build, PROBES[kind])
    if not os.path.exists(probe_path):
        return -1, '-', ['harness: %s missing (make -C tests/passthrough OUT=%s)' % (probe_path, build)]
    kernel_args = 'a b=c "quoted words" x' if variant != 'no-modules' else ''
    mods, kernel_index, cmdline = [], 0, MBCHAIN_ARGS
    if variant in ('two-modules', 'q35-8g', 'ram-3g', 'kernel-index-1'):
        mods = [('mod1.bin', 'type=one name=/first', module_bytes(11, 5000)),
                ('mod2.bin', '', module_bytes(12, 70000))]
    if variant == 'kernel-index-1':  # a module before the kernel is passed on all the same
        kernel_index, cmdline = 1, MBCHAIN_ARGS + ' mbchain.kernel=1'
    if variant == 'big-module':
        # QEMU puts this 24 MiB module's source right after mbchain (~1.2 MiB): it covers the
        # kludge image's destination (20 MiB) and its own destination right after the image
        mods = [('big.bin', 'big', big_bytes(24 << 20))]
    tmp = tempfile.mkdtemp(prefix='mbchain-pass-')
    try:
        case = run.Case(name, loader=loader, kernel_file=open(probe_path, 'rb').read(),
                        kernel_args=kernel_args, modules=mods, kernel_index=kernel_index)
        kernel, entries = run.write_inputs(case, build, tmp)
        cmd = qemu_base(tmp, machine, ram) + boot_media(loader, build, tmp, entries, cmdline)
        rc, e9 = run_qemu(cmd, tmp, 60 if loader == 'grub' else 30)
        memmap = run.qemu_e820(machine, ram)
        others = [(i, e) for i, e in enumerate(entries) if i != kernel_index]
        exp = expected_mb(loader, case.kernel_file, string_for(loader, kernel, kernel_args),
                          [(string_for(loader, p, a, i, kernel_index), d)
                           for (i, (p, a)), (_, _, d) in zip(others, mods)],
                          memmap)
        report = parse_lines(e9)
        problems = [] if rc == EXIT_PASS else ['QEMU exit %d, want %d' % (rc, EXIT_PASS)]
        problems += compare_mb(exp, report, 'mbinfo-' + kind)
        summary, problems = harness.summarize(e9, problems, verbose)
        return rc, summary, problems
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def chain_case(name, build, verbose):
    """mbchain -> mbchain -> NetBSD probe; judged by tests/run.py judge() for the inner boot."""
    loader = name.split('/')[0]
    run = _run()
    mbchain = os.path.join(build, 'mbchain.elf')
    probe = os.path.join(build, 'probes', 'netbsd-i386.elf')
    tmp = tempfile.mkdtemp(prefix='mbchain-chain-')
    try:
        # Under GRUB the inner mbchain sees "/module1 -s" (mbchain's path word for a string
        # GRUB gave without one): name= keeps the kernel's boot path what the test expects.
        kernel_args = '-s name=/netbsd' if loader == 'grub' else '-s'
        entries = [(mbchain, MBCHAIN_ARGS), (probe, kernel_args)]
        # the outer mbchain verbose (it says which target it chose), the inner one quiet
        cmd = qemu_base(tmp) + boot_media(loader, build, tmp, entries, MBCHAIN_ARGS + ' mbchain.verbose')
        rc, e9 = run_qemu(cmd, tmp, 60 if loader == 'grub' else 30)
        # What the inner mbchain sees: its loader ("mbchain") passed the outer loader's strings on,
        # so its command line is "FILE mbchain.exitport=0xf4" (QEMU) or "mbchain.exitport=0xf4"
        # (GRUB) and its kernel module string "PROBE -s" / "-s"; run.judge() knows both forms.
        inner = run.Case(name, loader=loader, probe='netbsd-i386', kernel_args=kernel_args)
        problems = run.judge(inner, build, rc, e9, probe, [(probe, kernel_args)])
        if e9.count('mbchain: boot: kernel is module 0, OS multiboot\n') != 1:
            problems.append('no "boot: kernel is module 0, OS multiboot" line from the outer mbchain')
        summary, problems = harness.summarize(e9, problems, verbose)
        return rc, summary, problems
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---- Xen ---------------------------------------------------------------------------------------

def cache_dir():
    return os.environ.get('MBCHAIN_CACHE') or os.path.join(os.path.expanduser('~'), '.cache', 'mbchain')


def fetch_xen():
    """(xen.gz path, inflated xen path, Debian version) from the cache, downloading the package
    once (a lock file serialises parallel cases); raises RuntimeError('reason') when impossible."""
    d = os.path.join(cache_dir(), 'xen-4.17')
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, '.lock'), 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        gz, raw, ver_file = (os.path.join(d, 'xen-4.17-amd64.gz'), os.path.join(d, 'xen-4.17-amd64'),
                             os.path.join(d, 'version'))
        if not (os.path.exists(gz) and os.path.exists(raw) and os.path.exists(ver_file)):
            for old in glob.glob(os.path.join(d, '*.deb')):
                os.unlink(old)
            try:
                p = subprocess.run(['apt-get', 'download', XEN_PACKAGE], cwd=d, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, timeout=300)
            except (OSError, subprocess.TimeoutExpired) as e:
                raise RuntimeError('apt-get download %s: %r' % (XEN_PACKAGE, e))
            debs = glob.glob(os.path.join(d, XEN_PACKAGE + '_*.deb'))
            if p.returncode != 0 or not debs:
                raise RuntimeError('apt-get download %s failed: %s' % (XEN_PACKAGE, p.stdout.strip()[-300:]))
            version = subprocess.run(['dpkg-deb', '-f', debs[0], 'Version'], stdout=subprocess.PIPE,
                                     text=True, check=True).stdout.strip()
            tree = os.path.join(d, 'tree')
            shutil.rmtree(tree, ignore_errors=True)
            subprocess.run(['dpkg-deb', '-x', debs[0], tree], check=True)
            shutil.copy(os.path.join(tree, XEN_GZ), gz + '.tmp')
            with open(gz + '.tmp', 'rb') as f, open(raw + '.tmp', 'wb') as out:
                import gzip
                out.write(gzip.decompress(f.read()))  # mbchain does not inflate yet
            os.rename(gz + '.tmp', gz)
            os.rename(raw + '.tmp', raw)
            shutil.rmtree(tree, ignore_errors=True)
            with open(ver_file, 'w') as f:
                f.write(version + '\n')
        return gz, raw, open(ver_file).read().strip()


def xen_cmdline_seen(loader_name, cmdline):
    """Xen 4.17 cmdline_cook(): what Xen prints after "Command line: "."""
    p = cmdline.lstrip(' ')
    i = loader_name.find('GRUB ')
    if i >= 0 and loader_name[i + 5:i + 6] not in ('0', ''):
        return p
    return p.split(' ', 1)[1].lstrip(' ') if ' ' in p else ''


def xen_expected(version, args, memmap, dom0_bytes):
    """Lines Xen must print, in order (each a regex matched against a whole line)."""
    upstream = re.split(r'[+~-]', version)[0]
    lines = [r'\(XEN\) Xen version %s \(Debian %s\) .*' % (re.escape(upstream), re.escape(version)),
             re.escape('(XEN) Bootloader: mbchain'),
             re.escape('(XEN) Command line: ' + args),
             re.escape('(XEN) Multiboot-e820 RAM map:')]
    for base, size, typ in memmap:
        lines.append(re.escape('(XEN)  [%016x, %016x] (%s)' % (base, base + size - 1, E820_XEN_NAMES[typ])))
    kib = sum(((b + s) & ~(PAGE - 1)) - page_up(b) for b, s, t in memmap if t == 1 and b + s > page_up(b)) // 1024
    lines.append(re.escape('(XEN) System RAM: %dMB (%dkB)' % (kib >> 10, kib)))
    lines.append(re.escape('(XEN) *** Building a PV Dom0 ***'))
    # libelf with dom0=verbose: module 0's program headers, then its memory range
    phoff, = struct.unpack_from('<Q', dom0_bytes, 32)
    phentsize, phnum = struct.unpack_from('<HH', dom0_bytes, 54)
    lo, hi = None, 0
    for i in range(phnum):
        p_type, _, _, _, paddr, _, memsz = struct.unpack_from('<IIQQQQQ', dom0_bytes, phoff + i * phentsize)
        if p_type == 1:
            lines.append(re.escape('(XEN) ELF: phdr: paddr=0x%x memsz=0x%x' % (paddr, memsz)))
            lo, hi = paddr if lo is None else min(lo, paddr), max(hi, paddr + memsz)
    lines.append(re.escape('(XEN) ELF: memory: 0x%x -> 0x%x' % (lo, hi)))
    lines += [re.escape('(XEN) Panic on CPU 0:'), re.escape('(XEN) ' + XEN_END_PANIC)]
    return lines


def xen_grub_iso(build, tmp, xen_gz, args, dom0):
    """A GRUB ISO: mbchain, then xen-4.17-amd64.gz inflated by GRUB (insmod gzio), then dom0.
    tests/run.py grub_iso() has no `insmod gzio` line, so the same recipe is written here."""
    tree = os.path.join(tmp, 'iso')
    os.makedirs(os.path.join(tree, 'boot', 'grub'))
    shutil.copy(os.path.join(build, 'mbchain.elf'), os.path.join(tree, 'boot', 'mbchain.elf'))
    shutil.copy(xen_gz, os.path.join(tree, 'boot', 'xen.gz'))
    shutil.copy(dom0, os.path.join(tree, 'boot', 'dom0'))
    cfg = ['serial --unit=0 --speed=115200', 'terminal_input serial', 'terminal_output serial',
           'set timeout=0', 'insmod multiboot', 'insmod gzio',
           'multiboot /boot/mbchain.elf ' + MBCHAIN_ARGS,
           'module /boot/xen.gz ' + args, 'module /boot/dom0 ' + XEN_DOM0_ARGS,
           'boot', 'echo BOOT-FAILED', 'halt']
    with open(os.path.join(tree, 'boot', 'grub', 'grub.cfg'), 'w') as f:
        f.write('\n'.join(cfg) + '\n')
    iso = os.path.join(tmp, 'boot.iso')
    subprocess.run(['grub-mkrescue', '-o', iso, tree, '--locales=', '--fonts=', '--themes=',
                    '--install-modules=multiboot normal serial terminal echo halt iso9660 biosdisk '
                    'part_msdos gzio'], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return iso


def run_until(cmd, log, stop_re, limit):
    """Run QEMU until its log matches stop_re (then stop it: Xen's panic waits 5 s and reboots),
    it exits, or limit seconds pass.  Returns (rc or 'stopped' / 'timeout', log text)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline, rc = time.time() + limit, None
    try:
        while rc is None:
            text = open(log, errors='replace').read().replace('\r', '') if os.path.exists(log) else ''
            if re.search(stop_re, text, re.M):
                rc = 'stopped'
            elif proc.poll() is not None:
                rc = proc.returncode
            elif time.time() > deadline:
                rc = 'timeout'
            else:
                time.sleep(0.05)
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    text = open(log, errors='replace').read().replace('\r', '') if os.path.exists(log) else ''
    return rc, text


def xen_case(name, build, verbose):
    loader = name.split('/')[0]
    try:
        xen_gz, xen_raw, version = fetch_xen()
    except RuntimeError as e:
        return -1, 'skipped', ['SKIP: %s' % e]
    run = _run()
    dom0 = os.path.join(build, 'probes', 'netbsd-amd64.elf')  # an ELF64 that is no Xen guest
    tmp = tempfile.mkdtemp(prefix='mbchain-xen-')
    try:
        cmd = qemu_base(tmp, 'pc', XEN_RAM_MIB, cpu='max')
        if loader == 'qemu':
            cmd += boot_media('qemu', build, tmp, [(xen_raw, XEN_ARGS), (dom0, XEN_DOM0_ARGS)])
            xen_string = '%s %s' % (xen_raw, XEN_ARGS)
        else:
            cmd += ['-cdrom', xen_grub_iso(build, tmp, xen_gz, XEN_ARGS, dom0)]
            xen_string = string_for('grub', None, XEN_ARGS)  # mbchain puts "/kernel" in front
        stop = r'^\(XEN\) Panic on CPU \d+:\n.*\n|^mbchain: error: .*\n|^mbchain: halted'
        rc, com1 = run_until(cmd, os.path.join(tmp, 'com1.log'), stop, 120)
        e9 = harness.read_log(tmp)
        problems = []
        if rc != 'stopped':
            problems.append('QEMU ended %s before Xen panicked' % rc)
        errors = [l for l in e9.split('\n') if l.startswith(harness.ERROR)]
        problems += ['mbchain: %s' % l for l in errors]
        # Xen must show exactly what mbchain's MIS says; the "Command line:" line is Xen's
        # cmdline_cook() of the string mbchain passed, which is the string mbchain's loader gave.
        want = xen_expected(version, XEN_ARGS, run.qemu_e820('pc', XEN_RAM_MIB), open(dom0, 'rb').read())
        seen = xen_cmdline_seen('mbchain', xen_string)
        if seen != XEN_ARGS:
            problems.append('Xen will print "Command line: %s": it drops the first word of the MIS command '
                            'line unless the loader name says GRUB 2, and mbchain passed %r' % (seen, xen_string))
        # from "(XEN)" on: GRUB's ANSI escapes precede Xen's first line on COM1
        lines = [l[l.index('(XEN)'):] for l in com1.split('\n') if '(XEN)' in l]
        at = 0
        for pattern in want:
            for j in range(at, len(lines)):
                if re.fullmatch(pattern, lines[j]):
                    at = j + 1
                    break
            else:
                near = [l for l in lines if l.split(':')[0] == pattern.replace('\\', '').split(':')[0]]
                problems.append('no line matching %s after line %d%s' % (
                    pattern.replace('\\', ''), at, ' (saw %r)' % near[0] if near else ''))
        # the map lines follow the header with nothing in between, and no more of them
        if 'Multiboot-e820 RAM map:' in com1:
            block = com1.split('Multiboot-e820 RAM map:\n', 1)[1].split('\n')
            n = len([1 for l in block[:64] if re.match(r'\(XEN\)  \[', l)])
            if n != len(run.qemu_e820('pc', XEN_RAM_MIB)):
                problems.append('Xen printed %d map lines, want %d' % (n, len(run.qemu_e820('pc', XEN_RAM_MIB))))
        if 'dom0 kernel not specified' in com1:
            problems.append('Xen saw no module')
        panic = re.search(r'^\(XEN\) Panic on CPU \d+:\n\(XEN\) (.*)$', com1, re.M)
        summary = 'Xen panic: %s' % panic.group(1) if panic else (errors[0] if errors else '-')
        if problems and verbose:
            problems.append('--- COM1 ---\n' + com1 + '\n--- 0xE9 ---\n' + e9)
        return (rc if isinstance(rc, int) else -1), summary, problems
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_case(name, build, verbose=False):
    if name not in CASES:
        return -1, '-', ['harness: unknown case %s' % name]
    need = [os.path.join(build, 'mbchain.elf')]
    missing = harness.missing(need)
    if missing:
        return missing
    if '/xen' in name:
        return xen_case(name, build, verbose)
    if '/chain/' in name:
        return chain_case(name, build, verbose)
    return probe_case(name, build, verbose)


def main():
    return harness.standalone_main(CASES, run_case, 'passthrough/', timed=True, skips=True)


if __name__ == '__main__':
    sys.exit(main())
