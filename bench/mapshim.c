/*
 * mapshim.c - bench-only Multiboot shim for the memory-map scaling sweep (bench.py).
 *
 * QEMU 7.2 always hands over the same 7-entry E820 map, and tests/forge/forge.elf has no case
 * that sets the map's size, so this shim does the one thing needed, the way forge does it:
 *
 *   qemu ... -kernel bench/build/mapshim.elf -append "holes=K"
 *            -initrd "build/mbchain.elf ARGS,KERNEL ARGS,MOD ARGS,..."
 *
 * loads module 0 (mbchain.elf, ELF32) to its p_paddr and zeroes its BSS, then enters it with
 * QEMU's own MIS edited in place: modules 1..n become 0..n-1, the command line is module 0's
 * string, and the memory map is QEMU's plus K reserved 4 KiB holes punched into RAM at
 * 256 MiB + 16 KiB * i (each hole splits RAM, so the sanitised map grows by 2 per hole).
 * Linked at 16 MiB like forge.elf: out of mbchain's and the kernels' way.
 */
#include <stddef.h>
#include <stdint.h>

#define MB_MAGIC 0x1BADB002u
#define MB_FLAGS 0x00000003u

__asm__(".section .multiboot, \"a\"\n.align 4\n.long 0x1BADB002, 0x00000003, -(0x1BADB002 + 0x00000003)\n"
	".text\n.globl _start\n_start:\n cli\n cld\n mov $stack_top, %esp\n push %ebx\n push %eax\n"
	" call shim_main\n1: hlt\n jmp 1b\n"
	".bss\n.align 16\n.space 16384\nstack_top:\n.text\n");

struct mb_info {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr, syms[4],
		mmap_len, mmap_addr;
};
struct mb_mod { uint32_t start, end, string, reserved; };

void shim_main(uint32_t magic, struct mb_info *mis);
void *memcpy(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);

void *memcpy(void *d, const void *s, size_t n)
{
	volatile uint8_t *dd = d;
	const uint8_t *ss = s;
	while (n--)
		*dd++ = *ss++;
	return d;
}

void *memset(void *d, int c, size_t n)
{
	volatile uint8_t *dd = d;
	while (n--)
		*dd++ = (uint8_t)c;
	return d;
}

static void out(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static void puts_e9(const char *s) { while (*s) out(0xE9, (uint8_t)*s++); }
static _Noreturn void die(const char *s)
{
	puts_e9("mapshim: error: ");
	puts_e9(s);
	puts_e9("\n");
	out(0xF4, 0x7d);
	for (;;)
		__asm__ volatile("hlt");
}

static uint32_t holes_arg(const char *s)
{
	uint32_t v = 0;
	for (; *s; s++)
		if (s[0] == 'h' && s[1] == 'o' && s[2] == 'l' && s[3] == 'e' && s[4] == 's' && s[5] == '=') {
			for (s += 6; *s >= '0' && *s <= '9'; s++)
				v = v * 10 + (uint32_t)(*s - '0');
			return v;
		}
	return 0;
}

#define NEW_MAP ((uint8_t *)0x21000)

struct e820 { uint32_t size; uint64_t base, len; uint32_t type; } __attribute__((packed));

void shim_main(uint32_t magic, struct mb_info *mis)
{
	struct mb_mod *mods = (struct mb_mod *)mis->mods_addr;
	uint32_t holes, len = 0, entry;
	if (magic != 0x2BADB002u || !(mis->flags & (1u << 3)) || mis->mods_count < 2 || !(mis->flags & (1u << 6)))
		die("need a Multiboot loader with modules and a memory map");
	holes = holes_arg((const char *)mis->cmdline);
	if (holes > 160)
		die("at most 160 holes");
	{ /* load mbchain.elf (module 0) */
		const uint8_t *f = (const uint8_t *)mods[0].start;
		uint32_t phoff, phnum;
		if (f[0] != 0x7f || f[1] != 'E' || f[4] != 1)
			die("module 0 is not an ELF32 file");
		memcpy(&entry, f + 24, 4);
		memcpy(&phoff, f + 28, 4);
		phnum = (uint32_t)f[44] | (uint32_t)f[45] << 8;
		for (uint32_t i = 0; i < phnum; i++) {
			uint32_t ph[8];
			memcpy(ph, f + phoff + 32 * i, 32);
			if (ph[0] != 1)
				continue;
			if (ph[3] < 0x100000u || ph[3] + ph[5] > 0x1000000u)
				die("mbchain segment outside [1 MiB, 16 MiB)");
			memcpy((void *)ph[3], f + ph[1], ph[4]);
			memset((void *)(ph[3] + ph[4]), 0, ph[5] - ph[4]);
		}
	}
	/* QEMU's map, then the holes (mbchain sorts and sanitises) */
	for (uint32_t off = 0; off < mis->mmap_len;) {
		const struct e820 *e = (const struct e820 *)(mis->mmap_addr + off);
		memcpy(NEW_MAP + len, e, 24);
		len += 24;
		off += e->size + 4;
	}
	for (uint32_t i = 0; i < holes; i++) {
		struct e820 e = { 20, 0x10000000ull + 0x4000ull * i, 0x1000, 2 };
		memcpy(NEW_MAP + len, &e, 24);
		len += 24;
	}
	mis->mmap_addr = (uint32_t)NEW_MAP;
	mis->mmap_len = len;
	mis->cmdline = mods[0].string;
	mis->mods_addr += 16;
	mis->mods_count -= 1;
	puts_e9("mapshim: entering mbchain\n");
	__asm__ volatile("jmp *%2" : : "a"(0x2BADB002u), "b"(mis), "r"(entry) : "memory");
	for (;;)
		;
}
