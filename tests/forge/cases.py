#!/usr/bin/env python3
"""cases.py - the hostile-MIS cases of forge.elf (see CASES.md), for tests/run.py to import.

forge.elf is a Multiboot kernel that loads mbchain.elf (its module 0) the way a loader would,
hands it a freshly built Multiboot information structure (MIS) with one corruption, and
jumps to it.  Each case is booted as

    qemu-system-x86_64 ... -kernel BUILD/forge.elf -append forge=CASE
        -initrd "BUILD/mbchain.elf mbchain.exitport=0xf4,BUILD/probes/PROBE.elf -s,MOD type=rnd"

Exports
  CASES    [(name, expected error-line prefix after "mbchain: error: ", or None = must boot)]
  HALTS    cases that fail before mbchain has read its command line, so mbchain.exitport is
           unknown: mbchain prints its error line, "mbchain: halted" and halts; QEMU does
           not exit by itself (stop it with a timeout and judge by the log)
  PROBES   case -> probe kernel when not netbsd-i386
  qemu_command(), expected_report_args(), judge(): what tests/run.py needs; main() runs all
  cases stand-alone:  python3 tests/forge/cases.py [--build DIR] [--only SUBSTRING] [-v]

Facts the expectations rest on (QEMU 7.2, SeaBIOS 1.16.2, Debian 12): the last 16 bytes
below 4 GiB are SeaBIOS's reset vector and date, "\\xea\\x5b\\xe0\\x00\\xf0" "06/23/99" "\\0\\xfc\\0",
mirrored at 0xffff0.  So a string pointer at 0xfffffff8 reads the NUL-terminated "23/99",
0xffffffff reads "" - no string can run past 4 GiB on this machine; the *_wraps string cases
therefore boot, with "23/99" (or "") in place of the forged field.
"""
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))  # tests/, for nbexpect
import harness  # noqa: E402

EXIT_PASS, EXIT_MBCHAIN_ERROR, EXIT_FORGE_ERROR = 33, 253, 251
ROM_STRING_AT_FFFFFFF8 = '23/99'  # SeaBIOS 1.16.2 build date tail, NUL at 0xfffffffd

CASES = [
    ('none', None),
    ('mis_wraps', 'mis: boot information at 0xfffffff0 (+'),
    ('mis_in_image', "mis: boot information at 0x101000 lies inside mbchain's own image"),
    ('mis_below_image', "mis: boot information at 0xffff6 lies inside mbchain's own image"),
    ('mis_straddles_4g', 'mis: boot information at 0xfffffff6 (+88 bytes) leaves the 32-bit space'),
    ('mmap_wraps', 'mis: memory map at 0xffffff00 (+512 bytes) leaves the 32-bit space'),
    ('mmap_short', 'mis: memory map of 12 bytes is smaller than one entry'),
    ('mmap_entry_size_small', 'mis: memory map entry at offset 0 has size 8'),
    ('mmap_entry_size_huge', 'mis: memory map entry at offset 0 has size 4096'),
    ('mmap_entry_size_28', None),
    ('mmap_at_zero', None),  # kexec-tools' layout (was refused before phys_valid; CASES.md)
    ('mmap_unsorted_overlapping', None),
    ('mmap_too_many', 'mis: more than 128 memory map entries'),
    ('no_mem_info', 'mis: no memory information (flags=0x20e)'),
    ('mem_only', None),
    ('no_ram_above_1m', 'mis: no RAM at 1 MiB (3 map entries)'),
    ('cmdline_wraps', None),  # reads "23/99" from the ROM: a legal string
    ('cmdline_unterminated', 'mis: command line at 0x30000 is longer than 2047 bytes'),
    ('mods_addr_wraps', 'mis: module list at 0xfffffff0 (+32 bytes) leaves the 32-bit space'),
    ('mods_count_huge', 'mis: 100000 modules'),
    ('module_end_before_start', 'mis: module 0 ends (0x'),
    ('module_outside_ram', 'mis: module 0 at [0xf0000000, 0xf0001000) is not in RAM'),
    ('module_is_own_image', "mis: module 0 at 0x100000 overlaps mbchain's image"),
    ('module_string_wraps', None),  # reads "23/99": the kernel's path, its "-s" is lost
    ('module_string_unterminated', 'mis: module string at 0x30000 is longer than 255 bytes'),
    ('zero_modules', 'boot: no modules, so no kernel to boot'),
    ('flags_claim_absent_fields', None),  # cmdline at 0xffffffff reads "": exitport lost
    ('loader_name_wraps', None),  # loader name "23/99"
    ('loader_name_unterminated', 'mis: loader name at 0x30000 is longer than 255 bytes'),
    ('drives_garbage', None),
    ('mis_at_kernel_destination', None),
]

HALTS = frozenset(['mis_wraps', 'mis_in_image', 'mis_below_image', 'mis_straddles_4g',
                   'cmdline_unterminated'])
PROBES = {'mis_at_kernel_destination': 'netbsd-amd64'}

# Boots whose options come from somewhere other than the forged command line
_NO_EXITPORT = {'cmdline_wraps', 'flags_claim_absent_fields'}

E820_QEMU_PC_128M = [(0x0, 0x9fc00, 1), (0x9fc00, 0x400, 2), (0xf0000, 0x10000, 2),
                     (0x100000, 0x7ee0000, 1), (0x7fe0000, 0x20000, 2),
                     (0xfffc0000, 0x40000, 2), (0xfd00000000, 0x300000000, 2)]
RESERVED_HOLE_PA = 0x3000000  # forge.c RESERVED_HOLE_PA
MB = 1 << 20


def _rank(t):
    return {1: 0, 3: 1, 4: 2, 2: 3, 5: 5}.get(t, 4)


def sanitize(entries):
    """src/memmap.c's rule, independently: drop empty, split at every edge, the most
    restrictive type wins an overlap, merge neighbours of one type."""
    ents = [(b, l, t) for b, l, t in entries if l]
    points = sorted({b for b, _, _ in ents} | {b + l for b, l, _ in ents})
    out = []
    for lo, hi in zip(points, points[1:]):
        cover = [t for b, l, t in ents if b <= lo and b + l >= hi]
        if not cover:
            continue
        t = max(cover, key=_rank)
        if out and out[-1][2] == t and out[-1][0] + out[-1][1] == lo:
            out[-1] = (out[-1][0], out[-1][1] + hi - lo, t)
        else:
            out.append((lo, hi - lo, t))
    return out


def expected_memmap(name, e820=E820_QEMU_PC_128M):
    """The MEMMAP record the probe must receive in a booting case."""
    if name == 'mem_only':  # mem_lower / mem_upper only: two RAM ranges
        low = next(l for b, l, t in e820 if b == 0 and t == 1)
        high = next(l for b, l, t in e820 if b == MB and t == 1)
        return [(0, low, 1), (MB, high, 1)]
    if name == 'mmap_unsorted_overlapping':
        return sanitize(list(reversed(e820)) + [
            (0x200000000, 0x10000000, 1), (RESERVED_HOLE_PA, 0x10000, 2),
            (0x5000000, 0, 1), (RESERVED_HOLE_PA + 0x8000, 0x4000, 2)])
    return list(e820)


def module_bytes(seed, size):
    out = bytearray(size)
    x = seed * 2654435761 & 0xffffffff
    for i in range(size):
        x = (x * 1103515245 + 12345) & 0xffffffff
        out[i] = x >> 16 & 0xff
    return bytes(out)


KERNEL_ARGS = '-s'
MBCHAIN_ARGS = 'mbchain.exitport=0xf4'
EXTRA_MODULE = ('rnd.seed', 'type=rnd', module_bytes(7, 512))


def qemu_command(name, build, tmp, timeout_s=None):
    """(argv, kernel path, [(module path, args, bytes)]) for one case; logs go to tmp."""
    probe = os.path.join(build, 'probes', PROBES.get(name, 'netbsd-i386') + '.elf')
    mod_path = os.path.join(tmp, EXTRA_MODULE[0])
    with open(mod_path, 'wb') as f:
        f.write(EXTRA_MODULE[2])
    initrd = ['%s %s' % (os.path.join(build, 'mbchain.elf'), MBCHAIN_ARGS),
              '%s %s' % (probe, KERNEL_ARGS), '%s %s' % (mod_path, EXTRA_MODULE[1])]
    argv = ['qemu-system-x86_64', '-M', 'pc', '-m', '128', '-display', 'none', '-nic', 'none',
            '-monitor', 'none', '-no-reboot',
            '-serial', 'file:' + os.path.join(tmp, 'com1.log'),
            '-debugcon', 'file:' + os.path.join(tmp, 'e9.log'),
            '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04',
            '-kernel', os.path.join(build, 'forge.elf'), '-append', 'forge=' + name,
            '-initrd', ','.join(s.replace(',', ',,') for s in initrd)]
    if timeout_s:
        argv = ['timeout', str(timeout_s)] + argv
    return argv, probe, [(mod_path, EXTRA_MODULE[1], EXTRA_MODULE[2])]


def expected_report_args(name, kernel_path, modules):
    """nbexpect.expected_report's (case spec, memmap, boot_device, basemem KiB, extmem KiB)."""
    kpath, kargs, cmdline = kernel_path, KERNEL_ARGS, MBCHAIN_ARGS
    if name == 'module_string_wraps':
        kpath, kargs = ROM_STRING_AT_FFFFFFF8, ''
    if name in _NO_EXITPORT:
        cmdline = ''
    memmap = expected_memmap(name)
    e820 = E820_QEMU_PC_128M
    basemem = next(l for b, l, t in e820 if b == 0 and t == 1) // 1024
    extmem = next(l for b, l, t in e820 if b == MB and t == 1) // 1024
    spec = dict(kernel_path=kpath, kernel_args=kargs, cmdline=cmdline,
                modules=list(modules), kernel_index=0)
    return spec, memmap, 0x8000ffff, basemem, extmem


def judge(name, rc, e9, kernel_path, modules):
    """Problems (empty list = pass) for one finished run."""
    import nbexpect
    want = dict(CASES)[name]
    text = e9.replace('\r', '')
    problems = []
    if 'forge: case=%s\n' % name not in text:
        problems.append('no "forge: case=%s" line (forge failed?)' % name)
    errors = [l for l in text.split('\n') if l.startswith('mbchain: error: ')]
    if want is not None:
        if name in HALTS:
            if rc not in (124, -1):
                problems.append('QEMU exit %d, want a halt (timeout)' % rc)
            if 'mbchain: halted' not in text:
                problems.append('no "mbchain: halted" line')
        elif rc != EXIT_MBCHAIN_ERROR:
            problems.append('QEMU exit %d, want %d' % (rc, EXIT_MBCHAIN_ERROR))
        if len(errors) != 1 or not errors[0][len('mbchain: error: '):].startswith(want):
            problems.append('error lines %s, want one starting %r' % (errors, want))
        if 'mbchain: hint: ' not in text:
            problems.append('no hint line')
        return problems
    if rc != EXIT_PASS:
        problems.append('QEMU exit %d, want %d' % (rc, EXIT_PASS))
    if errors:
        problems.append('error lines %s, want none (boots)' % errors)
    if 'result: PASS' not in text:
        problems.append('no "result: PASS" from the probe')
    if 'stack: ' not in text:
        return problems  # the probe never ran: nothing to compare
    with open(kernel_path, 'rb') as f:
        spec, memmap, bootdev, basemem, extmem = expected_report_args(name, kernel_path, modules)
        exp = nbexpect.expected_report(spec, f.read(), memmap, bootdev, basemem, extmem)
    problems += nbexpect.compare(exp, nbexpect.parse_report(text))
    return problems


def run_case(name, build, verbose=False):
    need = [os.path.join(build, f) for f in
            ('forge.elf', 'mbchain.elf', os.path.join('probes', PROBES.get(name, 'netbsd-i386') + '.elf'))]
    missing = harness.missing(need, hint='make all; make -C tests/forge')
    if missing:
        return missing
    tmp = tempfile.mkdtemp(prefix='mbchain-forge-')
    try:
        limit = 6 if name in HALTS else 30
        argv, kernel, modules = qemu_command(name, build, tmp, timeout_s=limit)
        try:
            rc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                timeout=limit + 10).returncode
        except subprocess.TimeoutExpired:
            rc = -1
        e9 = harness.read_log(tmp)
        summary, problems = harness.summarize(e9, judge(name, rc, e9, kernel, modules), verbose)
        return rc, summary, problems
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    return harness.standalone_main(CASES, run_case, 'forge/', width=28)


if __name__ == '__main__':
    sys.exit(main())
