"""fbexpect.py - what a FreeBSD kernel should receive, computed independently of mbchain's C.

The FreeBSD counterpart of nbexpect.py: from a case (kernel file, strings, modules, machine) it
computes the report a faithful loader(8) imitation must produce (tests/REPORT.md, FreeBSD
section), from the facts of ../shared/SPEC.md section B, and compares it with the probe's.
"""
import re
import struct
import zlib

from nbexpect import Elf, parse_options, roundup, PAGE

# sys/sys/linker.h, sys/x86/include/metadata.h
MD = 0x8000
ELFHDR, SSYM, ESYM, DYNAMIC, ENVP, HOWTO, KERNEND, SHDR = 0x2, 0x3, 0x4, 0x5, 0x6, 0x7, 0x8, 0x9
SMAP, MODULEP, VBE_FB = 0x1001, 0x1006, 0x1007
# sys/sys/reboot.h, and the boot_* variable loader(8) mirrors each flag into
FLAGS = [('a', 0x1, 'boot_askname'), ('s', 0x2, 'boot_single'), ('r', 0x20, 'boot_dfltroot'),
         ('d', 0x40, 'boot_ddb'), ('v', 0x800, 'boot_verbose'), ('h', 0x1000, 'boot_serial'),
         ('C', 0x2000, 'boot_cdrom'), ('g', 0x8000, 'boot_gdb'), ('m', 0x10000, 'boot_mute'),
         ('p', 0x100000, 'boot_pause'), ('P', 0x10000000, None), ('D', 0x20000000, 'boot_multicons')]
RB_SERIAL, RB_MUTE, RB_MULTIPLE, RB_BOOTINFO = 0x1000, 0x10000, 0x20000000, 0x80000000

# SeaBIOS 1.16.2's RSDP under QEMU 7.2: revision 0 (so acpi.revision "1", no XSDT), OEM "BOCHS ",
# in the BIOS area; its exact address is firmware build layout, checked by pattern.
QEMU_ACPI = [('acpi.rsdp', re.compile(r'0x000[ef][0-9a-f]{4}$')), ('acpi.revision', '1'),
             ('acpi.oem', 'BOCHS '), ('acpi.rsdt', re.compile(r'0x[0-9a-f]{8}$'))]


def md_size(payload, word):
    return 8 + roundup(payload, word)


def symbols(elf, start_end, word):
    """load_elf.c: [Elf_Size symsize][symtab][pad][Elf_Size strsize][strtab][pad] at end."""
    pos = roundup(start_end, word)
    loaded = [(s['offset'], s['offset'] + s['filesz']) for s in elf.segments]
    chosen = None
    for s in elf.sections:
        if s['type'] == 2 and not any(a < s['offset'] + s['size'] and s['offset'] < b
                                      for a, b in loaded if b > a):
            chosen = s
    if not chosen:
        return pos, 0, 0
    strtab = elf.sections[chosen['link']]
    ssym = pos
    pos = roundup(pos + word + chosen['size'], word)
    pos = roundup(pos + word + strtab['size'], word)
    return pos, ssym, pos


SHT_SYMTAB, SHT_STRTAB, SHT_RELA, SHT_NOBITS, SHT_REL, SHT_X86_64_UNWIND = 2, 3, 4, 8, 9, 0x70000001
SHF_ALLOC = 2
STB_GLOBAL = 1
KO_SYMBOL = 'kmod_info'  # the global the probe looks up in each .ko's own symbol table
KO_CHECKS = ['ko_sections_inside', 'ko_sections_disjoint', 'ko_symbol_found', 'ko_shdr_size']


def ko_layout(data):
    """stand/common/load_elf_obj.c's placement of an amd64 .ko: allocated PROGBITS/NOBITS/
    X86_64_UNWIND sections of nonzero size in table order, the symbol table, its strings, the
    section names, relocations of allocated sections, each at its sh_addralign from the
    module's address.  Returns (elf, {section index: offset}, end)."""
    elf = Elf(data)
    at = {}
    end = 0

    def place(i):
        nonlocal end
        s = elf.sections[i]
        at[i] = roundup(end, max(s['align'], 1))
        end = at[i] + s['size']

    for i, s in enumerate(elf.sections):
        if s['size'] and s['flags'] & SHF_ALLOC and s['type'] in (1, SHT_NOBITS, SHT_X86_64_UNWIND):
            place(i)
    symtabs = [i for i, s in enumerate(elf.sections) if s['type'] == SHT_SYMTAB]
    assert len(symtabs) == 1, 'a .ko needs exactly one symbol table'
    place(symtabs[0])
    place(elf.sections[symtabs[0]]['link'])
    place(elf.shstrndx)
    for i, s in enumerate(elf.sections):
        if s['type'] in (SHT_RELA, SHT_REL) and elf.sections[s['info']]['flags'] & SHF_ALLOC:
            place(i)
    return elf, at, end


def ko_section_bytes(data, s):
    """What a placed section holds: its file bytes, or zeros for NOBITS."""
    return bytes(s['size']) if s['type'] == SHT_NOBITS else data[s['offset']:s['offset'] + s['size']]


def ko_image(data):
    """The bytes an amd64 .ko occupies once laid out (ko_layout), gaps zero, and the size of
    its section header table (the MODINFOMD_SHDR record)."""
    elf, at, end = ko_layout(data)
    out = bytearray(end)
    for i, off in at.items():
        body = ko_section_bytes(data, elf.sections[i])
        out[off:off + len(body)] = body
    return bytes(out), len(elf.sections) * elf.shentsize


def ko_report(data, addr):
    """The probe's lines for a .ko laid out at addr, from the file's bytes: its ELF header,
    each loaded section (index order; sh_addr = addr + offset, CRC of the section's file bytes
    or of zeros for NOBITS) and the global KO_SYMBOL (st_shndx, st_value from the file)."""
    elf, at, _ = ko_layout(data)
    e_type, e_machine = struct.unpack_from('<HH', data, 16)
    sections = []
    for i in sorted(at):
        s = elf.sections[i]
        sections.append((i, 'type=%d flags=0x%x addr=0x%x size=0x%x crc32=0x%08x' % (
            s['type'], s['flags'], addr + at[i], s['size'], zlib.crc32(ko_section_bytes(data, s)))))
    symtab = [s for s in elf.sections if s['type'] == SHT_SYMTAB][0]
    strtab = elf.sections[symtab['link']]
    symbol = None
    for off in range(symtab['offset'], symtab['offset'] + symtab['size'] - 23, 24):
        name, info, _, shndx, value = struct.unpack_from('<IBBHQ', data, off)
        start = strtab['offset'] + name
        if info >> 4 == STB_GLOBAL and data[start:data.index(b'\0', start)] == KO_SYMBOL.encode():
            symbol = '%s shndx=%d value=0x%x' % (KO_SYMBOL, shndx, value)
            break
    assert symbol, 'the test .ko has no global ' + KO_SYMBOL
    return dict(elfhdr='class=%d machine=%d type=%d shnum=%d' % (data[4], e_machine, e_type, len(elf.sections)),
                sections=sections, symbol=symbol)


def shared_image(data):
    """An i386 .ko (a shared object) as load_elf.c loads it at some base: its segments at
    base + p_vaddr with zeros between and after, then its symbols as the kernel's
    ([u32 size][symtab][pad][u32 size][strtab][pad]).  Returns (bytes from the lowest segment,
    metadata record sizes)."""
    elf = Elf(data)
    low = min(s['vaddr'] for s in elf.segments)
    end = max(s['vaddr'] + s['memsz'] for s in elf.segments)
    out = bytearray(end - low)
    for seg in elf.segments:
        start = seg['vaddr'] - low
        out[start:start + seg['filesz']] = data[seg['offset']:seg['offset'] + seg['filesz']]
    pos, ssym, esym = symbols(elf, end, 4)
    if ssym:
        symtab = [x for x in elf.sections if x['type'] == 2][-1]
        strtab = elf.sections[symtab['link']]
        for table in (symtab, strtab):
            out.extend(bytes(roundup(len(out) + low, 4) - low - len(out)))
            out.extend(struct.pack('<I', table['size']))
            out.extend(data[table['offset']:table['offset'] + table['size']])
        out.extend(bytes(roundup(len(out) + low, 4) - low - len(out)))
    md = [(MD | ELFHDR, 52), (MD | SHDR, len(elf.sections) * elf.shentsize)]
    if ssym:
        md += [(MD | SSYM, 4), (MD | ESYM, 4)]
    if hasattr(elf, 'dynamic'):
        md.append((MD | DYNAMIC, 4))
    return bytes(out), md, low


def expected(case, kernel_bytes, memmap, boot_device, basemem, extmem, acpi=None):
    """dict of expected report pieces for a FreeBSD probe case.

    case: kernel_path ('' when the loader gives none), kernel_args, cmdline,
          modules [(path or '', args, bytes)], kernel_index
    """
    elf = Elf(kernel_bytes)
    amd64 = elf.bits == 64
    word = 8 if amd64 else 4
    dest = elf.entry & ~0xfff
    off = dest & (0xffffffffff000000 if amd64 else 0xff000000)
    starts = [s['vaddr'] - off for s in elf.segments]
    start = min(starts)
    end = max(s['vaddr'] - off + s['memsz'] for s in elf.segments)
    pos, ssym, esym = symbols(elf, end, word)
    kernel_size = pos - start

    opts = parse_options([case['cmdline'], case['kernel_args']])
    name = opts.get('name') or case['kernel_path'] or '/boot/kernel/kernel'
    howto = 0
    for letter, bit, _ in FLAGS:
        if letter in opts['flags']:
            howto |= bit
    console = opts.get('console', '')
    serial_words = ('com', 'com0', 'serial')  # NetBSD's multiboot(8) spelling, accepted too
    if 'comconsole' in console or console in serial_words:
        howto |= RB_SERIAL
        if 'vidconsole' in console:
            howto |= RB_MULTIPLE
    if 'nullconsole' in console:
        howto |= RB_MUTE

    files, modules = [], []
    kernel_index = case.get('kernel_index', 0)
    env_modules = []
    for j, (path, args, data) in enumerate(case['modules']):
        index = j if j < kernel_index else j + 1
        mopts = parse_options([args])
        if mopts.get('type') == 'env':
            env_modules.append(data)
            continue
        pos = roundup(pos, PAGE)
        md, ko = [], None
        if data[:4] == b'\x7fELF' and 'type' not in mopts and amd64:  # laid out by section
            ko = ko_report(data, pos)
            data, shdrs = ko_image(data)
            mopts['type'] = 'elf obj module'
            md = [(MD | ELFHDR, 64), (MD | SHDR, shdrs)]
        elif data[:4] == b'\x7fELF' and 'type' not in mopts:  # i386: a shared object by segments
            data, md, low = shared_image(data)
            pos += low
            mopts['type'] = 'elf module'
        mtype = mopts.get('type', 'raw')
        mname = mtype if mtype == '/boot/zfs/zpool.cache' else (mopts.get('name') or path or 'module%d' % index)
        margs = ' '.join(w for w in args.split() if not w.startswith(('type=', 'name=')))
        files.append(dict(name=mname, type=mtype, addr=pos, size=len(data), args=margs, md=md, ko=ko))
        modules.append('name="%s" type="%s" size=%d crc32=0x%08x' % (mname, mtype, len(data), zlib.crc32(data)))
        pos += len(data)

    # the static environment, first place and last value per name
    env = [('kernelname', name)] + (QEMU_ACPI if acpi is None else acpi)
    env += [(b[2], 'YES') for b in FLAGS if b[2] and howto & b[1]]
    for w in words_of(case['cmdline']) + words_of(case['kernel_args']):
        if w.startswith('-') or w.startswith('mbchain.'):
            continue
        k, _, v = w.partition('=')
        if k == 'console' and v in serial_words:
            v = 'comconsole'
        if k != 'name':
            env.append((k, v if '=' in w else '1'))
    if howto & RB_SERIAL:
        # loader(8)'s comconsole: comconsole_speed, and hw.uart.console "io:PORT,br:SPEED" when
        # the port is known (stand/i386/libi386/comconsole.c)
        speed = int(opts.get('console_speed', opts.get('comconsole_speed', '9600')), 0)
        port = int(opts.get('console_addr', opts.get('comconsole_port', '0')), 0)
        if 'console_speed' in opts:
            env.append(('comconsole_speed', str(speed)))
        if port:
            env.append(('hw.uart.console', 'io:%d,br:%d' % (port, speed)))
    for data in env_modules:
        for line in data.decode().split('\n'):
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            k, _, v = line.partition('=')
            env.append((k, v[1:-1] if len(v) >= 2 and v[0] == v[-1] == '"' else v))
    merged, order = {}, []
    for k, v in env:
        if k not in merged:
            order.append(k)
        merged[k] = v
    env = [(k, merged[k]) for k in order]
    env_len = sum(len(k) + 1 + (len(v) if isinstance(v, str) else 10) + 1 for k, v in env) + 1
    # acpi.rsdp and acpi.rsdt are printed 0x%08x: 10 characters whatever their value

    shdrs = len(elf.sections) * elf.shentsize
    kmd = [(MD | ELFHDR, elf.ehsize)]
    if shdrs:
        kmd.append((MD | SHDR, shdrs))
    if esym:
        kmd += [(MD | SSYM, word), (MD | ESYM, word)]
    kmd += [(MD | HOWTO, 4), (MD | ENVP, word), (MD | KERNEND, word)]
    if amd64:
        kmd.append((MD | MODULEP, 8))
    kmd.append((MD | SMAP, 20 * len(memmap)))
    if case.get('video'):
        kmd.append((MD | VBE_FB, 48))
    kfile = dict(name=name, type='elf kernel', addr=start, size=kernel_size, args='', md=kmd, ko=None)
    all_files = [kfile] + files

    def file_len(f):
        n = md_size(len(f['name']) + 1, word) + md_size(len(f['type']) + 1, word)
        n += md_size(len(f['args']) + 1, word) if f['args'] else 0
        n += 2 * md_size(word, word)
        return n + sum(md_size(size, word) for _, size in f['md'])
    md_len = sum(file_len(f) for f in all_files) + 8
    if amd64:
        modulep = roundup(pos, PAGE)
        envp = roundup(modulep + md_len, PAGE)
        kernend = roundup(envp + env_len, PAGE)
    else:
        envp = roundup(pos, PAGE)
        modulep = roundup(envp + env_len, PAGE)
        kernend = roundup(modulep + md_len, PAGE)
    return dict(video=case.get('video'), amd64=amd64, files=all_files, modules=modules, env=env, howto=howto,
                modulep=modulep, envp=envp, kernend=kernend, ssym=ssym, esym=esym,
                smap=['base=0x%x length=0x%x type=%d' % m for m in memmap],
                marker=elf.symbol('probe_marker'), name=name, basemem=basemem, extmem=extmem,
                bios_dev=(boot_device >> 24) if boot_device is not None else 0x80)


def words_of(s):
    from nbexpect import words
    return words(s)


def compare(exp, report):
    """Differences between the expected pieces and the probe's report lines."""
    problems = []
    got = {}
    for k, v in report:
        got.setdefault(k, []).append(v)

    def want(key, value):
        if got.get(key) != [value]:
            problems.append('%s: got %s want %s' % (key, got.get(key), value))

    if exp['amd64']:
        want('stack', 'ret=0x00000000 modulep=0x%08x kernend=0x%08x' % (exp['modulep'], exp['kernend']))
        want('pagetables', 'kernphys=0x200000 identity=1 alias=1')
    else:
        stack = (got.get('stack') or [''])[0]
        m = re.match(r'ret=0x([0-9a-f]{8}) howto=0x%08x bootdev=0x00000000 arg3=0x0 arg4=0x0 arg5=0x0 '
                     r'bootinfo=0x([0-9a-f]{8}) modulep=0x%08x kernend=0x%08x$' %
                     (exp['howto'] | RB_BOOTINFO, exp['modulep'], exp['kernend']), stack)
        if not m or int(m.group(1), 16) == 0:
            problems.append('stack: got %s' % stack)
        want('bootinfo', 'version=1 size=84 kernelname="%s" memsizes_valid=1 bios_dev=0x%x basemem=%d '
             'extmem=%d symtab=0x%x esymtab=0x%x kernend=0x%x envp=0x%x modulep=0x%x' %
             (exp['name'], exp['bios_dev'], exp['basemem'], exp['extmem'], exp['ssym'], exp['esym'],
              exp['kernend'], exp['envp'], exp['modulep']))
    want('md.howto', '0x%08x' % exp['howto'])
    want('md.envp', '0x%x' % exp['envp'])
    want('md.kernend', '0x%x' % exp['kernend'])
    if exp['amd64']:
        want('md.modulep', '0x%x' % exp['modulep'])
    if exp['esym']:
        want('md.ssym', '0x%x' % exp['ssym'])
        want('md.esym', '0x%x' % exp['esym'])
    files = [v for k, v in report if re.match(r'file\[\d+\]$', k)]
    want_files = ['name="%s" type="%s" addr=0x%x size=0x%x args="%s"' %
                  (f['name'], f['type'], f['addr'], f['size'], f['args']) for f in exp['files']]
    if files != want_files:
        problems.append('files: got %s\n       want %s' % (files, want_files))
    for i, f in enumerate(exp['files']):
        mds = [v for k, v in report if k == 'file[%d].md' % i]
        want_md = ['type=0x%x size=%d' % md for md in f['md']]
        if mds != want_md:
            problems.append('file[%d].md: got %s want %s' % (i, mds, want_md))
        # a .ko, section by section (none for any other file)
        ko = f['ko']
        secs = [(int(m.group(1)), v) for k, v in report
                for m in [re.match(r'file\[%d\]\.section\[(\d+)\]$' % i, k)] if m]
        want_secs = ko['sections'] if ko else []
        if secs != want_secs:
            have, need = dict(secs), dict(want_secs)
            for n in sorted(set(have) | set(need)):
                if have.get(n) != need.get(n):
                    problems.append('file[%d].section[%d]: got %s want %s' % (i, n, have.get(n), need.get(n)))
            if [n for n, _ in secs] != sorted(have) or len(have) != len(secs):
                problems.append('file[%d].section[]: not in index order, or repeated: %s' % (i, [n for n, _ in secs]))
        if ko:
            want('file[%d].elfhdr' % i, ko['elfhdr'])
        want_sym = [ko['symbol']] if ko else None
        if got.get('file[%d].symbol' % i) != want_sym:
            problems.append('file[%d].symbol: got %s want %s' % (i, got.get('file[%d].symbol' % i), want_sym))
    if exp['video']:
        # QEMU's std VGA in the mode GRUB's gfxpayload set: stride in pixels, masks from size/position
        want('md.vbe_fb', 'addr=0xfd000000 size=0x300000 width=1024 height=768 stride=1024 bpp=32 '
             'masks=0xff0000,0xff00,0xff')
    want('md.smap', 'num=%d' % len(exp['smap']))
    smap = [v for k, v in report if k.startswith('md.smap[')]
    if smap != exp['smap']:
        problems.append('md.smap[]: got %s want %s' % (smap, exp['smap']))
    mods = [v for k, v in report if k.startswith('module[')]
    if mods != exp['modules']:
        problems.append('modules: got %s want %s' % (mods, exp['modules']))
    kenv = [v for k, v in report if k == 'kenv']
    got_env = [tuple(v.split('=', 1)) for v in kenv]
    if len(got_env) != len(exp['env']):
        problems.append('kenv: got %d entries %s want %d %s' % (len(got_env), kenv, len(exp['env']), exp['env']))
    else:
        for (gk, gv), (ek, ev) in zip(got_env, exp['env']):
            ok = gk == ek and (ev.match(gv) if hasattr(ev, 'match') else gv == ev)
            if not ok:
                problems.append('kenv: got %s=%s want %s=%s' % (gk, gv, ek, getattr(ev, 'pattern', ev)))
    marker = exp['marker']
    want('ksyms', 'symbol=probe_marker value=0x%x expected=0x%x' % (marker, marker))
    checks = [v.split(' ', 1)[0] for v in got.get('check', [])]
    has_ko = any(f['ko'] for f in exp['files'])
    for name in KO_CHECKS:
        if (name in checks) != has_ko:
            problems.append('check %s: %s' % (name, 'missing' if has_ko else 'printed without a .ko'))
    for v in got.get('check', []):
        if not v.endswith(' ok'):
            problems.append('check: ' + v)
    if got.get('result') != ['PASS']:
        problems.append('result: %s' % got.get('result'))
    return problems

