/*
 * test_netbsd.c - the NetBSD target: howto, netbsd_plan + layout + netbsd_build on crafted
 * ELF32 and ELF64 kernels: the symbol image layout (SPEC A.2), module placement, every bootinfo
 * record byte, the stack words.
 */
#include "elf.h"
#include "elfgen.h"
#include "layout.h"
#include "netbsd.h"
#include "options.h"
#include "platform.h"
#include "test.h"
#include "util.h"

#define KPA 0x400000u
#define MOD_PA 0x500000u
#define MOD_LEN 0x1234u

TEST(netbsd_howto_table)
{
	static const struct {
		char letter;
		uint32_t bit;
	} t[] = { { 'a', 0x1 },	      { 's', 0x2 },	  { 'b', 0x8 },	      { 'd', 0x40 },	     { 'm', 0x200 },
		  { 'c', 0x1000 },    { 'q', 0x10000 },	  { 'v', 0x20000 },   { 'z', 0x40000 },	     { 'x', 0x80000 },
		  { '1', 0x10000000 }, { '2', 0x20000000 }, { '3', 0x40000000 }, { '4', 0x80000000 } };
	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char f[2] = { t[i].letter, 0 };
		CHECK_EQ(netbsd_howto(f), t[i].bit);
	}
	CHECK_EQ(netbsd_howto(""), 0);
	CHECK_EQ(netbsd_howto("sv1"), 0x10020002);
	CHECK_EQ(netbsd_howto("kyS"), 0); /* unknown letters are ignored */
	CHECK(!netbsd_segment_loadable(4));
	CHECK(netbsd_segment_loadable(5));
	CHECK(netbsd_segment_loadable(6));
	CHECK(netbsd_segment_loadable(2));
}

static struct eg_kernel k;
static struct boot_request req;
static struct options opts;
static struct kernel_image img;
static struct netbsd_plan plan;
static struct handoff h;
static struct free_ram fr;
static uint32_t klen;

static void fixture(unsigned cls, const char *cmdline, const char *kernel_string)
{
	eg_netbsd_kernel(&k, cls);
	klen = eg_load(&k.g, KPA);
	host_qemu_request(&req, "GRUB 2.06", cmdline);
	memset(&h, 0, sizeof(h));
	req.has_boot_device = true;
	req.boot_device = 0x8000ffff;
	req.drive_count = 1;
	req.drives[0] = (struct boot_drive){ 0x80, 1, 1024, 16, 63 };
	req.module_count = 2;
	req.modules[0] = (struct boot_module){ .start_pa = KPA, .len = klen };
	strcpy(req.modules[0].string, kernel_string);
	req.modules[1] = (struct boot_module){ .start_pa = MOD_PA, .len = MOD_LEN };
	host_put(MOD_PA, "\x7f" "ELF", 4);
}

static struct host_target netbsd_stages = { &req, &opts, &img, &h, &fr, &plan, NULL };


static int target(void)
{
	host_console_clear();
	return host_run_target(&netbsd_stages);
}

static uint64_t round_up(uint64_t x, uint64_t a) { return (x + a - 1) & ~(a - 1); }

#define CHECK_PIECE(...) host_check_piece(__FILE__, __LINE__, &h, __VA_ARGS__)

/* The symbol image layout, computed here from the file (SPEC A.2). */
struct sym_layout {
	uint64_t ssym, shstrtab_off, symtab_off, strtab_off, esym;
};

static struct sym_layout expected_layout(unsigned cls)
{
	struct sym_layout l;
	uint64_t r = cls / 8, ehsize = cls == 64 ? 64 : 52, shsize = cls == 64 ? 64 : 40;
	uint64_t end = cls == 64 ? 0x203203 : 0x103203;
	l.ssym = round_up(end, r);
	uint64_t pos = round_up(l.ssym + ehsize + 9 * shsize, r);
	l.shstrtab_off = pos - l.ssym;
	pos = round_up(pos + k.g.shstrtab_size, r);
	l.symtab_off = pos - l.ssym;
	pos = round_up(pos + k.symtab_size, r);
	l.strtab_off = pos - l.ssym;
	pos = round_up(pos + k.strtab_size, r);
	l.esym = round_up(pos, 4);
	return l;
}

static void check_symbol_plan(unsigned cls)
{
	struct sym_layout l = expected_layout(cls);
	uint64_t ehsize = cls == 64 ? 64 : 52, shsize = cls == 64 ? 64 : 40;
	CHECK(plan.has_symbols);
	CHECK_EQ(plan.ssym_pa, l.ssym);
	CHECK_EQ(plan.esym_pa, l.esym);
	for (unsigned i = 0; i < 9; i++) {
		uint64_t want = i == 8 ? l.shstrtab_off : i == k.symtab_index ? l.symtab_off : i == k.strtab_index ? l.strtab_off : 0;
		CHECK_MSG(plan.section_offset[i] == want, "section %u offset: expected 0x%llx, got 0x%llx", i,
			  (unsigned long long)want, (unsigned long long)plan.section_offset[i]);
	}
	uint64_t base = cls == 64 ? 0x200000 : 0x100000;
	CHECK_PIECE(0, PIECE_COPY, base, KPA + k.g.seg[0].offset, 0x1800);
	CHECK_PIECE(1, PIECE_COPY, base + 0x2000, KPA + k.g.seg[1].offset, 0x300);
	CHECK_PIECE(2, PIECE_ZERO, base + 0x2300, 0, 0xf03);
	CHECK_EQ(plan.headers_piece, 3);
	CHECK_PIECE(3, PIECE_BUILT, l.ssym, h.blocks[plan.scratch_block].pa, ehsize + 9 * shsize);
	CHECK_PIECE(4, PIECE_COPY, l.ssym + l.shstrtab_off, KPA + k.g.shstrtab_offset, k.g.shstrtab_size);
	CHECK_PIECE(5, PIECE_COPY, l.ssym + l.symtab_off, KPA + k.g.sec[k.symtab_index - 1].offset, k.symtab_size);
	CHECK_PIECE(6, PIECE_COPY, l.ssym + l.strtab_off, KPA + k.g.sec[k.strtab_index - 1].offset, k.strtab_size);
	CHECK_PIECE(7, PIECE_COPY, round_up(l.esym, 4096), MOD_PA, MOD_LEN);
	CHECK_EQ(h.piece_count, 8);
	CHECK_EQ(plan.module_count, 1);
	CHECK_EQ(plan.modules[0].base_pa, round_up(l.esym, 4096));
	CHECK_EQ(plan.endpa, round_up(l.esym, 4096) + MOD_LEN);
	CHECK_EQ(h.keepout_start_pa, base);
	CHECK_EQ(h.keepout_end_pa, plan.endpa + 4 * 1024 * 1024);
	CHECK_EQ(h.entry_pa, base + 0x20);
}

/* The scratch block holds Ehdr | Shdrs: the file's, with the program headers dropped and the
 * section offsets rewritten. */
static void check_symbol_headers(unsigned cls)
{
	struct sym_layout l = expected_layout(cls);
	const unsigned ehsize = cls == 64 ? 64 : 52, shsize = cls == 64 ? 64 : 40;
	const uint8_t *file = host_ram() + KPA;
	uint64_t pa = h.blocks[plan.scratch_block].pa;
	CHECK_EQ(h.blocks[plan.scratch_block].len, ehsize + 9 * shsize);
	uint8_t want[64];
	memcpy(want, file, ehsize);
	if (cls == 64) {
		memset(want + 32, 0, 8); /* e_phoff */
		memset(want + 40, 0, 8), want[40] = 64; /* e_shoff */
		memset(want + 54, 0, 4); /* e_phentsize, e_phnum */
	} else {
		memset(want + 28, 0, 4);
		memset(want + 32, 0, 4), want[32] = 52;
		memset(want + 42, 0, 4);
	}
	CHECK_MEM(host_ram() + pa, want, ehsize);
	for (unsigned i = 0; i < 9; i++) {
		uint8_t sh[64];
		memcpy(sh, file + k.g.shoff + i * shsize, shsize);
		uint64_t off = i == 8 ? l.shstrtab_off : i == k.symtab_index ? l.symtab_off : i == k.strtab_index ? l.strtab_off : 0;
		unsigned at = cls == 64 ? 24 : 16, w = cls == 64 ? 8 : 4;
		for (unsigned b = 0; b < w; b++, off >>= 8)
			sh[at + b] = (uint8_t)off;
		CHECK_MSG(memcmp(host_ram() + pa + ehsize + i * shsize, sh, shsize) == 0,
			  "section header %u differs from the file's with sh_offset rewritten", i);
	}
}

/* The literal numbers for this kernel (ssym, esym, the end of the modules), then the general
 * checks of the symbol plan and the headers written before the symbols. */
static void check_symbols(unsigned cls, uint64_t ssym, uint64_t esym, uint64_t endpa)
{
	CHECK_EQ(plan.ssym_pa, ssym);
	CHECK_EQ(plan.esym_pa, esym);
	CHECK_EQ(plan.endpa, endpa);
	check_symbol_plan(cls);
	check_symbol_headers(cls);
}

TEST(netbsd_elf32_symbols_and_modules)
{
	fixture(32, "console=com console_speed=115200 userconf=disable_foo", "-s root=wd0a");
	CHECK_OUTCOME(target(), HOST_RETURNED);
	check_symbols(32, 0x103204, 0x10342c, 0x105234);
}

TEST(netbsd_elf64_symbols_and_modules)
{
	fixture(64, "", "");
	CHECK_OUTCOME(target(), HOST_RETURNED);
	check_symbols(64, 0x203208, 0x203530, 0x205234);
}

static void check_record(const char *file, int line, uint32_t bi, unsigned index, uint32_t offset, uint32_t type,
			 uint32_t len)
{
	uint32_t pa = host_r32(bi + 4 + 4 * index);
	if (pa != bi + offset || host_r32(pa) != len || host_r32(pa + 4) != type)
		test_fail(file, line, "record %u: expected at 0x%x type %u len %u, got at 0x%x type %u len %u", index,
			  bi + offset, type, len, pa, host_r32(pa + 4), host_r32(pa));
}
#define CHECK_RECORD(...) check_record(__FILE__, __LINE__, __VA_ARGS__)

static void check_text(const char *file, int line, uint32_t pa, const char *text, unsigned field_len)
{
	char got[128];
	memcpy(got, host_ram() + pa, field_len);
	got[field_len] = 0;
	if (strcmp(got, text) != 0)
		test_fail(file, line, "text at 0x%x: expected \"%s\", got \"%s\"", pa, text, got);
	for (unsigned i = (unsigned)strlen(text); i < field_len; i++)
		if (host_r8(pa + i))
			test_fail(file, line, "text at 0x%x: byte %u after \"%s\" is 0x%02x, not 0", pa, i, text, host_r8(pa + i));
}
#define CHECK_TEXT(...) check_text(__FILE__, __LINE__, __VA_ARGS__)

TEST(netbsd_bootinfo_records)
{
	fixture(32, "console=com console_speed=115200 userconf=disable_foo", "-s root=wd0a");
	CHECK_OUTCOME(target(), HOST_RETURNED);
	uint32_t bi = (uint32_t)h.blocks[plan.bootinfo_block].pa;
	CHECK_EQ(bi, 0x1000); /* lowest free RAM: page 1 */
	CHECK_EQ(h.blocks[plan.bootinfo_block].len, 744);
	CHECK_EQ(plan.bootinfo_len, 744);
	CHECK_EQ(host_r32(bi), 10);
	CHECK_RECORD(bi, 0, 68, 6, 32); /* CONSOLE */
	CHECK_RECORD(bi, 1, 100, 1, 24); /* ROOTDEVICE */
	CHECK_RECORD(bi, 2, 124, 0, 88); /* BOOTPATH */
	CHECK_RECORD(bi, 3, 212, 3, 40); /* BOOTDISK */
	CHECK_RECORD(bi, 4, 252, 7, 124); /* BIOSGEOM */
	CHECK_RECORD(bi, 5, 376, 9, 92); /* MEMMAP */
	CHECK_RECORD(bi, 6, 468, 11, 108); /* MODULELIST */
	CHECK_RECORD(bi, 7, 576, 13, 92); /* USERCONFCOMMANDS */
	CHECK_RECORD(bi, 8, 668, 8, 20); /* SYMTAB */
	CHECK_RECORD(bi, 9, 688, 12, 56); /* FRAMEBUFFER */
	for (unsigned i = 10; i < 16; i++)
		CHECK_EQ(host_r32(bi + 4 + 4 * i), 0);

	uint32_t r = bi + 68;
	CHECK_TEXT(r + 8, "com", 16);
	CHECK_EQ(host_r32(r + 24), 0);
	CHECK_EQ(host_r32(r + 28), 115200);
	r = bi + 100;
	CHECK_TEXT(r + 8, "wd0a", 16);
	r = bi + 124;
	CHECK_TEXT(r + 8, "/netbsd", 80);
	r = bi + 212;
	CHECK_EQ(host_r32(r + 8), 0xffffffff);
	for (unsigned i = 12; i < 32; i++)
		CHECK_EQ(host_r8(r + i), 0);
	CHECK_EQ(host_r32(r + 32), 0x80);
	CHECK_EQ(host_r32(r + 36), 0);
	r = bi + 252;
	CHECK_EQ(host_r32(r + 8), 1);
	CHECK_EQ(host_r32(r + 12), 63);
	CHECK_EQ(host_r32(r + 16), 16);
	CHECK_EQ(host_r32(r + 20), 1024);
	CHECK_EQ(host_r64(r + 24), 0);
	CHECK_EQ(host_r32(r + 32), 0);
	CHECK_EQ(host_r32(r + 36), 0x80);
	r = bi + 376;
	CHECK_EQ(host_r32(r + 8), 4);
	static const uint64_t mm[4][3] = {
		{ 0, 0x9fc00, 1 }, { 0x9fc00, 0x400, 2 }, { 0xf0000, 0x10000, 2 }, { 0x100000, 0x7f00000, 1 }
	};
	for (unsigned i = 0; i < 4; i++) {
		CHECK_EQ(host_r64(r + 12 + 20 * i), mm[i][0]);
		CHECK_EQ(host_r64(r + 12 + 20 * i + 8), mm[i][1]);
		CHECK_EQ(host_r32(r + 12 + 20 * i + 16), mm[i][2]);
	}
	r = bi + 468;
	CHECK_EQ(host_r32(r + 8), 1);
	CHECK_EQ(host_r32(r + 12), 0x105234);
	CHECK_TEXT(r + 16, "module1", 80);
	CHECK_EQ(host_r32(r + 16 + 80), 1); /* BI_MODULE_ELF: starts with \x7fELF */
	CHECK_EQ(host_r32(r + 16 + 84), MOD_LEN);
	CHECK_EQ(host_r32(r + 16 + 88), 0x104000);
	r = bi + 576;
	CHECK_EQ(host_r32(r + 8), 1);
	CHECK_TEXT(r + 12, "disable foo", 80);
	r = bi + 668;
	CHECK_EQ(host_r32(r + 8), 1);
	CHECK_EQ(host_r32(r + 12), 0x103204);
	CHECK_EQ(host_r32(r + 16), 0x10342c);
	r = bi + 688;
	for (unsigned i = 8; i < 56; i++)
		CHECK_EQ(host_r8(r + i), 0);

	/* the stack words, and the entry registers */
	CHECK_EQ(h.stack_word_count, 7);
	static const uint32_t words[7] = { 0, 0x2, 0, 0x1000, 0x10342c, 130048, 639 };
	for (unsigned i = 0; i < 7; i++)
		CHECK_MSG(h.stack_words[i] == words[i], "stack word %u: expected 0x%x, got 0x%x", i, words[i], h.stack_words[i]);
	CHECK_EQ(h.eax, 0);
	CHECK_EQ(h.ebx, 0);
	CHECK_EQ(h.entry_pa, 0x100020);
	/* blocks: bootinfo, stack, scratch, lowest first */
	CHECK_EQ(h.blocks[h.stack_block].pa, 0x12f0);
	CHECK_EQ(h.blocks[h.stack_block].len, 4096);
	CHECK_EQ(handoff_entry_esp(&h), 0x12f0 + 4096 - 28);
	CHECK_EQ(h.blocks[plan.scratch_block].pa, 0x22f0);
}

TEST(netbsd_module_names_types_framebuffer)
{
	fixture(32, "name=/netbsd.gen console=nullcons", "");
	req.module_count = 4;
	req.modules[1].start_pa = MOD_PA;
	strcpy(req.modules[1].string, "type=image name=/stand/x.img");
	req.modules[2] = (struct boot_module){ .start_pa = MOD_PA + 0x2000, .len = 3 };
	strcpy(req.modules[2].string, "type=rnd");
	req.modules[3] = (struct boot_module){ .start_pa = MOD_PA + 0x3000, .len = 0x10 };
	host_put(MOD_PA + 0x3000, "MZ", 2);
	req.has_framebuffer = true;
	req.framebuffer = (struct boot_framebuffer){ 0xfd000000, 4096, 1024, 768, 32, 16, 8, 8, 8, 0, 8 };
	req.has_vbe_mode = true;
	req.vbe_mode = 0x118;
	req.has_boot_device = false;
	req.drive_count = 0;
	CHECK_OUTCOME(target(), HOST_RETURNED);
	CHECK_EQ(plan.module_count, 3);
	CHECK_STR(plan.modules[0].path, "/stand/x.img");
	CHECK_EQ(plan.modules[0].type, 2);
	CHECK_EQ(plan.modules[0].base_pa, 0x104000);
	CHECK_STR(plan.modules[1].path, "module2");
	CHECK_EQ(plan.modules[1].type, 3);
	CHECK_EQ(plan.modules[1].base_pa, 0x106000);
	CHECK_STR(plan.modules[2].path, "module3");
	CHECK_EQ(plan.modules[2].type, 4); /* not ELF, no type=: fs */
	CHECK_EQ(plan.modules[2].base_pa, 0x107000);
	CHECK_EQ(plan.endpa, 0x107010);
	uint32_t bi = (uint32_t)h.blocks[plan.bootinfo_block].pa;
	/* CONSOLE, BOOTPATH, MEMMAP, MODULELIST, USERCONF, SYMTAB, FRAMEBUFFER */
	CHECK_EQ(host_r32(bi), 7);
	CHECK_RECORD(bi, 0, 68, 6, 32);
	CHECK_TEXT(bi + 68 + 8, "nullcons", 16);
	CHECK_RECORD(bi, 1, 100, 0, 88);
	CHECK_TEXT(bi + 100 + 8, "/netbsd.gen", 80);
	CHECK_RECORD(bi, 2, 188, 9, 92);
	CHECK_RECORD(bi, 3, 280, 11, 16 + 3 * 92);
	CHECK_RECORD(bi, 4, 572, 13, 12);
	CHECK_RECORD(bi, 5, 584, 8, 20);
	CHECK_RECORD(bi, 6, 604, 12, 56);
	uint32_t fb = bi + 604;
	CHECK_EQ(host_r64(fb + 8), 0xfd000000);
	CHECK_EQ(host_r32(fb + 16), 0);
	CHECK_EQ(host_r32(fb + 20), 1024);
	CHECK_EQ(host_r32(fb + 24), 768);
	CHECK_EQ(host_r16(fb + 28), 4096);
	CHECK_EQ(host_r8(fb + 30), 32);
	CHECK_EQ(host_r8(fb + 31), 8);
	CHECK_EQ(host_r8(fb + 32), 8);
	CHECK_EQ(host_r8(fb + 33), 8);
	CHECK_EQ(host_r8(fb + 34), 16);
	CHECK_EQ(host_r8(fb + 35), 8);
	CHECK_EQ(host_r8(fb + 36), 0);
	CHECK_EQ(host_r16(fb + 38), 0x118);
	CHECK_EQ(plan.bootinfo_len, 660);
}

TEST(netbsd_kernel_path_from_loader)
{
	fixture(32, "", "/boot/netbsd-GENERIC -s");
	strcpy(req.loader_name, "qemu");
	CHECK_OUTCOME(target(), HOST_RETURNED);
	uint32_t bi = (uint32_t)h.blocks[plan.bootinfo_block].pa;
	CHECK_RECORD(bi, 1, 100, 0, 88);
	CHECK_TEXT(bi + 100 + 8, "/boot/netbsd-GENERIC", 80);
	CHECK_EQ(h.stack_words[1], 2);
}

TEST(netbsd_no_symbols)
{
	fixture(32, "", "");
	/* turn .symtab into PROGBITS: no symbol table */
	host_w32(KPA + (uint32_t)k.g.shoff + k.symtab_index * 40 + 4, 1);
	CHECK_OUTCOME(target(), HOST_RETURNED);
	CHECK(!plan.has_symbols);
	CHECK_EQ(plan.esym_pa, 0);
	CHECK_EQ(plan.modules[0].base_pa, 0x104000);
	CHECK_EQ(h.stack_words[4], 0);
	uint32_t bi = (uint32_t)h.blocks[plan.bootinfo_block].pa;
	CHECK_EQ(host_r32(bi), 8); /* no SYMTAB record */
	CHECK_EQ(host_r32(host_r32(bi + 4 + 4 * 7) + 4), 12);
}

TEST(netbsd_console_checked)
{
	fixture(32, "console=com0", "");
	CHECK_OUTCOME(target(), HOST_RETURNED);
	CHECK_TEXT((uint32_t)h.blocks[plan.bootinfo_block].pa + 68 + 8, "com", 16);
	fixture(32, "console=serial", "");
	CHECK_OUTCOME(target(), HOST_RETURNED);
	CHECK_TEXT((uint32_t)h.blocks[plan.bootinfo_block].pa + 68 + 8, "com", 16);
	fixture(32, "console=bad", "");
	CHECK_FAILS_WITH(target(), "mbchain: error: netbsd: console=bad is not a NetBSD console\n");
}

TEST(netbsd_symtab_link_out_of_range)
{
	fixture(32, "", "");
	host_w32(KPA + (uint32_t)k.g.shoff + k.symtab_index * 40 + 24, 99);
	CHECK_FAILS_WITH(target(), "mbchain: error: netbsd: symbol table 6 links to string table 99 of 9 sections\n");
	fixture(64, "", "");
	host_w32(KPA + (uint32_t)k.g.shoff + k.symtab_index * 64 + 40, 0);
	CHECK_FAILS_WITH(target(), "mbchain: error: netbsd: symbol table 6 links to string table 0 of 9 sections\n");
}

TEST(netbsd_unknown_module_type)
{
	fixture(32, "", "");
	strcpy(req.modules[1].string, "type=kmod");
	CHECK_FAILS_WITH(target(), "mbchain: error: netbsd: module 1 has unknown type=kmod\n");
}

TEST(netbsd_amd64_window)
{
	fixture(64, "", "");
	req.modules[1].len = 95 * 1024 * 1024; /* ends past 94 MiB */
	CHECK_FAILS_WITH(target(), "mbchain: error: netbsd: modules end at 0x");
	CHECK_CONTAINS(host_console_text(), "past NetBSD/amd64's bootstrap window (0x5e00000)\n");
	fixture(64, "", "");
	req.modules[1].len = 40 * 1024 * 1024;
	CHECK_OUTCOME(target(), HOST_RETURNED);
	CHECK_CONTAINS(host_console_text(), "mbchain: warning: netbsd: modules end at 0x2a04000; NetBSD/amd64 kernels "
					    "before 2020 drop modules past 0x1e00000\n");
}
