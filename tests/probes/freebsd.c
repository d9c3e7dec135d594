/*
 * freebsd.c — the report half of the FreeBSD probe kernels, compiled twice: -m64 for
 * freebsd-amd64.elf (entered by freebsd-amd64.asm in long mode at the high VA, running on the
 * loader's page tables) and -m32 for freebsd-i386.elf (entered by freebsd-i386.asm in 32-bit
 * protected mode, paging off, linked VA == PA).  Shared code (output, exceptions, checks,
 * CRC-32, data/BSS facts) is in lib.c.
 *
 * It reads what a FreeBSD kernel's early code reads — amd64: btext, amd64_loadaddr(),
 * hammer_time(), native_parse_preload_data(), native_parse_memmap(); i386: btext,
 * recover_bootinfo, init386(), getmemsize(); both: preload_search_by_type/_info,
 * preload_bootstrap_relocate, init_static_kenv, link_elf_preload_parse_symbols — echoes it in
 * the line format of tests/REPORT.md (FreeBSD section), runs the checks that code implies and
 * exits QEMU through isa-debug-exit (0x10 PASS, 0x11 FAIL).
 *
 * All addresses printed are the raw values the loader wrote (physical, unrelocated).
 */
#include "lib.h"

#ifdef __x86_64__
#define FLAVOUR         "freebsd-amd64"
#define KERNBASE        0xffffffff80000000UL
#define KERNLOAD        0x200000ULL     /* kernphys: KERNSTART = KERNBASE + 2 MiB */
#define PHYS_LIMIT      0x40000000ULL   /* KERNBASE + x aliases x only for x < 1 GiB */
#define KERNEL_TYPE2    "elf64 kernel"  /* hammer_time's fallback (GRUB's name) */
#else
#define FLAVOUR         "freebsd-i386"
#define KERNBASE        0UL             /* paging off, linked VA == PA */
#define KERNLOAD        0x400000ULL     /* i386 KERNLOAD */
#define PHYS_LIMIT      0x100000000ULL
#define KERNEL_TYPE2    "elf32 kernel"  /* init386/getmemsize's fallback */
#endif
#define WORD            ((u32)sizeof(ulong))    /* u_long / vm_offset_t / Elf_Size */
#define PAGE            0x1000ULL

/* sys/sys/linker.h, sys/x86/include/metadata.h */
#define MODINFO_END             0x0000
#define MODINFO_NAME            0x0001
#define MODINFO_TYPE            0x0002
#define MODINFO_ADDR            0x0003
#define MODINFO_SIZE            0x0004
#define MODINFO_ARGS            0x0006
#define MODINFO_METADATA        0x8000
#define MODINFOMD_ELFHDR        0x0002
#define MODINFOMD_SSYM          0x0003
#define MODINFOMD_ESYM          0x0004
#define MODINFOMD_ENVP          0x0006
#define MODINFOMD_HOWTO         0x0007
#define MODINFOMD_KERNEND       0x0008
#define MODINFOMD_SHDR          0x0009
#define MODINFOMD_SMAP          0x1001
#define MODINFOMD_EFI_MAP       0x1004
#define MODINFOMD_MODULEP       0x1006
#define MODINFOMD_VBE_FB        0x1007

#define RB_BOOTINFO             0x80000000u

#define KO_TYPE         "elf obj module"        /* an amd64 .ko, laid out by load_elf_obj.c */
#define KO_SYMBOL       "kmod_info"             /* looked up in each .ko's own symbol table */
#define STB_GLOBAL      1

#define MAX_FILES       64
#define MD_MAX_BYTES    0x100000u       /* never walk more metadata than this */
#define ENV_MAX_BYTES   0x10000u        /* nor more environment */
#define STR_MAX         1024            /* MAXPATHLEN */

/* Physical range [pa, pa+len) readable by the probe (amd64: through KERNBASE, as the kernel
 * reads preload data; i386: directly, paging is off). */
static int phys_ok(u64 pa, u64 len)
{
	return pa + len >= pa && pa + len <= PHYS_LIMIT;
}

static const u8 *phys(u64 pa)
{
	return (const u8 *)(ulong)(KERNBASE + pa);
}

static u64 rdword(const u8 *p)
{
	return WORD == 8 ? rd64(p) : rd32(p);
}

static char why_md[160];                /* first metadata problem: fails metadata_sane */

static char why_str[160];               /* first string record without its NUL */

static void md_insane(const char *fmt, u64 a, u64 b)
{
	if (!why_md[0])
		format(why_md, sizeof why_md, fmt, a, b);
}

/* ---- the preload metadata walk (subr_module.c) ----------------------------------------- */

struct mdfile {
	u64 start, end;                 /* PAs: its MODINFO_NAME record .. next NAME / END */
	u64 name, type, args;           /* PAs of the strings (0: absent) */
	u32 name_len, type_len, args_len;
	u64 addr, size;
	int has_addr, has_size;
};

static struct mdfile files[MAX_FILES];
static int nfiles;
static u64 md_start, md_end;            /* [modulep, after END) */
static int md_found_end;

/* 1 when the string record at pa (len bytes) equals s (C-string compare, as strcmp) */
static int str_is(u64 pa, u32 len, const char *s)
{
	const u8 *p = phys(pa);
	u32 i;

	for (i = 0; i < len && s[i] && p[i] == (u8)s[i]; i++)
		;
	return !s[i] && i < len && p[i] == 0;
}

static void need_size(u32 type, u32 size, u32 want)
{
	if (size != want && !why_md[0])
		format(why_md, sizeof why_md, "record type 0x%x size %d, want %d", type, size,
		       want);
}

static void md_walk(u64 modulep)
{
	u64 p = modulep;
	struct mdfile *f = 0;

	md_start = modulep;
	md_end = modulep;
	if (!modulep) {
		md_insane("no metadata (modulep 0)", 0, 0);
		return;
	}
	for (;;) {
		u32 type, size;
		const u8 *r;

		if (!phys_ok(p, 8)) {
			md_insane("record at 0x%llx not readable", p, 0);
			break;
		}
		r = phys(p);
		type = rd32(r);
		size = rd32(r + 4);
		if (type == MODINFO_END && size == 0) {
			md_found_end = 1;
			md_end = p + 8;
			break;
		}
		if (!phys_ok(p + 8, size) || p + 8 + size - modulep > MD_MAX_BYTES) {
			md_insane("record at 0x%llx size 0x%llx runs off", p, size);
			break;
		}
		if (type == MODINFO_NAME) {
			if (f)
				f->end = p;
			if (nfiles < MAX_FILES) {
				f = &files[nfiles++];
				memset(f, 0, sizeof *f);
				f->start = p;
			} else {
				md_insane("more than %llu files", MAX_FILES, 0);
				f = 0;
				break;
			}
		} else if (!f) {
			md_insane("record type 0x%llx at 0x%llx before any MODINFO_NAME", type, p);
		}
		if (f) {
			switch (type) {
			case MODINFO_NAME:
				f->name = p + 8;
				f->name_len = size;
				break;
			case MODINFO_TYPE:
				f->type = p + 8;
				f->type_len = size;
				break;
			case MODINFO_ARGS:
				f->args = p + 8;
				f->args_len = size;
				break;
			case MODINFO_ADDR:
				need_size(type, size, WORD);
				f->addr = rdword(r + 8);
				f->has_addr = 1;
				break;
			case MODINFO_SIZE:
				need_size(type, size, WORD);
				f->size = rdword(r + 8);
				f->has_size = 1;
				break;
			}
			if ((type == MODINFO_NAME || type == MODINFO_TYPE || type == MODINFO_ARGS) &&
			    (size == 0 || r[8 + size - 1] != 0) && !why_str[0])
				format(why_str, sizeof why_str,
				       "file[%d] record type 0x%x size %d at 0x%llx: no NUL inside",
				       nfiles - 1, type, (int)size, p);
		}
		p += (8 + size + WORD - 1) & ~(u64)(WORD - 1);
	}
	if (f)
		f->end = p;
}

/* preload_search_info(file, type): data PA of the first record of `type` in the file's
 * group (0 if absent); *size gets its size word. */
static u64 md_info(const struct mdfile *f, u32 type, u32 *size);

/* A word-sized metadata record of file f (ENVP, KERNEND, MODULEP, SSYM, ESYM): its size checked,
 * its value in *out and printed as "md.<name>: 0x..."; returns whether the record exists. */
static int word_record(const struct mdfile *f, u32 md_type, const char *name, u64 *out)
{
	u32 size;
	u64 pa = md_info(f, MODINFO_METADATA | md_type, &size);
	if (!pa)
		return 0;
	need_size(MODINFO_METADATA | md_type, size, WORD);
	*out = rdword(phys(pa));
	print("md.%s: 0x%llx\n", name, *out);
	return 1;
}

static u64 md_info(const struct mdfile *f, u32 type, u32 *size)
{
	u64 p;

	if (!f)
		return 0;
	for (p = f->start; p < f->end;) {
		const u8 *r = phys(p);
		u32 t = rd32(r), s = rd32(r + 4);
		if (t == type) {
			if (size)
				*size = s;
			return p + 8;
		}
		p += (8 + s + WORD - 1) & ~(u64)(WORD - 1);
	}
	return 0;
}

static struct mdfile *kernel_file(void)
{
	int i;

	for (i = 0; i < nfiles; i++)
		if (files[i].type && str_is(files[i].type, files[i].type_len, "elf kernel"))
			return &files[i];
	for (i = 0; i < nfiles; i++)
		if (files[i].type && str_is(files[i].type, files[i].type_len, KERNEL_TYPE2))
			return &files[i];
	return 0;
}

static void print_md_str(u64 pa, u32 len)
{
	if (pa)
		print_field(phys(pa), len);
	else
		print("\"\"");
}

static void print_files(void)
{
	int i;

	for (i = 0; i < nfiles; i++) {
		const struct mdfile *f = &files[i];
		u64 p;

		print("file[%d]: name=", i);
		print_md_str(f->name, f->name_len);
		print(" type=");
		print_md_str(f->type, f->type_len);
		print(" addr=0x%llx size=0x%llx args=", f->addr, f->size);
		print_md_str(f->args, f->args_len);
		print("\n");
		for (p = f->start; p < f->end;) {
			const u8 *r = phys(p);
			u32 t = rd32(r), s = rd32(r + 4);
			if (t & MODINFO_METADATA)
				print("file[%d].md: type=0x%x size=%d\n", i, t, (int)s);
			p += (8 + s + WORD - 1) & ~(u64)(WORD - 1);
		}
		{
			u32 s = 0;
			u64 e = md_info(f, MODINFO_METADATA | MODINFOMD_ELFHDR, &s);
			if (e) {
				const u8 *h = phys(e);
				int is64 = s >= 5 && h[4] == 2;
				u32 need = is64 ? 64 : 52;
				if (s < need) {
					md_insane("ELFHDR record size %llu < %llu", s, need);
				} else {
					print("file[%d].elfhdr: class=%d machine=%d type=%d shnum=%d\n",
					      i, h[4], rd16(h + 18), rd16(h + 16),
					      rd16(h + (is64 ? 60 : 48)));
				}
			}
		}
	}
}

/* ---- kernel modules: "elf obj module" (link_elf_obj.c link_elf_link_preload) ------------
 *
 * An amd64 .ko arrives as loose sections: MODINFOMD_ELFHDR is its ELF header, MODINFOMD_SHDR
 * its section header table with sh_addr = where each section was put (an address like
 * MODINFO_ADDR, reached through KERNBASE; 0: not loaded).  The probe reads both records,
 * CRCs every loaded section at its sh_addr and walks the module's own SHT_SYMTAB and string
 * table at theirs, as the kernel's linker does before relocating.  The fields are read by
 * ELF class so the -m32 probe compiles the same code (mbchain gives i386 no .ko). */

struct ko_sec {
	u32 name, type, link, info;
	u64 flags, addr, offset, size, align;
};

struct ko {
	int file;                       /* files[] index */
	int cls;                        /* ELFCLASS32/64 from the ELFHDR record */
	const u8 *shdrs;                /* the SHDR record's data */
	u32 shnum, shentsize;
};

static char why_ko_inside[200], why_ko_disjoint[200], why_ko_symbol[200], why_ko_shdr[200];
static int nko;

static void ko_sec(const struct ko *k, u32 i, struct ko_sec *s)
{
	const u8 *h = k->shdrs + (ulong)i * k->shentsize;

	s->name = rd32(h);
	s->type = rd32(h + 4);
	if (k->cls == 2) {
		s->flags = rd64(h + 8);
		s->addr = rd64(h + 16);
		s->offset = rd64(h + 24);
		s->size = rd64(h + 32);
		s->link = rd32(h + 40);
		s->info = rd32(h + 44);
		s->align = rd64(h + 48);
	} else {
		s->flags = rd32(h + 8);
		s->addr = rd32(h + 12);
		s->offset = rd32(h + 16);
		s->size = rd32(h + 20);
		s->link = rd32(h + 24);
		s->info = rd32(h + 28);
		s->align = rd32(h + 32);
	}
}

/* The ELFHDR and SHDR records of file f, checked against each other (ko_shdr_size);
 * 1 with *k filled when the section table can be read. */
static int ko_open(int fi, struct ko *k)
{
	const struct mdfile *f = &files[fi];
	u32 esize = 0, ssize = 0, need;
	u64 e = md_info(f, MODINFO_METADATA | MODINFOMD_ELFHDR, &esize);
	u64 sh = md_info(f, MODINFO_METADATA | MODINFOMD_SHDR, &ssize);
	const u8 *h;

	memset(k, 0, sizeof *k);
	k->file = fi;
	if (!e || !sh) {
		if (!why_ko_shdr[0])
			format(why_ko_shdr, sizeof why_ko_shdr, "file[%d]: no MODINFOMD_%s record",
			       fi, e ? "SHDR" : "ELFHDR");
		return 0;
	}
	h = phys(e);
	k->cls = esize >= 5 ? h[4] : 0;
	need = k->cls == 2 ? 64 : 52;
	if ((k->cls != 1 && k->cls != 2) || esize < need) {
		if (!why_ko_shdr[0])
			format(why_ko_shdr, sizeof why_ko_shdr,
			       "file[%d]: ELFHDR record class %d size %d", fi, k->cls, (int)esize);
		return 0;
	}
	k->shentsize = rd16(h + (k->cls == 2 ? 58 : 46));
	k->shnum = rd16(h + (k->cls == 2 ? 60 : 48));
	k->shdrs = phys(sh);
	if (ssize != k->shnum * k->shentsize || k->shentsize != (k->cls == 2 ? 64u : 40u)) {
		if (!why_ko_shdr[0])
			format(why_ko_shdr, sizeof why_ko_shdr,
			       "file[%d]: SHDR size %d, e_shnum %d * e_shentsize %d", fi, (int)ssize,
			       (int)k->shnum, (int)k->shentsize);
		/* read no further than the record holds */
		if (k->shentsize < (k->cls == 2 ? 64u : 40u))
			return 0;
		if (k->shnum * k->shentsize > ssize)
			k->shnum = ssize / k->shentsize;
	}
	return 1;
}

/* file[%d].section[%d] lines, ko_sections_inside and ko_sections_disjoint */
static void ko_sections(const struct ko *k)
{
	const struct mdfile *f = &files[k->file];
	u64 lo = f->addr, hi = f->addr + f->size;
	struct ko_sec s, t;
	u32 i, j;

	for (i = 0; i < k->shnum; i++) {
		ko_sec(k, i, &s);
		if (!s.addr)
			continue;
		print("file[%d].section[%d]: type=%d flags=0x%llx addr=0x%llx size=0x%llx crc32=",
		      k->file, (int)i, (int)s.type, s.flags, s.addr, s.size);
		if (phys_ok(s.addr, s.size))
			print("0x%08x\n", crc32_zlib(phys(s.addr), (ulong)s.size));
		else
			print("unreadable\n");
		if ((!f->has_addr || !f->has_size || s.addr < lo || s.addr + s.size > hi ||
		     s.addr + s.size < s.addr) && !why_ko_inside[0])
			format(why_ko_inside, sizeof why_ko_inside,
			       "file[%d].section[%d] [0x%llx, 0x%llx) not in [0x%llx, 0x%llx)",
			       k->file, (int)i, s.addr, s.addr + s.size, lo, hi);
		for (j = i + 1; j < k->shnum && !why_ko_disjoint[0]; j++) {
			ko_sec(k, j, &t);
			if (t.addr && s.size && t.size && s.addr < t.addr + t.size &&
			    t.addr < s.addr + s.size)
				format(why_ko_disjoint, sizeof why_ko_disjoint,
				       "file[%d] section %d [0x%llx, 0x%llx) overlaps %d [0x%llx, 0x%llx)",
				       k->file, (int)i, s.addr, s.addr + s.size, (int)j, t.addr,
				       t.addr + t.size);
		}
	}
}

/* The global `name` in the module's own symbol table, read at the table's sh_addr:
 * file[%d].symbol line and ko_symbol_found (defined in a loaded section, inside it). */
static void ko_symbol(const struct ko *k, const char *name)
{
	struct ko_sec sym, str, in;
	u32 i, symtab = 0, entsize = k->cls == 2 ? 24 : 16;
	u64 n;

	for (i = 1; i < k->shnum && !symtab; i++) {
		ko_sec(k, i, &sym);
		if (sym.type == SHT_SYMTAB)
			symtab = i;
	}
	if (!symtab) {
		format(why_ko_symbol, sizeof why_ko_symbol, "file[%d]: no SHT_SYMTAB", k->file);
		return;
	}
	if (sym.link == 0 || sym.link >= k->shnum) {
		format(why_ko_symbol, sizeof why_ko_symbol, "file[%d]: symtab sh_link %d",
		       k->file, (int)sym.link);
		return;
	}
	ko_sec(k, sym.link, &str);
	if (!sym.addr || !str.addr || !phys_ok(sym.addr, sym.size) ||
	    !phys_ok(str.addr, str.size)) {
		format(why_ko_symbol, sizeof why_ko_symbol,
		       "file[%d]: symtab at 0x%llx or strtab at 0x%llx not loaded", k->file,
		       sym.addr, str.addr);
		return;
	}
	for (n = 0; n + entsize <= sym.size; n += entsize) {
		const u8 *e = phys(sym.addr + n);
		u32 st_name = rd32(e);
		u8 st_info = e[k->cls == 2 ? 4 : 12];
		u32 shndx = rd16(e + (k->cls == 2 ? 6 : 14));
		u64 value = k->cls == 2 ? rd64(e + 8) : rd32(e + 4);
		u64 size = k->cls == 2 ? rd64(e + 16) : rd32(e + 8);

		if ((st_info >> 4) != STB_GLOBAL || !strtab_eq(phys(str.addr), (ulong)str.size,
							       st_name, name))
			continue;
		print("file[%d].symbol: %s shndx=%d value=0x%llx\n", k->file, name, (int)shndx,
		      value);
		if (shndx == 0 || shndx >= k->shnum) {
			format(why_ko_symbol, sizeof why_ko_symbol, "file[%d]: %s in section %d",
			       k->file, name, (int)shndx);
			return;
		}
		ko_sec(k, shndx, &in);
		if (!in.addr || value + size > in.size || value + size < value)
			format(why_ko_symbol, sizeof why_ko_symbol,
			       "file[%d]: %s [0x%llx, +0x%llx) outside section %d (addr 0x%llx "
			       "size 0x%llx)", k->file, name, value, size, (int)shndx, in.addr,
			       in.size);
		return;
	}
	format(why_ko_symbol, sizeof why_ko_symbol, "file[%d]: no global %s among %d symbols",
	       k->file, name, (int)((ulong)sym.size / entsize));
}

static void ko_report(void)
{
	struct ko k;
	int i;

	for (i = 0; i < nfiles; i++) {
		if (!files[i].type || !str_is(files[i].type, files[i].type_len, KO_TYPE))
			continue;
		nko++;
		if (!ko_open(i, &k)) {
			if (!why_ko_symbol[0])
				format(why_ko_symbol, sizeof why_ko_symbol,
				       "file[%d]: section table unreadable", i);
			continue;
		}
		ko_sections(&k);
		if (!why_ko_symbol[0])
			ko_symbol(&k, KO_SYMBOL);
	}
}

/* ---- static environment (init_static_kenv) --------------------------------------------- */

static u64 env_end;             /* PA after the terminating empty string; 0: unterminated */
static char why_env[96];

static void walk_env(u64 envp)
{
	u64 p = envp;

	env_end = 0;
	if (!envp)
		return;
	for (;;) {
		u64 q = p;
		while (phys_ok(q, 1) && q - envp < ENV_MAX_BYTES && *phys(q))
			q++;
		if (!phys_ok(q, 1) || q - envp >= ENV_MAX_BYTES) {
			format(why_env, sizeof why_env, "env at 0x%llx not terminated", envp);
			return;
		}
		if (q == p) {                   /* the empty string: end of the list */
			env_end = q + 1;
			return;
		}
		print("kenv: ");
		print_str(phys(p), q - p, 0);
		print("\n");
		p = q + 1;
	}
}

/* ---- symbols (link_elf_preload_parse_symbols) ------------------------------------------ */

static int ksyms_lookup(u64 ssym, u64 esym, const char *name, u64 *value, char *why,
			ulong whycap)
{
	u64 base, symtab, strtab;
	long symcnt, strcnt;
	ulong i, nsyms;

	if (!ssym || !esym) {
		format(why, whycap, "no MODINFOMD_SSYM/ESYM");
		return 0;
	}
	if (esym < ssym || !phys_ok(ssym, esym - ssym) || esym - ssym < 2 * WORD) {
		format(why, whycap, "bad range ssym=0x%llx esym=0x%llx", ssym, esym);
		return 0;
	}
	base = ssym;
	symcnt = (int)rdword(phys(base));       /* the kernel keeps it in an int */
	base += WORD;
	symtab = base;
	base += ((u64)(ulong)symcnt + WORD - 1) & ~(u64)(WORD - 1);
	if (base > esym || base < ssym || esym - base < WORD) {
		format(why, whycap, "Symbols are corrupt! (symtab size %ld)", symcnt);
		return 0;
	}
	strcnt = (int)rdword(phys(base));
	base += WORD;
	strtab = base;
	base += ((u64)(ulong)strcnt + WORD - 1) & ~(u64)(WORD - 1);
	if (base > esym || base < ssym) {
		format(why, whycap, "Symbols are corrupt! (strtab size %ld)", strcnt);
		return 0;
	}
	nsyms = (ulong)symcnt / sizeof(struct elf_sym);
	for (i = 0; i < nsyms; i++) {
		const struct elf_sym *st = (const struct elf_sym *)phys(symtab) + i;
		if (strtab_eq(phys(strtab), (ulong)strcnt, st->name, name)) {
			*value = st->value;
			return 1;
		}
	}
	format(why, whycap, "%s not among %lu symbols", name, nsyms);
	return 0;
}

/* ---- range bookkeeping ------------------------------------------------------------------ */

/* [lo, hi) inside [KERNLOAD, kernend)?  Else remember the first offender in why. */
static void within(char *why, ulong cap, const char *what, u64 lo, u64 hi, u64 kernend)
{
	if (why[0])
		return;
	if (lo < KERNLOAD || hi > kernend || hi < lo)
		format(why, cap, "%s [0x%llx, 0x%llx) not in [0x%llx, 0x%llx)", what, lo, hi,
		       KERNLOAD, kernend);
}

struct range { u64 lo, hi; const char *what; };

static void no_overlap(const struct range *r, int n, char *why, ulong cap)
{
	int i, j;

	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (r[i].lo < r[j].hi && r[j].lo < r[i].hi && r[i].hi > r[i].lo &&
			    r[j].hi > r[j].lo) {
				format(why, cap, "%s [0x%llx, 0x%llx) overlaps %s [0x%llx, 0x%llx)",
				       r[i].what, r[i].lo, r[i].hi, r[j].what, r[j].lo, r[j].hi);
				return;
			}
}

/* ---- amd64: amd64_loadaddr() and the loader's page tables ------------------------------- */

#ifdef __x86_64__
#define PG_V            0x001ULL
#define PG_RW           0x002ULL
#define PG_PS           0x080ULL
#define PG_FRAME        0x000ffffffffff000ULL
#define KERNSTART       (KERNBASE + KERNLOAD)

static u64 kernstart_pde;

/* The kernel dereferences the table PAs directly (identity map); so do we. */
static const volatile u64 *tbl(u64 pa)
{
	return (const volatile u64 *)(ulong)pa;
}

static u64 amd64_loadaddr(u64 cr3)
{
	const volatile u64 *pml4e = tbl(cr3) + ((KERNSTART >> 39) & 511);
	const volatile u64 *pdpe = tbl(*pml4e & PG_FRAME) + ((KERNSTART >> 30) & 511);
	const volatile u64 *pde = tbl(*pdpe & PG_FRAME) + ((KERNSTART >> 21) & 511);

	kernstart_pde = *pde;
	return *pde & PG_FRAME;
}

/* 1 when VA [va, va + 1 GiB) maps to PA [0, 1 GiB) with present, writable 2 MiB pages */
static int maps_low_1g(u64 cr3, u64 va, char *why, ulong cap)
{
	u64 e4 = tbl(cr3 & PG_FRAME)[(va >> 39) & 511], e3, e2;
	u32 i;

	if ((e4 & (PG_V | PG_RW)) != (PG_V | PG_RW)) {
		format(why, cap, "PML4[%d]=0x%llx", (int)((va >> 39) & 511), e4);
		return 0;
	}
	e3 = tbl(e4 & PG_FRAME)[(va >> 30) & 511];
	if ((e3 & (PG_V | PG_RW | PG_PS)) != (PG_V | PG_RW)) {
		format(why, cap, "PDPT[%d]=0x%llx", (int)((va >> 30) & 511), e3);
		return 0;
	}
	for (i = 0; i < 512; i++) {
		e2 = tbl(e3 & PG_FRAME)[i];
		if ((e2 & (PG_V | PG_RW | PG_PS)) != (PG_V | PG_RW | PG_PS) ||
		    (e2 & PG_FRAME) != (u64)i << 21) {
			format(why, cap, "va 0x%llx: PDE[%d]=0x%llx", va, (int)i, e2);
			return 0;
		}
	}
	return 1;
}
#endif

/* ---- main ------------------------------------------------------------------------------- */

void probe_main(void)
{
	const struct entry_save *sv = &entry_save;
	const u32 *stk = sv->stack;
	char why[200], tmp[200], kwhy[200];
	struct mdfile *kf;
	u64 modulep, kernend_arg, envp = 0, md_envp = 0, md_kernend = 0, md_modulep = 0;
	u64 ssym = 0, esym = 0, smap = 0, vbe = 0, ksym_value = 0;
	u32 smap_size = 0, vbe_size = 0, s;
	int have_envp = 0, have_kernend = 0, have_modulep = 0, have_efi_map = 0, found = 0;
	int i, nmod, ok;
#ifdef __x86_64__
	u64 cr3 = ((u64)sv->cr3_hi << 32) | sv->cr3_lo;
	u64 rsp = ((u64)sv->esp_hi << 32) | sv->esp;
	u64 kernphys;
	int identity, alias, cs_64, lma, lme;
	char why_id[96] = "", why_alias[96] = "";
#else
	u8 bi[84];                      /* the kernel's copy of struct bootinfo */
	u32 bi_version = 0, bi_size = 0, copy = 0;
	int bi_readable, cs_flat, ds_flat, ss_flat;
#endif

	probe_init();
	print("probe: %s\n", FLAVOUR);

#ifdef __x86_64__
	lme = (sv->efer_lo >> 8) & 1;
	lma = (sv->efer_lo >> 10) & 1;
	cs_64 = sv->cs_ar_valid && (sv->cs_ar & (1u << 21)) && !(sv->cs_ar & (1u << 22));
	print("entry: mode=%s cr0_pg=%d cr4_pae=%d efer_lme=%d if=%d cs_64=%d\n",
	      lma && cs_64 ? "long" : "compat", (sv->cr0 >> 31) & 1, (sv->cr4 >> 5) & 1, lme,
	      (sv->eflags >> 9) & 1, cs_64);
	/* amd64_loadaddr(): CR3 -> PML4 -> PDPT -> PD through the identity map */
	kernphys = amd64_loadaddr(cr3);
	identity = maps_low_1g(cr3, 0, why_id, sizeof why_id);
	alias = maps_low_1g(cr3, KERNBASE, why_alias, sizeof why_alias);
	print("pagetables: kernphys=0x%llx identity=%d alias=%d\n", kernphys, identity, alias);
	print("stack: ret=0x%08x modulep=0x%08x kernend=0x%08x\n", stk[0], stk[1], stk[2]);
	modulep = stk[1];               /* preload_metadata = modulep + KERNBASE */
	kernend_arg = stk[2];           /* physfree */
#else
	cs_flat = desc_flat(sv->cs_desc, sv->desc_valid & 1);
	ds_flat = desc_flat(sv->ds_desc, sv->desc_valid & 2);
	ss_flat = desc_flat(sv->ss_desc, sv->desc_valid & 4);
	print("entry: mode=%s eax=0x%08x cr0_pe=%d cr0_pg=%d if=%d cs_flat=%d ds_flat=%d\n",
	      (sv->cr0 & 1) ? "prot32" : "real", sv->eax, sv->cr0 & 1, (sv->cr0 >> 31) & 1,
	      (sv->eflags >> 9) & 1, cs_flat, ds_flat);
	print("stack: ret=0x%08x howto=0x%08x bootdev=0x%08x arg3=0x%x arg4=0x%x arg5=0x%x "
	      "bootinfo=0x%08x modulep=0x%08x kernend=0x%08x\n",
	      stk[0], stk[1], stk[2], stk[3], stk[4], stk[5], stk[6], stk[7], stk[8]);
	/* recover_bootinfo: copy bi_size (RB_BOOTINFO) or BI_ENDCOMMON (12) bytes, at most 84 */
	memset(bi, 0, sizeof bi);
	bi_readable = phys_ok(stk[6], 84);
	if (bi_readable) {
		bi_version = rd32(phys(stk[6]));
		bi_size = rd32(phys(stk[6]) + 48);
		copy = (stk[1] & RB_BOOTINFO) ? bi_size : 12;
		if (copy > 84)
			copy = 84;
		memcpy(bi, phys(stk[6]), copy);
	}
	print("bootinfo: version=%d size=%d kernelname=", (int)bi_version, (int)bi_size);
	if (rd32(bi + 4) && phys_ok(rd32(bi + 4), 1))
		print_str(phys(rd32(bi + 4)), STR_MAX, 1);
	else
		print("\"\"");
	print(" memsizes_valid=%d bios_dev=0x%x basemem=%d extmem=%d symtab=0x%x esymtab=0x%x "
	      "kernend=0x%x envp=0x%x modulep=0x%x\n",
	      bi[52], bi[53], (int)rd32(bi + 56), (int)rd32(bi + 60), rd32(bi + 64),
	      rd32(bi + 68), rd32(bi + 72), rd32(bi + 76), rd32(bi + 80));
	modulep = rd32(bi + 80);        /* init386: preload_metadata = bi_modulep (+PMAP_MAP_LOW) */
	kernend_arg = rd32(bi + 72);    /* pmap_cold: physfree = bi_kernend */
#endif

	/* the metadata */
	md_walk(modulep);
	print_files();
	kf = kernel_file();

	{
		u64 pa;
		if ((pa = md_info(kf, MODINFO_METADATA | MODINFOMD_HOWTO, &s))) {
			need_size(MODINFO_METADATA | MODINFOMD_HOWTO, s, 4);
			print("md.howto: 0x%08x\n", rd32(phys(pa)));
		}
		have_envp = word_record(kf, MODINFOMD_ENVP, "envp", &md_envp);
		have_kernend = word_record(kf, MODINFOMD_KERNEND, "kernend", &md_kernend);
		have_modulep = word_record(kf, MODINFOMD_MODULEP, "modulep", &md_modulep);
		word_record(kf, MODINFOMD_SSYM, "ssym", &ssym);
		word_record(kf, MODINFOMD_ESYM, "esym", &esym);
		smap = md_info(kf, MODINFO_METADATA | MODINFOMD_SMAP, &smap_size);
		if (smap) {
			u32 n = smap_size / 20;
			print("md.smap: num=%d\n", (int)n);
			for (s = 0; s < n; s++) {
				const u8 *e = phys(smap + s * 20);
				print("md.smap[%d]: base=0x%llx length=0x%llx type=%d\n", (int)s,
				      rd64(e), rd64(e + 8), (int)rd32(e + 16));
			}
			if (smap_size % 20)
				md_insane("SMAP size %llu not a multiple of 20", smap_size, 0);
		}
		have_efi_map = md_info(kf, MODINFO_METADATA | MODINFOMD_EFI_MAP, 0) != 0;
		vbe = md_info(kf, MODINFO_METADATA | MODINFOMD_VBE_FB, &vbe_size);
		if (vbe && vbe_size < 48) {
			md_insane("VBE_FB size %llu < 48", vbe_size, 0);
			vbe = 0;
		}
		if (vbe) {
			const u8 *v = phys(vbe);
			print("md.vbe_fb: addr=0x%llx size=0x%llx width=%d height=%d stride=%d bpp=%d "
			      "masks=0x%x,0x%x,0x%x\n", rd64(v), rd64(v + 8), (int)rd32(v + 20),
			      (int)rd32(v + 16), (int)rd32(v + 24), (int)rd32(v + 44), rd32(v + 28),
			      rd32(v + 32), rd32(v + 36));
		}
	}

	/* every file but the kernel: CRC-32 of its bytes at ADDR */
	for (i = 0, nmod = 0; i < nfiles; i++) {
		const struct mdfile *f = &files[i];
		if (f == kf)
			continue;
		print("module[%d]: name=", nmod++);
		print_md_str(f->name, f->name_len);
		print(" type=");
		print_md_str(f->type, f->type_len);
		print(" size=%lu crc32=", (ulong)f->size);
		if (f->has_addr && f->has_size && phys_ok(f->addr, f->size))
			print("0x%08x\n", crc32_zlib(phys(f->addr), (ulong)f->size));
		else
			print("unreadable\n");
	}
	ko_report();

	/* the static environment: amd64 MODINFOMD_ENVP + KERNBASE; i386 bi_envp */
#ifdef __x86_64__
	envp = md_envp;
#else
	envp = rd32(bi + 76);
#endif
	walk_env(envp);

	/* symbols */
	kwhy[0] = 0;
	if (ssym || esym) {
		found = ksyms_lookup(ssym, esym, "probe_marker", &ksym_value, kwhy, sizeof kwhy);
		print("ksyms: symbol=probe_marker value=0x%llx expected=0x%llx\n", ksym_value,
		      (u64)(ulong)&probe_marker);
		if (found && ksym_value != (u64)(ulong)&probe_marker) {
			format(kwhy, sizeof kwhy, "value 0x%llx != &probe_marker 0x%llx", ksym_value,
			       (u64)(ulong)&probe_marker);
			found = 0;
		}
	} else {
		format(kwhy, sizeof kwhy, "no MODINFOMD_SSYM/ESYM for the kernel");
	}

	/* ---- the checks, in a fixed order ---- */
#ifdef __x86_64__
	format(tmp, sizeof tmp, "efer=0x%x cr0=0x%x cr4=0x%x cs=0x%x lar=0x%x", sv->efer_lo,
	       sv->cr0, sv->cr4, sv->cs, sv->cs_ar);
	check("long_mode", lme && lma && (sv->cr0 >> 31) && (sv->cr4 & 0x20) && cs_64, tmp);
	format(tmp, sizeof tmp, "rflags=0x%x", sv->eflags);
	check("interrupts_off", !(sv->eflags & 0x200), tmp);
	format(tmp, sizeof tmp, "cr3=0x%llx kernstart PDE=0x%llx", cr3, kernstart_pde);
	check("kernphys_2m", (kernstart_pde & (PG_V | PG_PS)) == (PG_V | PG_PS) &&
	      kernphys == KERNLOAD, tmp);
	check("identity_map", identity, why_id);
	check("kernbase_alias", alias, why_alias);
	format(tmp, sizeof tmp, "rsp=0x%llx", rsp);
	check("stack_low", rsp >= 8 && rsp + 12 <= PHYS_LIMIT, tmp);
#else
	check("protected_mode", sv->cr0 & 1, "CR0.PE=0");
	format(tmp, sizeof tmp, "cr0=0x%08x", sv->cr0);
	check("paging_off_at_entry", !(sv->cr0 & 0x80000000u), tmp);
	format(tmp, sizeof tmp, "eflags=0x%08x", sv->eflags);
	check("interrupts_off", !(sv->eflags & 0x200), tmp);
	format(tmp, sizeof tmp, "cs=0x%x/%d ds=0x%x/%d ss=0x%x/%d", sv->cs, cs_flat,
	       sv->ds, ds_flat, sv->ss, ss_flat);
	check("flat_segments", cs_flat && ds_flat && ss_flat, tmp);
	check("ret_nonzero", stk[0] != 0, "return address 0: old disk boot path");
	format(tmp, sizeof tmp, "howto=0x%08x", stk[1]);
	check("rb_bootinfo_set", stk[1] & RB_BOOTINFO, tmp);
	format(tmp, sizeof tmp, "arg5=0x%x: old diskless path, kernel halts", stk[5]);
	check("arg5_zero", stk[5] == 0, tmp);
	format(tmp, sizeof tmp, "bootinfo=0x%x version=%d: kernel returns to the loader",
	       stk[6], (int)bi_version);
	check("bi_version_1", bi_readable && bi_version == 1, tmp);
	format(tmp, sizeof tmp, "bi_size=%d", (int)bi_size);
	check("bi_size_84", bi_size == 84, tmp);
	format(tmp, sizeof tmp, "memsizes_valid=%d basemem=%d extmem=%d", bi[52],
	       (int)rd32(bi + 56), (int)rd32(bi + 60));
	check("memsizes_valid", bi[52] == 1 && rd32(bi + 56) && rd32(bi + 60), tmp);
#endif
	check_image();

	check("kernel_file_found", kf != 0,
	      "no file of type \"elf kernel\" or \"" KERNEL_TYPE2 "\"");
	if (!md_found_end)
		md_insane("no MODINFO_END", 0, 0);
	for (i = 0; i < nfiles && !why_md[0]; i++)
		if (!files[i].type || !files[i].has_addr || !files[i].has_size)
			md_insane("file[%llu] lacks TYPE, ADDR or SIZE", (u64)i, 0);
	check("metadata_sane", !why_md[0], why_md);
	check("md_strings_terminated", !why_str[0], why_str);

	format(tmp, sizeof tmp, "%s", have_efi_map ? "" :
	       "No BIOS smap or EFI map info from loader!");
	check("smap_present", smap || have_efi_map, tmp);
	{
		ok = 1;
		tmp[0] = 0;
		if (smap)
			for (s = 1; s < smap_size / 20 && ok; s++) {
				const u8 *a = phys(smap + (s - 1) * 20), *b = phys(smap + s * 20);
				if (rd64(b) < rd64(a) + rd64(a + 8)) {
					ok = 0;
					format(tmp, sizeof tmp,
					       "entry %d base=0x%llx below end 0x%llx of entry %d",
					       (int)s, rd64(b), rd64(a) + rd64(a + 8), (int)s - 1);
				}
			}
		check("smap_sorted", ok, tmp);
	}
	{
		/* getmemsize (older amd64 kernels, d127f153): "BIOS smap did not include a basemem
		 * segment!" unless a RAM entry starts at 0 */
		ok = 0;
		for (s = 0; smap && s < smap_size / 20 && !ok; s++) {
			const u8 *e = phys(smap + s * 20);
			ok = rd64(e) == 0 && rd32(e + 16) == 1;
		}
		check("smap_basemem", ok, "no RAM entry at address 0");
	}

	/* envp */
	if (!envp)
		format(tmp, sizeof tmp, "%s", have_envp ? "envp 0" : "no environment pointer");
	else if (!env_end)
		format(tmp, sizeof tmp, "%s", why_env);
#ifndef __x86_64__
	else if (have_envp && md_envp != envp)
		format(tmp, sizeof tmp, "bi_envp=0x%llx md.envp=0x%llx", envp, md_envp);
#endif
	else
		tmp[0] = 0;
	check("envp_present", !tmp[0], tmp);

	/* kernend: amd64 stack vs MODINFOMD_KERNEND; i386 bi_kernend vs md and the stack */
#ifdef __x86_64__
	format(tmp, sizeof tmp, "stack kernend=0x%llx md.kernend=0x%llx%s", kernend_arg,
	       md_kernend, have_kernend ? "" : " (absent)");
	check("kernend_matches", have_kernend && md_kernend == kernend_arg, tmp);
	format(tmp, sizeof tmp, "stack modulep=0x%llx md.modulep=0x%llx", modulep, md_modulep);
	check("modulep_matches", !have_modulep || md_modulep == modulep, tmp);
#else
	format(tmp, sizeof tmp, "bi_kernend=0x%llx md.kernend=0x%llx%s stack kernend=0x%x",
	       kernend_arg, md_kernend, have_kernend ? "" : " (absent)", stk[8]);
	check("kernend_matches", have_kernend && md_kernend == kernend_arg &&
	      stk[8] == kernend_arg, tmp);
	format(tmp, sizeof tmp, "bi_modulep=0x%llx stack modulep=0x%x md.modulep=0x%llx%s",
	       modulep, stk[7], md_modulep, have_modulep ? "" : " (absent)");
	check("modulep_matches", modulep && stk[7] == modulep &&
	      (!have_modulep || md_modulep == modulep), tmp);
	format(tmp, sizeof tmp, "bi_symtab=0x%x bi_esymtab=0x%x md.ssym=0x%llx md.esym=0x%llx",
	       rd32(bi + 64), rd32(bi + 68), ssym, esym);
	check("symtab_matches", rd32(bi + 64) == ssym && rd32(bi + 68) == esym, tmp);
#endif

	/* everything the kernel keeps lies in [kernphys, kernend) */
	{
		struct range r[MAX_FILES + 3];
		int n = 0;

		why[0] = 0;
		tmp[0] = 0;
		for (i = 0; i < nfiles; i++) {
			format(tmp, sizeof tmp, "file[%d]", i);
			within(why, sizeof why, tmp, files[i].addr, files[i].addr + files[i].size,
			       kernend_arg);
			if (&files[i] != kf) {
				r[n].lo = files[i].addr;
				r[n].hi = files[i].addr + files[i].size;
				r[n++].what = "module";
			}
		}
		within(why, sizeof why, "metadata", md_start, md_end, kernend_arg);
		r[n].lo = md_start;
		r[n].hi = md_end;
		r[n++].what = "metadata";
		if (envp) {
			within(why, sizeof why, "env", envp, env_end ? env_end : envp + 1,
			       kernend_arg);
			r[n].lo = envp;
			r[n].hi = env_end ? env_end : envp + 1;
			r[n++].what = "env";
		}
		if (ssym || esym)
			within(why, sizeof why, "symbols", ssym, esym, kernend_arg);
		/* the kernel image and its symbols */
		r[n].lo = KERNLOAD;
		r[n].hi = (u64)((ulong)_end - KERNBASE);
		if (esym > r[n].hi)
			r[n].hi = esym;
		r[n++].what = "kernel+symbols";
		check("everything_below_kernend", !why[0], why);
		why[0] = 0;
		no_overlap(r, n, why, sizeof why);
		check("no_overlap", !why[0], why);
	}
#ifdef __x86_64__
	/* hammer_time: physfree = kernend + kernphys, then reached as KERNSTART + physfree -
	 * kernphys through the loader's 1 GiB alias */
	format(tmp, sizeof tmp, "kernend=0x%llx + kernphys=0x%llx >= 1 GiB", kernend_arg, kernphys);
	check("below_1g", kernend_arg + kernphys < PHYS_LIMIT, tmp);
#endif
	{
		why[0] = 0;
		for (i = 0; i < nfiles && !why[0]; i++)
			if (&files[i] != kf && (files[i].addr & (PAGE - 1)))
				format(why, sizeof why, "file[%d] addr=0x%llx", i, files[i].addr);
		check("modules_page_aligned", !why[0], why);
	}
	format(tmp, sizeof tmp, "modulep=0x%llx not %d-aligned", modulep, (int)WORD);
	check("metadata_aligned", modulep && !(modulep & (WORD - 1)), tmp);

	check("ksyms_lookup", found, kwhy);

	/* loaded kernel modules (only when there is one) */
	if (nko) {
		check("ko_sections_inside", !why_ko_inside[0], why_ko_inside);
		check("ko_sections_disjoint", !why_ko_disjoint[0], why_ko_disjoint);
		check("ko_symbol_found", !why_ko_symbol[0], why_ko_symbol);
		check("ko_shdr_size", !why_ko_shdr[0], why_ko_shdr);
	}

	finish();
}
