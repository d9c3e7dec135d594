/*
 * test_pipeline.c - mbchain_main on simulated RAM: a QEMU-like MIS, a NetBSD ELF32 kernel module
 * right after mbchain's image (so its own destination at 1 MiB overlaps it) and one more
 * module; the final memory after the copy list ran, and the entry state.
 */
#include <stdlib.h>
#include "../../multiboot.h"
#include "boot.h"
#include "elfgen.h"
#include "test.h"

#define MIS_PA 0x9500u
#define MMAP_PA 0x9000u
#define CMDLINE_PA 0x9800u
#define MODS_PA 0x9a00u
#define STRINGS_PA 0x9c00u
#define LOADER_PA 0x9f00u
#define KPA 0x120000u
#define MOD1_PA 0x153000u
#define MOD1_LEN 0x2345u

static struct eg_kernel k;
static struct mb_info mi;
static uint32_t klen;
static uint8_t mod1[MOD1_LEN];
static uint32_t run_magic = MB_LOADER_MAGIC;

static void put_mmap(uint32_t index, uint64_t base, uint64_t len, uint32_t type)
{
	uint32_t at = MMAP_PA + 24 * index;
	host_w32(at, 20), host_w64(at + 4, base), host_w64(at + 12, len), host_w32(at + 20, type);
}

static void add_module(uint32_t start, uint32_t end, const char *string)
{
	uint32_t i = mi.mods_count++;
	host_w32(MODS_PA + 16 * i, start);
	host_w32(MODS_PA + 16 * i + 4, end);
	host_w32(MODS_PA + 16 * i + 8, STRINGS_PA + 64 * i);
	host_w32(MODS_PA + 16 * i + 12, 0);
	host_puts(STRINGS_PA + 64 * i, string);
	mi.mods_pa = MODS_PA;
	mi.flags |= MB_INFO_MODS;
}

/* A NetBSD/i386-shaped kernel whose text [1 MiB, 1 MiB + 192 KiB) runs over its own file. */
static void big_kernel(void)
{
	eg_netbsd_kernel(&k, 32);
	const uint64_t base = 0xc0100000;
	k.g.seg[0].filesz = k.g.seg[0].memsz = 0x30000;
	k.g.seg[1].vaddr = base + 0x30000;
	k.g.seg[2].vaddr = base + 0x33000;
	k.g.sec[0].size = 0x30000;
	k.g.sec[1].addr = base + 0x30000;
	k.g.sec[2].addr = base + 0x30300;
}

static void machine(const char *cmdline)
{
	memset(&mi, 0, sizeof(mi));
	mi.flags = MB_INFO_MEMORY | MB_INFO_MEM_MAP | MB_INFO_CMDLINE | MB_INFO_BOOT_LOADER_NAME | MB_INFO_BOOTDEV;
	mi.mem_lower_kib = 639;
	mi.mem_upper_kib = 130048;
	mi.boot_device = 0x8000ffff;
	put_mmap(0, 0, 0x9fc00, MEM_RAM);
	put_mmap(1, 0xf0000, 0x10000, MEM_RESERVED);
	put_mmap(2, 0x100000, 0x7f00000, MEM_RAM);
	mi.mmap_pa = MMAP_PA;
	mi.mmap_len = 72;
	host_puts(CMDLINE_PA, cmdline);
	mi.cmdline_pa = CMDLINE_PA;
	host_puts(LOADER_PA, "qemu");
	mi.boot_loader_name_pa = LOADER_PA;
	host_w16(0x40e, 0x9fc0);
	big_kernel();
	klen = eg_load(&k.g, KPA);
	for (uint32_t i = 0; i < MOD1_LEN; i++)
		mod1[i] = (uint8_t)(i * 13 + 5);
	host_put(MOD1_PA, mod1, MOD1_LEN);
}

static void run_main(void *arg)
{
	(void)arg;
	host_put(MIS_PA, &mi, sizeof(mi));
	mbchain_main(run_magic, MIS_PA);
}

static int boot(void)
{
	host_console_clear();
	return host_run(run_main, NULL);
}

static void check_text(const char *file, int line, uint32_t pa, const char *text)
{
	if (strcmp((const char *)host_ram() + pa, text) != 0)
		test_fail(file, line, "text at 0x%x: expected \"%s\", got \"%.80s\"", pa, text, (const char *)host_ram() + pa);
}
#define CHECK_TEXT(...) check_text(__FILE__, __LINE__, __VA_ARGS__)

/* The bootinfo record of `type`, or 0. */
static uint32_t find_record(uint32_t bi, uint32_t type)
{
	for (uint32_t i = 0; i < host_r32(bi); i++) {
		uint32_t r = host_r32(bi + 4 + 4 * i);
		if (host_r32(r + 4) == type)
			return r;
	}
	return 0;
}

TEST(pipeline_netbsd_i386_qemu_layout)
{
	machine("/mbchain.elf console=com");
	add_module(KPA, KPA + klen, "/netbsd -s root=wd0a");
	add_module(MOD1_PA, MOD1_PA + MOD1_LEN, "/miniroot.kmod type=fs");
	/* keep what the kernel file holds before the copies overwrite it */
	uint8_t *file = malloc(klen);
	memcpy(file, host_ram() + KPA, klen);
	CHECK(KPA < 0x100000 + 0x30000); /* the file does overlap the kernel's own destination */

	int r = boot();
	CHECK_OUTCOME(r, HOST_ENTERED);
	const struct host_entry_info *e = &host_last_entry;
	CHECK(e->stub_code_ok);
	CHECK(!e->list_overwrites_stub);
	CHECK_EQ(e->entry, 0x100020);
	CHECK(e->eax != MB_LOADER_MAGIC);
	CHECK_EQ(e->eax, 0);
	CHECK_EQ(e->flags, 0);
	CHECK_EQ(e->stub_pa, boot_last_result.stub_pa);
	CHECK_EQ(e->copy_count, boot_last_result.copy_count);

	/* kernel segments at their destinations, bss zero */
	for (uint32_t off = 0; off < 0x30000; off++)
		if (host_r8(0x100000 + off) != eg_pattern(0, off))
			test_fail(__FILE__, __LINE__, "text byte 0x%x: expected 0x%02x, got 0x%02x", 0x100000 + off,
				  eg_pattern(0, off), host_r8(0x100000 + off));
	for (uint32_t off = 0; off < 0x300; off++)
		CHECK_EQ(host_r8(0x130000 + off), eg_pattern(1, off));
	for (uint32_t off = 0x300; off < 0x1203; off++)
		CHECK_MSG(host_r8(0x130000 + off) == 0, "bss byte 0x%x is 0x%02x", 0x130000 + off, host_r8(0x130000 + off));

	/* stack words */
	uint32_t esp = e->esp;
	static const uint32_t fixed[3] = { 0, 0x2, 0 };
	for (unsigned i = 0; i < 3; i++)
		CHECK_EQ(host_r32(esp + 4 * i), fixed[i]);
	uint32_t bi = host_r32(esp + 12), esym = host_r32(esp + 16);
	CHECK_EQ(esym, 0x13142c);
	CHECK_EQ(host_r32(esp + 20), 130048);
	CHECK_EQ(host_r32(esp + 24), 639);
	CHECK(bi >= 0x1000 && bi < 0x9f000);

	/* the symbol image at ssym = 0x131204 */
	const uint32_t ssym = 0x131204;
	CHECK_MEM(host_ram() + ssym, "\x7f" "ELF", 4);
	CHECK_EQ(host_r32(ssym + 28), 0); /* e_phoff */
	CHECK_EQ(host_r32(ssym + 32), 52); /* e_shoff */
	CHECK_EQ(host_r16(ssym + 44), 0); /* e_phnum */
	CHECK_EQ(host_r16(ssym + 48), 9); /* e_shnum */
	CHECK_EQ(host_r16(ssym + 50), 8); /* e_shstrndx */
	const uint32_t shdrs = ssym + 52;
	CHECK_EQ(host_r32(shdrs + 8 * 40 + 16), 0x19c); /* .shstrtab offset */
	CHECK_EQ(host_r32(shdrs + 6 * 40 + 16), 0x1e4); /* .symtab */
	CHECK_EQ(host_r32(shdrs + 7 * 40 + 16), 0x214); /* .strtab */
	CHECK_EQ(host_r32(shdrs + 1 * 40 + 16), 0); /* .text: not loaded with the symbols */
	CHECK_EQ(host_r32(shdrs + 4 * 40 + 16), 0); /* the note */
	CHECK_MEM(host_ram() + ssym + 0x19c, file + k.g.shstrtab_offset, k.g.shstrtab_size);
	CHECK_MEM(host_ram() + ssym + 0x1e4, k.symtab, k.symtab_size);
	CHECK_MEM(host_ram() + ssym + 0x214, k.strtab, k.strtab_size);
	CHECK_TEXT(ssym + 0x214 + 7, "probe_marker");

	/* the module, page-aligned after esym */
	CHECK_MEM(host_ram() + 0x132000, mod1, MOD1_LEN);

	/* bootinfo */
	uint32_t rec = find_record(bi, 11);
	CHECK(rec != 0);
	CHECK_EQ(host_r32(rec + 8), 1);
	CHECK_EQ(host_r32(rec + 12), 0x132000 + MOD1_LEN);
	CHECK_TEXT(rec + 16, "/miniroot.kmod");
	CHECK_EQ(host_r32(rec + 16 + 80), 4);
	CHECK_EQ(host_r32(rec + 16 + 84), MOD1_LEN);
	CHECK_EQ(host_r32(rec + 16 + 88), 0x132000);
	rec = find_record(bi, 8);
	CHECK(rec != 0);
	CHECK_EQ(host_r32(rec + 12), ssym);
	CHECK_EQ(host_r32(rec + 16), 0x13142c);
	rec = find_record(bi, 1);
	CHECK(rec != 0);
	CHECK_TEXT(rec + 8, "wd0a");
	rec = find_record(bi, 0);
	CHECK(rec != 0);
	CHECK_TEXT(rec + 8, "/netbsd");
	rec = find_record(bi, 6);
	CHECK(rec != 0);
	CHECK_TEXT(rec + 8, "com");
	rec = find_record(bi, 3);
	CHECK(rec != 0);
	CHECK_EQ(host_r32(rec + 32), 0x80);

	/* the copy statistics */
	const struct copy_stats *st = &boot_last_result.stats;
	CHECK_EQ(st->delivered, 0x30000 + 0x300 + 0x19c + k.g.shstrtab_size + k.symtab_size + k.strtab_size + MOD1_LEN);
	CHECK_EQ(st->zeroed, 0xf03);
	CHECK_EQ(st->bounces, 0);
	CHECK_EQ(st->moved, st->delivered);
	CHECK_STR(host_console_text(), "");
	free(file);
}

TEST(pipeline_verbose_prints_plan)
{
	machine("mbchain.verbose");
	add_module(KPA, KPA + klen, "/netbsd");
	CHECK_OUTCOME(boot(), HOST_ENTERED);
	CHECK_CONTAINS(host_console_text(), "mbchain: boot: loader \"qemu\", 1 modules, 3 memory ranges\n");
	CHECK_CONTAINS(host_console_text(), "mbchain: boot: jumping to 0x100020");
}

TEST(pipeline_wrong_magic)
{
	machine("");
	run_magic = 0x1badb002;
	int r = boot();
	run_magic = MB_LOADER_MAGIC;
	CHECK_FAILS_WITH(r, "mbchain: error: mis: not started by a Multiboot loader (eax=0x1badb002)\n");
	CHECK_EQ(host_last_stop.reboot, 0);
}

TEST(pipeline_no_modules_with_policy)
{
	machine("mbchain.onerror=reboot:5 mbchain.exitport=0xf4");
	CHECK_FAILS_WITH(boot(), "mbchain: error: boot: no modules, so no kernel to boot\n");
	CHECK_CONTAINS(host_console_text(), "mbchain: rebooting in 5 s\n");
	CHECK_EQ(host_last_stop.reboot, 1);
	CHECK_EQ(host_last_stop.seconds, 5);
	CHECK_EQ(host_last_stop.exit_port, 0xf4);
}

TEST(pipeline_early_policy_applies_to_mis_errors)
{
	machine("mbchain.onerror=reboot:9");
	mi.flags &= ~(MB_INFO_MEM_MAP | MB_INFO_MEMORY);
	CHECK_FAILS_WITH(boot(), "mbchain: error: mis: no memory information");
	CHECK_EQ(host_last_stop.reboot, 1);
	CHECK_EQ(host_last_stop.seconds, 9);
}

TEST(pipeline_kernel_without_identity)
{
	machine("");
	/* turn the note into another vendor's */
	k.note[12] = 'X';
	klen = eg_load(&k.g, KPA);
	add_module(KPA, KPA + klen, "/netbsd");
	CHECK_FAILS_WITH(boot(), "mbchain: error: boot: kernel has no NetBSD ident note, is not FreeBSD (OSABI 0) and has no Multiboot header\n");
	/* mbchain.os=netbsd boots it anyway */
	host_puts(CMDLINE_PA, "mbchain.os=netbsd");
	CHECK_OUTCOME(boot(), HOST_ENTERED);
	CHECK_EQ(host_last_entry.entry, 0x100020);
}

TEST(pipeline_kernel_index_out_of_range)
{
	machine("mbchain.kernel=3");
	add_module(KPA, KPA + klen, "/netbsd");
	CHECK_FAILS_WITH(boot(), "mbchain: error: boot: mbchain.kernel=3 but only 1 modules\n");
}
