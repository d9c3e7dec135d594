"""nbexpect.py - what a NetBSD kernel should receive, computed independently of mbchain's C.

The boot tests (tests/run.py) describe a case (kernel file, its arguments, modules, mbchain's
command line, the machine); this module turns that into the exact report a faithful loader must
produce (tests/REPORT.md), from the facts in ../shared/SPEC.md section A, and compares it with
what the probe kernel printed.  It reads the kernel ELF itself (a second, Python reader), so a
misunderstanding shared with src/elf.c would have to be made twice.
"""
import struct
import zlib

PAGE = 4096

# sys/boot_flag.h (SPEC A.6)
HOWTO_BITS = {'a': 0x1, 's': 0x2, 'b': 0x8, 'd': 0x40, 'm': 0x200, 'c': 0x1000,
              'q': 0x10000, 'v': 0x20000, 'z': 0x40000, 'x': 0x80000,
              '1': 0x10000000, '2': 0x20000000, '3': 0x40000000, '4': 0x80000000}

BTINFO = {'bootpath': 0, 'rootdevice': 1, 'bootdisk': 3, 'console': 6, 'biosgeom': 7,
          'symtab': 8, 'memmap': 9, 'modulelist': 11, 'framebuffer': 12, 'userconf': 13}
MODULE_TYPES = {'elf': 1, 'image': 2, 'rnd': 3, 'fs': 4}


def shown(text):
    """A string as the probes print it (tests/probes/lib.c print_str): printable ASCII as is,
    every other byte and the characters " and \\ as \\xNN."""
    return ''.join(c if ' ' <= c <= '~' and c not in '"\\' else '\\x%02x' % ord(c) for c in text)


def roundup(x, a):
    return (x + a - 1) // a * a


class Elf:
    """Just enough of an ELF reader for the symbol layout: segments and sections."""

    def __init__(self, data):
        self.data = data
        assert data[:4] == b'\x7fELF', 'not ELF'
        self.bits = 64 if data[4] == 2 else 32
        if self.bits == 32:
            (self.entry, phoff, shoff, _, _, phentsize, phnum, shentsize, shnum,
             self.shstrndx) = struct.unpack_from('<IIIIHHHHHH', data, 24)
            ph_fmt, sh_fmt = '<IIIIIIII', '<IIIIIIIIII'
        else:
            (self.entry, phoff, shoff, _, _, phentsize, phnum, shentsize, shnum,
             self.shstrndx) = struct.unpack_from('<QQQIHHHHHH', data, 24)
            ph_fmt, sh_fmt = '<IIQQQQQQ', '<IIQQQQIIQQ'
        self.ehsize = 52 if self.bits == 32 else 64
        self.shentsize = shentsize
        self.segments = []
        for i in range(phnum):
            f = struct.unpack_from(ph_fmt, data, phoff + i * phentsize)
            if self.bits == 32:
                p_type, off, vaddr, paddr, filesz, memsz, flags, align = f
            else:
                p_type, flags, off, vaddr, paddr, filesz, memsz, align = f
            if p_type == 1:
                self.segments.append(dict(vaddr=vaddr, memsz=memsz, filesz=filesz, flags=flags, offset=off))
            if p_type == 2 and not hasattr(self, 'dynamic'):
                self.dynamic = vaddr  # PT_DYNAMIC
        self.sections = []
        for i in range(shnum):
            f = struct.unpack_from(sh_fmt, data, shoff + i * shentsize)
            name, typ, flags, addr, off, size, link, info, align = f[:9]
            self.sections.append(dict(name=name, type=typ, flags=flags, offset=off, size=size,
                                      link=link, info=info, align=align))

    def section_name(self, s):
        strtab = self.sections[self.shstrndx]
        start = strtab['offset'] + s['name']
        return self.data[start:self.data.index(b'\0', start)].decode()

    def symbol(self, wanted):
        for s in self.sections:
            if s['type'] != 2:
                continue
            strtab = self.sections[s['link']]
            entsize = 16 if self.bits == 32 else 24
            for off in range(s['offset'], s['offset'] + s['size'], entsize):
                if self.bits == 32:
                    name, value = struct.unpack_from('<II', self.data, off)
                else:
                    name, = struct.unpack_from('<I', self.data, off)
                    value, = struct.unpack_from('<Q', self.data, off + 8)
                start = strtab['offset'] + name
                if self.data[start:self.data.index(b'\0', start)] == wanted.encode():
                    return value
        return None


def symbol_layout(elf):
    """NetBSD libsa loadfile_static (SPEC A.2): (ssym, esym) physical, or (0, 0)."""
    loaded = [s for s in elf.segments if s['flags'] & 3]  # PF_X | PF_W
    end = max((s['vaddr'] & 0x07ffffff) + s['memsz'] for s in loaded)
    if not any(s['type'] == 2 for s in elf.sections):
        return end, 0, 0
    rnd = elf.bits // 8
    ssym = roundup(end, rnd)
    pos = roundup(ssym + elf.ehsize + len(elf.sections) * elf.shentsize, rnd)
    if elf.shstrndx:
        pos = roundup(pos + elf.sections[elf.shstrndx]['size'], rnd)
    linked = {s['link'] for s in elf.sections if s['type'] == 2}
    for i, s in enumerate(elf.sections):
        if i == 0 or i == elf.shstrndx:
            continue
        wanted = (s['type'] == 2 or (s['type'] == 3 and i in linked) or
                  (s['type'] == 1 and elf.section_name(s) == '.SUNW_ctf'))
        if wanted:
            pos = roundup(pos + s['size'], rnd)
    return end, ssym, roundup(pos, 4)


def words(s):
    """Blank-separated words, double quotes grouping, a backslash keeping the next character
    (as src/options.c reads them)."""
    out, cur, quoted, have, escaped = [], '', False, False, False
    for i, c in enumerate(s):
        if escaped:
            cur, have, escaped = cur + c, True, False
        elif c == '\\' and i + 1 < len(s):
            escaped, have = True, True
        elif c == '"':
            quoted, have = not quoted, True
        elif c in ' \t' and not quoted:
            if have:
                out.append(cur)
            cur, have = '', False
        else:
            cur, have = cur + c, True
    if have:
        out.append(cur)
    return out


def parse_options(arg_strings):
    """Flags and keys from the argument strings, later strings winning (README precedence)."""
    opts = {'flags': ''}
    for s in arg_strings:
        for w in words(s):
            if w.startswith('-') and len(w) > 1 and w[1:].isalnum():
                opts['flags'] += ''.join(c for c in w[1:] if c not in opts['flags'])
            elif '=' in w:
                k, v = w.split('=', 1)
                if k == 'userconf':
                    opts.setdefault('userconf', []).append(v.replace('_', ' '))
                else:
                    opts[k] = v
    return opts


def expected_report(case, probe_elf_bytes, memmap, boot_device, basemem, extmem):
    """The report lines (as a dict of key -> value and ordered record list) for a case.

    case: dict with kernel_path (as the loader passes it, '' for GRUB 2), kernel_args,
          cmdline (mbchain's own, without path), modules [(path_or_'', args, bytes)]
    """
    elf = Elf(probe_elf_bytes)
    opts = parse_options([case['cmdline'], case['kernel_args']])
    howto = 0
    for c in opts['flags']:
        howto |= HOWTO_BITS.get(c, 0)
    end, ssym, esym = symbol_layout(elf)
    records = []
    exp = {}
    console = {'pc': 'pc', 'com': 'com', 'nullcons': 'nullcons'}.get(opts.get('console', 'pc'))
    addr = int(opts.get('console_addr', '0'), 0)
    speed = int(opts.get('console_speed', '0'), 0)
    records.append(('console', 'devname="%s" addr=0x%x speed=%d' % (console, addr, speed)))
    if 'root' in opts:
        records.append(('rootdevice', '"%s"' % shown(opts['root'])))
    bootpath = opts.get('name') or case['kernel_path'] or '/netbsd'
    records.append(('bootpath', '"%s"' % shown(bootpath[:79])))  # char bootpath[80]
    if boot_device is not None:
        part2 = (boot_device >> 8) & 0xff
        records.append(('bootdisk', 'labelsector=-1 biosdev=0x%x partition=%d' %
                        (boot_device >> 24, 0 if part2 == 0xff else part2)))
    records.append(('memmap', 'num=%d' % len(memmap)))
    pos = esym if esym else end
    mods = []
    kernel_index = case.get('kernel_index', 0)
    for j, (path, args, data) in enumerate(case['modules']):
        pos = roundup(pos, PAGE)
        mopts = parse_options([args])
        request_index = j if j < kernel_index else j + 1
        name = mopts.get('name') or path or 'module%d' % request_index
        mtype = MODULE_TYPES[mopts['type']] if 'type' in mopts else (1 if data[:4] == b'\x7fELF' else 4)
        name = name[:79]  # char path[80]
        mods.append('path="%s" type=%d len=%d base=0x%x crc32=0x%08x' %
                    (shown(name), mtype, len(data), pos, zlib.crc32(data)))
        pos += len(data)
    records.append(('modulelist', 'num=%d endpa=0x%x' % (len(mods), pos)))
    records.append(('userconf', 'num=%d' % len(opts.get('userconf', []))))
    if esym:
        records.append(('symtab', 'nsym=1 ssym=0x%x esym=0x%x' % (ssym, esym)))
    records.append(('framebuffer', 'physaddr=0x0 width=0 height=0 stride=0 depth=0 '
                    'rgb=0,0,0/0,0,0 vbemode=0x0'))
    exp['records'] = records
    exp['stack'] = ('ret=0x00000000 howto=0x%08x bootdev=0x00000000 bootinfo=BOOTINFO '
                    'esym=0x%08x extmem=%d basemem=%d' % (howto, esym, extmem, basemem))
    exp['memmap'] = ['addr=0x%x size=0x%x type=%d' % m for m in memmap]
    exp['modules'] = mods
    exp['userconf'] = ['"%s"' % shown(u) for u in opts.get('userconf', [])]
    marker = elf.symbol('probe_marker')
    exp['ksyms'] = 'symbol=probe_marker value=0x%x expected=0x%x' % (marker, marker)
    return exp


def parse_report(text):
    """The probe's report as ordered (key, value) pairs, \\r stripped."""
    out = []
    for line in text.replace('\r', '').split('\n'):
        if ': ' in line:
            k, v = line.split(': ', 1)
            out.append((k, v))
    return out


def compare(exp, report):
    """Every difference between the expected and the received report, as text lines."""
    problems = []
    got = {}
    for k, v in report:
        got.setdefault(k, []).append(v)

    def one(key):
        vals = got.get(key, [])
        return vals[0] if len(vals) == 1 else ('<%d lines>' % len(vals))

    stack = one('stack')
    if not stack.startswith('ret='):
        problems.append('stack: missing (%s)' % stack)
    else:
        bootinfo = stack.split('bootinfo=')[1].split()[0]
        want = exp['stack'].replace('BOOTINFO', bootinfo)
        if stack != want:
            problems.append('stack: got  %s\n       want %s' % (stack, want))
    # records in order: bi[i] lines give the types; bi.<name> lines the contents
    rec_types = [v for k, v in report if k.startswith('bi[')]
    want_types = ['type=%d' % BTINFO[name] for name, _ in exp['records']]
    got_types = [v.split()[0] for v in rec_types]
    if got_types != want_types:
        problems.append('bootinfo record types: got %s want %s' % (got_types, want_types))
    for name, want in exp['records']:
        vals = got.get('bi.' + name, [])
        if vals != [want]:
            problems.append('bi.%s: got %s want %s' % (name, vals, want))
    for key, lines in (('bi.memmap[', exp['memmap']), ('bi.module[', exp['modules']),
                       ('bi.userconf[', exp['userconf'])):
        vals = [v for k, v in report if k.startswith(key)]
        if vals != lines:
            problems.append('%s: got %s\n      want %s' % (key, vals, lines))
    if got.get('ksyms') != [exp['ksyms']]:
        problems.append('ksyms: got %s want %s' % (got.get('ksyms'), exp['ksyms']))
    for v in got.get('check', []):
        if not v.endswith(' ok'):
            problems.append('check: ' + v)
    if got.get('result') != ['PASS']:
        problems.append('result: %s' % got.get('result'))
    return problems
