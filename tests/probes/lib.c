/*
 * lib.c — the part every probe kernel shares (see lib.h): output, exceptions, checks,
 * CRC-32, and the data/BSS facts.  Compiled -m32 and -m64; linked into the NetBSD and
 * FreeBSD probes of that word size.
 */
#include "lib.h"

#ifdef __x86_64__
#define SEL_CODE        0x18            /* probe.inc's GDT: 64-bit code */
#else
#define SEL_CODE        0x08            /* probe.inc's GDT: flat 32-bit code */
#endif

/* ---- the facts a loader must deliver intact ------------------------------------------- */

/* Found by the symbol walk; value must equal its own link address. */
volatile u32 probe_marker = 0x4e425344;

/* Initialised data: proves the data segment was copied. */
#define PAT4(i)  PAT(i), PAT((i) + 1), PAT((i) + 2), PAT((i) + 3)
#define PAT16(i) PAT4(i), PAT4((i) + 4), PAT4((i) + 8), PAT4((i) + 12)
#define PAT64(i) PAT16(i), PAT16((i) + 16), PAT16((i) + 32), PAT16((i) + 48)
u32 probe_pattern[PATTERN_WORDS] = {
	PAT64(0), PAT64(64), PAT64(128), PAT64(192)
};

/* Big BSS: proves BSS was zeroed.  Nothing writes it (stack and page tables live elsewhere). */
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

void print(const char *fmt, ...)
{
	struct sink s = { 0, 0, 0 };
	va_list ap;

	va_start(ap, fmt);
	vformat(&s, fmt, ap);
	va_end(ap);
}

void format(char *buf, ulong cap, const char *fmt, ...)
{
	struct sink s = { buf, 0, cap };
	va_list ap;

	buf[0] = 0;
	va_start(ap, fmt);
	vformat(&s, fmt, ap);
	va_end(ap);
}

void print_str(const u8 *p, ulong max, int quoted)
{
	ulong i;

	if (quoted)
		print("\"");
	for (i = 0; i < max && p[i]; i++) {
		u8 c = p[i];
		if (c < 0x20 || c > 0x7e || c == '\\' || (quoted && c == '"'))
			print("\\x%02x", c);
		else
			print("%c", c);
	}
	if (quoted)
		print("\"");
}

void exit_qemu(int pass)
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

u32 crc32_zlib(const u8 *p, ulong len)
{
	u32 c = 0xffffffffu;

	while (len--)
		c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}

void probe_init(void)
{
	idt_init();
	serial_init();
	crc_init();
#ifdef PROBE_FORCE_FAULT
	__asm__ volatile("ud2");        /* self-test of the exception report (EXTRA_CFLAGS) */
#endif
}

/* ---- checks ---------------------------------------------------------------------------- */

int all_ok = 1;

void check(const char *name, int ok, const char *detail)
{
	if (ok) {
		print("check: %s ok\n", name);
	} else {
		all_ok = 0;
		print("check: %s FAIL %s\n", name, detail[0] ? detail : "(no detail)");
	}
}

void finish(void)
{
	print("result: %s\n", all_ok ? "PASS" : "FAIL");
	exit_qemu(all_ok);
}

void check_image(void)
{
	char tmp[96];
	u32 i, bad;

	{
		const volatile u32 *p = probe_pattern;
		bad = PATTERN_WORDS;
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
		bad = BSS_WORDS;
		for (i = 0; i < BSS_WORDS; i++)
			if (p[i]) {
				bad = i;
				break;
			}
		format(tmp, sizeof tmp, "probe_bss word %d = 0x%08x", (int)bad,
		       bad < BSS_WORDS ? p[bad] : 0);
		check("bss_zero", bad == BSS_WORDS, tmp);
	}
}

/* ---- descriptors and strings ----------------------------------------------------------- */

int desc_flat(const u32 *d, int valid)
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

int strtab_eq(const u8 *strtab, ulong len, ulong off, const char *name)
{
	ulong j;

	if (off >= len)
		return 0;
	for (j = 0; name[j] && off + j < len && strtab[off + j] == (u8)name[j]; j++)
		;
	return !name[j] && off + j < len && strtab[off + j] == 0;
}
