/*
 * forge.c - forge.elf, a test-only Multiboot v1 "forging loader" for mbchain (see CASES.md).
 *
 * QEMU starts us with -kernel forge.elf -append "forge=CASE" -initrd "mbchain.elf ARGS,KERNEL
 * ARGS,MOD ARGS...".  We load module 0 (mbchain.elf, ELF32) to its p_paddr like a Multiboot
 * loader, build a new, correct Multiboot information structure (MIS) in low memory from
 * QEMU's (modules 1..n become 0..n-1), apply the one corruption CASE names, print
 * "forge: case=CASE" on port 0xE9 and enter mbchain with EAX=0x2BADB002, EBX=MIS.
 * Our own failures print "forge: error: ..." and exit QEMU through isa-debug-exit with 0x7d
 * (QEMU status 251).
 */
#include <stddef.h>
#include <stdint.h>
#include "../../multiboot.h"

#define DEBUG_PORT 0xE9
#define EXIT_PORT 0xF4
#define FORGE_EXIT_ERROR 0x7d

#define MIB 0x100000u
#define LOW_MIS_BASE 0x20000u /* where the new MIS and its strings go: free low RAM */
#define SCRATCH_PA 0x30000u /* long unterminated strings (64 KiB): free low RAM */
#define SCRATCH_LEN 0x10000u
#define AMD64_DEST_MIS_BASE (2 * MIB + 0x10000u) /* inside NetBSD/amd64's kernel destination */

/* Offsets inside a MIS block (base .. base + BLOCK_LEN). */
#define OFF_MIS 0x0000u
#define OFF_MMAP 0x1000u /* up to 0x2000 bytes */
#define MMAP_CAP 0x2000u
#define OFF_MODS 0x3000u /* up to 64 modules */
#define OFF_STRINGS 0x4000u
#define STRINGS_CAP 0x4000u
#define OFF_DRIVES 0x8000u
#define BLOCK_LEN 0x9000u

#define MAX_E820 64
#define RESERVED_HOLE_PA 0x3000000u /* mmap_unsorted_overlapping: 48 MiB, far from everything */

void forge_main(uint32_t magic, uint32_t mis_pa);
_Noreturn void forge_enter(uint32_t entry, uint32_t mis);
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);

extern char __bss_end[];

/* ---- small libc ---- */

void *memcpy(void *dst, const void *src, size_t n)
{
	volatile uint8_t *d = dst;
	const volatile uint8_t *s = src;
	while (n--)
		*d++ = *s++;
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	volatile uint8_t *d = dst;
	while (n--)
		*d++ = (uint8_t)c;
	return dst;
}

static size_t str_len(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

static int str_eq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

/* A physical address as a pointer, for every address including 0. */
static void *pa_ptr(uint32_t pa)
{
	uintptr_t p = pa;
	__asm__("" : "+r"(p)); /* the compiler must not reason about address 0 */
	return (void *)p;
}

/* ---- console (port 0xE9) and failure ---- */

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }

static void put_str(const char *s)
{
	while (*s)
		outb(DEBUG_PORT, (uint8_t)*s++);
}

static void put_hex(uint32_t v)
{
	char buf[11] = "0x";
	for (int i = 0; i < 8; i++)
		buf[2 + i] = "0123456789abcdef"[(v >> (28 - 4 * i)) & 15];
	buf[10] = 0;
	put_str(buf);
}

static _Noreturn void die(const char *what, uint32_t value)
{
	put_str("forge: error: ");
	put_str(what);
	put_str(" (");
	put_hex(value);
	put_str(")\n");
	outb(EXIT_PORT, FORGE_EXIT_ERROR);
	for (;;)
		__asm__ volatile("cli; hlt");
}

static int ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

/* ---- the cases ---- */

enum forge_case {
	C_NONE,
	C_MIS_WRAPS,
	C_MIS_IN_IMAGE,
	C_MIS_BELOW_IMAGE,
	C_MIS_STRADDLES_4G,
	C_MMAP_WRAPS,
	C_MMAP_SHORT,
	C_MMAP_ENTRY_SIZE_SMALL,
	C_MMAP_ENTRY_SIZE_HUGE,
	C_MMAP_ENTRY_SIZE_28,
	C_MMAP_AT_ZERO,
	C_MMAP_UNSORTED_OVERLAPPING,
	C_MMAP_TOO_MANY,
	C_NO_MEM_INFO,
	C_MEM_ONLY,
	C_NO_RAM_ABOVE_1M,
	C_CMDLINE_WRAPS,
	C_CMDLINE_UNTERMINATED,
	C_MODS_ADDR_WRAPS,
	C_MODS_COUNT_HUGE,
	C_MODULE_END_BEFORE_START,
	C_MODULE_OUTSIDE_RAM,
	C_MODULE_IS_OWN_IMAGE,
	C_MODULE_STRING_WRAPS,
	C_MODULE_STRING_UNTERMINATED,
	C_ZERO_MODULES,
	C_FLAGS_CLAIM_ABSENT_FIELDS,
	C_LOADER_NAME_WRAPS,
	C_LOADER_NAME_UNTERMINATED,
	C_DRIVES_GARBAGE,
	C_MIS_AT_KERNEL_DESTINATION,
	C_COUNT
};

static const char *const case_names[C_COUNT] = {
	[C_NONE] = "none",
	[C_MIS_WRAPS] = "mis_wraps",
	[C_MIS_IN_IMAGE] = "mis_in_image",
	[C_MIS_BELOW_IMAGE] = "mis_below_image",
	[C_MIS_STRADDLES_4G] = "mis_straddles_4g",
	[C_MMAP_WRAPS] = "mmap_wraps",
	[C_MMAP_SHORT] = "mmap_short",
	[C_MMAP_ENTRY_SIZE_SMALL] = "mmap_entry_size_small",
	[C_MMAP_ENTRY_SIZE_HUGE] = "mmap_entry_size_huge",
	[C_MMAP_ENTRY_SIZE_28] = "mmap_entry_size_28",
	[C_MMAP_AT_ZERO] = "mmap_at_zero",
	[C_MMAP_UNSORTED_OVERLAPPING] = "mmap_unsorted_overlapping",
	[C_MMAP_TOO_MANY] = "mmap_too_many",
	[C_NO_MEM_INFO] = "no_mem_info",
	[C_MEM_ONLY] = "mem_only",
	[C_NO_RAM_ABOVE_1M] = "no_ram_above_1m",
	[C_CMDLINE_WRAPS] = "cmdline_wraps",
	[C_CMDLINE_UNTERMINATED] = "cmdline_unterminated",
	[C_MODS_ADDR_WRAPS] = "mods_addr_wraps",
	[C_MODS_COUNT_HUGE] = "mods_count_huge",
	[C_MODULE_END_BEFORE_START] = "module_end_before_start",
	[C_MODULE_OUTSIDE_RAM] = "module_outside_ram",
	[C_MODULE_IS_OWN_IMAGE] = "module_is_own_image",
	[C_MODULE_STRING_WRAPS] = "module_string_wraps",
	[C_MODULE_STRING_UNTERMINATED] = "module_string_unterminated",
	[C_ZERO_MODULES] = "zero_modules",
	[C_FLAGS_CLAIM_ABSENT_FIELDS] = "flags_claim_absent_fields",
	[C_LOADER_NAME_WRAPS] = "loader_name_wraps",
	[C_LOADER_NAME_UNTERMINATED] = "loader_name_unterminated",
	[C_DRIVES_GARBAGE] = "drives_garbage",
	[C_MIS_AT_KERNEL_DESTINATION] = "mis_at_kernel_destination",
};

/* Our own command line ("path forge=CASE ..."): the word after "forge=". */
static enum forge_case parse_case(const char *cmdline, char *name, size_t cap)
{
	const char *p = cmdline;
	size_t n = 0;
	for (;;) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		if (p[0] == 'f' && p[1] == 'o' && p[2] == 'r' && p[3] == 'g' && p[4] == 'e' && p[5] == '=') {
			p += 6;
			while (*p && *p != ' ' && n + 1 < cap)
				name[n++] = *p++;
			name[n] = 0;
			for (int i = 0; i < C_COUNT; i++)
				if (str_eq(name, case_names[i]))
					return (enum forge_case)i;
			put_str("forge: error: unknown case ");
			put_str(name);
			put_str("\n");
			outb(EXIT_PORT, FORGE_EXIT_ERROR);
			for (;;)
				__asm__ volatile("cli; hlt");
		}
		while (*p && *p != ' ')
			p++;
	}
	die("no forge=CASE on the command line", 0);
}

/* ---- ELF32 loading of module 0 (mbchain.elf) ---- */

struct elf32_ehdr {
	uint8_t ident[16];
	uint16_t type, machine;
	uint32_t version, entry, phoff, shoff, flags;
	uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
} __attribute__((packed));

struct elf32_phdr {
	uint32_t type, offset, vaddr, paddr, filesz, memsz, flags, align;
} __attribute__((packed));

struct image {
	uint32_t entry, start, end; /* [start, end) covers every PT_LOAD */
};

/* Ranges nothing we write may touch: QEMU's modules (sources) and forge itself. */
struct busy {
	uint32_t start[72], len[72];
	unsigned n;
};

static void busy_add(struct busy *b, uint32_t start, uint32_t len)
{
	if (b->n == 72)
		die("too many modules", b->n);
	b->start[b->n] = start;
	b->len[b->n] = len;
	b->n++;
}

static void busy_check(const struct busy *b, uint32_t start, uint32_t len, const char *what)
{
	for (unsigned i = 0; i < b->n; i++)
		if (ranges_overlap(start, len, b->start[i], b->len[i]))
			die(what, start);
}

static void load_elf(uint32_t pa, uint32_t len, const struct busy *busy, struct image *img)
{
	const struct elf32_ehdr *eh = pa_ptr(pa);
	int loads = 0;
	if (len < sizeof(*eh) || eh->ident[0] != 0x7f || eh->ident[1] != 'E' || eh->ident[2] != 'L' ||
	    eh->ident[3] != 'F')
		die("module 0 is not an ELF file", len);
	if (eh->ident[4] != 1 || eh->ident[5] != 1 || eh->machine != 3 || eh->type != 2)
		die("module 0 is not an ELF32 i386 executable", eh->machine);
	if (eh->phentsize != sizeof(struct elf32_phdr) || eh->phnum == 0 || eh->phnum > 32 ||
	    eh->phoff > len || (uint64_t)eh->phnum * sizeof(struct elf32_phdr) > len - eh->phoff)
		die("module 0: bad program header table", eh->phoff);
	img->start = 0xFFFFFFFFu;
	img->end = 0;
	for (unsigned i = 0; i < eh->phnum; i++) {
		const struct elf32_phdr *ph = pa_ptr(pa + eh->phoff + i * sizeof(struct elf32_phdr));
		if (ph->type != 1 || ph->memsz == 0)
			continue;
		if (ph->filesz > ph->memsz || ph->offset > len || ph->filesz > len - ph->offset)
			die("module 0: segment runs past the file", i);
		if ((uint64_t)ph->paddr + ph->memsz > 0x1000000u || ph->paddr < MIB)
			die("module 0: segment outside [1 MiB, 16 MiB)", ph->paddr);
		busy_check(busy, ph->paddr, ph->memsz, "module 0: segment overlaps a module or forge");
		memcpy(pa_ptr(ph->paddr), pa_ptr(pa + ph->offset), ph->filesz);
		memset(pa_ptr(ph->paddr + ph->filesz), 0, ph->memsz - ph->filesz);
		if (ph->paddr < img->start)
			img->start = ph->paddr;
		if (ph->paddr + ph->memsz > img->end)
			img->end = ph->paddr + ph->memsz;
		loads++;
	}
	if (!loads)
		die("module 0 has no PT_LOAD segment", 0);
	if (eh->entry < img->start || eh->entry >= img->end)
		die("module 0: entry outside its segments", eh->entry);
	img->entry = eh->entry;
}

/* ---- the loader's (QEMU's) information, read once ---- */

struct e820 {
	uint64_t base, len;
	uint32_t type;
};

static struct {
	uint32_t mem_lower, mem_upper;
	uint32_t mods_count;
	struct mb_module mods[64];
	const char *mod_strings[64];
	struct e820 map[MAX_E820];
	unsigned map_count;
} qemu;

static void read_loader_mis(uint32_t mis_pa)
{
	const struct mb_info *mis = pa_ptr(mis_pa);
	uint32_t need = MB_INFO_MEMORY | MB_INFO_MODS | MB_INFO_MEM_MAP;
	if ((mis->flags & need) != need)
		die("the loader gave no memory sizes, modules or memory map (flags)", mis->flags);
	qemu.mem_lower = mis->mem_lower_kib;
	qemu.mem_upper = mis->mem_upper_kib;
	if (mis->mods_count < 1 || mis->mods_count > 64)
		die("need 1..64 modules (mbchain.elf first)", mis->mods_count);
	qemu.mods_count = mis->mods_count;
	memcpy(qemu.mods, pa_ptr(mis->mods_pa), mis->mods_count * sizeof(struct mb_module));
	for (uint32_t i = 0; i < mis->mods_count; i++)
		qemu.mod_strings[i] = qemu.mods[i].string_pa ? pa_ptr(qemu.mods[i].string_pa) : "";
	for (uint32_t off = 0; off + 24 <= mis->mmap_len;) {
		const uint8_t *e = pa_ptr(mis->mmap_pa + off);
		uint32_t size;
		memcpy(&size, e, 4);
		if (size < 20 || qemu.map_count == MAX_E820)
			die("cannot read the loader's memory map (entry size)", size);
		memcpy(&qemu.map[qemu.map_count].base, e + 4, 8);
		memcpy(&qemu.map[qemu.map_count].len, e + 12, 8);
		memcpy(&qemu.map[qemu.map_count].type, e + 20, 4);
		qemu.map_count++;
		off += size + 4;
	}
	if (!qemu.map_count)
		die("the loader's memory map is empty", mis->mmap_len);
}

/* ---- building the new MIS ---- */

struct builder {
	uint32_t base; /* the block: MIS, map, module list, strings, drives */
	struct mb_info *mis;
	uint32_t heap; /* next free string byte (physical) */
};

static uint32_t put_string(struct builder *b, const char *s)
{
	uint32_t n = (uint32_t)str_len(s) + 1, pa = b->heap;
	if (pa + n > b->base + OFF_STRINGS + STRINGS_CAP)
		die("string heap full", n);
	memcpy(pa_ptr(pa), s, n);
	b->heap += n;
	return pa;
}

/* Write `count` map entries of `size` (>= 20) at the map area; returns the byte length. */
static uint32_t put_map(struct builder *b, const struct e820 *map, unsigned count, uint32_t size)
{
	uint8_t *p = pa_ptr(b->base + OFF_MMAP);
	uint32_t len = 0;
	if (count * (size + 4) > MMAP_CAP)
		die("map area full", count);
	for (unsigned i = 0; i < count; i++) {
		memset(p + len, 0xEE, size + 4); /* the bytes past type 4 .. size: filler */
		memcpy(p + len, &size, 4);
		memcpy(p + len + 4, &map[i].base, 8);
		memcpy(p + len + 12, &map[i].len, 8);
		memcpy(p + len + 20, &map[i].type, 4);
		len += size + 4;
	}
	return len;
}

static void build_mis(struct builder *b, uint32_t base, const char *cmdline)
{
	struct mb_module *mods;
	memset(pa_ptr(base), 0, BLOCK_LEN);
	b->base = base;
	b->mis = pa_ptr(base + OFF_MIS);
	b->heap = base + OFF_STRINGS;
	mods = pa_ptr(base + OFF_MODS);

	b->mis->flags = MB_INFO_MEMORY | MB_INFO_BOOTDEV | MB_INFO_CMDLINE | MB_INFO_MODS | MB_INFO_MEM_MAP |
			MB_INFO_BOOT_LOADER_NAME;
	b->mis->mem_lower_kib = qemu.mem_lower;
	b->mis->mem_upper_kib = qemu.mem_upper;
	b->mis->boot_device = 0x8000ffffu;
	b->mis->cmdline_pa = put_string(b, cmdline);
	b->mis->boot_loader_name_pa = put_string(b, "forge");
	b->mis->mods_count = qemu.mods_count - 1;
	b->mis->mods_pa = base + OFF_MODS;
	for (uint32_t i = 1; i < qemu.mods_count; i++) {
		mods[i - 1] = qemu.mods[i];
		mods[i - 1].string_pa = put_string(b, qemu.mod_strings[i]);
		mods[i - 1].reserved = 0;
	}
	b->mis->mmap_pa = base + OFF_MMAP;
	b->mis->mmap_len = put_map(b, qemu.map, qemu.map_count, 20);
}

/* The first RAM entry holding 1 MiB: [1 MiB, end). */
static uint64_t ram_end_above_1m(void)
{
	for (unsigned i = 0; i < qemu.map_count; i++)
		if (qemu.map[i].type == 1 && qemu.map[i].base <= MIB && qemu.map[i].base + qemu.map[i].len > MIB)
			return qemu.map[i].base + qemu.map[i].len;
	die("the loader's map has no RAM at 1 MiB", 0);
}

static uint32_t apply_case(enum forge_case c, struct builder *b, const struct image *img, uint32_t modules_end)
{
	struct mb_info *mis = b->mis;
	struct mb_module *mods = pa_ptr(mis->mods_pa);
	struct e820 map[MAX_E820 + 8];
	unsigned n = 0;

	switch (c) {
	case C_NONE:
	case C_MIS_AT_KERNEL_DESTINATION: /* the whole block is already at 2 MiB + 64 KiB */
		break;
	case C_MIS_WRAPS:
		return 0xFFFFFFF0u;
	case C_MIS_IN_IMAGE:
		return img->start + 0x1000u;
	case C_MIS_BELOW_IMAGE:
		/* 10 bytes below the image: mis_read_cmdline checks only the 4 flag bytes, which
		 * lie in the BIOS ROM ("6/23", SeaBIOS's date: bit 2 CMDLINE set); cmdline_pa at
		 * +16 is read from mbchain's own Multiboot header. */
		return img->start - 10u;
	case C_MIS_STRADDLES_4G:
		/* The same ROM bytes at the top of 4 GiB: cmdline_pa at +16 is 0x100000006, which
		 * a 32-bit pointer reads at 0x6 (the IVT). */
		return 0xFFFFFFF6u;
	case C_MMAP_WRAPS:
		mis->mmap_pa = 0xFFFFFF00u;
		mis->mmap_len = 0x200;
		break;
	case C_MMAP_SHORT:
		mis->mmap_len = 12;
		break;
	case C_MMAP_ENTRY_SIZE_SMALL: {
		uint32_t eight = 8;
		memcpy(pa_ptr(mis->mmap_pa), &eight, 4);
		break;
	}
	case C_MMAP_ENTRY_SIZE_HUGE: {
		uint32_t huge = 0x1000; /* more than the map holds */
		memcpy(pa_ptr(mis->mmap_pa), &huge, 4);
		break;
	}
	case C_MMAP_ENTRY_SIZE_28:
		mis->mmap_len = put_map(b, qemu.map, qemu.map_count, 28);
		break;
	case C_MMAP_AT_ZERO: {
		/* kexec-tools: the map at physical 0 (the IVT; interrupts are off from here on). */
		uint32_t len = mis->mmap_len;
		if (len > 0x400)
			die("map too long for page 0 below the BIOS data area", len);
		memcpy(pa_ptr(0), pa_ptr(mis->mmap_pa), len);
		mis->mmap_pa = 0;
		break;
	}
	case C_MMAP_UNSORTED_OVERLAPPING: {
		uint64_t hole = RESERVED_HOLE_PA; /* fixed, so cases.py can predict the map */
		if (modules_end > hole || hole + 0x10000 > ram_end_above_1m())
			die("the reserved hole at 48 MiB is not free RAM above the modules", modules_end);
		map[n++] = (struct e820){ 0x200000000ull, 0x10000000ull, 1 }; /* RAM above 4 GiB */
		for (unsigned i = qemu.map_count; i-- > 0;) /* reversed */
			map[n++] = qemu.map[i];
		map[n++] = (struct e820){ hole, 0x10000, 2 }; /* reserved, overlapping RAM */
		map[n++] = (struct e820){ 0x5000000ull, 0, 1 }; /* zero length */
		map[n++] = (struct e820){ hole + 0x8000, 0x4000, 2 }; /* inside the hole again */
		mis->mmap_len = put_map(b, map, n, 20);
		break;
	}
	case C_MMAP_TOO_MANY:
		/* 200 disjoint 4 KiB reserved entries at 8 MiB + 8 KiB * i, then QEMU's map */
		for (unsigned i = 0; i < 200 && n < MAX_E820; i++)
			map[n++] = (struct e820){ 8 * MIB + 0x2000ull * i, 0x1000, 2 };
		{
			/* MAX_E820 bounds `map`; write the rest straight into the map area */
			uint32_t len = put_map(b, map, n, 20);
			uint8_t *p = pa_ptr(b->base + OFF_MMAP);
			for (unsigned i = n; i < 200; i++) {
				struct e820 e = { 8 * MIB + 0x2000ull * i, 0x1000, 2 };
				uint32_t size = 20;
				memcpy(p + len, &size, 4);
				memcpy(p + len + 4, &e.base, 8);
				memcpy(p + len + 12, &e.len, 8);
				memcpy(p + len + 20, &e.type, 4);
				len += 24;
			}
			for (unsigned i = 0; i < qemu.map_count; i++) {
				uint32_t size = 20;
				memcpy(p + len, &size, 4);
				memcpy(p + len + 4, &qemu.map[i].base, 8);
				memcpy(p + len + 12, &qemu.map[i].len, 8);
				memcpy(p + len + 20, &qemu.map[i].type, 4);
				len += 24;
			}
			if (len > MMAP_CAP)
				die("map area full", len);
			mis->mmap_len = len;
		}
		break;
	case C_NO_MEM_INFO:
		mis->flags &= ~(MB_INFO_MEMORY | MB_INFO_MEM_MAP);
		mis->mem_lower_kib = mis->mem_upper_kib = 0;
		mis->mmap_pa = mis->mmap_len = 0;
		break;
	case C_MEM_ONLY:
		mis->flags &= ~MB_INFO_MEM_MAP;
		mis->mmap_pa = mis->mmap_len = 0;
		break;
	case C_NO_RAM_ABOVE_1M:
		for (unsigned i = 0; i < qemu.map_count; i++)
			if (qemu.map[i].base + qemu.map[i].len <= MIB)
				map[n++] = qemu.map[i];
		mis->mmap_len = put_map(b, map, n, 20);
		break;
	case C_CMDLINE_WRAPS:
		mis->cmdline_pa = 0xFFFFFFF8u;
		break;
	case C_CMDLINE_UNTERMINATED:
		memset(pa_ptr(SCRATCH_PA), 'a', SCRATCH_LEN);
		mis->cmdline_pa = SCRATCH_PA;
		break;
	case C_MODS_ADDR_WRAPS:
		mis->mods_pa = 0xFFFFFFF0u;
		mis->mods_count = 2;
		break;
	case C_MODS_COUNT_HUGE:
		mis->mods_count = 100000;
		break;
	case C_MODULE_END_BEFORE_START:
		if (!mis->mods_count)
			die("this case needs a kernel module", 0);
		mods[0].end_pa = mods[0].start_pa - 1;
		break;
	case C_MODULE_OUTSIDE_RAM:
		if (!mis->mods_count)
			die("this case needs a kernel module", 0);
		mods[0].start_pa = 0xF0000000u;
		mods[0].end_pa = 0xF0001000u;
		break;
	case C_MODULE_IS_OWN_IMAGE:
		if (!mis->mods_count)
			die("this case needs a kernel module", 0);
		mods[0].start_pa = img->start;
		mods[0].end_pa = img->end;
		break;
	case C_MODULE_STRING_WRAPS:
		if (!mis->mods_count)
			die("this case needs a kernel module", 0);
		mods[0].string_pa = 0xFFFFFFF8u;
		break;
	case C_MODULE_STRING_UNTERMINATED:
		if (!mis->mods_count)
			die("this case needs a kernel module", 0);
		memset(pa_ptr(SCRATCH_PA), 'b', SCRATCH_LEN);
		mods[0].string_pa = SCRATCH_PA;
		break;
	case C_ZERO_MODULES:
		mis->mods_count = 0;
		break;
	case C_FLAGS_CLAIM_ABSENT_FIELDS:
		mis->cmdline_pa = 0xFFFFFFFFu;
		break;
	case C_LOADER_NAME_WRAPS:
		mis->boot_loader_name_pa = 0xFFFFFFF8u;
		break;
	case C_LOADER_NAME_UNTERMINATED:
		memset(pa_ptr(SCRATCH_PA), 'c', SCRATCH_LEN);
		mis->boot_loader_name_pa = SCRATCH_PA;
		break;
	case C_DRIVES_GARBAGE: {
		/* GRUB 2 puts a DHCP packet here on network boots: a first "size" of 3 */
		uint8_t *d = pa_ptr(b->base + OFF_DRIVES);
		for (unsigned i = 0; i < 64; i++)
			d[i] = (uint8_t)(i * 37 + 3);
		d[0] = 3, d[1] = d[2] = d[3] = 0;
		mis->flags |= MB_INFO_DRIVE_INFO;
		mis->drives_pa = b->base + OFF_DRIVES;
		mis->drives_len = 64;
		break;
	}
	case C_COUNT:
		break;
	}
	return b->base + OFF_MIS;
}

void forge_main(uint32_t magic, uint32_t mis_pa)
{
	const struct mb_info *loader_mis = pa_ptr(mis_pa);
	char name[48];
	struct busy busy = { .n = 0 };
	struct image img;
	struct builder b;
	enum forge_case c;
	uint32_t modules_end = 0, new_mis, base;

	if (magic != MB_LOADER_MAGIC)
		die("not started by a Multiboot loader (eax)", magic);
	if (!(loader_mis->flags & MB_INFO_CMDLINE))
		die("no command line (flags)", loader_mis->flags);
	c = parse_case(pa_ptr(loader_mis->cmdline_pa), name, sizeof(name));
	read_loader_mis(mis_pa);

	busy_add(&busy, 0x1000000u, (uint32_t)(uintptr_t)__bss_end - 0x1000000u);
	for (uint32_t i = 0; i < qemu.mods_count; i++) {
		if (qemu.mods[i].end_pa < qemu.mods[i].start_pa)
			die("the loader gave a module that ends before it starts", i);
		busy_add(&busy, qemu.mods[i].start_pa, qemu.mods[i].end_pa - qemu.mods[i].start_pa);
		if (qemu.mods[i].end_pa > modules_end)
			modules_end = qemu.mods[i].end_pa;
		/* keep the strings too (QEMU puts them next to the modules) */
		busy_add(&busy, qemu.mods[i].string_pa, (uint32_t)str_len(qemu.mod_strings[i]) + 1);
	}
	base = c == C_MIS_AT_KERNEL_DESTINATION ? AMD64_DEST_MIS_BASE : LOW_MIS_BASE;
	busy_check(&busy, base, BLOCK_LEN, "the new MIS would overlap a module");
	busy_check(&busy, SCRATCH_PA, SCRATCH_LEN, "the scratch area would overlap a module");
	if (ranges_overlap(base, BLOCK_LEN, MIB, 0x1000000u - MIB) && base < 2 * MIB)
		die("the new MIS would overlap mbchain's image", base);

	load_elf(qemu.mods[0].start_pa, qemu.mods[0].end_pa - qemu.mods[0].start_pa, &busy, &img);
	if (ranges_overlap(base, BLOCK_LEN, img.start, img.end - img.start))
		die("the new MIS would overlap mbchain's image", base);
	build_mis(&b, base, qemu.mod_strings[0]);
	new_mis = apply_case(c, &b, &img, modules_end);

	put_str("forge: case=");
	put_str(name);
	put_str("\n");
	forge_enter(img.entry, new_mis);
}
