#!/usr/bin/env python3
"""loaders.py - mbchain booted by two more Multiboot loaders: isolinux's mboot.c32 (in QEMU)
and GRUB in Bochs, for tests/run.py to import.

Each case boots a probe kernel (tests/probes: NetBSD or FreeBSD, i386 or amd64) through
mbchain and compares the probe's whole report with the one tests/run.py compare_report computes
for the case (tests/nbexpect.py for NetBSD, tests/fbexpect.py for FreeBSD; one judge for all).
NetBSD cases pass boot flags, root= and an rnd module; FreeBSD cases boot flags, kenv pairs
(on mbchain's line and the kernel's) and an md_image module.

  isolinux/...  an ISO with isolinux.bin + mboot.c32 (syslinux 6.04), isolinux.cfg
                    APPEND /mbchain.elf ARGS --- /boot/netbsd.probe ARGS --- /boot/rnd.seed type=rnd
                (FreeBSD: /boot/freebsd.probe and /boot/mfsroot type=md_image)
                booted with QEMU -cdrom (TCG), judged by QEMU's exit code and the 0xE9 log.
  bochs/...     a GRUB ISO (tests/run.py grub_iso) in Bochs 2.7, headless (rfb display,
                no client).  Bochs has no isa-debug-exit: the probe halts after "result:",
                so Bochs is stopped (SIGTERM to its pid) when "result:" or an mbchain error
                appears on 0xE9 (port_e9_hack -> Bochs's stdout), or after 60 s.  Judged by the
                0xE9 output plus CR0 as Bochs's debugger prints it at mbchain's entry and at
                the kernel's (CD/NW must be cleared); Bochs cases run one at a time (a lock in
                this process and a lock file across processes: the rfb display listens on a
                TCP port from 5900 up).

Exports
  CASES                                 case names
  run_case(name, build, verbose=False)  -> (rc, summary, problems); problems empty = pass.
                                          rc: QEMU's exit code (isolinux), Bochs's (negative =
                                          stopped by us, the normal end of a Bochs case)
  main(): python3 tests/loaders/loaders.py [--build DIR] [--only SUBSTRING] [-v]

Facts the expectations rest on (measured on Debian 12 with a MIS-dumping Multiboot kernel):

isolinux 6.04 mboot.c32 (QEMU 7.2, SeaBIOS 1.16.2): MIS flags 0x26d = mem, cmdline, mods,
  ELF section headers, mmap, loader name ("ISOLINUX 6.04 20200816 "); NO boot_device (flag 1
  clear), so no BTINFO_BOOTDISK record; the command line and module strings keep the file
  name as written in APPEND ("/mbchain.elf -d ...", "/boot/netbsd.probe -s ...",
  "/boot/rnd.seed type=rnd"), so BOOTPATH is that path and the module path "/boot/rnd.seed";
  the memory map is QEMU's E820 unchanged (tests/run.py qemu_e820); modules page-aligned right after the kernel image;
  MIS at 0x2000; CR0 = 0x11 at entry.  FreeBSD: kernelname is the APPEND path, FreeBSD/i386's
  bios_dev 0x80 (no boot device), SeaBIOS's RSDP as in QEMU (fbexpect.QEMU_ACPI).

Bochs 2.7 (BIOS-bochs-latest, megs: 128) + GRUB 2.06 from a CD: boot_device 0xe0ffffff (as in
  QEMU), command line and module strings without file names (GRUB 2), CR0 = 0x60000011 at
  entry (CD and NW set: mbchain must enable caches), and the E820 map of bochs_e820() below.
  FreeBSD: the BIOS's own RSDP (BOCHS_ACPI below), FreeBSD/i386's bios_dev 0xe0; FreeBSD/amd64
  is entered in long mode, so the debugger's breakpoint line shows the virtual entry and the
  physical one is taken from the "[0x...]" line after it (cr0_at_breakpoints).
"""
import fcntl
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
ROOT = os.path.dirname(TESTS)
sys.path.insert(0, TESTS)
import harness  # noqa: E402
import nbexpect  # noqa: E402

ISOLINUX_BIN = '/usr/lib/ISOLINUX/isolinux.bin'
SYSLINUX_BIOS = '/usr/lib/syslinux/modules/bios'
BOCHS_ROM = '/usr/share/bochs/BIOS-bochs-latest'
BOCHS_VGAROM = '/usr/share/bochs/VGABIOS-lgpl-latest'
BOCHS_MEGS = 128
BOCHS_LIMIT_S = 60
QEMU_LIMIT_S = 60
MB = 1 << 20


def _run():
    """tests/run.py, imported late: run.py imports this module, so no import cycle at load."""
    if '__main__' in sys.modules and hasattr(sys.modules['__main__'], 'grub_iso'):
        return sys.modules['__main__']
    import run
    return run


def bochs_e820(megs):
    """The E820 map Bochs 2.7's BIOS-bochs-latest (rombios) reports for `megs: N`, N < 3.5 GiB:
    [0x9f000, 0xa0000) is the EBDA (one page), [0xe8000, 1 MiB) the BIOS, the top 64 KiB of RAM its ACPI tables (type 3, ACPI reclaimable), 0xfffc0000 the
    BIOS flash.  No HyperTransport hole (unlike QEMU).  Seen with megs=128 through GRUB's MIS:
    [0,0x9f000) 1, [0x9f000,+0x1000) 2, [0xe8000,+0x18000) 2, [1M,+0x7ef0000) 1,
    [0x7ff0000,+0x10000) 3, [0xfffc0000,+0x40000) 2."""
    ram = megs * MB
    if ram > 0xe0000000:
        raise ValueError('no Bochs E820 facts for %d MiB' % megs)
    acpi = 0x10000
    return [(0x0, 0x9f000, 1), (0x9f000, 0x1000, 2), (0xe8000, 0x18000, 2),
            (MB, ram - acpi - MB, 1), (ram - acpi, acpi, 3), (0xfffc0000, 0x40000, 2)]


# Bochs 2.7's BIOS-bochs-latest (rombios32) RSDP, measured by booting the FreeBSD probes through
# GRUB and mbchain in Bochs (megs: 128): acpi.rsdp=0x000f9fa0 acpi.revision=1 (RSDP revision 0,
# so no XSDT) acpi.oem="BOCHS " acpi.rsdt=0x07ff0000.  The RSDP lies in the BIOS segment
# (0xF0000-0xFFFFF), the RSDT at the start of the ACPI tables in the top 64 KiB of RAM (the
# type 3 range of bochs_e820()); the exact addresses are BIOS build layout, checked by pattern.
BOCHS_ACPI = [('acpi.rsdp', re.compile(r'0x000f[0-9a-f]{4}$')), ('acpi.revision', '1'),
              ('acpi.oem', 'BOCHS '),
              ('acpi.rsdt', re.compile(r'0x%04x[0-9a-f]{4}$' % ((BOCHS_MEGS * MB - 0x10000) >> 16)))]


# --- the cases -----------------------------------------------------------------------------

# each family's module: (file name, args, size); the bytes are module_bytes(seed, size)
MODULE = {'netbsd': ('rnd.seed', 'type=rnd', 512), 'freebsd': ('mfsroot', 'type=md_image', 20000)}
CASE_DEFS = {
    # name: (loader, probe, mbchain's args, kernel args, seed of the module's bytes)
    'isolinux/netbsd-i386/flags-root-rnd': ('isolinux', 'netbsd-i386', '-d', '-sv root=wd0a', 11),
    'isolinux/netbsd-amd64/flags-root-rnd': ('isolinux', 'netbsd-amd64', '-d', '-s -1 root=sd0e', 12),
    'isolinux/freebsd-i386/flags-kenv-md': ('isolinux', 'freebsd-i386', '-d',
                                            '-sv vfs.root.mountfrom=ufs:/dev/ada0p2', 15),
    'isolinux/freebsd-amd64/flags-kenv-md': ('isolinux', 'freebsd-amd64', '-d kern.hz=100',
                                             '-s -h vfs.root.mountfrom=cd9660:/dev/iso9660/X', 16),
    'bochs/netbsd-i386/flags-rnd': ('bochs', 'netbsd-i386', '-d', '-sv', 13),
    'bochs/netbsd-amd64/flags-rnd': ('bochs', 'netbsd-amd64', '-a', '-s -1', 14),
    'bochs/freebsd-i386/flags-kenv-md': ('bochs', 'freebsd-i386', '-d',
                                         '-sv vfs.root.mountfrom=ufs:/dev/ada0p2', 17),
    'bochs/freebsd-amd64/flags-kenv-md': ('bochs', 'freebsd-amd64', '-a kern.hz=100',
                                          '-s vfs.root.mountfrom=ufs:/dev/ada0p2', 18),
}
CASES = list(CASE_DEFS)


def _module(name):
    probe, seed = CASE_DEFS[name][1], CASE_DEFS[name][4]
    fname, args, size = MODULE[probe.split('-')[0]]
    return fname, args, _run().module_bytes(seed, size)


def kernel_on_iso(probe):
    """Where the isolinux ISO holds the probe: not /netbsd or /boot/kernel/kernel, mbchain's
    defaults, so a passing case shows the path came from mboot.c32's string."""
    return '/boot/%s.probe' % probe.split('-')[0]


# --- isolinux ------------------------------------------------------------------------------

def isolinux_iso(tmp, build, probe, mbchain_args, kernel_args, modules):
    """An isolinux ISO: mboot.c32 loads /mbchain.elf, kernel_on_iso(probe) (the probe) and the
    modules (/boot/NAME)."""
    tree = os.path.join(tmp, 'iso')
    os.makedirs(os.path.join(tree, 'isolinux'))
    os.makedirs(os.path.join(tree, 'boot'))
    shutil.copy(ISOLINUX_BIN, os.path.join(tree, 'isolinux'))
    for f in ('mboot.c32', 'libcom32.c32', 'ldlinux.c32'):
        shutil.copy(os.path.join(SYSLINUX_BIOS, f), os.path.join(tree, 'isolinux'))
    shutil.copy(os.path.join(build, 'mbchain.elf'), os.path.join(tree, 'mbchain.elf'))
    shutil.copy(os.path.join(build, 'probes', probe + '.elf'), tree + kernel_on_iso(probe))
    parts = ['/mbchain.elf ' + mbchain_args, kernel_on_iso(probe) + ' ' + kernel_args]
    for fname, args, data in modules:
        with open(os.path.join(tree, 'boot', fname), 'wb') as f:
            f.write(data)
        parts.append('/boot/%s %s' % (fname, args))
    cfg = ['SERIAL 0 115200', 'PROMPT 0', 'DEFAULT mb', 'LABEL mb', '  KERNEL mboot.c32',
           '  APPEND ' + ' --- '.join(p.strip() for p in parts)]
    with open(os.path.join(tree, 'isolinux', 'isolinux.cfg'), 'w') as f:
        f.write('\n'.join(cfg) + '\n')
    iso = os.path.join(tmp, 'isolinux.iso')
    subprocess.run(['xorriso', '-as', 'mkisofs', '-o', iso, '-b', 'isolinux/isolinux.bin',
                    '-c', 'isolinux/boot.cat', '-no-emul-boot', '-boot-load-size', '4',
                    '-boot-info-table', tree],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return iso


def run_isolinux(name, build, tmp):
    _, probe, mb_args, k_args, _ = CASE_DEFS[name]
    mod = _module(name)
    cmdline = mb_args + ' mbchain.exitport=0xf4'
    iso = isolinux_iso(tmp, build, probe, cmdline, k_args, [mod])
    argv = ['timeout', str(QEMU_LIMIT_S), 'qemu-system-x86_64', '-M', 'pc', '-m', '128',
            '-display', 'none', '-nic', 'none', '-monitor', 'none', '-no-reboot',
            '-serial', 'file:' + os.path.join(tmp, 'com1.log'),
            '-debugcon', 'file:' + os.path.join(tmp, 'e9.log'),
            '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04', '-cdrom', iso]
    try:
        rc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            timeout=QEMU_LIMIT_S + 10).returncode
    except subprocess.TimeoutExpired:
        rc = -1
    e9 = harness.read_log(tmp)
    memmap = _run().qemu_e820('pc', 128)
    # mboot.c32 passes "/path args" and no boot_device
    spec = dict(kernel_path=kernel_on_iso(probe), kernel_args=k_args, cmdline=cmdline,
                modules=[('/boot/' + mod[0], mod[1], mod[2])], kernel_index=0)
    problems = judge(spec, probe, build, e9, memmap, None)  # SeaBIOS's RSDP: fbexpect.QEMU_ACPI
    if rc != _run().EXIT_PASS:
        problems.insert(0, 'QEMU exit %d, want %d' % (rc, _run().EXIT_PASS))
    return rc, e9, problems


# --- Bochs ---------------------------------------------------------------------------------

_bochs_lock = threading.Lock()


def bochsrc(iso, com1):
    return '\n'.join([
        'megs: %d' % BOCHS_MEGS,
        'romimage: file=' + BOCHS_ROM,
        'vgaromimage: file=' + BOCHS_VGAROM,
        # long mode for the amd64 probe; one model for both cases
        'cpu: model=corei7_sandy_bridge_2600k, reset_on_triple_fault=0',
        'ata0-master: type=cdrom, path=%s, status=inserted' % iso,
        'boot: cdrom',
        'com1: enabled=1, mode=file, dev=' + com1,
        'port_e9_hack: enabled=1',
        'clock: sync=none, time0=946684800',
        'speaker: enabled=0',
        'sound: driver=dummy',
        'display_library: rfb, options="timeout=0"',  # no GUI, no waiting for a VNC client
        'panic: action=fatal',  # never stop at an "action?" prompt
        'log: bochs.log',  # Bochs's own log, apart from the 0xE9 output on stdout
        '',
    ])


def _bochs_done(out):
    return ('\nresult: ' in out or 'BOOT-FAILED' in out or
            ('mbchain: error: ' in out and ('mbchain: halted' in out or 'mbchain: hint: ' in out)))


def run_bochs(name, build, tmp):
    run = _run()
    _, probe, mb_args, k_args, _ = CASE_DEFS[name]
    mod = _module(name)
    case = run.Case(name, 'grub', probe, kernel_args=k_args, cmdline=mb_args, modules=[mod])
    kernel, entries = run.write_inputs(case, build, tmp)
    iso = run.grub_iso(case, build, tmp, entries)
    rc_path, out_path = os.path.join(tmp, 'bochsrc'), os.path.join(tmp, 'bochs.out')
    with open(rc_path, 'w') as f:
        f.write(bochsrc(iso, os.path.join(tmp, 'com1.log')))
    # Debian's Bochs is built with the debugger, which stops at its prompt without a script.
    # Ours also stops at mbchain's entry and at the kernel's (physical breakpoints) and
    # prints the control registers there: the probe's report does not show CR0.CD/NW.
    with open(os.path.join(build, 'mbchain.elf'), 'rb') as f:
        mbchain_entry = nbexpect.Elf(f.read()).entry
    with open(kernel, 'rb') as f:
        kernel_entry = kernel_entry_pa(probe, nbexpect.Elf(f.read()).entry)
    with open(os.path.join(tmp, 'cont'), 'w') as f:
        # the kernel's breakpoint is set only once mbchain runs: GRUB's relocator executes at
        # 0x100000 too before it jumps to mbchain
        f.write('pb 0x%x\nc\ncreg\npb 0x%x\nc\ncreg\nc\n' % (mbchain_entry, kernel_entry))
    lockfile = open(os.path.join(tempfile.gettempdir(), 'mbchain-bochs.lock'), 'w')
    with _bochs_lock:
        fcntl.flock(lockfile, fcntl.LOCK_EX)
        try:
            with open(out_path, 'wb') as out:
                proc = subprocess.Popen(['bochs', '-q', '-f', rc_path, '-rc',
                                         os.path.join(tmp, 'cont')],
                                        stdin=subprocess.DEVNULL, stdout=out,
                                        stderr=subprocess.STDOUT, cwd=tmp)
            deadline = time.monotonic() + BOCHS_LIMIT_S
            text = ''
            while proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.1)
                text = open(out_path, errors='replace').read()
                if _bochs_done(text):
                    time.sleep(0.3)  # the rest of the lines after result:/error:
                    break
            timed_out = proc.poll() is None and time.monotonic() >= deadline
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
            rc = proc.wait()
        finally:
            fcntl.flock(lockfile, fcntl.LOCK_UN)
            lockfile.close()
    e9 = open(out_path, errors='replace').read()
    memmap = bochs_e820(BOCHS_MEGS)
    # GRUB 2 passes argument strings without file names; on a CD boot_device 0xe0ffffff
    spec = dict(kernel_path='', kernel_args=k_args, cmdline=mb_args,
                modules=[('', mod[1], mod[2])], kernel_index=0)
    problems = judge(spec, probe, build, e9, memmap, 0xe0ffffff, acpi=BOCHS_ACPI)
    problems += cr0_problems(e9, mbchain_entry, kernel_entry)
    if timed_out:
        problems.insert(0, 'Bochs still running after %d s (no result: line)' % BOCHS_LIMIT_S)
    return rc, e9, problems


def kernel_entry_pa(probe, entry):
    """The physical address the kernel is entered at: NetBSD's loader puts it at entry modulo
    128 MiB, FreeBSD's (fbexpect) at entry minus its 16 MiB-aligned base (amd64: the physical
    address behind the virtual entry mbchain jumps to in long mode)."""
    return entry & (0x00ffffff if probe.startswith('freebsd') else 0x07ffffff)


CR0_CD, CR0_NW = 1 << 30, 1 << 29


def cr0_at_breakpoints(out):
    """{physical address: CR0} from the debugger's lines at each breakpoint: "(0) Breakpoint N,
    LINEAR", then "(0) [PHYSICAL] SEG:LINEAR ...", then "CR0=0x...".  The physical address is
    the bracketed one: FreeBSD/amd64 is entered in long mode at its virtual (linear) entry."""
    seen, hit, where = {}, False, None
    for line in out.split('\n'):
        if re.match(r'\(\d+\) Breakpoint \d+, 0x[0-9a-f]+', line):
            hit, where = True, None
            continue
        m = re.match(r'\(\d+\) \[(0x[0-9a-f]+)\] ', line)
        if m and hit:
            where, hit = int(m.group(1), 16), False
            continue
        m = re.match(r'CR0=(0x[0-9a-f]+)', line)
        if m and where is not None:
            seen.setdefault(where, int(m.group(1), 16))
            where = None
    return seen


def cr0_problems(out, mbchain_entry, kernel_entry):
    """GRUB in Bochs enters mbchain with CR0.CD and NW set (measured: CR0=0x60000011); the
    kernel must be entered with caches on (CD=NW=0), as NetBSD's /boot leaves them."""
    cr0 = cr0_at_breakpoints(out)
    problems = []
    if mbchain_entry not in cr0:
        problems.append('no CR0 at mbchain entry 0x%x (debugger breakpoint)' % mbchain_entry)
    elif cr0[mbchain_entry] & (CR0_CD | CR0_NW) != (CR0_CD | CR0_NW):
        # not mbchain's fault, but then this case no longer tests the cache fix
        problems.append('Bochs entered mbchain with CR0=0x%08x: CD/NW no longer set, the case '
                        'no longer tests enabling caches' % cr0[mbchain_entry])
    if kernel_entry not in cr0:
        problems.append('no CR0 at kernel entry 0x%x (debugger breakpoint)' % kernel_entry)
    elif cr0[kernel_entry] & (CR0_CD | CR0_NW):
        problems.append('kernel entered with CR0=0x%08x: CD/NW still set' % cr0[kernel_entry])
    return problems


# --- common --------------------------------------------------------------------------------

def judge(spec, probe, build, e9, memmap, boot_device, acpi=None):
    """tests/run.py compare_report (nbexpect or fbexpect, by probe) for the case; mbchain error
    lines are problems too.  acpi: the firmware's acpi.* kenv entries for a FreeBSD probe
    (None = SeaBIOS's, fbexpect.QEMU_ACPI)."""
    run = _run()
    text = e9.replace('\r', '')
    problems = ['mbchain: ' + l[len('mbchain: '):] for l in text.split('\n')
                if l.startswith('mbchain: error: ')]
    if 'stack: ' not in text:
        problems.append('the probe never ran (no "stack:" line)')
        return problems
    return problems + run.compare_report(probe, spec, os.path.join(build, 'probes', probe + '.elf'), memmap,
                                         boot_device, run.ram_at(memmap, 0) // 1024,
                                         run.ram_at(memmap, MB) // 1024, text, acpi=acpi)


def _missing(name, build):
    """(files, tools) case name needs, for harness.missing()."""
    loader, probe = CASE_DEFS[name][:2]
    need = [os.path.join(build, 'mbchain.elf'), os.path.join(build, 'probes', probe + '.elf')]
    if loader == 'isolinux':
        need += [ISOLINUX_BIN] + [os.path.join(SYSLINUX_BIOS, f) for f in
                                  ('mboot.c32', 'libcom32.c32', 'ldlinux.c32')]
        tools = ['xorriso', 'qemu-system-x86_64']
    else:
        need += [BOCHS_ROM, BOCHS_VGAROM]
        tools = ['bochs', 'grub-mkrescue']
    return need, tools


def run_case(name, build, verbose=False):
    if name not in CASE_DEFS:
        return -1, '-', ['harness: no case %r' % name]
    missing = harness.missing(*_missing(name, build), hint='make all; tests/tools/ensure-deps.sh')
    if missing:
        return missing
    tmp = tempfile.mkdtemp(prefix='mbchain-loaders-')
    try:
        if CASE_DEFS[name][0] == 'isolinux':
            rc, e9, problems = run_isolinux(name, build, tmp)
        else:
            rc, e9, problems = run_bochs(name, build, tmp)
        summary, problems = harness.summarize(e9, problems, verbose)
        return rc, summary, problems
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    # one at a time: Bochs must be, and isolinux boots take ~1 s
    return harness.standalone_main(CASES, run_case, '', parallel=False, width=40, timed=True)


if __name__ == '__main__':
    sys.exit(main())
