#!/usr/bin/env python3
"""run.py - mbchain's test suite, as `make test` runs it.

1. the host unit tests (build/unit_tests, ASan+UBSan), one result per test;
2. boot tests in QEMU (TCG): mbchain started by QEMU -kernel and by GRUB from an ISO, booting
   the NetBSD probe kernels (tests/probes); each probe report is compared line by line with
   the report tests/nbexpect.py computes for the case;
3. bad-input boots: each must end in mbchain's one error line and QEMU exit 253, never a hang.

The last line is "N passed, N failed".  Options: --build DIR, --only SUBSTRING, -j N, -v.
"""
import argparse
import concurrent.futures
import gzip
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'forge'))
import fbexpect  # noqa: E402
import nbexpect  # noqa: E402
import cases as forge_cases  # noqa: E402  (hostile MIS boots through tests/forge/forge.elf)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'loaders'))
import loaders  # noqa: E402  (isolinux mboot.c32 in QEMU, GRUB in Bochs)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'kexec'))
import kexec as kexec_cases  # noqa: E402  (Linux kexec + kload boots, tests/kexec)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'differential'))
import differential  # noqa: E402  (GRUB's own knetbsd/kfreebsd against mbchain, field by field)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'passthrough'))
import passthrough  # noqa: E402  (Multiboot passthrough: mbinfo probe, mbchain->mbchain, Xen)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'grubd'))
import grubd  # noqa: E402  (tools/41_mbchain: generated GRUB menus checked and booted)
import test_mbchain_check  # noqa: E402  (tools/mbchain-check, kload --check's planner; tests/kexec)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXIT_PASS, EXIT_FAIL, EXIT_MBCHAIN_ERROR = 33, 35, 253
PYTHON_EXE = sys.executable or 'python3'

# The E820 maps QEMU 7.2 with SeaBIOS 1.16 (Debian 12) gives, per machine and RAM size: the
# facts the MEMMAP record must carry over unchanged.  [0x9fc00, 0xa0000) is the EBDA,
# [0xf0000, 1 MiB) the BIOS, 128 KiB below the top of low RAM SeaBIOS's own tables, 0xfffc0000
# the flash, 0xfd00000000 QEMU's reserved HyperTransport window.
E820_COMMON_LOW = [(0x0, 0x9fc00, 1), (0x9fc00, 0x400, 2), (0xf0000, 0x10000, 2)]
HT_HOLE = (0xfd00000000, 0x300000000, 2)


def qemu_e820(machine, ram_mib):
    """QEMU 7.2 + SeaBIOS 1.16's E820 for -M pc / q35 and -m ram_mib (all measured).  Low RAM
    ends at the RAM size, or at 3 GiB (pc, from 3.5 GiB of RAM) / 2 GiB (q35, from 2.75 GiB),
    the rest going above 4 GiB; SeaBIOS keeps 128 KiB (pc) or 132 KiB (q35) at the top of low
    RAM; q35 reserves its MMCONFIG window and the TSEG/RCBA page."""
    ram = ram_mib << 20
    if machine == 'pc':
        low = 0xc0000000 if ram >= 0xe0000000 else ram
        top = 0x20000
        holes = []
    elif machine == 'q35':
        low = 0x80000000 if ram >= 0xb0000000 else ram
        top = 0x21000
        holes = [(0xb0000000, 0x10000000, 2), (0xfed1c000, 0x4000, 2)]
    else:
        raise ValueError('no E820 facts for %s' % machine)
    m = E820_COMMON_LOW + [(0x100000, low - 0x100000 - top, 1), (low - top, top, 2)] + holes
    m.append((0xfffc0000, 0x40000, 2))
    if ram > low:
        m.append((0x100000000, ram - low, 1))
    return m + [HT_HOLE]


def ram_at(memmap, pa):
    for base, size, typ in memmap:
        if typ == 1 and base <= pa < base + size:
            return base + size - pa
    return 0


class Case:
    """One boot: loader, probe, strings, modules, machine, and what must come out."""

    def __init__(self, name, loader='qemu', probe='netbsd-i386', kernel_args='', cmdline='',
                 modules=(), machine='pc', ram_mib=128, kernel_index=0, error=None,
                 kernel_file=None, video=False, exitport=True, reboot_line=None, gz=False):
        self.name, self.loader, self.probe = name, loader, probe
        self.kernel_args, self.cmdline = kernel_args, cmdline
        self.modules = list(modules)  # (file name, args, bytes)
        self.machine, self.ram_mib = machine, ram_mib
        self.kernel_index, self.error, self.kernel_file = kernel_index, error, kernel_file
        self.video, self.exitport, self.reboot_line = video, exitport, reboot_line
        self.gz = gz  # kernel and modules handed over gzip-compressed (GRUB: module --nounzip)


module_bytes = forge_cases.module_bytes  # deterministic test content, one definition


def boot_cases(build):
    mod_a = ('rnd.seed', 'type=rnd', module_bytes(1, 512))
    mod_b = ('miniroot.fs', 'type=fs name=/miniroot.fs', module_bytes(2, 70000))
    with open(os.path.join(build, 'probes', 'netbsd-i386.elf'), 'rb') as f:
        elf_module = ('tmpfs.kmod', '', f.read())  # an ELF module: type elf by detection
    blob_1m = ('blob.bin', 'type=image', module_bytes(3, 1 << 20))
    cases = []
    for loader in ('qemu', 'grub'):
        for probe in ('netbsd-i386', 'netbsd-amd64'):
            tag = '%s/%s' % (loader, probe)
            cases += [
                Case(tag + '/no-options', loader, probe),
                Case(tag + '/flags', loader, probe, kernel_args='-sv -1', cmdline='-d'),
                Case(tag + '/root', loader, probe, kernel_args='root=wd0a'),
                Case(tag + '/console-com', loader, probe,
                     kernel_args='console=com console_speed=115200 console_addr=0x2f8'),
                Case(tag + '/two-modules', loader, probe, kernel_args='-s',
                     modules=[mod_a, mod_b]),
                Case(tag + '/ram-64m', loader, probe, ram_mib=64, modules=[mod_a]),
                Case(tag + '/ram-3g', loader, probe, ram_mib=3072, modules=[elf_module]),
            ]
    hints = ('device.hints', 'type=env', b'# device.hints\nhint.uart.0.at="isa"\n'
             b'hint.uart.0.port="0x3F8"\n  kern.hz=100  \n\nhint.uart.0.flags=0x10\n')
    with open(os.path.join(build, 'test-kmod.ko'), 'rb') as f:
        kmod = ('zfs.ko', '', f.read())
    with open(os.path.join(build, 'test-kmod-i386.ko'), 'rb') as f:
        kmod_i386 = ('zfs.ko', '', f.read())
    md_image = ('mfsroot', 'type=md_image', module_bytes(4, 20000))
    for loader in ('qemu', 'grub'):
        for probe in ('freebsd-i386', 'freebsd-amd64'):
            tag = '%s/%s' % (loader, probe)
            cases += [
                Case(tag + '/no-options', loader, probe),
                Case(tag + '/flags-kenv', loader, probe, kernel_args='-sv -h vfs.root.mountfrom=ufs:/dev/ada0p2',
                     cmdline='-d foo=bar verbose_loading'),
                Case(tag + '/console', loader, probe, kernel_args='console=comconsole,vidconsole',
                     cmdline='comconsole_speed=115200'),
                Case(tag + '/serial-netbsd-words', loader, probe,
                     kernel_args='console=com console_speed=115200 console_addr=0x2f8'),
                Case(tag + '/modules-env', loader, probe, kernel_args='-s',
                     modules=[md_image, ('zpool.cache', 'type=/boot/zfs/zpool.cache', module_bytes(5, 900)),
                              hints]),
                Case(tag + '/ram-64m', loader, probe, ram_mib=64, modules=[mod_a]),
                Case(tag + '/ram-3g', loader, probe, ram_mib=3072, modules=[md_image]),
            ]
        cases.append(Case('%s/freebsd-amd64/kmod' % loader, loader, 'freebsd-amd64', kernel_args='-s',
                          modules=[kmod, md_image]))
        cases.append(Case('%s/freebsd-i386/kmod' % loader, loader, 'freebsd-i386', kernel_args='-s',
                          modules=[kmod_i386, md_image]))
    cases += [Case('grub/%s/framebuffer' % p, 'grub', p, video=True) for p in ('freebsd-i386', 'freebsd-amd64')]
    # gzip'd kernels and modules, inflated by mbchain (QEMU passes files as they are; GRUB is
    # told --nounzip)
    for loader in ('qemu', 'grub'):
        for probe in ('netbsd-i386', 'netbsd-amd64', 'freebsd-i386', 'freebsd-amd64'):
            mods = [mod_a, mod_b] if probe.startswith('netbsd') else [md_image, kmod if 'amd64' in probe else kmod_i386]
            cases.append(Case('%s/%s/gzip' % (loader, probe), loader, probe, kernel_args='-s', modules=mods, gz=True))
    # The machine matrix: both chipsets, RAM from 64 MiB to 8 GiB (entries above 4 GiB must
    # reach MEMMAP/SMAP intact), and 64 modules in all (the kernel and 63 more).
    many = [('m%02d.bin' % i, module_bytes(100 + i, 1000 + 37 * i)) for i in range(63)]
    for probe in ('netbsd-i386', 'netbsd-amd64', 'freebsd-i386', 'freebsd-amd64'):
        for machine, ram in (('pc', 512), ('q35', 64), ('q35', 512), ('pc', 3584), ('q35', 3584), ('pc', 8192)):
            cases.append(Case('qemu/%s/matrix-%s-%dm' % (probe, machine, ram), 'qemu', probe, machine=machine,
                              ram_mib=ram, modules=[mod_a] if probe.startswith('netbsd') else [md_image]))
        mods = [(n, 'type=rnd' if probe.startswith('netbsd') else 'type=md_image', d) for n, d in many]
        cases.append(Case('qemu/%s/64-modules' % probe, 'qemu', probe, modules=mods))
        cases.append(Case('grub/%s/64-modules' % probe, 'grub', probe, modules=mods))
    cases += [
        # options on mbchain's line, the kernel's string winning where both speak
        Case('qemu/netbsd-i386/precedence', cmdline='root=sd0a -s name=/onnetbsd',
             kernel_args='root=wd1e -a userconf=disable_ahc*'),
        # the kernel module overlaps its own destination: a 1 MiB module first pushes the
        # amd64 probe's source onto [2 MiB, ...) where its segments go
        Case('qemu/netbsd-amd64/overlapping-source', probe='netbsd-amd64',
             cmdline='mbchain.kernel=1', kernel_index=1, modules=[blob_1m]),
        Case('qemu/netbsd-amd64/q35-8g', probe='netbsd-amd64', machine='q35', ram_mib=8192,
             modules=[mod_a]),
        # mbchain-fb.elf asks GRUB for a linear framebuffer, which reaches BTINFO_FRAMEBUFFER
        Case('grub/netbsd-i386/framebuffer', 'grub', video=True, kernel_args='-s'),
        Case('grub/netbsd-amd64/framebuffer', 'grub', 'netbsd-amd64', video=True),
    ]
    return cases


def patched(data, *edits):
    """A copy of an ELF file with (offset, size, value) little-endian fields overwritten: how the
    hostile kernels are made, reproducibly, from the probes."""
    out = bytearray(data)
    for off, size, value in edits:
        out[off:off + size] = value.to_bytes(size, 'little')
    return bytes(out)


def elf32_fields(data):
    """Offsets the hostile cases patch in an ELF32 file: program and section header tables."""
    phoff = int.from_bytes(data[28:32], 'little')
    shoff = int.from_bytes(data[32:36], 'little')
    shnum = int.from_bytes(data[48:50], 'little')
    loads = [phoff + 32 * i for i in range(int.from_bytes(data[44:46], 'little'))
             if int.from_bytes(data[phoff + 32 * i:phoff + 32 * i + 4], 'little') == 1]
    symtab = [shoff + 40 * i for i in range(shnum)
              if int.from_bytes(data[shoff + 40 * i + 4:shoff + 40 * i + 8], 'little') == 2][0]
    return phoff, shoff, shnum, loads, symtab


def bad_cases(build):
    with open(os.path.join(build, 'probes', 'netbsd-i386.elf'), 'rb') as f:
        probe = f.read()
    with open(os.path.join(build, 'probes', 'freebsd-i386.elf'), 'rb') as f:
        fprobe = f.read()
    phoff, shoff, shnum, loads, symtab = elf32_fields(probe)
    # Move the first PT_LOAD to 120 MiB (VA & 0x07ffffff) on a 64 MiB machine.
    far = patched(probe, (loads[0] + 8, 4, 0xc0000000 + 120 * (1 << 20)))
    filesz0 = int.from_bytes(probe[loads[0] + 16:loads[0] + 20], 'little')
    vaddr0 = int.from_bytes(probe[loads[0] + 8:loads[0] + 12], 'little')
    f_loads = elf32_fields(fprobe)[3]
    hostile_elf = [
        Case('bad/elf-machine', kernel_file=patched(probe, (18, 2, 40)),
             error='elf: ELF32 file for machine 40, not x86'),
        Case('bad/elf-phnum-0', kernel_file=patched(probe, (44, 2, 0)),
             error='elf: 0 program headers (expected 1 to 64)'),
        Case('bad/elf-phnum-huge', kernel_file=patched(probe, (44, 2, 0xffff)),
             error='elf: 65535 program headers (expected 1 to 64)'),
        Case('bad/elf-filesz-above-memsz', kernel_file=patched(probe, (loads[0] + 20, 4, filesz0 - 1)),
             error='elf: segment 0 has p_filesz 0x%x > p_memsz 0x%x' % (filesz0, filesz0 - 1)),
        Case('bad/elf-segments-overlap', kernel_file=patched(probe, (loads[1] + 8, 4, vaddr0)),
             error='elf: segments 0 and 1 overlap at 0x%x' % (vaddr0 & 0x07ffffff)),
        Case('bad/elf-segment-past-4g', kernel_file=patched(fprobe, (f_loads[1] + 8, 4, 0xfffff000),
                                                           (f_loads[1] + 20, 4, 0x2000)),
             error='elf: segment 1 at 0xfffff000 (+0x2000) passes 4 GiB'),
        Case('bad/elf-entry-outside', kernel_file=patched(probe, (24, 4, 0xc0000010)),
             error='elf: entry point 0xc0000010 is in no executable segment'),
        Case('bad/elf-shdrs-out-of-file', kernel_file=patched(probe, (32, 4, len(probe) - 8)),
             error='elf: section headers at offset 0x%x (+0x%x) is beyond the end of the file'
                   % (len(probe) - 8, 40 * shnum)),
        Case('bad/elf-symtab-link', kernel_file=patched(probe, (symtab + 24, 4, 99)),
             error='netbsd: symbol table %d links to string table 99 of %d sections' % ((symtab - shoff) // 40, shnum)),
    ]
    # gzip'd probes, damaged three ways: the CRC, a trailer that claims too little, a cut stream
    # whose trailer (its last 8 bytes) still claims the true size
    gz = gzip.compress(probe, 9, mtime=0)
    gz_crc_flipped = gz[:-8] + bytes([gz[-8] ^ 0xff]) + gz[-7:]
    gz_short_trailer = gz[:-4] + (len(probe) - 1).to_bytes(4, 'little')
    gz_truncated = gz[:len(gz) // 2] + gz[-8:]
    gz_bomb = gzip.compress(bytes(100 << 20), 9, mtime=0)
    # FreeBSD/amd64 probe whose last segment's memsz reaches past 1 GiB: no image needed for that
    with open(os.path.join(build, 'probes', 'freebsd-amd64.elf'), 'rb') as f:
        huge_bss = bytearray(f.read())
    phoff = int.from_bytes(huge_bss[32:40], 'little')
    phnum = int.from_bytes(huge_bss[56:58], 'little')
    last = max((i for i in range(phnum) if huge_bss[phoff + 56 * i] == 1))
    huge_bss[phoff + 56 * last + 40:phoff + 56 * last + 48] = (0x3f000000).to_bytes(8, 'little')
    huge_bss = bytes(huge_bss)
    return hostile_elf + [
        Case('bad/no-kernel', kernel_file=b'', error='boot: no modules, so no kernel to boot'),
        Case('bad/not-elf', kernel_file=b'#!/bin/sh\necho this is not a kernel\n' * 4,
             error='elf: the kernel module is not an ELF file (starts 0x23212f62)'),
        Case('bad/truncated', kernel_file=probe[:600],
             error='elf: segment at offset 0x1000 (+0x'),
        Case('bad/segment-outside-ram', kernel_file=bytes(far), ram_mib=64,
             error='elf: segment 0 at [0x7800000, 0x'),
        Case('bad/tiny', kernel_file=b'tiny',
             error='elf: the kernel module is 4 bytes, too short for an ELF file'),
        Case('bad/gzip-claims-nothing', kernel_file=b'\x1f\x8b\x08\x00' + bytes(60),
             error='gzip: module 0 claims 0 bytes inflated'),
        Case('bad/gzip-crc', kernel_file=gz_crc_flipped, error='gzip: module 0: the CRC-32 does not match (damaged file)'),
        Case('bad/gzip-trailer-small', kernel_file=gz_short_trailer,
             error='gzip: module 0: it inflates to more than expected'),
        Case('bad/gzip-truncated', kernel_file=gz_truncated, error='gzip: module 0: the stream is truncated'),
        # gzip bombs: one honest (100 MiB of zeros on a 64 MiB machine), one whose trailer lies
        Case('bad/gzip-bomb', kernel_file=gz_bomb, ram_mib=64,
             error='gzip: no free RAM to inflate module 0 (104857600 bytes)'),
        Case('bad/gzip-bomb-lying-trailer', kernel_file=gz_bomb[:-4] + (1 << 20).to_bytes(4, 'little'),
             error='gzip: module 0: it inflates to more than expected'),
        Case('bad/gzip-not-deflate', kernel_file=b'\x1f\x8b\x07\x00' + bytes(60),
             error='elf: the kernel module is compressed in a way mbchain does not know (64 bytes)'),
        Case('bad/console-name', kernel_args='console=vga',
             error='netbsd: console=vga is not a NetBSD console'),
        Case('bad/unknown-mbchain-key', cmdline='mbchain.verbos',
             error='options: unknown mbchain key (mbchain.verbos)'),
        Case('bad/kernel-index', cmdline='mbchain.kernel=3',
             error='boot: mbchain.kernel=3 but only 1 modules'),
        Case('bad/freebsd-past-1g', probe='freebsd-amd64', ram_mib=2048, kernel_file=huge_bss,
             error='freebsd: kernend 0x'),
        Case('bad/two-types', modules=[('x.img', 'type=md_image type=fs', b'data')],
             error='options: module "'),
        # The operator's failure policy: reset instead of halting (QEMU -no-reboot then exits 0).
        Case('bad/onerror-reboot', kernel_file=b'this is not a kernel at all', cmdline='mbchain.onerror=reboot:1',
             exitport=False, error='elf: the kernel module is not an ELF file',
             reboot_line='mbchain: rebooting in 1 s'),
    ]


def qemu_command(case, tmp, kernel_path, module_paths):
    cmd = ['qemu-system-x86_64', '-M', case.machine, '-m', str(case.ram_mib),
           '-display', 'none', '-nic', 'none', '-monitor', 'none', '-no-reboot',
           '-serial', 'file:' + os.path.join(tmp, 'com1.log'),
           '-debugcon', 'file:' + os.path.join(tmp, 'e9.log'),
           '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04']
    return cmd


def write_inputs(case, build, tmp):
    """Kernel and module files in tmp; returns (kernel path, [(path, args)]) in module order."""
    if case.kernel_file is not None:
        kernel = os.path.join(tmp, 'kernel')
        with open(kernel, 'wb') as f:
            f.write(case.kernel_file)
    else:
        kernel = os.path.join(build, 'probes', case.probe + '.elf')
    if case.gz and case.kernel_file is None:
        with open(kernel, 'rb') as f:
            data = f.read()
        kernel = os.path.join(tmp, case.probe + '.elf.gz')
        with open(kernel, 'wb') as f:
            f.write(gzip.compress(data, 9, mtime=0))
    mods = []
    for name, args, data in case.modules:
        path = os.path.join(tmp, name + ('.gz' if case.gz else ''))
        with open(path, 'wb') as f:
            f.write(gzip.compress(data, 6, mtime=0) if case.gz else data)
        mods.append((path, args))
    entries = list(mods)
    entries.insert(case.kernel_index, (kernel, case.kernel_args))
    if case.kernel_file == b'':
        entries = []
    return kernel, entries


def grub_iso(case, build, tmp, entries):
    tree = os.path.join(tmp, 'iso')
    os.makedirs(os.path.join(tree, 'boot', 'grub'))
    image = 'mbchain-fb.elf' if case.video else 'mbchain.elf'
    shutil.copy(os.path.join(build, image), os.path.join(tree, 'boot', image))
    lines = ['serial --unit=0 --speed=115200', 'terminal_input serial',
             'terminal_output serial', 'set timeout=0', 'insmod multiboot']
    if case.video:
        lines += ['insmod all_video', 'set gfxpayload=1024x768x32']
    lines.append('multiboot /boot/%s %s' % (image, case.cmdline))
    for i, (path, args) in enumerate(entries):
        name = 'm%d' % i
        shutil.copy(path, os.path.join(tree, 'boot', name))
        lines.append('module %s/boot/%s %s' % ('--nounzip ' if case.gz else '', name, args))
    lines += ['boot', 'echo BOOT-FAILED', 'halt']
    with open(os.path.join(tree, 'boot', 'grub', 'grub.cfg'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    iso = os.path.join(tmp, 'boot.iso')
    subprocess.run(['grub-mkrescue', '-o', iso, tree, '--locales=', '--fonts=', '--themes=',
                    '--install-modules=multiboot normal serial terminal echo halt iso9660 '
                    'biosdisk part_msdos gzio all_video video vbe'],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return iso


def run_boot(case, build, verbose):
    """Boot one case; returns a list of problems (empty = pass)."""
    tmp = tempfile.mkdtemp(prefix='mbchain-test-')
    try:
        kernel, entries = write_inputs(case, build, tmp)
        cmdline = case.cmdline + (' mbchain.exitport=0xf4' if case.exitport else '')
        case_cmdline = case.cmdline
        case.cmdline = cmdline
        cmd = qemu_command(case, tmp, kernel, entries)
        if case.loader == 'qemu':
            cmd += ['-kernel', os.path.join(build, 'mbchain.elf'), '-append', cmdline]
            if entries:
                cmd += ['-initrd', ','.join(
                    ('%s %s' % (p, a)).strip().replace(',', ',,') for p, a in entries)]
        else:
            cmd += ['-cdrom', grub_iso(case, build, tmp, entries)]
        case.cmdline = case_cmdline
        timeout = 60 if case.loader == 'grub' else 30
        try:
            rc = subprocess.run(['timeout', str(timeout)] + cmd, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, timeout=timeout + 10).returncode
        except subprocess.TimeoutExpired:
            rc = -1
        e9 = open(os.path.join(tmp, 'e9.log'), errors='replace').read()
        problems = judge(case, build, rc, e9, kernel, entries)
        if problems and verbose:
            problems.append('--- 0xE9 log ---\n' + e9)
        return problems
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def judge(case, build, rc, e9, kernel, entries):
    if case.error:
        lines = [l for l in e9.replace('\r', '').split('\n') if l.startswith('mbchain: error: ')]
        problems = []
        want_rc = EXIT_MBCHAIN_ERROR if case.exitport else 0
        if rc != want_rc:
            problems.append('QEMU exit %d, want %d' % (rc, want_rc))
        if case.reboot_line and case.reboot_line not in e9:
            problems.append('no %r line' % case.reboot_line)
        if len(lines) != 1 or not lines[0][len('mbchain: error: '):].startswith(case.error):
            problems.append('error lines %s, want one starting %r' % (lines, case.error))
        if 'mbchain: hint: ' not in e9:
            problems.append('no hint line')
        return problems
    memmap = qemu_e820(case.machine, case.ram_mib)
    grub = case.loader == 'grub'
    # GRUB 2 passes argument strings without the file name, QEMU with it (SPEC E.4).
    kernel_path = '' if grub else kernel
    mods = []
    for (path, args), (name, _, data) in zip([e for e in entries if e[0] != kernel], case.modules):
        mods.append(('' if grub else path, args, data))
    spec = dict(kernel_path=kernel_path, kernel_args=case.kernel_args, cmdline=case.cmdline,
                modules=mods, kernel_index=case.kernel_index, video=case.video)
    # QEMU's Multiboot ROM reports boot device 0x8000ffff; GRUB on a CD 0xe0ffffff.
    boot_device = 0xe0ffffff if grub else 0x8000ffff
    plain = os.path.join(build, 'probes', case.probe + '.elf') if case.gz else kernel
    problems = compare_report(case.probe, spec, plain, memmap, boot_device, ram_at(memmap, 0) // 1024,
                              ram_at(memmap, 1 << 20) // 1024, e9, video=case.video)
    if rc != EXIT_PASS:
        problems.insert(0, 'QEMU exit %d, want %d' % (rc, EXIT_PASS))
    return problems


def compare_report(probe, spec, kernel_file, memmap, boot_device, basemem, extmem, e9, video=False, acpi=None):
    """Every difference between a probe's report and what the case must produce, for any of the
    four probes: nbexpect for NetBSD, fbexpect for FreeBSD.  The loader-side facts (memory map,
    boot device, memory sizes, ACPI as the firmware has it) come from the caller.
    acpi: FreeBSD's expected acpi.* kenv entries when not SeaBIOS's (fbexpect.QEMU_ACPI)."""
    with open(kernel_file, 'rb') as f:
        kernel = f.read()
    report = nbexpect.parse_report(e9)
    if probe.startswith('freebsd'):
        exp = fbexpect.expected(dict(spec, video=video), kernel, memmap, boot_device, basemem, extmem,
                                acpi=acpi)
        return fbexpect.compare(exp, report)
    exp = nbexpect.expected_report(spec, kernel, memmap, boot_device, basemem, extmem)
    if video:
        # QEMU's std VGA linear framebuffer, in the mode gfxpayload asked for
        exp['records'] = [r for r in exp['records'] if r[0] != 'framebuffer'] + [(
            'framebuffer', 'physaddr=0xfd000000 width=1024 height=768 stride=4096 depth=32 '
            'rgb=8,8,8/16,8,0 vbemode=0x0')]
    return nbexpect.compare(exp, report)


def run_unit(build):
    exe = os.path.join(build, 'unit_tests')
    if not os.path.exists(exe):
        return [('unit/build', ['build/unit_tests missing'])]
    proc = subprocess.run([exe], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=600)
    results, seen = [], False
    for line in proc.stdout.splitlines():
        if line.startswith('ok '):
            results.append(('unit/' + line[3:].strip(), []))
            seen = True
        elif line.startswith('FAIL '):
            name, _, detail = line[5:].partition(':')
            results.append(('unit/' + name.strip(), [detail.strip()]))
            seen = True
    if proc.returncode != 0 and all(not p for _, p in results):
        results.append(('unit/exit-status', ['unit_tests exited %d:\n%s' %
                                             (proc.returncode, proc.stdout[-3000:])]))
    if not seen:
        results.append(('unit/none-ran', ['no test lines:\n' + proc.stdout[-2000:]]))
    return results


HOSTILE_MD = os.path.join(ROOT, 'tests', 'hostile', 'CASES.md')


def hostile_table(build):
    """tests/hostile/CASES.md: every hostile-input boot and what must come of it."""
    lines = ['# Hostile-input boots (generated by `tests/run.py --write-hostile`; `make test` checks it is current)',
             '',
             'Each case boots in QEMU (TCG). "error: X" means mbchain must print exactly one line',
             '`mbchain: error: X...` and a hint, then stop (QEMU exit 253 through `mbchain.exitport`, or a halt',
             'when the error comes before the command line could be read); "boots" means the probe kernel',
             'must report PASS with every received value equal to what the test computes. The `bad/` kernels',
             'are the probes with one field patched by tests/run.py (`patched`); the `forge/` cases hand',
             'mbchain a forged Multiboot information structure through tests/forge/forge.elf (CASES.md there',
             'says what each forges).', '',
             '| case | input | expected outcome |', '|---|---|---|']
    for c in bad_cases(build):
        what = 'kernel file patched/crafted' if c.kernel_file is not None else (
            'options: `%s` / `%s`' % (c.cmdline, c.kernel_args))
        lines.append('| `%s` | %s | error: %s |' % (c.name, what, c.error.replace('|', '\\|')))
    for n, err in forge_cases.CASES:
        outcome = 'error: %s' % err if err else 'boots'
        if n in forge_cases.HALTS:
            outcome += ' (then halts)'
        lines.append('| `forge/%s` | forged MIS | %s |' % (n, outcome.replace('|', '\\|')))
    return '\n'.join(lines) + '\n'


def check_hostile_md(build):
    try:
        current = open(HOSTILE_MD).read()
    except OSError:
        current = ''
    def names(text):  # the case column: the values depend on how the probes were compiled
        return [l.split('|')[1].strip() for l in text.split('\n') if l.startswith('| `')]
    if names(current) != names(hostile_table(build)):
        return [('hostile/CASES.md', ['tests/hostile/CASES.md is not current: run tests/run.py --write-hostile'])]
    return [('hostile/CASES.md', [])]


def run_tool_lines(cmd, prefix, pattern, timeout):
    """Run a checking tool and turn its per-item lines into results: pattern is a regex whose
    groups are (name, 'ok' or anything else = failure)."""
    import re
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout,
                          cwd=ROOT)
    out = []
    for line in proc.stdout.splitlines():
        m = re.match(pattern, line)
        if m:
            out.append((prefix + m.group(1), [] if m.group(2) == 'ok' else [line]))
    if not out or (proc.returncode != 0 and all(not p for _, p in out)):
        out.append((prefix + 'exit-status', ['%s exited %d:\n%s' % (cmd[0], proc.returncode, proc.stdout[-3000:])]))
    return out


def run_kload_tests(build):
    """tests/kexec/test_kload.sh: kload's options and error messages on the host (fake kexec)."""
    proc = subprocess.run(['sh', os.path.join(ROOT, 'tests', 'kexec', 'test_kload.sh'), build],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
    out = []
    for line in proc.stdout.splitlines():
        if line.startswith('ok '):
            out.append(('kload/' + line[3:].strip(), []))
        elif line.startswith('FAIL '):
            name, _, detail = line[5:].partition(':')
            out.append(('kload/' + name.strip(), [detail.strip()]))
    if not out or (proc.returncode != 0 and all(not p for _, p in out)):
        out.append(('kload/exit-status', ['test_kload.sh exited %d:\n%s' % (proc.returncode, proc.stdout[-2000:])]))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--build', default='build')
    ap.add_argument('--only', default='')
    ap.add_argument('-j', type=int, default=max(2, os.cpu_count() or 2))
    ap.add_argument('-v', action='store_true')
    ap.add_argument('--write-hostile', action='store_true', help='regenerate tests/hostile/CASES.md')
    ap.add_argument('--no-fuzz', action='store_true', help='skip the fuzz smoke run')
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    if args.write_hostile:
        os.makedirs(os.path.dirname(HOSTILE_MD), exist_ok=True)
        with open(HOSTILE_MD, 'w') as f:
            f.write(hostile_table(build))
        return 0

    results = [r for r in run_unit(build) if args.only in r[0]]
    cases = [c for c in boot_cases(build) + bad_cases(build) if args.only in c.name]
    forged = [n for n, _ in forge_cases.CASES if args.only in 'forge/' + n]
    loader_cases = [n for n in loaders.CASES if args.only in n]
    kexeced = [n for n, _ in kexec_cases.CASES if args.only in 'kexec/' + n]
    diff_cases = [n for n in differential.CASES if args.only in 'differential/' + n]
    pass_cases = [n for n in passthrough.CASES if args.only in 'passthrough/' + n]
    grubd_cases = [n for n in grubd.CASES if args.only in 'grubd/' + n]
    check_cases = [c[0] for c in test_mbchain_check.CASES if args.only in 'mbchain-check/' + c[0]]
    with concurrent.futures.ThreadPoolExecutor(args.j) as pool:
        futures = [(c.name, pool.submit(run_boot, c, build, args.v)) for c in cases]
        futures += [('forge/' + n, pool.submit(lambda n=n: forge_cases.run_case(n, build, args.v)[2]))
                    for n in forged]
        futures += [(n, pool.submit(lambda n=n: loaders.run_case(n, build, args.v)[2]))
                    for n in loader_cases]
        futures += [('kexec/' + n, pool.submit(lambda n=n: kexec_cases.run_case(n, build, args.v)[2]))
                    for n in kexeced]
        futures += [('differential/' + n, pool.submit(lambda n=n: differential.run_case(n, build, args.v)[2]))
                    for n in diff_cases]
        futures += [('passthrough/' + n, pool.submit(lambda n=n: passthrough.run_case(n, build, args.v)[2]))
                    for n in pass_cases]
        futures += [('grubd/' + n, pool.submit(lambda n=n: grubd.run_case(n, build, args.v)[2]))
                    for n in grubd_cases]
        futures += [('mbchain-check/' + n, pool.submit(lambda n=n: test_mbchain_check.run_case(n, build, args.v)[2]))
                    for n in check_cases]
        for name, fut in futures:
            try:
                results.append((name, fut.result()))
            except Exception as e:  # a harness error is a failure, never a pass
                results.append((name, ['harness: %r' % e]))
    if args.only in 'kload/':
        results += run_kload_tests(build)
    if args.only in 'hostile/CASES.md':
        results += check_hostile_md(build)
    # Static checks (gcc, clang, cppcheck, clang-tidy) and a short run of every fuzzer, after
    # the boots so they do not compete for the cores.
    if args.only in 'static/':
        results += run_tool_lines(['sh', 'tests/static/check.sh'], 'static/', r'static: (\S+): (ok|FAIL)', 900)
    if args.only in 'bench/smoke':
        # bench/bench.py --smoke: copy amplification, instructions against a memcpy floor, GRUB
        # native against mbchain, size; fails when a goal is missed by a wide margin
        smoke = run_tool_lines([PYTHON_EXE, 'bench/bench.py', '--build', build, '--smoke'], 'bench/',
                               r'bench: (bench-smoke): (\d+) problems', 900)
        results += [(n, [] if p and p[0].endswith(': 0 problems') else p) if not n.endswith('exit-status')
                    else (n, p) for n, p in smoke]
    if args.only in 'fuzz/' and not args.no_fuzz:
        results += run_tool_lines(['make', '-s', '-C', 'tests/fuzz', 'smoke', 'OUT=%s/fuzz' % build], 'fuzz/',
                                  r'fuzz: (\w+): .*crashes \d+: (ok|FAIL)$', 1800)
    passed = failed = skipped = 0
    for name, problems in results:
        if len(problems) == 1 and problems[0].startswith('SKIP: '):
            skipped += 1  # a third-party binary could not be fetched: said, not hidden
            print('skip %s (%s)' % (name, problems[0][6:]))
        elif problems:
            failed += 1
            print('FAIL %s' % name)
            for p in problems:
                print('     ' + p.replace('\n', '\n     '))
        else:
            passed += 1
            print('ok   %s' % name)
    print('%d passed, %d failed, %d skipped' % (passed, failed, skipped))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
