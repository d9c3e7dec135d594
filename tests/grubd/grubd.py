#!/usr/bin/env python3
"""grubd.py - the grub.d generator tools/41_mbchain (issue 4, item 1), for tests/run.py to import.

The generator reads a configuration (MBCHAIN_DEFAULTS=FILE instead of /etc/default/mbchain)
and prints GRUB menu entries.  Cases:

  generate/...  run it (under dash, the /bin/sh of Debian, and bash for the exact case) on
                sample configurations; every output must pass `grub-script-check` (grub-common)
                and the script must exit 0 (grub-mkconfig stops at a failing script).
                exact:       literal GRUB devices: the whole output compared with EXPECT_EXACT
                sample:      tools/mbchain.default with its examples switched on, through
                             /usr/share/grub/grub-mkconfig_lib and a stand-in grub-probe
                             (fake_grub_probe: /dev/sda4 is UFS2 with a UUID, mbchain.elf on
                             an ext2 /dev/sda1)
                no-lib:      the same without grub-mkconfig_lib (pkgdatadir elsewhere)
                no-grub-probe: neither library nor grub-probe: /dev/ devices are refused with a
                             warning, mbchain.elf is found with search --file
                odd-words:   options with $ ; # { } * & | < > ` ~ ' \\ and quoted blanks, titles
                             and module paths with quotes and blanks: the module lines are read
                             back with GRUB's word rules (grub_words) and must give exactly the
                             words written in the configuration (mbchain's word rule)
                problems:    broken entries are each warned about and left out, good ones kept;
                             a broken file, a missing one, a missing mbchain.elf: warnings only
  shellcheck    tools/41_mbchain under shellcheck -s sh (skipped when shellcheck is missing)
  boot/...      a GRUB ISO whose grub.cfg is serial-console lines + the generator's output for
                BOOT_CONFIG (mbchain on (cd), kernels found with search --file or on (cd)) +
                `set default=mbchain-N`, booted in QEMU (TCG, -M pc -m 128); the probe's whole
                report is judged by tests/run.py judge() (nbexpect / fbexpect), with the strings
                GRUB 2.06 builds from the entry's words (grub_cmdline).
                netbsd-i386: a gzip'd kernel (insmod gzio), a module with a blank in its path,
                             options with odd characters (userconf=), name=;
                freebsd-amd64: a GRUB device, type=env and type=md_image modules.

Exports CASES, run_case(name, build, verbose=False) -> (rc, summary, problems) (problems empty =
pass; rc: the generator's or QEMU's exit code); stand-alone:
    python3 tests/grubd/grubd.py [--build DIR] [--only SUBSTRING] [-j N] [-v]

Facts the expectations rest on (Debian 12, GRUB 2.06-13): grub_create_loader_cmdline
(grub-core/lib/cmdline.c) joins the arguments of `multiboot` (after the file) and `module`
(after the file) with blanks, puts a backslash before each \\ ' " (not before \\xHH) and wraps
an argument holding a blank in "..."; booted from a grub-mkrescue CD in QEMU it names the CD
(cd) (not (cd0); `ls` lists "(cd) (fd0)", $root is hd96 = BIOS drive 0xe0) and reports boot device
0xe0ffffff.
"""
import gzip
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
ROOT = os.path.dirname(TESTS)
GEN = os.path.join(ROOT, 'tools', '41_mbchain')
SAMPLE = os.path.join(ROOT, 'tools', 'mbchain.default')
QEMU_LIMIT_S = 60
sys.path.insert(0, TESTS)
import harness  # noqa: E402


def _run():
    """tests/run.py, imported late: run.py imports this module, so no import cycle at load."""
    if '__main__' in sys.modules and hasattr(sys.modules['__main__'], 'grub_iso'):
        return sys.modules['__main__']
    import run
    return run


# --- word rules -----------------------------------------------------------------------------

def mbchain_words(s, modules=False):
    """mbchain's word rule (src/options.c next_word, tests/nbexpect.py words), the generator's
    reading of OPTIONS and MODULES: blanks separate, '"' toggles grouping and is dropped, empty
    words are dropped; modules=True: ';' outside quotes ends a module -> list of word lists."""
    out, cur, have, quoted = [[]], '', False, False
    for c in s:
        if c == '"':
            quoted, have = not quoted, True
        elif not quoted and (c in ' \t\n\r' or (modules and c == ';')):
            if have and cur:
                out[-1].append(cur)
            cur, have = '', False
            if c == ';':
                out.append([])
        else:
            cur, have = cur + c, True
    if have and cur:
        out[-1].append(cur)
    if modules:
        return [m for m in out if m]
    return out[0]


def grub_cmdline(words):
    """The string GRUB 2.06 hands the kernel for these arguments (grub_create_loader_cmdline)."""
    out = []
    for w in words:
        s, i = '', 0
        while i < len(w):
            c = w[i]
            if c == '\\' and w[i + 1:i + 2] == 'x' and all(
                    ch in '0123456789abcdefABCDEF' for ch in w[i + 2:i + 4]) and len(w[i + 2:i + 4]) == 2:
                s += w[i:i + 4]
                i += 4
                continue
            if c in '\\\'"':
                s += '\\'
            s += c
            i += 1
        out.append('"%s"' % s if ' ' in w else s)
    return ' '.join(out)


def grub_words(line):
    """The words of one grub.cfg command line as GRUB's lexer gives them, for the forms the
    generator writes: bare words, '...' (no escapes inside), "..." and \\x outside quotes;
    $var / ${var} are kept as written (GRUB would expand them)."""
    words, cur, have, i = [], '', False, 0
    while i < len(line):
        c = line[i]
        if c in ' \t':
            if have:
                words.append(cur)
            cur, have = '', False
        elif c == "'":
            j = line.index("'", i + 1)
            cur, have = cur + line[i + 1:j], True
            i = j
        elif c == '"':
            j = i + 1
            while line[j] != '"':
                if line[j] == '\\' and line[j + 1] in '\\"$':
                    j += 1
                cur += line[j]
                j += 1
            have, i = True, j
        elif c == '\\':
            cur, have = cur + line[i + 1], True
            i += 1
        else:
            cur, have = cur + c, True
        i += 1
    if have:
        words.append(cur)
    return words


def entries_of(cfg):
    """{menu id: (title, [command words])} of a generated grub.cfg."""
    out, cur = {}, None
    for line in cfg.split('\n'):
        s = line.strip()
        if s.startswith('menuentry '):
            w = grub_words(s[:-1].strip())
            cur = out.setdefault(w[w.index('--id') + 1], (w[1], []))
        elif s == '}':
            cur = None
        elif cur is not None and s:
            cur[1].append(grub_words(s))
    return out


# --- running the generator ------------------------------------------------------------------

def fake_grub_probe(tmp):
    """A stand-in grub-probe: mbchain.elf on /dev/sda1 (GPT, ext2), a UFS2 /dev/sda4."""
    path = os.path.join(tmp, 'fake-grub-probe')
    with open(path, 'w') as f:
        f.write('''#!/bin/sh
dev= target=
for a; do case $a in --target=*) target=${a#--target=} ;; --*) ;; *) dev=$a ;; esac; done
case $dev in /dev/*) ;; *) dev=/dev/sda1 ;; esac
case $target:$dev in
device:*) echo /dev/sda1 ;;
partmap:*) echo gpt ;;
fs:/dev/sda4) echo ufs2 ;;
fs:/dev/sda1) echo ext2 ;;
fs_uuid:/dev/sda4) echo 5f3a1b2c4d5e6f70 ;;
fs_uuid:/dev/sda1) echo 1b2c3d4e-0000-4000-8000-5f6a7b8c9d0e ;;
compatibility_hint:/dev/sda4) echo hd0,gpt4 ;;
compatibility_hint:/dev/sda1) echo hd0,gpt1 ;;
hints_string:/dev/sda4) echo --hint-bios=hd0,gpt4 ;;
hints_string:/dev/sda1) echo --hint-bios=hd0,gpt1 ;;
drive:/dev/sda4) echo '(hd0,gpt4)' ;;
drive:/dev/sda1) echo '(hd0,gpt1)' ;;
abstraction:*) ;;
*) echo "grub-probe: error: cannot find a GRUB drive for $dev" >&2; exit 1 ;;
esac
''')
    os.chmod(path, 0o755)
    rel = os.path.join(tmp, 'fake-grub-mkrelpath')
    with open(rel, 'w') as f:
        f.write('#!/bin/sh\necho "/${1##*/}"\n')  # mbchain.elf at the top of /dev/sda1
    os.chmod(rel, 0o755)
    return path, rel


def generate(config, tmp, shell='sh', env_extra=None, path=None):
    """Run the generator on config text; returns (rc, stdout, stderr)."""
    cfg = os.path.join(tmp, 'mbchain.cfg')
    with open(cfg, 'w') as f:
        f.write(config)
    env = dict(os.environ, MBCHAIN_DEFAULTS=cfg, LC_ALL='C')
    for k in ('grub_probe', 'grub_mkrelpath', 'pkgdatadir'):
        env.pop(k, None)
    env.update(env_extra or {})
    if path is not None:
        env['PATH'] = path
    p = subprocess.run([shell, GEN], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       env=env, timeout=60, cwd=tmp)
    return p.returncode, p.stdout, p.stderr


def script_check(text, tmp):
    """grub-script-check's complaints about a grub.cfg text (empty = none)."""
    path = os.path.join(tmp, 'check.cfg')
    with open(path, 'w') as f:
        f.write(text)
    p = subprocess.run(['grub-script-check', path], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=60)
    if p.returncode != 0:
        return ['grub-script-check exit %d: %s' % (p.returncode, p.stdout.strip())]
    return []


def common_problems(rc, out, err, tmp, want_warnings=()):
    """Exit 0, grub-script-check clean, exactly the expected warnings (substrings, in any order)."""
    problems = []
    if rc != 0:
        problems.append('generator exit %d, want 0 (grub-mkconfig stops at a failing script)' % rc)
    if out:  # (grub-script-check refuses an empty file)
        problems += script_check(out, tmp)
    lines = [l for l in err.split('\n') if l]
    for w in want_warnings:
        if not any(w in l for l in lines):
            problems.append('no warning containing %r' % w)
    stray = [l for l in lines if not l.startswith('41_mbchain: warning: ')]
    if stray:
        problems.append('stderr lines that are not warnings: %r' % stray)
    unexpected = [l for l in lines if not any(w in l for w in want_warnings)
                  and not l.endswith(' left out of the menu')]
    if unexpected:
        problems.append('unexpected warnings: %r' % unexpected)
    return problems


# --- generate/ cases ------------------------------------------------------------------------

EXACT_CONFIG = r'''# literal GRUB devices: nothing probed
MBCHAIN_DEVICE="(hd0,gpt2)"
MBCHAIN_ELF=/boot/mbchain.elf
MBCHAIN_OPTIONS="mbchain.onerror=reboot:10"

MBCHAIN_ENTRY_1_TITLE="NetBSD 10 (mbchain)"
MBCHAIN_ENTRY_1_DEVICE="(hd0,msdos3)"
MBCHAIN_ENTRY_1_KERNEL=/netbsd.gz
MBCHAIN_ENTRY_1_NAME=/netbsd
MBCHAIN_ENTRY_1_OPTIONS='-s root=wd0e userconf="disable ahc*" console=pc'
MBCHAIN_ENTRY_1_MODULES="/stand/amd64/10.0/modules/tmpfs/tmpfs.kmod type=elf;/var/db/entropy-file type=rnd"

MBCHAIN_ENTRY_2_TITLE="FreeBSD 14 (mbchain, ZFS)"
MBCHAIN_ENTRY_2_DEVICE="UUID=0123456789abcdef"
MBCHAIN_ENTRY_2_KERNEL=/ROOT/default@/boot/kernel/kernel
MBCHAIN_ENTRY_2_OPTIONS="vfs.root.mountfrom=zfs:zroot/ROOT/default"
MBCHAIN_ENTRY_2_MODULES="/ROOT/default@/boot/kernel/zfs.ko
  ;/ROOT/default@/boot/zfs/zpool.cache type=/boot/zfs/zpool.cache"
MBCHAIN_ENTRY_2_MBCHAIN_OPTIONS=mbchain.verbose

MBCHAIN_ENTRY_3_TITLE="FreeBSD (framebuffer)"
MBCHAIN_ENTRY_3_DEVICE="hd1,gpt2"
MBCHAIN_ENTRY_3_KERNEL=/boot/kernel/kernel
MBCHAIN_ENTRY_3_FS="ufs1"
MBCHAIN_ENTRY_3_VIDEO=1024x768x32
MBCHAIN_ENTRY_3_NAME=
'''

EXPECT_EXACT = r'''# mbchain: BSD kernels from @CFG@
menuentry 'NetBSD 10 (mbchain)' --class os --id mbchain-1 {
	insmod part_gpt
	set root=hd0,gpt2
	insmod part_msdos
	insmod ufs2
	insmod gzio
	insmod multiboot
	multiboot /boot/mbchain.elf mbchain.onerror=reboot:10
	module (hd0,msdos3)/netbsd.gz name=/netbsd -s root=wd0e 'userconf=disable ahc*' console=pc
	module (hd0,msdos3)/stand/amd64/10.0/modules/tmpfs/tmpfs.kmod name=/stand/amd64/10.0/modules/tmpfs/tmpfs.kmod type=elf
	module (hd0,msdos3)/var/db/entropy-file name=/var/db/entropy-file type=rnd
	boot
}
menuentry 'FreeBSD 14 (mbchain, ZFS)' --class os --id mbchain-2 {
	insmod part_gpt
	set root=hd0,gpt2
	insmod part_msdos
	search --no-floppy --fs-uuid --set=mbchain_dev 0123456789abcdef
	insmod zfs
	insmod multiboot
	multiboot /boot/mbchain.elf mbchain.onerror=reboot:10 mbchain.verbose
	module ($mbchain_dev)/ROOT/default@/boot/kernel/kernel name=/boot/kernel/kernel vfs.root.mountfrom=zfs:zroot/ROOT/default
	module ($mbchain_dev)/ROOT/default@/boot/kernel/zfs.ko name=/boot/kernel/zfs.ko
	module ($mbchain_dev)/ROOT/default@/boot/zfs/zpool.cache name=/boot/zfs/zpool.cache type=/boot/zfs/zpool.cache
	boot
}
menuentry 'FreeBSD (framebuffer)' --class os --id mbchain-3 {
	insmod part_gpt
	set root=hd0,gpt2
	insmod ufs1
	insmod multiboot
	insmod all_video
	set gfxpayload=1024x768x32
	multiboot /boot/mbchain-fb.elf mbchain.onerror=reboot:10
	module (hd1,gpt2)/boot/kernel/kernel
	boot
}
'''


def case_exact(tmp):
    problems = []
    rc = 0
    for shell in ('sh', 'bash'):
        if not shutil.which(shell):
            continue
        rc, out, err = generate(EXACT_CONFIG, tmp, shell=shell)
        problems += ['%s: %s' % (shell, p) for p in common_problems(rc, out, err, tmp)]
        want = EXPECT_EXACT.replace('@CFG@', os.path.join(tmp, 'mbchain.cfg'))
        if out != want:
            import difflib
            problems.append('%s: output differs from EXPECT_EXACT:\n%s' % (shell, ''.join(
                difflib.unified_diff(want.splitlines(True), out.splitlines(True), 'expected', 'got'))))
    return rc, 'exact text', problems


def sample_config():
    """tools/mbchain.default with its examples switched on."""
    out = []
    for line in open(SAMPLE).read().split('\n'):
        if line.startswith('#MBCHAIN_ENTRY_') or line.startswith('#MBCHAIN_OPTIONS='):
            line = line[1:]
        out.append(line)
    return '\n'.join(out)


def _sample_env(tmp, lib=True):
    probe, rel = fake_grub_probe(tmp)
    elf = os.path.join(tmp, 'mbchain.elf')
    open(elf, 'wb').close()
    env = {'grub_probe': probe, 'grub_mkrelpath': rel}
    if not lib:
        env['pkgdatadir'] = os.path.join(tmp, 'no-grub-lib')
        # without the library, the generator calls grub-mkrelpath by name
        bindir = os.path.join(tmp, 'bin')
        os.makedirs(bindir, exist_ok=True)
        shutil.copy(rel, os.path.join(bindir, 'grub-mkrelpath'))
        env['PATH'] = bindir + ':' + os.environ['PATH']
    return sample_config().replace('MBCHAIN_ELF=/boot/mbchain.elf', 'MBCHAIN_ELF=' + elf), env


def _sample_checks(out):
    """What the sample's three entries must say, whichever way the devices were found."""
    problems = []
    ents = entries_of(out)
    if sorted(ents) != ['mbchain-1', 'mbchain-2', 'mbchain-3']:
        return ['entries %s, want mbchain-1..3' % sorted(ents)]
    want = {
        'mbchain-1': [['module', '(hd0,msdos3)/netbsd.gz', 'name=/netbsd', 'root=wd0e', 'console=pc'],
                      ['module', '(hd0,msdos3)/stand/amd64/10.0/modules/tmpfs/tmpfs.kmod',
                       'name=/stand/amd64/10.0/modules/tmpfs/tmpfs.kmod', 'type=elf'],
                      ['module', '(hd0,msdos3)/var/db/entropy-file', 'name=/var/db/entropy-file', 'type=rnd'],
                      ['insmod', 'gzio'], ['insmod', 'ufs2'], ['insmod', 'part_msdos']],
        'mbchain-2': [['module', '($mbchain_dev)/boot/kernel/kernel', 'name=/boot/kernel/kernel',
                       'vfs.root.mountfrom=ufs:/dev/ada0p4'],
                      ['module', '($mbchain_dev)/boot/device.hints', 'name=/boot/device.hints', 'type=env'],
                      ['search', '--no-floppy', '--fs-uuid', '--set=mbchain_dev', '5f3a1b2c4d5e6f70'],
                      ['insmod', 'ufs2'], ['insmod', 'part_gpt']],
        'mbchain-3': [['search', '--no-floppy', '--fs-uuid', '--set=mbchain_dev', '0123456789abcdef'],
                      ['insmod', 'zfs'],
                      ['module', '($mbchain_dev)/ROOT/default@/boot/kernel/kernel', 'name=/boot/kernel/kernel',
                       'vfs.root.mountfrom=zfs:zroot/ROOT/default']],
    }
    for eid, lines in want.items():
        got = ents[eid][1]
        for l in lines:
            if l not in got:
                problems.append('%s: no line %r' % (eid, ' '.join(l)))
        if ['multiboot', '/mbchain.elf', 'mbchain.onerror=reboot:10'] not in got:
            problems.append('%s: no "multiboot /mbchain.elf mbchain.onerror=reboot:10" line' % eid)
        if got[-1] != ['boot']:
            problems.append('%s: does not end in boot' % eid)
        if ['insmod', 'gzio'] in got and eid != 'mbchain-1':
            problems.append('%s: insmod gzio without a .gz file' % eid)
        if not any(l[:2] == ['search', '--no-floppy'] and '--set=root' in l and
                   '1b2c3d4e-0000-4000-8000-5f6a7b8c9d0e' in l for l in got):
            problems.append('%s: mbchain.elf\'s file system not searched by UUID into root' % eid)
    return problems


def case_sample(tmp):
    config, env = _sample_env(tmp)
    rc, out, err = generate(config, tmp, env_extra=env)
    problems = common_problems(rc, out, err, tmp) + _sample_checks(out)
    if "set mbchain_dev='hd0,gpt4'" not in out:
        problems.append('the library\'s root hint for /dev/sda4 is not aimed at mbchain_dev')
    return rc, '%d entries' % len(entries_of(out)), problems


def case_no_lib(tmp):
    config, env = _sample_env(tmp, lib=False)
    rc, out, err = generate(config, tmp, env_extra=env)
    problems = common_problems(rc, out, err, tmp) + _sample_checks(out)
    return rc, '%d entries' % len(entries_of(out)), problems


def case_no_grub_probe(tmp):
    config, env = _sample_env(tmp, lib=False)
    del env['grub_probe']
    bindir = os.path.join(tmp, 'nobin')
    os.makedirs(bindir)
    for tool in ('sh', 'sed', 'awk', 'sort', 'head', 'df', 'cat', 'mawk', 'gawk', 'dash'):
        p = shutil.which(tool)
        if p:
            os.symlink(p, os.path.join(bindir, tool))
    env['PATH'] = bindir
    rc, out, err = generate(config, tmp, shell=shutil.which('sh'), env_extra=env)
    problems = common_problems(rc, out, err, tmp, want_warnings=[
        'entry 2 ("FreeBSD 14 (mbchain, UFS)"): DEVICE /dev/sda4 needs grub-probe'])
    ents = entries_of(out)
    if sorted(ents) != ['mbchain-1', 'mbchain-3']:
        problems.append('entries %s, want mbchain-1 and mbchain-3 (2 needs grub-probe)' % sorted(ents))
    # mbchain.elf found by file name below its mount point
    mnt = subprocess.run(['df', '-P', tmp], stdout=subprocess.PIPE, text=True).stdout.split('\n')[1].split()[5]
    rel = os.path.join(tmp, 'mbchain.elf')[len(mnt.rstrip('/')):]
    for eid, (_, lines) in ents.items():
        if ['search', '--no-floppy', '--file', '--set=root', rel] not in lines:
            problems.append('%s: no "search --no-floppy --file --set=root %s"' % (eid, rel))
        if ['multiboot', rel, 'mbchain.onerror=reboot:10'] not in lines:
            problems.append('%s: no "multiboot %s ..."' % (eid, rel))
    return rc, '%d entries' % len(ents), problems


ODD_OPTIONS = ('-s root=wd0a userconf="disable ahc*" userconf=$x;{y}#z&|<>`~!^()[]*? '
               '"two  blanks" it\'s back\\slash tab"\t"in')
ODD_CONFIG = '''MBCHAIN_DEVICE="(cd)"
MBCHAIN_ELF="/boot/mb chain.elf"
MBCHAIN_OPTIONS='mbchain.exitport=0xf4 "x=$root"'
MBCHAIN_ENTRY_7_TITLE='it'"'"'s "odd" $root {x}; #'
MBCHAIN_ENTRY_7_DEVICE=FILE=/boot/net\\'bsd
MBCHAIN_ENTRY_7_KERNEL="/boot/net'bsd"
MBCHAIN_ENTRY_7_OPTIONS=%s
MBCHAIN_ENTRY_7_MODULES=%s
''' % ("'" + ODD_OPTIONS.replace("'", "'\\''") + "'",
       "'" + '"/boot/rnd seed" type=rnd "c=a;b";/boot/$x.kmod;  ;' + "'")


def case_odd_words(tmp):
    rc, out, err = generate(ODD_CONFIG, tmp)
    problems = common_problems(rc, out, err, tmp, want_warnings=[
        "option word it's holds ' or \\", 'option word back\\slash holds'])
    ents = entries_of(out)
    if list(ents) != ['mbchain-7']:
        return rc, '-', problems + ['entries %s, want mbchain-7' % list(ents)]
    title, lines = ents['mbchain-7']
    if title != 'it\'s "odd" $root {x}; #':
        problems.append('title read back as %r' % title)
    kw = ['module', '($mbchain_dev)/boot/net\'bsd', "name=/boot/net'bsd"] + mbchain_words(ODD_OPTIONS)
    mods = [['module', '($mbchain_dev)/boot/rnd seed', 'name=/boot/rnd seed', 'type=rnd', 'c=a;b'],
            ['module', '($mbchain_dev)/boot/$x.kmod', 'name=/boot/$x.kmod']]
    want = [['multiboot', '/boot/mb chain.elf', 'mbchain.exitport=0xf4', 'x=$root'], kw] + mods + [['boot']]
    got = [l for l in lines if l[0] in ('multiboot', 'module', 'boot')]
    if got != want:
        problems.append('commands read back with GRUB\'s word rules:\n  %s\nwant\n  %s' % (
            '\n  '.join(map(repr, got)), '\n  '.join(map(repr, want))))
    if ['search', '--no-floppy', '--file', '--set=mbchain_dev', "/boot/net'bsd"] not in lines:
        problems.append('no search --file for /boot/net\'bsd')
    return rc, '%d words' % len(kw), problems


PROBLEM_CONFIG = r'''MBCHAIN_DEVICE="(hd0,gpt2)"
MBCHAIN_ENTRY_1_TITLE="good"
MBCHAIN_ENTRY_1_DEVICE="(hd0,gpt4)"
MBCHAIN_ENTRY_1_KERNEL=/netbsd
MBCHAIN_ENTRY_2_KERNEL=/netbsd
MBCHAIN_ENTRY_3_TITLE="no kernel"
MBCHAIN_ENTRY_4_TITLE="relative"
MBCHAIN_ENTRY_4_KERNEL=netbsd
MBCHAIN_ENTRY_5_TITLE="bad device"
MBCHAIN_ENTRY_5_DEVICE="hd0 gpt4"
MBCHAIN_ENTRY_5_KERNEL=/netbsd
MBCHAIN_ENTRY_6_TITLE="unbalanced"
MBCHAIN_ENTRY_6_KERNEL=/netbsd
MBCHAIN_ENTRY_6_OPTIONS='-s userconf="disable'
MBCHAIN_ENTRY_7_TITLE="two
lines"
MBCHAIN_ENTRY_7_KERNEL=/netbsd
MBCHAIN_ENTRY_8_TITLE="bad fs"
MBCHAIN_ENTRY_8_KERNEL=/netbsd
MBCHAIN_ENTRY_8_FS="ufs2; reboot"
MBCHAIN_ENTRY_9_TITLE="module path"
MBCHAIN_ENTRY_9_KERNEL=/netbsd
MBCHAIN_ENTRY_9_MODULES="stand/tmpfs.kmod"
MBCHAIN_ENTRY_10_TITLE="empty uuid"
MBCHAIN_ENTRY_10_DEVICE=UUID=
MBCHAIN_ENTRY_10_KERNEL=/netbsd
MBCHAIN_ENTRY_11_TITLE="video"
MBCHAIN_ENTRY_11_KERNEL=/netbsd
MBCHAIN_ENTRY_11_VIDEO="1024x768'"
MBCHAIN_ENTRY_12_TITLE="also good"
MBCHAIN_ENTRY_12_KERNEL=/boot/kernel/kernel
MBCHAIN_ENTRY_12_OPTION="-s"
MBCHAIN_ENTRY_012_TITLE="leading zero"
MBCHAIN_KERNEL=/netbsd
'''


def case_problems(tmp):
    rc, out, err = generate(PROBLEM_CONFIG, tmp)
    problems = common_problems(rc, out, err, tmp, want_warnings=[
        'entry 2: MBCHAIN_ENTRY_2_TITLE is missing',
        'entry 3 ("no kernel"): MBCHAIN_ENTRY_3_KERNEL is missing',
        'entry 4 ("relative"): KERNEL netbsd must be an absolute path',
        'entry 5 ("bad device"): DEVICE hd0 gpt4 is neither a GRUB device',
        'entry 6 ("unbalanced"): option has an unbalanced "',
        'entry 7: the title holds a line break or tab',
        'entry 8 ("bad fs"): FS "ufs2; reboot" is not a list of GRUB module names',
        'entry 9 ("module path"): module stand/tmpfs.kmod must be an absolute path',
        'entry 10 ("empty uuid"): DEVICE UUID= has no value',
        'entry 11 ("video"): VIDEO "1024x768\'" is not a gfxpayload mode',
        'MBCHAIN_ENTRY_12_OPTION is not an mbchain setting',
        'MBCHAIN_ENTRY_012_TITLE: entry numbers are 1, 2, ...',
        'MBCHAIN_KERNEL is not an mbchain setting',
    ])
    ents = entries_of(out)
    if sorted(ents) != ['mbchain-1', 'mbchain-12']:
        problems.append('entries %s, want mbchain-1 and mbchain-12' % sorted(ents))
    left_out = sorted(int(l.split('entry ')[1].split()[0]) for l in err.split('\n') if l.endswith('left out of the menu'))
    if left_out != list(range(2, 12)):
        problems.append('entries left out %s, want 2..11' % left_out)
    # files that give no entries at all, each with one warning and exit 0
    for what, text, env, warning in [
            ('syntax error', 'MBCHAIN_ENTRY_1_TITLE="x\nif then\n', {}, 'shell syntax error'),
            ('no mbchain.elf', 'MBCHAIN_ELF=/nonexistent/mbchain.elf\nMBCHAIN_ENTRY_1_TITLE=x\n'
             'MBCHAIN_ENTRY_1_KERNEL=/netbsd\n', {}, '/nonexistent/mbchain.elf does not exist'),
            ('bad options', 'MBCHAIN_DEVICE="(cd)"\nMBCHAIN_OPTIONS=\'"x\'\nMBCHAIN_ENTRY_1_TITLE=x\n'
             'MBCHAIN_ENTRY_1_KERNEL=/netbsd\n', {}, 'MBCHAIN_OPTIONS: mbchain option has an unbalanced')]:
        r, o, e = generate(text, tmp, env_extra=env)
        p = common_problems(r, o, e, tmp, want_warnings=[warning, 'no mbchain entries'])
        if o:
            p.append('output %r, want none' % o)
        problems += ['%s: %s' % (what, x) for x in p]
    env = dict(os.environ, MBCHAIN_DEFAULTS=os.path.join(tmp, 'absent'))
    p = subprocess.run(['sh', GEN], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    if p.returncode or p.stdout or 'no such file' not in p.stderr:
        problems.append('missing MBCHAIN_DEFAULTS file: exit %d, output %r, stderr %r' % (
            p.returncode, p.stdout, p.stderr))
    # a relative MBCHAIN_DEFAULTS (sh's '.' would search $PATH for it)
    with open(os.path.join(tmp, 'rel.cfg'), 'w') as f:
        f.write(EXACT_CONFIG)
    env = dict(os.environ, MBCHAIN_DEFAULTS='rel.cfg')
    p = subprocess.run(['sh', GEN], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       env=env, cwd=tmp)
    if p.returncode or p.stdout != EXPECT_EXACT.replace('@CFG@', 'rel.cfg') or p.stderr:
        problems.append('relative MBCHAIN_DEFAULTS: exit %d, stderr %r, output %s' % (
            p.returncode, p.stderr, 'as expected' if p.stdout == EXPECT_EXACT.replace('@CFG@', 'rel.cfg') else repr(p.stdout[:200])))
    r, o, e = generate('# nothing configured\nMBCHAIN_ELF=/boot/mbchain.elf\n', tmp)
    if r or o or e:
        problems.append('a file without entries: exit %d, output %r, stderr %r (want nothing)' % (r, o, e))
    return rc, '%d warnings' % len([l for l in err.split('\n') if l]), problems


def case_shellcheck(tmp):
    if not shutil.which('shellcheck'):
        return -1, '-', ['SKIP: shellcheck not installed']
    p = subprocess.run(['shellcheck', '-s', 'sh', GEN], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=120)
    return p.returncode, 'shellcheck', ([] if p.returncode == 0 else [p.stdout])


# --- boot/ cases ----------------------------------------------------------------------------

BOOT_OPTIONS = ('-s root=wd0a userconf="disable ahc*" userconf=$x;{y}#z&|<>`~!^*? '
                "userconf=it's userconf=c:\\d")
BOOT_CONFIG = r'''MBCHAIN_DEVICE="(cd)"
MBCHAIN_ELF=/boot/mbchain.elf
MBCHAIN_OPTIONS="mbchain.exitport=0xf4"

MBCHAIN_ENTRY_1_TITLE="FreeBSD/amd64 probe"
MBCHAIN_ENTRY_1_DEVICE="(cd)"
MBCHAIN_ENTRY_1_FS=iso9660
MBCHAIN_ENTRY_1_KERNEL=/boot/kernel/kernel
MBCHAIN_ENTRY_1_OPTIONS='-s vfs.root.mountfrom=ufs:/dev/ada0p2 "comment=a b;{c}"'
MBCHAIN_ENTRY_1_MODULES="/boot/device.hints type=env;/boot/mfsroot type=md_image"

MBCHAIN_ENTRY_2_TITLE="NetBSD/i386 probe (it's \"odd\")"
MBCHAIN_ENTRY_2_DEVICE=FILE=/boot/netbsd.gz
MBCHAIN_ENTRY_2_FS=iso9660
MBCHAIN_ENTRY_2_KERNEL=/boot/netbsd.gz
MBCHAIN_ENTRY_2_NAME=/netbsd
MBCHAIN_ENTRY_2_OPTIONS='@OPTIONS@'
MBCHAIN_ENTRY_2_MBCHAIN_OPTIONS=-d
MBCHAIN_ENTRY_2_MODULES='"/boot/rnd seed" type=rnd;/boot/tmpfs.kmod'
'''.replace('@OPTIONS@', BOOT_OPTIONS.replace("'", "'\\''"))

BOOT_CASES = {'boot/netbsd-i386': ('mbchain-2', 'netbsd-i386'),
              'boot/freebsd-amd64': ('mbchain-1', 'freebsd-amd64')}
HINTS = b'# device.hints\nhint.uart.0.at="isa"\nhint.uart.0.port="0x3F8"\n'


def boot_files(build):
    """{ISO path: bytes} besides mbchain.elf, and the module tuples (name, args, bytes) per case."""
    run = _run()
    nb = open(os.path.join(build, 'probes', 'netbsd-i386.elf'), 'rb').read()
    fb = open(os.path.join(build, 'probes', 'freebsd-amd64.elf'), 'rb').read()
    seed = run.module_bytes(21, 512)
    mfs = run.module_bytes(22, 20000)
    files = {'/boot/netbsd.gz': gzip.compress(nb, mtime=0), '/boot/rnd seed': seed,
             '/boot/tmpfs.kmod': nb, '/boot/kernel/kernel': fb, '/boot/device.hints': HINTS,
             '/boot/mfsroot': mfs}
    return files


def boot_expectation(name, build):
    """(probe, kernel file, mbchain's string, kernel string, [(module name, string, bytes)]) as
    GRUB 2.06 hands them over for the generated entry (grub_cmdline of the entry's words)."""
    files = boot_files(build)
    probe = BOOT_CASES[name][1]
    kernel = os.path.join(build, 'probes', probe + '.elf')
    if probe == 'netbsd-i386':
        kwords = ['name=/netbsd'] + mbchain_words(BOOT_OPTIONS)
        cmdline = grub_cmdline(['mbchain.exitport=0xf4', '-d'])
        mods = [('/boot/rnd seed', ['type=rnd']), ('/boot/tmpfs.kmod', [])]
    else:
        kwords = ['name=/boot/kernel/kernel', '-s', 'vfs.root.mountfrom=ufs:/dev/ada0p2', 'comment=a b;{c}']
        cmdline = grub_cmdline(['mbchain.exitport=0xf4'])
        mods = [('/boot/device.hints', ['type=env']), ('/boot/mfsroot', ['type=md_image'])]
    modules = [(os.path.basename(p), grub_cmdline(['name=' + p] + a), files[p]) for p, a in mods]
    return probe, kernel, cmdline, grub_cmdline(kwords), modules


def boot_iso(cfg_text, build, tmp):
    tree = os.path.join(tmp, 'iso')
    os.makedirs(os.path.join(tree, 'boot', 'grub'))
    shutil.copy(os.path.join(build, 'mbchain.elf'), os.path.join(tree, 'boot', 'mbchain.elf'))
    for path, data in boot_files(build).items():
        os.makedirs(os.path.dirname(tree + path), exist_ok=True)
        with open(tree + path, 'wb') as f:
            f.write(data)
    with open(os.path.join(tree, 'boot', 'grub', 'grub.cfg'), 'w') as f:
        f.write(cfg_text)
    iso = os.path.join(tmp, 'grubd.iso')
    p = subprocess.run(['grub-mkrescue', '-o', iso, tree, '--locales=', '--fonts=', '--themes=',
                        '--install-modules=multiboot normal serial terminal echo halt iso9660 '
                        'biosdisk part_msdos part_gpt gzio search search_fs_file search_fs_uuid '
                        'search_label test'],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode:
        raise RuntimeError('grub-mkrescue failed: ' + p.stdout[-2000:])
    return iso


def case_boot(name, build, tmp, verbose):
    run = _run()
    eid, probe = BOOT_CASES[name]
    rc, out, err = generate(BOOT_CONFIG, tmp)
    problems = common_problems(rc, out, err, tmp, want_warnings=[
        "option word userconf=it's holds ' or \\", 'option word userconf=c:\\d holds'])
    if eid not in entries_of(out):
        return rc, '-', problems + ['no entry %s in the output' % eid]
    # a failed boot falls back to an entry that halts (QEMU exits at once, no 60 s timeout)
    head = ['serial --unit=0 --speed=115200', 'terminal_input serial', 'terminal_output serial',
            'set timeout=0', "set default='%s'" % eid, 'set fallback=boot-failed',
            'menuentry BOOT-FAILED --id boot-failed {', '\techo BOOT-FAILED', '\thalt', '}', '']
    iso = boot_iso('\n'.join(head) + out, build, tmp)
    probe, kernel, cmdline, kstring, modules = boot_expectation(name, build)
    # judge() reads kstring as mbchain does (GRUB's backslashes escape the next character) and
    # expects the text as the probe prints it (nbexpect.shown).
    shown = kstring
    case = run.Case(name, 'grub', probe, kernel_args=shown, cmdline=cmdline, modules=modules)
    entries = [(kernel, shown)] + [(os.path.join(tmp, m[0]), m[1]) for m in modules]
    argv = ['timeout', str(QEMU_LIMIT_S)] + run.qemu_command(case, tmp, kernel, entries) + ['-cdrom', iso]
    try:
        rc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            timeout=QEMU_LIMIT_S + 10).returncode
    except subprocess.TimeoutExpired:
        rc = -1
    e9 = harness.read_log(tmp)
    grub_said = harness.read_log(tmp, 'com1.log')
    if 'BOOT-FAILED' in grub_said:
        problems.append('GRUB could not boot %s (fell back to BOOT-FAILED): %s' % (eid, [
            l.strip() for l in grub_said.split('\n') if l.strip().startswith('error:')]))
    problems += run.judge(case, build, rc, e9, kernel, entries)
    if problems and verbose:
        problems.append('--- grub.cfg ---\n' + '\n'.join(head) + out)
        problems.append('--- 0xE9 log ---\n' + e9)
        problems.append('--- COM1 (GRUB) ---\n' + grub_said[-3000:])
    return rc, 'result: PASS' if '\nresult: PASS' in e9 else '-', problems


# --- the case table -------------------------------------------------------------------------

GENERATE = {'generate/exact': case_exact, 'generate/sample': case_sample,
            'generate/no-lib': case_no_lib, 'generate/no-grub-probe': case_no_grub_probe,
            'generate/odd-words': case_odd_words, 'generate/problems': case_problems,
            'shellcheck': case_shellcheck}
CASES = list(GENERATE) + list(BOOT_CASES)


def _missing(name, build):
    """(files, tools) case name needs, for harness.missing()."""
    tools = ['grub-script-check']
    need = []
    if name.startswith('boot/'):
        tools += ['grub-mkrescue', 'xorriso', 'qemu-system-x86_64']
        need = [os.path.join(build, 'mbchain.elf')] + [
            os.path.join(build, 'probes', p + '.elf') for p in ('netbsd-i386', 'freebsd-amd64')]
    return need, tools


def run_case(name, build, verbose=False):
    if name not in CASES:
        return -1, '-', ['harness: no case %r' % name]
    missing = harness.missing(*_missing(name, build), hint='make all; tests/tools/ensure-deps.sh')
    if missing:
        return missing
    tmp = tempfile.mkdtemp(prefix='mbchain-grubd-')
    try:
        if name in GENERATE:
            return GENERATE[name](tmp)
        return case_boot(name, build, tmp, verbose)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    return harness.standalone_main(CASES, run_case, 'grubd/', timed=True, skips=True)


if __name__ == '__main__':
    sys.exit(main())
