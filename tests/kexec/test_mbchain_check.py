#!/usr/bin/env python3
"""test_mbchain_check.py - mbchain-check (tools/mbchain-check.c), the host build of mbchain's
planning pipeline that `kload --check` runs, on fake /sys/firmware/memmap trees.

The tool is built under ASan+UBSan by the Makefile (build/mbchain-check-asan), or taken from
$MBCHAIN_CHECK.  The memory maps are QEMU's
(tests/run.py qemu_e820) as Linux shows them in /sys/firmware/memmap (kexec.py sysfs_memmap);
the expected NetBSD figures come from tests/nbexpect.py's independent ELF reader and libsa
layout, mem_lower/mem_upper from kexec.py kexec_mem_sizes().

Exports (like tests/forge/cases.py)
  CASES     [(name, what)]
  run_case(name, build, verbose=False) -> (exit status, output, problems); problems == [] is a
            pass, ['SKIP: reason'] a skip
Stand-alone:  python3 tests/kexec/test_mbchain_check.py [--build DIR] [--only SUBSTRING] [-v]
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
ROOT = os.path.dirname(TESTS)
sys.path.insert(0, TESTS)
sys.path.insert(0, HERE)
import nbexpect  # noqa: E402
import kexec as kexec_facts  # noqa: E402  (qemu_e820, sysfs_memmap, kexec_mem_sizes)

PAGE = 4096

CASES = [
    ('netbsd-amd64/modules-qemu512', 'NetBSD/amd64 probe, rnd + fs modules, QEMU 512 MiB sysfs tree: ok, exact figures'),
    ('netbsd-i386/memmap-file', 'NetBSD/i386 probe, the same map as a text file, gzip kernel: ok, exact figures'),
    ('freebsd-amd64/not-in-ram-512', 'FreeBSD/amd64 + a 510 MiB module on 512 MiB: kexec places it, mbchain cannot'),
    ('freebsd-amd64/below-1gib-1536', 'FreeBSD/amd64 + a 1010 MiB module on 1.5 GiB: past the first 1 GiB'),
    ('netbsd-i386/12-modules', '12 modules: mbchain plans them, kexec_load\'s 16 segments do not hold them'),
    ('not-bsd', 'a shell script as the kernel: mbchain\'s ELF error'),
    ('kload-check', 'tools/kload --check runs mbchain-check (MBCHAIN_CHECK, KLOAD_SYSROOT)'),
]

_build_lock = threading.Lock()
_tool = {}


def tool(build):
    """$MBCHAIN_CHECK, or mbchain-check built under ASan+UBSan by the Makefile
    (build/mbchain-check-asan: one list of sources, the Makefile's CORE_SRC)."""
    if os.environ.get('MBCHAIN_CHECK'):
        return os.environ['MBCHAIN_CHECK']
    with _build_lock:
        if build in _tool:
            return _tool[build]
        out = os.path.join(build, 'mbchain-check-asan')
        p = subprocess.run(['make', '-s', '-C', ROOT, 'BUILD=' + build, out], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        if p.returncode:
            raise RuntimeError('building mbchain-check failed:\n' + p.stdout[-3000:])
        _tool[build] = out
        return out


def write_sysfs(folder, ram_mib):
    """A fake /sys/firmware/memmap: N/start, N/end (inclusive), N/type, as Linux writes them."""
    for i, (s, e, name) in enumerate(kexec_facts.sysfs_memmap(kexec_facts.qemu_e820(ram_mib))):
        os.makedirs(os.path.join(folder, str(i)))
        for f, v in (('start', '0x%x' % s), ('end', '0x%x' % e), ('type', name)):
            with open(os.path.join(folder, str(i), f), 'w') as fh:
                fh.write(v + '\n')
    return folder


def write_memmap_file(path, ram_mib):
    with open(path, 'w') as fh:
        fh.write('# start end(inclusive) type, as /sys/firmware/memmap\n')
        for s, e, name in kexec_facts.sysfs_memmap(kexec_facts.qemu_e820(ram_mib)):
            fh.write('0x%x 0x%x %s\n' % (s, e, name))
    return path


def run_tool(exe, args, env=None):
    p = subprocess.run([exe] + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       env=env, timeout=120)
    return p.returncode, p.stdout


def netbsd_expected_line(kernel_bytes, modules):
    """The ok line's figures for a NetBSD kernel, from nbexpect's reader and libsa layout."""
    elf = nbexpect.Elf(kernel_bytes)
    loaded = [s for s in elf.segments if s['flags'] & 3]
    start = min(s['vaddr'] & 0x07ffffff for s in loaded)
    end, ssym, esym = nbexpect.symbol_layout(elf)
    pos = esym if esym else end
    first = None
    for data in modules:
        pos = nbexpect.roundup(pos, PAGE)
        first = pos if first is None else first
        pos += len(data)
    # delivered: segment bytes, the symbol image without padding, the modules
    delivered = sum(s['filesz'] for s in loaded) + sum(len(d) for d in modules)
    if esym:
        delivered += elf.ehsize + len(elf.sections) * elf.shentsize
        linked = {s['link'] for s in elf.sections if s['type'] == 2}
        for i, s in enumerate(elf.sections):
            if i == 0:
                continue
            if i == elf.shstrndx or s['type'] == 2 or (s['type'] == 3 and i in linked):
                delivered += s['size']
    target = 'netbsd-%s' % ('amd64' if elf.bits == 64 else 'i386')
    mods = '%d modules to 0x%x' % (len(modules), first) if modules else '0 modules'
    return ('mbchain-check: ok: %s kernel [0x%x, 0x%x) entry 0x%x, symbols to 0x%x, %s, endpa 0x%x, '
            '%d bytes moved, %d delivered, ' % (target, start, end, elf.entry & 0x07ffffff, esym, mods, pos,
                                                delivered, delivered))


def expect_lines(out, wanted, problems):
    lines = out.splitlines()
    for w in wanted:
        if isinstance(w, str):
            if w not in lines:
                problems.append('missing line: %s' % w)
        elif not any(w.fullmatch(l) for l in lines):
            problems.append('no line matches: %s' % w.pattern)


def run_case(name, build, verbose=False):
    build = os.path.abspath(build)
    probes = os.path.join(build, 'probes')
    mb = os.path.join(build, 'mbchain.elf')
    for f in (mb, os.path.join(probes, 'netbsd-amd64.elf'), os.path.join(probes, 'freebsd-amd64.elf')):
        if not os.path.exists(f):
            return None, '', ['SKIP: %s missing (make all)' % f]
    try:
        exe = tool(build)
    except RuntimeError as e:
        return None, '', [str(e)]
    problems = []
    t = tempfile.mkdtemp(prefix='mbchain-check.')
    try:
        base = ['--mbchain', mb] + (['-v'] if verbose else [])
        mm512 = write_sysfs(os.path.join(t, 'memmap512'), 512)
        if name == 'netbsd-amd64/modules-qemu512':
            k = os.path.join(probes, 'netbsd-amd64.elf')
            rnd, fs = os.path.join(t, 'rnd.seed'), os.path.join(t, 'miniroot.fs')
            rnd_data = bytes((i * 7 + 3) & 0xff for i in range(512))
            fs_data = bytes((i * 13 + 1) & 0xff for i in range(3 * PAGE + 100))
            open(rnd, 'wb').write(rnd_data)
            open(fs, 'wb').write(fs_data)
            rc, out = run_tool(exe, base + ['--memmap', mm512, '-v', '--cmdline', 'console=com', k, '-s', 'root=wd0a',
                                            '--module', rnd + ' type=rnd', '--module', fs + ' type=fs'])
            want = netbsd_expected_line(open(k, 'rb').read(), [rnd_data, fs_data])
            if not any(l.startswith(want) and l.endswith(', 0 bounces') for l in out.splitlines()):
                problems.append('expected a line starting %r' % want)
            lo, up = kexec_facts.kexec_mem_sizes(kexec_facts.qemu_e820(512))
            if not re.search(r'^mbchain-check: mem_lower %d KiB, mem_upper %d KiB, ' % (lo, up), out, re.M):
                problems.append('mem_lower/mem_upper are not kexec\'s %d/%d KiB' % (lo, up))
            if 'mbchain: boot: loader "kexec", 3 modules, ' not in out:
                problems.append('the MIS is not kexec\'s (loader name, 3 modules)')
            if rc != 0:
                problems.append('exit %d, expected 0' % rc)
        elif name == 'netbsd-i386/memmap-file':
            k = os.path.join(probes, 'netbsd-i386.elf')
            kgz = os.path.join(t, 'netbsd.gz')
            subprocess.run('gzip -c "%s" > "%s"' % (k, kgz), shell=True, check=True)
            mf = write_memmap_file(os.path.join(t, 'memmap.txt'), 512)
            rc, out = run_tool(exe, base + ['--memmap', mf, '--kernel', kgz + ' -s root=wd0a'])
            want = netbsd_expected_line(open(k, 'rb').read(), [])
            if not any(l.startswith(want) for l in out.splitlines()):
                problems.append('expected a line starting %r' % want)
            if rc != 0:
                problems.append('exit %d, expected 0' % rc)
        elif name in ('freebsd-amd64/not-in-ram-512', 'freebsd-amd64/below-1gib-1536'):
            k = os.path.join(probes, 'freebsd-amd64.elf')
            small = name.endswith('512')
            mm = mm512 if small else write_sysfs(os.path.join(t, 'memmap1536'), 1536)
            big = os.path.join(t, 'big.img')
            size = (510 if small else 1010) << 20
            with open(big, 'wb') as fh:
                fh.truncate(size)  # sparse: mbchain-check skips zero chunks
            rc, out = run_tool(exe, base + ['--memmap', mm, k, '--module', big + ' type=md_image'])
            if small:
                pat = re.compile(r'mbchain: error: freebsd: kernel, modules and metadata \[0x200000, 0x([0-9a-f]+)\) '
                                 r'do not fit in RAM')
                hint = 'mbchain: hint: give the machine more memory, or load fewer modules'
            else:
                pat = re.compile(r'mbchain: error: freebsd: kernend 0x([0-9a-f]+) leaves the kernel too little of its '
                                 r'first 1 GiB \(needs kernend \+ 0x200000 \+ 16 MiB below 1 GiB\)')
                hint = 'mbchain: hint: load fewer or smaller modules'
            expect_lines(out, [pat, hint], problems)
            m = pat.search(out)
            if m and not 0 < int(m.group(1), 16) - 0x200000 - size < 0x40000:
                problems.append('kernend 0x%s is not the module plus the kernel' % m.group(1))
            if 'mbchain-check: ok' in out:
                problems.append('an ok line besides the error')
            if rc != 1:
                problems.append('exit %d, expected 1' % rc)
        elif name == 'netbsd-i386/12-modules':
            k = os.path.join(probes, 'netbsd-i386.elf')
            mods = []
            for i in range(12):
                p = os.path.join(t, 'm%d' % i)
                open(p, 'wb').write(bytes([i + 1]) * (100 + i))
                mods += ['--module', p + ' type=fs']
            rc, out = run_tool(exe, base + ['--memmap', mm512, k] + mods)
            expect_lines(out, ['mbchain-check: error: kexec segments: 12 modules make 17 kexec segments (1 mbchain, '
                               'purgatory, map, MBI, kernel, 12 modules), more than kexec_load\'s 16: at most 11 '
                               'modules besides the kernel',
                               re.compile(r'mbchain-check: ok: netbsd-i386 kernel .*, 12 modules to 0x[0-9a-f]+, .*')],
                         problems)
            if rc != 1:
                problems.append('exit %d, expected 1' % rc)
            rc, out2 = run_tool(exe, base + ['--memmap', mm512, k] + mods[:22])
            if rc != 0 or 'kexec segments' in out2:
                problems.append('11 modules: exit %d, %s' % (rc, out2.strip()))
            out += out2
        elif name == 'not-bsd':
            script = os.path.join(t, 'script')
            open(script, 'w').write('#!/bin/sh\necho not a kernel\n')
            rc, out = run_tool(exe, base + ['--memmap', mm512, script, '-s'])
            # src/elf.c prints the first four bytes as a big-endian number
            expect_lines(out, ['mbchain: error: elf: the kernel module is not an ELF file (starts 0x%08x)' %
                               int.from_bytes(b'#!/b', 'big'),
                'mbchain: hint: the kernel module must be an uncompressed NetBSD or FreeBSD x86 kernel'], problems)
            if rc != 1:
                problems.append('exit %d, expected 1' % rc)
        elif name == 'kload-check':
            sysroot = os.path.join(t, 'sysroot')
            os.makedirs(os.path.join(sysroot, 'sys', 'firmware'))
            shutil.copytree(mm512, os.path.join(sysroot, 'sys', 'firmware', 'memmap'))
            env = dict(os.environ, MBCHAIN_CHECK=exe, KLOAD_SYSROOT=sysroot, MBCHAIN_ELF=mb)
            k = os.path.join(probes, 'netbsd-amd64.elf')
            rc, out = run_tool('sh', [os.path.join(ROOT, 'tools', 'kload'), '--check', k, '-s'], env=env)
            want = netbsd_expected_line(open(k, 'rb').read(), [])
            if not any(l.startswith(want) for l in out.splitlines()):
                problems.append('kload --check does not show mbchain-check\'s ok line')
            big = os.path.join(t, 'big.img')
            with open(big, 'wb') as fh:
                fh.truncate(510 << 20)
            rc2, out2 = run_tool('sh', [os.path.join(ROOT, 'tools', 'kload'), '--check', '-m', big + ',type=md_image',
                                        os.path.join(probes, 'freebsd-amd64.elf')], env=env)
            if 'mbchain: error: freebsd: kernel, modules and metadata' not in out2 or rc2 != 1:
                problems.append('kload --check does not report mbchain\'s error (exit %d)' % rc2)
            base_problems = len(re.findall(r'^problem: ', out2, re.M))
            if ('check: %d problem(s)' % (base_problems + 1)) not in out2:
                problems.append('kload does not count mbchain\'s error as one problem')
            out += out2
        else:
            return None, '', ['no such case %s' % name]
    finally:
        shutil.rmtree(t, ignore_errors=True)
    if 'ERROR: AddressSanitizer' in out or 'runtime error:' in out or 'LeakSanitizer' in out:
        problems.append('sanitizer report')
    if verbose or problems:
        sys.stdout.write(out if verbose else '')
    return rc, out, problems


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--build', default=os.path.join(ROOT, 'build'))
    ap.add_argument('--only', default='')
    ap.add_argument('-v', action='store_true')
    args = ap.parse_args()
    passed = failed = 0
    for name, _ in CASES:
        if args.only not in name:
            continue
        _, out, problems = run_case(name, args.build, args.v)
        if problems and problems[0].startswith('SKIP'):
            print('%s %s' % (problems[0], name))
        elif problems:
            failed += 1
            print('FAIL %s: %s\n%s' % (name, '; '.join(problems), out[-3000:]))
        else:
            passed += 1
            print('ok %s' % name)
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
