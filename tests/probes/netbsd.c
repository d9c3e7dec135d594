/*
 * netbsd.c — the report half of the NetBSD probe kernels, compiled twice (-m32 for
 * netbsd-i386.elf, -m64 for netbsd-amd64.elf).  Called from netbsd-i386.asm / netbsd-amd64.asm
 * (probe_main) once the entry state is saved and paging maps the link VA.  Shared code
 * (output, exceptions, checks, CRC-32, data/BSS facts) is in lib.c.
 *
 * It echoes what a NetBSD kernel's early code reads (locore `start`, i386 native_loader,
 * amd64 init_x86_64, consinit, ksyms_addsyms_elf, module_init_md) in the line format of
 * tests/REPORT.md, runs the checks a real kernel's code implies, and exits QEMU through
 * isa-debug-exit (0x10 PASS, 0x11 FAIL).
 */
#include "lib.h"

#ifdef __x86_64__
#define FLAVOUR         "netbsd-amd64"
#define KERNBASE        0xffffffff80000000UL
#define PHYS_LIMIT      0x100000000ULL  /* identity map covers all of 0..4 GiB */
#define MOD_WINDOW      0x2200000u      /* stay well inside the bootstrap VA window (SPEC A.4) */
#else
#define FLAVOUR         "netbsd-i386"
#define KERNBASE        0xc0000000UL
#define PHYS_LIMIT      0xc0000000ULL   /* identity map covers 0..3 GiB only */
#define MOD_WINDOW      0x4000000u
#endif

#define BOOTINFO_MAX    8192
#define BOOTINFO_MAXCNT 32

/* Physical range [pa, pa+len) readable through our identity map? */
static int phys_ok(u64 pa, u64 len)
{
	return pa + len >= pa && pa + len <= PHYS_LIMIT;
}

static const u8 *phys(u32 pa)
{
	return (const u8 *)(ulong)pa;
}

/* ---- ksyms: the walk ksyms_addsyms_elf does -------------------------------------------- */

/* Returns 1 and *value if `name` is found; else 0 with the reason in why. */
static int ksyms_lookup(u32 ssym, u32 esym, const char *name, ulong *value,
			char *why, ulong whycap)
{
	const struct elf_ehdr *eh;
	const struct elf_shdr *sh, *symsh = 0, *strsh = 0;
	const u8 *strtab;
	u32 i, nsyms;

	if (esym <= ssym || !phys_ok(ssym, (u64)esym - ssym)) {
		format(why, whycap, "bad range ssym=0x%x esym=0x%x", ssym, esym);
		return 0;
	}
	if (ssym & (sizeof(long) - 1)) {
		format(why, whycap, "ssym=0x%x not aligned to %d", ssym, (int)sizeof(long));
		return 0;
	}
	if ((u64)esym - ssym < sizeof *eh) {
		format(why, whycap, "image smaller than an ELF header");
		return 0;
	}
	eh = (const struct elf_ehdr *)phys(ssym);
	if (eh->ident[0] != 0x7f || eh->ident[1] != 'E' || eh->ident[2] != 'L' ||
	    eh->ident[3] != 'F') {
		format(why, whycap, "no ELF magic at ssym");
		return 0;
	}
	if (eh->ident[4] != ELFCLASS_SELF) {
		format(why, whycap, "EI_CLASS=%d, kernel is %d", eh->ident[4], ELFCLASS_SELF);
		return 0;
	}
	if (eh->version > 1) {
		format(why, whycap, "e_version=%u", eh->version);
		return 0;
	}
	if (eh->shentsize != sizeof *sh || eh->shoff == 0 ||
	    (u64)eh->shoff + (u64)eh->shnum * sizeof *sh > (u64)esym - ssym) {
		format(why, whycap, "section headers outside [ssym, esym) shoff=0x%lx shnum=%d",
		       (ulong)eh->shoff, eh->shnum);
		return 0;
	}
	sh = (const struct elf_shdr *)phys(ssym + (u32)eh->shoff);
	for (i = 1; i < eh->shnum; i++) {
		if (sh[i].type != SHT_SYMTAB || sh[i].offset == 0)
			continue;
		if (sh[i].link >= eh->shnum) {
			format(why, whycap, "symtab sh_link=%u out of range", sh[i].link);
			return 0;
		}
		if (sh[sh[i].link].offset == 0) {
			format(why, whycap, "strtab (section %u) has sh_offset 0", sh[i].link);
			return 0;
		}
		symsh = &sh[i];
		strsh = &sh[sh[i].link];
		break;
	}
	if (!symsh) {
		format(why, whycap, "no SHT_SYMTAB with sh_offset != 0 among %d sections",
		       eh->shnum);
		return 0;
	}
	if ((u64)symsh->offset + symsh->size > (u64)esym - ssym ||
	    (u64)strsh->offset + strsh->size > (u64)esym - ssym) {
		format(why, whycap, "symtab/strtab beyond esym");
		return 0;
	}
	strtab = phys(ssym + (u32)strsh->offset);
	nsyms = (u32)symsh->size / sizeof(struct elf_sym);
	for (i = 0; i < nsyms; i++) {
		const struct elf_sym *st =
			(const struct elf_sym *)phys(ssym + (u32)symsh->offset) + i;
		if (strtab_eq(strtab, (ulong)strsh->size, st->name, name)) {
			*value = (ulong)st->value;
			return 1;
		}
	}
	format(why, whycap, "%s not among %u symbols", name, nsyms);
	return 0;
}

/* ---- bootinfo walk --------------------------------------------------------------------- */

enum {
	BTINFO_BOOTPATH = 0, BTINFO_ROOTDEVICE = 1, BTINFO_BOOTDISK = 3, BTINFO_NETIF = 4,
	BTINFO_CONSOLE = 6, BTINFO_BIOSGEOM = 7, BTINFO_SYMTAB = 8, BTINFO_MEMMAP = 9,
	BTINFO_BOOTWEDGE = 10, BTINFO_MODULELIST = 11, BTINFO_FRAMEBUFFER = 12,
	BTINFO_USERCONFCOMMANDS = 13, BTINFO_EFI = 14, BTINFO_EFIMEMMAP = 15,
	BTINFO_PREKERN = 16, BTINFO_NTYPES = 17
};

/* the first record of each type, as lookup_bootinfo() returns it */
static const u8 *first_rec[BTINFO_NTYPES];
static u32 first_len[BTINFO_NTYPES];
static char sane_why[160];

static void insane(const char *fmt, u32 a, u32 b)
{
	if (!sane_why[0])
		format(sane_why, sizeof sane_why, fmt, a, b);
}

/* Minimal length a record must have for the fields we (and the kernel) read. */
static u32 min_len(u32 type)
{
	switch (type) {
	case BTINFO_BOOTPATH: return 88;
	case BTINFO_ROOTDEVICE: return 24;
	case BTINFO_BOOTDISK: return 40;
	case BTINFO_CONSOLE: return 32;
	case BTINFO_BIOSGEOM: return 12;
	case BTINFO_SYMTAB: return 20;
	case BTINFO_MEMMAP: return 12;
	case BTINFO_MODULELIST: return 16;
	case BTINFO_FRAMEBUFFER: return 56;
	case BTINFO_USERCONFCOMMANDS: return 12;
	default: return 8;
	}
}

/* Clip a record's `num` to what its len can hold (entries of esize bytes after hdr). */
static u32 clip_num(const u8 *r, u32 len, u32 hdr, u32 esize, u32 type)
{
	u32 num = rd32(r + 8);
	u32 fit = len >= hdr ? (len - hdr) / esize : 0;

	if (num > fit) {
		insane("record type %d: num does not fit in len %d", type, len);
		return fit;
	}
	return num;
}

static void print_record(const u8 *r, u32 type, u32 len)
{
	u32 i, num;

	if (len < min_len(type)) {
		insane("record type %d too short: len=%d", type, len);
		print("bi.unknown: type=%d len=%d\n", type, len);
		return;
	}
	switch (type) {
	case BTINFO_BOOTPATH:
		print("bi.bootpath: ");
		print_field(r + 8, 80);
		print("\n");
		break;
	case BTINFO_ROOTDEVICE:
		print("bi.rootdevice: ");
		print_field(r + 8, 16);
		print("\n");
		break;
	case BTINFO_BOOTDISK:
		print("bi.bootdisk: labelsector=%d biosdev=0x%x partition=%d\n",
		      (int)rd32(r + 8), rd32(r + 32), (int)rd32(r + 36));
		break;
	case BTINFO_CONSOLE:
		print("bi.console: devname=");
		print_field(r + 8, 16);
		print(" addr=0x%x speed=%d\n", rd32(r + 24), (int)rd32(r + 28));
		break;
	case BTINFO_BIOSGEOM:
		num = clip_num(r, len, 12, 112, type);
		print("bi.biosgeom: num=%d\n", (int)rd32(r + 8));
		for (i = 0; i < num; i++) {
			const u8 *e = r + 12 + i * 112;
			print("bi.biosgeom[%d]: dev=0x%x cyl=%d head=%d sec=%d\n", (int)i,
			      rd32(e + 24), (int)rd32(e + 8), (int)rd32(e + 4), (int)rd32(e + 0));
		}
		break;
	case BTINFO_SYMTAB:
		print("bi.symtab: nsym=%d ssym=0x%x esym=0x%x\n",
		      (int)rd32(r + 8), rd32(r + 12), rd32(r + 16));
		break;
	case BTINFO_MEMMAP:
		num = clip_num(r, len, 12, 20, type);
		print("bi.memmap: num=%d\n", (int)rd32(r + 8));
		for (i = 0; i < num; i++) {
			const u8 *e = r + 12 + i * 20;
			print("bi.memmap[%d]: addr=0x%llx size=0x%llx type=%d\n", (int)i,
			      rd64(e), rd64(e + 8), (int)rd32(e + 16));
		}
		break;
	case BTINFO_MODULELIST:
		num = clip_num(r, len, 16, 92, type);
		print("bi.modulelist: num=%d endpa=0x%x\n", (int)rd32(r + 8), rd32(r + 12));
		for (i = 0; i < num; i++) {
			const u8 *e = r + 16 + i * 92;
			u32 mlen = rd32(e + 84), base = rd32(e + 88);
			print("bi.module[%d]: path=", (int)i);
			print_field(e, 80);
			print(" type=%d len=%d base=0x%x crc32=",
			      (int)rd32(e + 80), (int)mlen, base);
			if (phys_ok(base, mlen))
				print("0x%08x\n", crc32_zlib(phys(base), mlen));
			else
				print("unreadable\n");
		}
		break;
	case BTINFO_FRAMEBUFFER:
		print("bi.framebuffer: physaddr=0x%llx width=%d height=%d stride=%d depth=%d "
		      "rgb=%d,%d,%d/%d,%d,%d vbemode=0x%x\n",
		      rd64(r + 8), (int)rd32(r + 20), (int)rd32(r + 24), (int)rd16(r + 28),
		      r[30], r[31], r[32], r[33], r[34], r[35], r[36], rd16(r + 38));
		break;
	case BTINFO_USERCONFCOMMANDS:
		num = clip_num(r, len, 12, 80, type);
		print("bi.userconf: num=%d\n", (int)rd32(r + 8));
		for (i = 0; i < num; i++) {
			print("bi.userconf[%d]: ", (int)i);
			print_field(r + 12 + i * 80, 80);
			print("\n");
		}
		break;
	default:
		print("bi.unknown: type=%d len=%d\n", type, len);
	}
}

static void walk_bootinfo(u32 bi)
{
	u32 count, i, bytes = 0, n;

	if (bi == 0) {
		print("bootinfo: count=0 bytes=0\n");
		insane("bootinfo pointer is 0", 0, 0);
		return;
	}
	if (!phys_ok(bi, 4)) {
		print("bootinfo: count=0 bytes=0\n");
		insane("bootinfo pointer 0x%x not mapped", bi, 0);
		return;
	}
	count = rd32(phys(bi));
	n = count > 64 ? 64 : count;            /* never walk an absurd count */
	if (count > BOOTINFO_MAXCNT)
		insane("count=%d > %d", count, BOOTINFO_MAXCNT);
	if (!phys_ok(bi, 4 + (u64)n * 4)) {
		insane("pointer array at 0x%x not mapped", bi, 0);
		n = 0;
	}
	for (i = 0; i < n; i++) {
		u32 pa = rd32(phys(bi + 4 + i * 4));
		if (phys_ok(pa, 8))
			bytes += rd32(phys(pa));
	}
	print("bootinfo: count=%d bytes=%d\n", (int)count, (int)bytes);
	if (bytes > BOOTINFO_MAX)
		insane("records total %d bytes > %d", bytes, BOOTINFO_MAX);

	for (i = 0; i < n; i++) {
		u32 pa = rd32(phys(bi + 4 + i * 4));
		const u8 *r;
		u32 len, type;

		if (!phys_ok(pa, 8)) {
			print("bi[%d]: type=-1 len=0\n", (int)i);
			insane("record pointer 0x%x (bi[%d]) not mapped", pa, i);
			continue;
		}
		r = phys(pa);
		len = rd32(r);
		type = rd32(r + 4);
		print("bi[%d]: type=%d len=%d\n", (int)i, (int)type, (int)len);
		if (len < 8) {
			insane("bi[%d] len=%d < 8", i, len);
			continue;
		}
		if (!phys_ok(pa, len)) {
			insane("record at 0x%x len=%d not mapped", pa, len);
			continue;
		}
		print_record(r, type, len);
		if (type < BTINFO_NTYPES && !first_rec[type] && len >= min_len(type)) {
			first_rec[type] = r;
			first_len[type] = len;
		}
	}
}

/* ---- main ------------------------------------------------------------------------------ */

void probe_main(void)
{
	const struct entry_save *sv = &entry_save;
	const u32 *stk = sv->stack;
	u32 kend_pa = (u32)((ulong)_end - KERNBASE);
	char why[160], tmp[160];
	int ok, cs_flat, ds_flat, ss_flat;
	u32 i;
	u32 sym_end = 0;

	probe_init();

	print("probe: %s\n", FLAVOUR);
	print("entry: eax=0x%08x cr0_pe=%d cr0_pg=%d cr4_pae=%d efer_lme=%d if=%d df=%d\n",
	      sv->eax, sv->cr0 & 1, (sv->cr0 >> 31) & 1, (sv->cr4 >> 5) & 1,
	      sv->efer_valid ? (sv->efer_lo >> 8) & 1 : 0,
	      (sv->eflags >> 9) & 1, (sv->eflags >> 10) & 1);
	cs_flat = desc_flat(sv->cs_desc, sv->desc_valid & 1);
	ds_flat = desc_flat(sv->ds_desc, sv->desc_valid & 2);
	ss_flat = desc_flat(sv->ss_desc, sv->desc_valid & 4);
	print("entry: cs_flat=%d ds_flat=%d ss_flat=%d\n", cs_flat, ds_flat, ss_flat);
	print("stack: ret=0x%08x howto=0x%08x bootdev=0x%08x bootinfo=0x%08x esym=0x%08x "
	      "extmem=%d basemem=%d\n",
	      stk[0], stk[1], stk[2], stk[3], stk[4], (int)stk[5], (int)stk[6]);

	walk_bootinfo(stk[3]);

	/* ksyms, as init386_ksyms / init_x86_64 -> ksyms_addsyms_elf */
	{
		const u8 *st = first_rec[BTINFO_SYMTAB];
		ulong value = 0;
		int found = 0;

		why[0] = 0;
		if (st) {
			u32 nsym = rd32(st + 8), ssym = rd32(st + 12), esym = rd32(st + 16);
			sym_end = esym;
			if ((int)nsym <= 0)
				format(why, sizeof why, "nsym=%d", (int)nsym);
			else
				found = ksyms_lookup(ssym, esym, "probe_marker", &value, why,
						     sizeof why);
			print("ksyms: symbol=probe_marker value=0x%lx expected=0x%lx\n",
			      value, (ulong)&probe_marker);
			if (found && value != (ulong)&probe_marker) {
				format(why, sizeof why, "value 0x%lx != &probe_marker 0x%lx",
				       value, (ulong)&probe_marker);
				found = 0;
			}
		} else {
			format(why, sizeof why, "no BTINFO_SYMTAB record");
		}
		sym_end = st ? sym_end : stk[4];

		/* ---- the checks, in a fixed order ---- */
		format(tmp, sizeof tmp, "eax=0x%08x", sv->eax);
		check("eax_not_multiboot", sv->eax != MB1_MAGIC && sv->eax != MB2_MAGIC, tmp);
		check("protected_mode", sv->cr0 & 1, "CR0.PE=0");
		format(tmp, sizeof tmp, "cr0=0x%08x", sv->cr0);
		check("paging_off_at_entry", !(sv->cr0 & 0x80000000u), tmp);
		format(tmp, sizeof tmp, "eflags=0x%08x", sv->eflags);
		check("interrupts_off", !(sv->eflags & 0x200), tmp);
		format(tmp, sizeof tmp, "cs=0x%x/%d ds=0x%x/%d ss=0x%x/%d", sv->cs, cs_flat,
		       sv->ds, ds_flat, sv->ss, ss_flat);
		check("flat_segments", cs_flat && ds_flat && ss_flat, tmp);

		check_image();
		check("bootinfo_sane", !sane_why[0], sane_why);

		{
			const u8 *c = first_rec[BTINFO_CONSOLE];
			ok = 1;
			if (c) {
				const char *valid[3] = { "pc", "com", "nullcons" };
				int k, m = 0;
				for (k = 0; k < 3 && !m; k++) {
					int j = 0;
					while (j < 16 && valid[k][j] && c[8 + j] == (u8)valid[k][j])
						j++;
					m = !valid[k][j] && j < 16 && c[8 + j] == 0;
				}
				ok = m;
			}
			check("console_valid", ok, "devname is not pc, com or nullcons");
		}

		check("symtab_present", st != 0, "no BTINFO_SYMTAB record");

		if (!st)
			format(tmp, sizeof tmp, "no BTINFO_SYMTAB record");
		else if (stk[4] != rd32(st + 16))
			format(tmp, sizeof tmp, "stack esym=0x%x, symtab esym=0x%x", stk[4],
			       rd32(st + 16));
		else
			format(tmp, sizeof tmp, "esym=0x%x below kernel end 0x%x", stk[4], kend_pa);
		check("esym_matches", st && stk[4] == rd32(st + 16) && stk[4] >= kend_pa,
		      tmp);

		check("ksyms_lookup", found, why);
	}

	/* memory map: sorted by address, no overlap */
	{
		const u8 *m = first_rec[BTINFO_MEMMAP];
		ok = 1;
		why[0] = 0;
		if (m) {
			u32 num = clip_num(m, first_len[BTINFO_MEMMAP], 12, 20, BTINFO_MEMMAP);
			for (i = 1; i < num && ok; i++) {
				u64 pa = rd64(m + 12 + (i - 1) * 20), ps = rd64(m + 12 + (i - 1) * 20 + 8);
				u64 a = rd64(m + 12 + i * 20);
				if (a < pa + ps) {
					ok = 0;
					format(why, sizeof why,
					       "entry %d addr=0x%llx below end 0x%llx of entry %d",
					       (int)i, a, pa + ps, (int)(i - 1));
				}
			}
		}
		check("memmap_sorted", ok, why);
	}

	/* modules: page-aligned, after the symbols, inside endpa; endpa inside the window */
	{
		const u8 *ml = first_rec[BTINFO_MODULELIST];
		u32 endpa = 0;
		ok = 1;
		why[0] = 0;
		if (ml) {
			u32 num = clip_num(ml, first_len[BTINFO_MODULELIST], 16, 92,
					   BTINFO_MODULELIST);
			endpa = rd32(ml + 12);
			for (i = 0; i < num && ok; i++) {
				const u8 *e = ml + 16 + i * 92;
				u32 len = rd32(e + 84), base = rd32(e + 88);
				if (base & 0xfff)
					format(why, sizeof why, "module %d base=0x%x not page-aligned",
					       (int)i, base);
				else if (base < sym_end || base < kend_pa)
					format(why, sizeof why, "module %d base=0x%x below esym 0x%x",
					       (int)i, base, sym_end > kend_pa ? sym_end : kend_pa);
				else if ((u64)base + len > endpa)
					format(why, sizeof why, "module %d end 0x%llx > endpa 0x%x",
					       (int)i, (u64)base + len, endpa);
				ok = !why[0];
			}
		}
		check("modules_aligned", ok, why);
		format(why, sizeof why, "endpa=0x%x >= 0x%x", endpa, MOD_WINDOW);
		check("modules_in_window", !ml || endpa < MOD_WINDOW, why);
	}

	finish();
}
