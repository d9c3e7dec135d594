#!/usr/bin/env python3
"""kexec.py - mbchain started by Linux kexec (through tools/kload), in QEMU.

A Debian 12 cloud kernel boots in QEMU with an initramfs holding busybox, kexec-tools (and
the shared libraries it needs), tools/kload, build/mbchain.elf, a probe kernel (NetBSD or
FreeBSD, i386 or amd64) and a module.  Its /init runs `kload -e`, i.e. for NetBSD

    kexec -l /mbchain.elf --type multiboot-x86 --command-line=mbchain.exitport=0xf4
          --module='/netbsd -s root=wd0a' --module='/rnd type=rnd'
    kexec -e

and for FreeBSD (kload -k mbchain.exitport=0xf4 -k vfs.root.mountfrom=ufs:/dev/md0
-m /boot/mfsroot,type=md_image /boot/kernel.old/kernel -sv)

    kexec -l /mbchain.elf --type multiboot-x86 --command-line=mbchain.exitport=0xf4
          --module='/boot/kernel.old/kernel -sv vfs.root.mountfrom=ufs:/dev/md0'
          --module='/boot/mfsroot type=md_image'

and the probe's report (port 0xE9) is compared line by line with tests/run.py
compare_report's (tests/nbexpect.py or tests/fbexpect.py by probe), for the memory map
kexec-tools builds (kexec_memmap() below), no boot device (FreeBSD/i386: bios_dev 0x80), and
for FreeBSD SeaBIOS's RSDP (KEXEC_ACPI below: the BIOS ROM area survives kexec).  The kload-errors case provokes kload's
error paths inside the VM (not root, kexec missing, not a BSD kernel, too many modules,
lockdown, kexec_load_disabled) and checks -n, --check and -u.

Exports (like tests/forge/cases.py)
  CASES      [(name, what it boots)]
  run_case(name, build, verbose=False) -> (QEMU exit, summary, problems); problems == [] is
             a pass, ['SKIP: reason'] a skip (no network and nothing cached, no QEMU, ...)
  kexec_memmap(e820), kexec_mem_sizes(e820): the facts below, as functions
Stand-alone:  python3 tests/kexec/kexec.py [--build DIR] [--only SUBSTRING] [-v]

Third-party files are fetched once into $MBCHAIN_CACHE/kexec (default ~/.cache/mbchain/kexec,
never inside the repository) with `apt-get download` + `dpkg -x`: the package
linux-image-cloud-amd64 depends on, kexec-tools and the libraries it pulls in that the host
lacks (libxen*), busybox-static.  Nothing is installed on the host (installing kexec-tools sets
LOAD_KEXEC=true in /etc/default/kexec).  Delete the folder to fetch again.

What kexec-tools 2.0.25 (Debian 12) hands a Multiboot kernel as its memory map (upstream
kexec/firmware_memmap.c, kexec/arch/i386/kexec-x86-common.c get_memory_ranges(),
kexec-multiboot-x86.c multiboot_x86_load()), confirmed by what the probe receives here:
  1. The ranges are Linux's /sys/firmware/memmap (get_memory_ranges_sysfs): the BIOS E820
     as Linux first saw it (e820_table_firmware, before Linux's own reservations), end
     inclusive.  For QEMU that is tests/run.py's qemu_e820() exactly: the VM prints it and
     the test checks it.  Type names: "System RAM" -> RAM, "ACPI Tables" -> ACPI,
     "ACPI Non-volatile Storage" -> NVS, "Reserved" and anything else -> reserved.
  2. Sorted by start; overlapping ranges of one type merged (fixup_memory_ranges).
  3. "Don't report the interrupt table as ram": the first RAM range starting below
     REALMODE_IVT_END (0x400) starts at 0x400 instead.  So [0, 0x400) is in no entry at all:
     not RAM, not reserved - a hole (older kexec-tools used 0x100).
  4. Each range becomes base = start, length = end - start + 1 (exact), type RAM -> 1,
     ACPI -> 3, NVS -> 4, everything else -> 2.  (QEMU's SeaBIOS E820 has no ACPI or NVS
     entry, so only 1 and 2 are observed here; 3 and 4 are from the source.)
  5. mem_lower = (inclusive end of the RAM range starting at or below 64 KiB) >> 10 and
     mem_upper = (inclusive end of the RAM range holding 1 MiB - 1 MiB) >> 10: the inclusive
     end makes both round down, one KiB short of the map (638 instead of 639 KiB; extmem - 1).
  6. The map buffer, the MBI and small modules are placed bottom-up in free RAM (here: the
     kernel module at 0xb000, the rnd module at 0x10000; TESTING-NOTES saw the map at
     physical 0); kexec_load takes at most 16 segments: mbchain's one PT_LOAD, purgatory, the
     map, the MBI, then 12 modules - the kernel and 11 others (the kload-errors case shows
     kexec-tools refusing a 13th: "kernel segment limit reached", EINVAL).
mbchain passes the map on after sorting and cleaning it (src/memmap.c: drop empty entries,
most restrictive type wins an overlap, merge neighbours of one type); so the MEMMAP record is
kexec_memmap(qemu_e820(...)) through the same cleaning (tests/forge/cases.py sanitize(), an
independent Python copy), and basemem/extmem are mem_lower/mem_upper (the MIS has
MB_INFO_MEMORY, which mbchain prefers to the map).  For FreeBSD the same map is the SMAP
record and basemem/extmem the i386 bootinfo's (measured: 638 / 523135 KiB at 512 MiB).
"""
import fcntl
import glob
import gzip
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
ROOT = os.path.dirname(TESTS)
sys.path.insert(0, TESTS)
sys.path.insert(0, os.path.join(TESTS, 'forge'))
import fbexpect  # noqa: E402  (QEMU_ACPI)
import harness  # noqa: E402
import cases as forge_cases  # noqa: E402  (module_bytes, sanitize)

EXIT_PASS, EXIT_FAIL = 33, 35       # probe: 0x10 / 0x11 to isa-debug-exit
EXIT_INIT_FAIL = (0x20 << 1) | 1    # /init: kload returned, or a step before it failed
RAM_MIB = 512
TIMEOUT_S = 90

REALMODE_IVT_END = 0x400  # kexec-tools' "interrupt table" (fact 3)
# What a FreeBSD probe's acpi.* kenv holds after kexec: Linux leaves the BIOS ROM area
# (0xE0000-0xFFFFF) as SeaBIOS filled it, so mbchain's scan finds SeaBIOS's own RSDP there -
# measured: acpi.rsdp=0x000f59d0 acpi.revision=1 acpi.oem="BOCHS " acpi.rsdt=0x1ffe1ad8 (512 MiB),
# the same RSDP a direct QEMU boot shows.  So the expectation is fbexpect.QEMU_ACPI, said here.
KEXEC_ACPI = fbexpect.QEMU_ACPI

CASES = [
    ('netbsd-i386/flags-root-module', 'kload -e: NetBSD/i386 probe, -s root=wd0a, an rnd module'),
    ('netbsd-amd64/flags-root-module', 'kload -e: NetBSD/amd64 probe, -s root=wd0a, an rnd module'),
    ('freebsd-i386/flags-kenv-md', 'kload -e: FreeBSD/i386 probe, -sv, a kenv pair by -k, an md_image'),
    ('freebsd-amd64/flags-kenv-md', 'kload -e: FreeBSD/amd64 probe, -s -d, a kenv pair by -k, an md_image'),
    ('kload-errors', 'kload -n/--check/-u and every error path provokable in the VM'),
]

# kernel: where the probe lies in the initramfs (the path kload hands kexec, so the kernel's
# name); kenv: kload -k words (appended to the kernel's string after kernel_args); module: the
# -m module (path, args, bytes).
BOOT = {
    'netbsd-i386/flags-root-module': dict(probe='netbsd-i386', kernel_args='-s root=wd0a',
                                          mbchain_args='mbchain.exitport=0xf4'),
    'netbsd-amd64/flags-root-module': dict(probe='netbsd-amd64', kernel_args='-s root=wd0a',
                                           mbchain_args='mbchain.exitport=0xf4'),
    'freebsd-i386/flags-kenv-md': dict(probe='freebsd-i386', kernel_args='-sv',
                                       kenv='vfs.root.mountfrom=ufs:/dev/md0', mbchain_args='mbchain.exitport=0xf4'),
    'freebsd-amd64/flags-kenv-md': dict(probe='freebsd-amd64', kernel_args='-s -d',
                                        kenv='vfs.root.mountfrom=ufs:/dev/md0 kern.hz=100',
                                        mbchain_args='mbchain.exitport=0xf4'),
}
RND = ('/rnd', 'type=rnd', forge_cases.module_bytes(11, 512))
MD_IMAGE = ('/boot/mfsroot', 'type=md_image', forge_cases.module_bytes(12, 20000))
for _c in BOOT.values():
    freebsd = _c['probe'].startswith('freebsd')
    # not /boot/kernel/kernel, FreeBSD's default name: the name must come from kexec's string
    _c.setdefault('kernel', '/boot/kernel.old/kernel' if freebsd else '/netbsd')
    _c.setdefault('module', MD_IMAGE if freebsd else RND)
    _c.setdefault('kenv', '')


# --- the facts, as functions ---------------------------------------------------------------

def qemu_e820(ram_mib=RAM_MIB):
    """QEMU 7.2 + SeaBIOS 1.16 'pc' E820 (tests/run.py holds the canonical copy)."""
    import run  # tests/run.py: one definition of the firmware facts
    return run.qemu_e820('pc', ram_mib)


def sysfs_memmap(e820):
    """/sys/firmware/memmap as Linux 6.1 shows it for a BIOS E820: (start, end incl., name)."""
    names = {1: 'System RAM', 2: 'Reserved', 3: 'ACPI Tables', 4: 'ACPI Non-volatile Storage',
             5: 'Unusable memory'}
    return [(b, b + l - 1, names.get(t, 'Reserved')) for b, l, t in sorted(e820)]


def kexec_ranges(sysfs):
    """kexec-tools' memory_range list: (start, end inclusive, 'ram'|'acpi'|'nvs'|'reserved')."""
    kinds = {'System RAM': 'ram', 'ACPI Tables': 'acpi', 'ACPI Non-volatile Storage': 'nvs'}
    rng = sorted(((s, e, kinds.get(n, 'reserved')) for s, e, n in sysfs), key=lambda r: r[0])
    # fixup_memory_ranges: same-type overlaps (none on QEMU; kept for fidelity)
    out = []
    for s, e, k in rng:
        if out and out[-1][2] == k and out[-1][1] > s:
            ps, pe, _ = out[-1]
            out[-1] = (ps, max(pe, e), k)
        else:
            out.append((s, e, k))
    for i, (s, e, k) in enumerate(out):  # "Don't report the interrupt table as ram"
        if k == 'ram' and s < REALMODE_IVT_END:
            out[i] = (REALMODE_IVT_END, e, k)
            break
    return out


def kexec_memmap(e820):
    """The Multiboot memory map kexec -l --type multiboot-x86 builds: (base, length, type)."""
    types = {'ram': 1, 'acpi': 3, 'nvs': 4}
    return [(s, e - s + 1, types.get(k, 2)) for s, e, k in kexec_ranges(sysfs_memmap(e820))]


def kexec_mem_sizes(e820):
    """(mem_lower, mem_upper) in KiB as kexec-tools computes them (fact 5)."""
    lower = upper = 0
    for s, e, k in kexec_ranges(sysfs_memmap(e820)):
        if k != 'ram':
            continue
        if s <= 64 * 1024 and e > lower:
            lower = e
            s = 0  # as kexec-tools does (range[i].start = 0) before the next test
        if s <= 0x100000 and e > upper + 0x100000:
            upper = e - 0x100000
    return lower >> 10, upper >> 10


def expected_memmap(e820):
    """The MEMMAP record mbchain must pass on: kexec's map through mbchain's cleaning, with the
    first RAM range given back its [0, 0x400) (kexec-tools' REALMODE_IVT_END start; the
    firmware's map starts it at 0, and older FreeBSD kernels need a range at 0)."""
    m = forge_cases.sanitize(kexec_memmap(e820))
    if m and m[0][0] == 0x400 and m[0][2] == 1:
        m[0] = (0, m[0][1] + 0x400, 1)
    return m


# --- the cache: third-party binaries ------------------------------------------------------

class Skip(Exception):
    pass


def cache_dir():
    base = os.environ.get('MBCHAIN_CACHE') or os.path.join(os.path.expanduser('~'), '.cache', 'mbchain')
    base = os.path.abspath(base)
    if os.path.commonpath([base, ROOT]) == ROOT:
        raise ValueError('MBCHAIN_CACHE=%s lies inside the repository; choose a folder outside it' % base)
    return os.path.join(base, 'kexec')


def _run(argv, cwd=None, timeout=600):
    return subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=timeout)


def _installed(pkgs):
    """The subset of pkgs installed on the host (one dpkg-query call)."""
    p = _run(['dpkg-query', '-W', '-f', '${Package} ${db:Status-Status}\n'] + list(pkgs))
    return {l.split()[0] for l in p.stdout.splitlines() if l.endswith(' installed')}


def _depends(pkgs):
    """{package: [packages it Depends/Pre-Depends on]} (one apt-cache call, virtual ones left out)."""
    p = _run(['apt-cache', 'depends', '--no-recommends', '--no-suggests', '--no-conflicts',
              '--no-breaks', '--no-replaces', '--no-enhances'] + list(pkgs))
    if p.returncode != 0:
        raise Skip('apt-cache depends %s failed: %s' % (' '.join(pkgs), p.stdout.strip().splitlines()[-1:]))
    deps, cur = {}, None
    for line in p.stdout.splitlines():
        if not line.startswith(' '):
            cur = line.strip()
            deps[cur] = []
            continue
        m = re.match(r'\s*\|?(?:Pre)?Depends: ([^<\s]+)$', line)
        if m and cur:
            deps[cur].append(m.group(1))
    return deps


def _download(pkgs, dest):
    """apt-get download into dest; Skip with apt's last error line when it cannot."""
    p = _run(['apt-get', 'download', '-q'] + pkgs, cwd=dest)
    if p.returncode != 0:
        errs = [l for l in p.stdout.splitlines() if l.startswith(('E:', 'Err', 'W: Failed'))]
        raise Skip('apt-get download of %d packages (%s, ...) failed - no network or no package '
                   'lists? %s' % (len(pkgs), pkgs[0], (errs or p.stdout.strip().splitlines() or ['?'])[-1]))


_fetched = {}
_fetch_lock = threading.Lock()


def fetch(log=lambda s: None):
    """The cached third-party tree; downloads it on first use.  Returns a dict of paths.
    One attempt per process: a failure (Skip) is remembered for the other cases."""
    with _fetch_lock:
        if 'error' in _fetched:
            raise _fetched['error']
        if 'info' not in _fetched:
            try:
                _fetched['info'] = _fetch(log)
            except (Skip, ValueError) as e:
                _fetched['error'] = e
                raise
        return _fetched['info']


def _fetch(log):
    kdir = cache_dir()
    os.makedirs(kdir, exist_ok=True)
    ready = os.path.join(kdir, 'ready.json')
    with open(os.path.join(kdir, '.lock'), 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel cases: one download
        if os.path.exists(ready):
            info = json.load(open(ready))
            if all(os.path.exists(info[k]) for k in ('vmlinuz', 'kexec', 'busybox')):
                return info
        for tool in ('apt-get', 'apt-cache', 'dpkg', 'dpkg-query', 'ldd'):
            if not shutil.which(tool):
                raise Skip('%s not found: the kexec test fetches Debian packages' % tool)
        t0 = time.time()
        debs = tempfile.mkdtemp(prefix='debs-', dir=kdir)
        root = os.path.join(kdir, 'root')
        try:
            kdeps = [d for d in _depends(['linux-image-cloud-amd64']).get('linux-image-cloud-amd64', [])
                     if d.startswith('linux-image-')]
            if not kdeps:
                raise Skip('linux-image-cloud-amd64 depends on no linux-image-* package '
                           '(apt-get update?)')
            # kexec-tools and the library packages it pulls in that the host lacks (libxen*);
            # libraries the host has are taken from the host by ldd below.
            wanted, todo, seen = ['kexec-tools'], ['kexec-tools'], {'kexec-tools'}
            while todo:
                new = sorted({d for ds in _depends(todo).values() for d in ds
                              if d not in seen and d.startswith('lib')})
                seen.update(new)
                have = _installed(new) if new else set()
                todo = [d for d in new if d not in have]
                wanted += todo
            pkgs = [kdeps[0], 'busybox-static'] + wanted
            log('kexec: downloading %s' % ' '.join(pkgs))
            _download(pkgs, debs)
            shutil.rmtree(root, ignore_errors=True)
            os.makedirs(root)
            names = sorted(os.listdir(debs))
            for deb in names:
                p = _run(['dpkg', '-x', os.path.join(debs, deb), root])
                if p.returncode != 0:
                    raise Skip('dpkg -x %s failed: %s' % (deb, p.stdout.strip()))
            # The cloud kernel's own modules (~80 MB) are not needed: everything used is built in.
            for unneeded in ('lib/modules', 'usr/lib/modules', 'usr/share/doc', 'usr/share/man'):
                shutil.rmtree(os.path.join(root, unneeded), ignore_errors=True)
            vmlinuz = sorted(glob.glob(os.path.join(root, 'boot', 'vmlinuz-*')))
            if not vmlinuz:
                raise Skip('no boot/vmlinuz-* in %s' % kdeps[0])
            os.chmod(vmlinuz[0], 0o644)
            info = dict(vmlinuz=vmlinuz[0], kexec=os.path.join(root, 'sbin', 'kexec'),
                        busybox=os.path.join(root, 'bin', 'busybox'), root=root, debs=names,
                        fetched=time.strftime('%Y-%m-%d %H:%M:%S'), seconds=round(time.time() - t0, 1))
            json.dump(info, open(ready + '.tmp', 'w'), indent=1)
            os.rename(ready + '.tmp', ready)
            return info
        finally:
            shutil.rmtree(debs, ignore_errors=True)


def kexec_libraries(info):
    """[(path on the host or in the cache, name in the initramfs)] for /sbin/kexec, via ldd."""
    libdirs = sorted({os.path.dirname(p) for p in glob.glob(os.path.join(info['root'], '**', '*.so*'),
                                                                recursive=True)})
    env = dict(os.environ, LD_LIBRARY_PATH=':'.join(libdirs))
    p = subprocess.run(['ldd', info['kexec']], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, env=env)
    out, missing = [], []
    for line in p.stdout.splitlines():
        line = line.strip()
        m = re.match(r'(\S+) => (\S+) \(0x', line)
        if m:
            out.append((m.group(2), '/lib/' + m.group(1)))
            continue
        m = re.match(r'(\S+) => not found', line)
        if m:
            missing.append(m.group(1))
            continue
        m = re.match(r'(/\S+) \(0x', line)  # the interpreter
        if m:
            out.append((m.group(1), m.group(1)))
    if missing or p.returncode != 0:
        raise RuntimeError('ldd %s: missing %s\n%s' % (info['kexec'], missing, p.stdout))
    return out


_helper_lock = threading.Lock()


def exitport_helper(kdir):
    """A static x86-64 binary writing a byte to port 0xf4 (the cloud kernel has no /dev/port):
    exitport.c with gcc -static, else exitport.asm with nasm -f bin."""
    with _helper_lock:
        out = os.path.join(kdir, 'exitport')
        srcs = [os.path.join(HERE, 'exitport.c'), os.path.join(HERE, 'exitport.asm')]
        if os.path.exists(out) and all(os.path.getmtime(out) >= os.path.getmtime(s) for s in srcs):
            return out
        tmp = out + '.%d' % os.getpid()
        p = _run(['gcc', '-static', '-O2', '-o', tmp, srcs[0]])
        if p.returncode != 0:
            p = _run(['nasm', '-f', 'bin', '-o', tmp, srcs[1]])
            if p.returncode != 0:
                raise RuntimeError('exitport: neither gcc -static nor nasm worked:\n' + p.stdout)
        os.chmod(tmp, 0o755)
        os.rename(tmp, out)
        return out


# --- the initramfs --------------------------------------------------------------------------

class Cpio:
    """A cpio 'newc' archive (what the kernel's initramfs unpacker reads), built in memory."""

    def __init__(self):
        self.parts, self.ino, self.dirs = [], 1, set()

    def _entry(self, name, mode, data=b'', rdev=(0, 0)):
        name = name.lstrip('/')
        self.ino += 1
        fields = [self.ino, mode, 0, 0, 2 if stat.S_ISDIR(mode) else 1, 0, len(data), 0, 0,
                  rdev[0], rdev[1], len(name) + 1, 0]
        hdr = b'070701' + b''.join(b'%08x' % f for f in fields) + name.encode() + b'\0'
        self.parts.append(hdr + b'\0' * (-len(hdr) % 4))
        self.parts.append(data + b'\0' * (-len(data) % 4))

    def dir(self, path):
        path = path.strip('/')
        if not path or path in self.dirs:
            return
        self.dir(os.path.dirname(path))
        self.dirs.add(path)
        self._entry(path, stat.S_IFDIR | 0o755)

    def file(self, path, data, mode=0o644):
        self.dir(os.path.dirname(path.strip('/')))
        self._entry(path, stat.S_IFREG | mode, data)

    def copy(self, path, src, mode=None):
        with open(src, 'rb') as f:
            data = f.read()
        self.file(path, data, mode if mode is not None else (0o755 if os.access(src, os.X_OK) else 0o644))

    def symlink(self, path, target):
        self.dir(os.path.dirname(path.strip('/')))
        self._entry(path, stat.S_IFLNK | 0o777, target.encode())

    def chardev(self, path, major, minor):
        self.dir(os.path.dirname(path.strip('/')))
        self._entry(path, stat.S_IFCHR | 0o600, rdev=(major, minor))

    def gz(self):
        self._entry('TRAILER!!!', 0)
        return gzip.compress(b''.join(self.parts), compresslevel=1)


INIT_HEAD = r'''#!/bin/sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/sbin LD_LIBRARY_PATH=/lib MBCHAIN_ELF=/mbchain.elf
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "kexec-test: init up"
for d in /sys/firmware/memmap/*; do
	echo "kexec-test: memmap $(cat $d/start) $(cat $d/end) $(cat $d/type)"
done
fail() {
	echo "kexec-test: FAIL $*"
	exitport 0x20
	poweroff -f
}
'''

BOOT_INIT = INIT_HEAD + r'''
kload --check @KLOAD_ARGS@ 2>&1 | sed 's/^/kexec-test: check: /'
echo "kexec-test: exec"
kload -e @KLOAD_ARGS@
fail "kload -e returned $?"
'''

# Each check prints "kload-test: ok NAME" or "kload-test: FAIL NAME: detail".  Order matters:
# lockdown and kexec_load_disabled cannot be undone, so they come last.  Lockdown also denies
# ioperm(), so this VM ends with poweroff (QEMU -no-reboot exits 0) and the serial lines decide.
ERRORS_INIT = INIT_HEAD + r'''
FAILS=0
ok() { echo "kload-test: ok $1"; }
bad() { echo "kload-test: FAIL $1: $2"; FAILS=$((FAILS + 1)); }
# expect NAME WANTED-RC PATTERN COMMAND...: COMMAND's exit status and output (stdout+stderr)
expect() {
	name=$1; want=$2; pat=$3; shift 3
	out=$("$@" 2>&1); rc=$?
	case $out in
	*"$pat"*) if [ "$rc" = "$want" ]; then ok "$name"; else bad "$name" "exit $rc, want $want: $out"; fi ;;
	*) bad "$name" "exit $rc, output [$out], want [$pat]" ;;
	esac
}
expect dry-run 0 "@DRY_RUN@" kload -n -e -k mbchain.exitport=0xf4 -m /rnd,type=rnd /netbsd -s root=wd0a
expect dry-run-altroot 0 "--module='/alt/netbsd name=/netbsd' --module='/alt/rnd type=rnd name=/rnd'" kload -n -h /alt -m rnd,type=rnd
expect dry-run-reboot 0 "reboot" kload -n -r /netbsd
expect dry-run-unload 0 "kexec -u" kload -n -u
expect check-ok 0 "check: ok" kload --check -m /rnd,type=rnd /netbsd -s
expect check-amd64 0 "netbsd amd64" kload --check /netbsd64
expect not-bsd 1 "kload: error: /sbin/kexec is an ELF file but not a NetBSD kernel" kload /sbin/kexec
expect not-elf 1 "kload: error: /init is not an ELF file" kload /init
expect no-such-kernel 1 "kload: error: /nonexistent: no such file" kload /nonexistent
expect no-mbchain 1 "kload: error: MBCHAIN_ELF=/nope does not exist" env MBCHAIN_ELF=/nope kload /netbsd
expect kexec-missing 1 "kload: error: kexec not found: install kexec-tools" env PATH=/bin:/usr/sbin kload /netbsd
expect not-root 1 "kload: error: not root" su -s /bin/sh nobody -c "/usr/sbin/kload /netbsd"
M=; i=0; while [ $i -lt 12 ]; do M="$M -m /rnd,type=rnd"; i=$((i + 1)); done
expect check-too-many 1 "problem: 17 kexec segments, more than kexec_load's 16" kload --check $M /netbsd
expect too-many 1 "kload: error: 12 modules make 17 kexec segments" kload $M /netbsd
# what kexec itself does at the limit: 11 modules load, 12 are refused
M11=; i=0; while [ $i -lt 11 ]; do M11="$M11 --module=/rnd"; i=$((i + 1)); done
if kexec -l /mbchain.elf --type multiboot-x86 --module=/netbsd $M11 >/tmp/k11 2>&1; then ok kexec-11-modules; else bad kexec-11-modules "$(tail -n 2 /tmp/k11)"; fi
kexec -u
if kexec -l /mbchain.elf --type multiboot-x86 --module=/netbsd $M11 --module=/rnd >/tmp/k12 2>&1; then
	bad kexec-12-modules "kexec accepted 17 segments"; kexec -u
else
	ok kexec-12-modules; echo "kload-test: kexec with 12 modules says: $(grep -v '^ ' /tmp/k12 | head -n 3 | tr '\n' '|')"
fi
expect load 0 "kload: loaded /netbsd (netbsd i386)" kload -m /rnd,type=rnd /netbsd -s
[ "$(cat /sys/kernel/kexec_loaded)" = 1 ] && ok kexec-loaded || bad kexec-loaded "/sys/kernel/kexec_loaded is $(cat /sys/kernel/kexec_loaded)"
expect unload 0 "kload: unloaded" kload -u
[ "$(cat /sys/kernel/kexec_loaded)" = 0 ] && ok kexec-unloaded || bad kexec-unloaded "/sys/kernel/kexec_loaded is $(cat /sys/kernel/kexec_loaded)"
mount -t securityfs securityfs /sys/kernel/security
if echo integrity > /sys/kernel/security/lockdown 2>/dev/null; then
	expect lockdown 1 "kload: error: the kernel is in lockdown (integrity mode" kload /netbsd
	kexec -l /mbchain.elf --type multiboot-x86 --module=/netbsd >/tmp/kl 2>&1
	echo "kload-test: raw kexec -l under lockdown: exit $?: $(grep -v '^ ' /tmp/kl | head -n 2 | tr '\n' '|')"
	grep -q "Operation not permitted" /tmp/kl && ok lockdown-eperm || bad lockdown-eperm "$(cat /tmp/kl)"
else
	bad lockdown "cannot write /sys/kernel/security/lockdown ($(cat /sys/kernel/security/lockdown 2>&1))"
fi
echo 1 > /proc/sys/kernel/kexec_load_disabled
expect load-disabled 1 "kload: error: kexec is disabled on this system: /proc/sys/kernel/kexec_load_disabled = 1" kload /netbsd
echo "kload-test: done, $FAILS failed"
poweroff -f
'''


def build_initramfs(name, build, info, tmp):
    cp = Cpio()
    for d in ('proc', 'sys', 'dev', 'tmp', 'etc', 'root', 'alt', 'sbin', 'usr/sbin'):
        cp.dir(d)
    cp.chardev('dev/console', 5, 1)
    cp.copy('bin/busybox', info['busybox'], 0o755)
    cp.symlink('bin/sh', 'busybox')
    cp.copy('sbin/kexec', info['kexec'], 0o755)
    for src, dst in kexec_libraries(info):
        cp.copy(dst, os.path.realpath(src), 0o755)
    cp.copy('bin/exitport', exitport_helper(os.path.dirname(info['root'])), 0o755)
    cp.copy('usr/sbin/kload', os.path.join(ROOT, 'tools', 'kload'), 0o755)
    cp.copy('mbchain.elf', os.path.join(build, 'mbchain.elf'))
    cp.file('rnd', RND[2])
    cp.file('etc/passwd', b'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n')
    cp.file('etc/group', b'root:x:0:\nnogroup:x:65534:\n')
    cp.file('etc/shells', b'/bin/sh\n')
    if name in BOOT:
        c = BOOT[name]
        cp.copy(c['kernel'], os.path.join(build, 'probes', c['probe'] + '.elf'))
        path, margs, data = c['module']
        if path != RND[0]:
            cp.file(path, data)
        args = ' '.join('-k ' + w for w in (c['mbchain_args'] + ' ' + c['kenv']).split())
        args += ' -m %s,%s %s %s' % (path, margs.replace(' ', ','), c['kernel'], c['kernel_args'])
        init = BOOT_INIT.replace('@KLOAD_ARGS@', args)
    else:
        cp.copy('netbsd', os.path.join(build, 'probes', 'netbsd-i386.elf'))
        cp.copy('netbsd64', os.path.join(build, 'probes', 'netbsd-amd64.elf'))
        cp.copy('alt/netbsd', os.path.join(build, 'probes', 'netbsd-i386.elf'))
        cp.file('alt/rnd', RND[2])
        dry = ("kexec -l /mbchain.elf --type multiboot-x86 --command-line=mbchain.exitport=0xf4 "
               "--module='/netbsd -s root=wd0a' --module='/rnd type=rnd'\nsync\nkexec -e")
        init = ERRORS_INIT.replace('@DRY_RUN@', dry)
    cp.file('init', init.encode(), 0o755)
    path = os.path.join(tmp, 'initrd.gz')
    with open(path, 'wb') as f:
        f.write(cp.gz())
    return path


# --- one boot ---------------------------------------------------------------------------------

def boot(info, initrd, tmp, verbose):
    """Run QEMU; returns (exit status, serial lines [(seconds since start, text)], e9 text)."""
    argv = ['timeout', str(TIMEOUT_S), 'qemu-system-x86_64', '-M', 'pc', '-m', str(RAM_MIB),
            '-kernel', info['vmlinuz'], '-initrd', initrd,
            '-append', 'console=ttyS0 quiet panic=-1',
            '-display', 'none', '-nic', 'none', '-monitor', 'none', '-no-reboot',
            '-serial', 'stdio',  # read here, with a time stamp per line (kexec -e -> probe)
            '-debugcon', 'file:' + os.path.join(tmp, 'e9.log'),
            '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04']
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    lines = []
    with open(os.path.join(tmp, 'com1.log'), 'wb') as log:
        for raw in proc.stdout:
            log.write(raw)
            lines.append((time.monotonic() - t0, raw.decode('utf-8', 'replace').rstrip('\r\n')))
    rc = proc.wait()
    stderr = proc.stderr.read().decode('utf-8', 'replace')
    if stderr.strip() and verbose:
        lines.append((time.monotonic() - t0, 'qemu stderr: ' + stderr.strip()))
    return rc, lines, harness.read_log(tmp)


def parse_sysfs(lines):
    out = []
    for _, text in lines:
        m = re.match(r'kexec-test: memmap (0x[0-9a-f]+) (0x[0-9a-f]+) (.+)$', text)
        if m:
            out.append((int(m.group(1), 16), int(m.group(2), 16), m.group(3).strip()))
    return sorted(out)


def judge_boot(name, build, rc, lines, e9):
    c = BOOT[name]
    problems = []
    e820 = qemu_e820()
    got_sysfs = parse_sysfs(lines)
    if got_sysfs != sysfs_memmap(e820):
        problems.append('/sys/firmware/memmap in the VM differs from QEMU\'s E820 facts:\n'
                        '  got  %s\n  want %s' % (got_sysfs, sysfs_memmap(e820)))
    fails = [t for _, t in lines if t.startswith('kexec-test: FAIL')]
    problems += fails
    if rc != EXIT_PASS:
        problems.insert(0, 'QEMU exit %d, want %d%s' % (rc, EXIT_PASS, {
            124: ' (timeout)', EXIT_INIT_FAIL: ' (/init: kload did not kexec)',
            253: ' (mbchain error)', EXIT_FAIL: ' (probe FAIL)'}.get(rc, '')))
    if 'stack: ' not in e9:
        return problems + ['the probe never reported (0xE9 log: %d bytes)' % len(e9)]
    # kexec passes "path args" strings (mbchain skips the path; FreeBSD's kernel name is that
    # path), no boot device, its own map; kload appends the -k words to the kernel's string
    spec = dict(kernel_path=c['kernel'], kernel_args=(c['kernel_args'] + ' ' + c['kenv']).strip(),
                cmdline=c['mbchain_args'], modules=[c['module']], kernel_index=0)
    basemem, extmem = kexec_mem_sizes(e820)
    import run  # tests/run.py: one comparison for every probe
    problems += run.compare_report(c['probe'], spec, os.path.join(build, 'probes', c['probe'] + '.elf'),
                                   expected_memmap(e820), None, basemem, extmem, e9, acpi=KEXEC_ACPI)
    return problems


def judge_errors(rc, lines):
    problems = ['kload-test: ' + t[len('kload-test: FAIL '):] for _, t in lines
                if t.startswith('kload-test: FAIL')]
    problems += [t for _, t in lines if t.startswith('kexec-test: FAIL')]
    oks = [t for _, t in lines if t.startswith('kload-test: ok ')]
    if not any(t.startswith('kload-test: done') for _, t in lines):
        problems.append('the checks did not finish (%d ok)' % len(oks))
    if rc != 0:  # poweroff under -no-reboot (lockdown forbids the exit port)
        problems.insert(0, 'QEMU exit %d, want 0 (poweroff)' % rc)
    return problems, len(oks)


def run_case(name, build, verbose=False):
    """(QEMU exit status, one-line summary, problems); problems == ['SKIP: ...'] is a skip."""
    if name not in dict(CASES):
        return -1, '-', ['harness: no kexec case %r' % name]
    need = [os.path.join(build, 'mbchain.elf')]
    need += [os.path.join(build, 'probes', p + '.elf') for p in
             ({BOOT[name]['probe']} if name in BOOT else ('netbsd-i386', 'netbsd-amd64'))]
    missing = harness.missing(need)
    if missing:
        return missing
    if not shutil.which('qemu-system-x86_64'):
        return -1, 'SKIP', ['SKIP: qemu-system-x86_64 not found']
    try:
        info = fetch()
    except Skip as e:
        return -1, 'SKIP', ['SKIP: %s' % e]
    except ValueError as e:
        return -1, '-', ['harness: %s' % e]
    tmp = tempfile.mkdtemp(prefix='mbchain-kexec-')
    try:
        initrd = build_initramfs(name, build, info, tmp)
        rc, lines, e9 = boot(info, initrd, tmp, verbose)
        if name in BOOT:
            problems = judge_boot(name, build, rc, lines, e9)
            # "kload: executing now" is printed just before kload runs kexec -e
            t_kload = next((t for t, s in lines if s == 'kexec-test: exec'), None)
            t_exec = next((t for t, s in lines if s.startswith('kload: executing now')), None)
            t_probe = next((t for t, s in lines if s.startswith('probe:')), None)
            timing = ''
            if t_exec is not None and t_probe is not None:
                timing = ', kexec -e -> probe %.0f ms (kload -e -> probe %.0f ms)' % (
                    (t_probe - t_exec) * 1000, (t_probe - t_kload) * 1000)
            t_init = next((t for t, s in lines if s == 'kexec-test: init up'), None)
            if t_init is not None:
                timing += ', Linux -> /init %.1f s' % t_init
            summary = ('result: PASS' if 'result: PASS' in e9 else 'no PASS') + timing
        else:
            problems, n_ok = judge_errors(rc, lines)
            summary = '%d kload checks ok' % n_ok
        if problems and verbose:
            problems.append('--- serial ---\n' + '\n'.join('%6.2f %s' % l for l in lines))
            problems.append('--- 0xE9 log ---\n' + e9)
        return rc, summary, problems
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _fetch_first(args):
    """Fetch (or find cached) the kernel and packages once, saying so, before the cases run."""
    try:
        fetch(log=print)
    except (Skip, ValueError):
        pass  # each case reports it


def main():
    return harness.standalone_main(CASES, run_case, 'kexec/', width=32, skips=True,
                                   total_time=True, before=_fetch_first)


if __name__ == '__main__':
    sys.exit(main())
