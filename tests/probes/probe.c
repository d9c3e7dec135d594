/*
 * probe.c — the report half of the NetBSD probe kernels, compiled twice (-m32 for
 * netbsd-i386.elf, -m64 for netbsd-amd64.elf).  Called from entry-i386.asm / entry-amd64.asm
 * (probe_main, probe_exception) once the entry state is saved and paging maps the link VA.
 *
 * It echoes what a NetBSD kernel's early code reads (locore `start`, i386 native_loader,
 * amd64 init_x86_64, consinit, ksyms_addsyms_elf, module_init_md) in the line format of
 * tests/REPORT.md, runs the checks a real kernel's code implies, and exits QEMU through
 * isa-debug-exit (0x10 PASS, 0x11 FAIL).
 */

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef unsigned long ulong;            /* pointer-sized on both i386 and amd64 */
typedef __builtin_va_list va_list;
#define va_start(ap, last) __builtin_va_start(ap, last)
#define va_arg(ap, t) __builtin_va_arg(ap, t)
#define va_end(ap) __builtin_va_end(ap)

#ifdef __x86_64__
#define FLAVOUR         "netbsd-amd64"
#define KERNBASE        0xffffffff80000000UL
#define ELFCLASS_SELF   2
#define PHYS_LIMIT      0x100000000ULL  /* identity map covers all of 0..4 GiB */
#define MOD_WINDOW      0x2200000u      /* stay well inside the bootstrap VA window (SPEC A.4) */
#define SEL_CODE        0x18
#else
#define FLAVOUR         "netbsd-i386"
#define KERNBASE        0xc0000000UL
#define ELFCLASS_SELF   1
#define PHYS_LIMIT      0xc0000000ULL   /* identity map covers 0..3 GiB only */
#define MOD_WINDOW      0x4000000u
#define SEL_CODE        0x08
#endif

#define MB1_MAGIC       0x2BADB002u
#define MB2_MAGIC       0x36D76289u
#define BOOTINFO_MAX    8192
#define BOOTINFO_MAXCNT 32

/* Filled by SAVE_ENTRY_STATE in probe.inc; keep the layouts equal. */
struct entry_save {
	u32 eax, eflags, cr0, cr4, efer_lo, efer_hi, efer_valid;
	u32 cs, ds, es, ss, fs, gs;
	u32 esp;
	u32 stack[7];           /* ret, howto, bootdev, bootinfo, esym, extmem, basemem */
	u32 gdtr_limit, gdtr_base;
	u32 cs_desc[2], ds_desc[2], ss_desc[2];
	u32 desc_valid;
};
extern struct entry_save entry_save;
extern ulong isr_table[32];
extern char _end[];

/* ---- the facts a loader must deliver intact ------------------------------------------- */

/* Found by the ksyms walk; value must equal its own link address. */
volatile u32 probe_marker = 0x4e425344;

/* Initialised data: proves the data segment was copied. */
#define PAT(i)   ((u32)((u32)(i) * 0x9E3779B1u + 0x5A5A1234u))
#define PAT4(i)  PAT(i), PAT((i) + 1), PAT((i) + 2), PAT((i) + 3)
#define PAT16(i) PAT4(i), PAT4((i) + 4), PAT4((i) + 8), PAT4((i) + 12)
#define PAT64(i) PAT16(i), PAT16((i) + 16), PAT16((i) + 32), PAT16((i) + 48)
#define PATTERN_WORDS 256
u32 probe_pattern[PATTERN_WORDS] = {
	PAT64(0), PAT64(64), PAT64(128), PAT64(192)
};

/* Big BSS: proves BSS was zeroed.  Nothing writes it (stack and page tables live elsewhere). */
#define BSS_WORDS (65536 / 4)
u32 probe_bss[BSS_WORDS];

static u32 crc_table[256];

/* ---- freestanding helpers ------------------------------------------------------------- */

void *memcpy(void *d, const void *s, ulong n)
{
	u8 *dp = d;
	const u8 *sp = s;
	while (n--)
		*dp++ = *sp++;
	return d;
}

void *memset(void *d, int c, ulong n)
{
	u8 *dp = d;
	while (n--)
		*dp++ = (u8)c;
	return d;
}

static inline void outb(u16 port, u8 v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline u8 inb(u16 port)
{
	u8 v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static u16 rd16(const u8 *p) { u16 v; __builtin_memcpy(&v, p, 2); return v; }
static u32 rd32(const u8 *p) { u32 v; __builtin_memcpy(&v, p, 4); return v; }
static u64 rd64(const u8 *p) { u64 v; __builtin_memcpy(&v, p, 8); return v; }

/* Physical range [pa, pa+len) readable through our identity map? */
static int phys_ok(u64 pa, u64 len)
{
	return pa + len >= pa && pa + len <= PHYS_LIMIT;
}

static const u8 *phys(u32 pa)
{
	return (const u8 *)(ulong)pa;
}

/* ---- output: every byte to port 0xE9 and COM1 ----------------------------------------- */

#define COM1 0x3f8

static void serial_init(void)
{
	outb(COM1 + 1, 0x00);           /* no interrupts */
	outb(COM1 + 3, 0x80);           /* DLAB */
	outb(COM1 + 0, 0x01);           /* 115200 */
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03);           /* 8N1 */
	outb(COM1 + 2, 0xc7);           /* FIFO on, cleared */
	outb(COM1 + 4, 0x03);           /* DTR, RTS */
}

static void putch(char c)
{
	int spin;

	outb(0xe9, (u8)c);
	for (spin = 0; spin < 100000 && !(inb(COM1 + 5) & 0x20); spin++)
		;
	outb(COM1, (u8)c);
}

struct sink {
	char *buf;              /* NULL: to the ports */
	ulong len, cap;
};

static void emit(struct sink *s, char c)
{
	if (!s->buf) {
		if (c == '\n')
			putch('\r');    /* COM1 terminals want CRLF; 0xE9 gets it too, tests strip \r */
		putch(c);
		return;
	}
	if (s->len + 1 < s->cap)
		s->buf[s->len++] = c;
	s->buf[s->len] = 0;
}

static void emit_num(struct sink *s, u64 v, unsigned base, int width, char pad, int neg)
{
	char tmp[24];
	int n = 0;

	if (base == 16) {
		do {
			tmp[n++] = "0123456789abcdef"[v & 15];
			v >>= 4;
		} while (v);
	} else {
		/* decimal values are at most pointer-sized: no 64-bit division on i386 */
		ulong d = (ulong)v;
		do {
			tmp[n++] = (char)('0' + d % 10);
			d /= 10;
		} while (d);
	}
	if (neg)
		tmp[n++] = '-';
	while (width-- > n)
		emit(s, pad);
	while (n)
		emit(s, tmp[--n]);
}

/* %d %u %x %lx %llx %lu %s %c %%, with optional '0' flag and width */
static void vformat(struct sink *s, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		int width = 0, lng = 0;
		char pad = ' ';

		if (*fmt != '%') {
			emit(s, *fmt);
			continue;
		}
		fmt++;
		if (*fmt == '0')
			pad = '0';
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l') {
			lng++;
			fmt++;
		}
		switch (*fmt) {
		case 'd': {
			long v = lng ? va_arg(ap, long) : va_arg(ap, int);
			if (v < 0)
				emit_num(s, (ulong)-v, 10, width, pad, 1);
			else
				emit_num(s, (ulong)v, 10, width, pad, 0);
			break;
		}
		case 'u':
		case 'x': {
			u64 v;
			if (lng >= 2)
				v = va_arg(ap, u64);
			else if (lng == 1)
				v = va_arg(ap, ulong);
			else
				v = va_arg(ap, u32);
			emit_num(s, v, *fmt == 'x' ? 16 : 10, width, pad, 0);
			break;
		}
		case 's': {
			const char *str = va_arg(ap, const char *);
			while (*str)
				emit(s, *str++);
			break;
		}
		case 'c':
			emit(s, (char)va_arg(ap, int));
			break;
		case '%':
			emit(s, '%');
			break;
		case 0:
			return;
		default:
			emit(s, '%');
			emit(s, *fmt);
		}
	}
}

static void print(const char *fmt, ...)
{
	struct sink s = { 0, 0, 0 };
	va_list ap;

	va_start(ap, fmt);
	vformat(&s, fmt, ap);
	va_end(ap);
}

static void format(char *buf, ulong cap, const char *fmt, ...)
{
	struct sink s = { buf, 0, cap };
	va_list ap;

	buf[0] = 0;
	va_start(ap, fmt);
	vformat(&s, fmt, ap);
	va_end(ap);
}

/* A fixed-size char field from a record, quoted: stops at NUL or max; bytes outside
 * 0x20..0x7e and the characters " and \ are written as \xNN. */
static void print_field(const u8 *p, int max)
{
	int i;

	print("\"");
	for (i = 0; i < max && p[i]; i++) {
		u8 c = p[i];
		if (c < 0x20 || c > 0x7e || c == '"' || c == '\\')
			print("\\x%02x", c);
		else
			print("%c", c);
	}
	print("\"");
}

static void exit_qemu(int pass) __attribute__((noreturn));
static void exit_qemu(int pass)
{
	outb(0xf4, pass ? 0x10 : 0x11);
	for (;;)
		__asm__ volatile("cli; hlt");
}

/* ---- exceptions ------------------------------------------------------------------------ */

struct idt_gate {
#ifdef __x86_64__
	u16 off0, sel;
	u8 ist, type;
	u16 off1;
	u32 off2, zero;
#else
	u16 off0, sel;
	u8 zero, type;
	u16 off1;
#endif
};
static struct idt_gate idt[32] __attribute__((aligned(16)));

static void idt_init(void)
{
	struct __attribute__((packed)) { u16 limit; ulong base; } idtr;
	int v;

	for (v = 0; v < 32; v++) {
		ulong h = isr_table[v];
		memset(&idt[v], 0, sizeof idt[v]);
		idt[v].off0 = (u16)h;
		idt[v].sel = SEL_CODE;
		idt[v].type = 0x8e;             /* present, DPL 0, interrupt gate */
		idt[v].off1 = (u16)(h >> 16);
#ifdef __x86_64__
		idt[v].off2 = (u32)(h >> 32);
#endif
	}
	idtr.limit = sizeof idt - 1;
	idtr.base = (ulong)idt;
	__asm__ volatile("lidt %0" : : "m"(idtr));
}

void probe_exception(ulong *frame)
{
	static int nested;

	if (nested++)
		exit_qemu(0);
	print("probe: exception vector=%d err=0x%lx eip=0x%lx\n",
	      (int)frame[0], frame[1], frame[2]);
	print("result: FAIL\n");
	exit_qemu(0);
}

/* ---- checks ---------------------------------------------------------------------------- */

static int all_ok = 1;

static void check(const char *name, int ok, const char *detail)
{
	if (ok) {
		print("check: %s ok\n", name);
	} else {
		all_ok = 0;
		print("check: %s FAIL %s\n", name, detail[0] ? detail : "(no detail)");
	}
}

/* ---- CRC-32 (zlib) --------------------------------------------------------------------- */

static void crc_init(void)
{
	u32 i, k, c;

	for (i = 0; i < 256; i++) {
		c = i;
		for (k = 0; k < 8; k++)
			c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

static u32 crc32_zlib(const u8 *p, u32 len)
{
	u32 c = 0xffffffffu;

	while (len--)
		c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}

/* ---- descriptors ----------------------------------------------------------------------- */

static int desc_flat(const u32 *d, int valid)
{
	u32 base, limit;

	if (!valid)
		return 0;
	base = (d[0] >> 16) | ((d[1] & 0xff) << 16) | (d[1] & 0xff000000u);
	limit = (d[0] & 0xffff) | (d[1] & 0xf0000);
	if (d[1] & (1u << 23))                  /* G: 4 KiB granularity */
		limit = (limit << 12) | 0xfff;
	return base == 0 && limit == 0xffffffffu && (d[1] & (1u << 15));
}

/* ---- ksyms: the walk ksyms_addsyms_elf does -------------------------------------------- */

#ifdef __x86_64__
struct elf_ehdr {
	u8 ident[16];
	u16 type, machine;
	u32 version;
	u64 entry, phoff, shoff;
	u32 flags;
	u16 ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};
struct elf_shdr {
	u32 name, type;
	u64 flags, addr, offset, size;
	u32 link, info;
	u64 addralign, entsize;
};
struct elf_sym {
	u32 name;
	u8 info, other;
	u16 shndx;
	u64 value, size;
};
#else
struct elf_ehdr {
	u8 ident[16];
	u16 type, machine;
	u32 version, entry, phoff, shoff, flags;
	u16 ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};
struct elf_shdr {
	u32 name, type, flags, addr, offset, size, link, info, addralign, entsize;
};
struct elf_sym {
	u32 name, value, size;
	u8 info, other;
	u16 shndx;
};
#endif
#define SHT_SYMTAB 2

/* Returns 1 and *value if `name` is found; else 0 with the reason in why. */
static int ksyms_lookup(u32 ssym, u32 esym, const char *name, ulong *value,
			char *why, ulong whycap)
{
	const struct elf_ehdr *eh;
	const struct elf_shdr *sh, *symsh = 0, *strsh = 0;
	const u8 *strtab;
	u32 i, j, nsyms;

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
		if (st->name >= strsh->size)
			continue;
		for (j = 0; name[j] && st->name + j < strsh->size &&
			    strtab[st->name + j] == (u8)name[j]; j++)
			;
		if (!name[j] && st->name + j < strsh->size && strtab[st->name + j] == 0) {
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

	idt_init();
	serial_init();
	crc_init();
#ifdef PROBE_FORCE_FAULT
	__asm__ volatile("ud2");        /* self-test of the exception report (EXTRA_CFLAGS) */
#endif

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

		{
			const volatile u32 *p = probe_pattern;
			u32 bad = PATTERN_WORDS;
			for (i = 0; i < PATTERN_WORDS; i++)
				if (p[i] != PAT(i)) {
					bad = i;
					break;
				}
			format(tmp, sizeof tmp, "word %d = 0x%08x, want 0x%08x", (int)bad,
			       bad < PATTERN_WORDS ? p[bad] : 0, PAT(bad));
			check("data_pattern", bad == PATTERN_WORDS, tmp);
		}
		{
			const volatile u32 *p = probe_bss;
			u32 bad = BSS_WORDS;
			for (i = 0; i < BSS_WORDS; i++)
				if (p[i]) {
					bad = i;
					break;
				}
			format(tmp, sizeof tmp, "probe_bss word %d = 0x%08x", (int)bad,
			       bad < BSS_WORDS ? p[bad] : 0);
			check("bss_zero", bad == BSS_WORDS, tmp);
		}
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

	print("result: %s\n", all_ok ? "PASS" : "FAIL");
	exit_qemu(all_ok);
}
