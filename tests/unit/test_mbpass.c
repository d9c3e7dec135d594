/*
 * test_mbpass.c - Multiboot passthrough (src/mbpass.c): the header search (spec 3.1.1, GRUB's
 * find_header), and mbchain_main on simulated RAM with an ELF Multiboot kernel (loaded by
 * p_paddr, the virtual entry moved with its segment, GRUB multiboot_elfxx.c) and with an a.out
 * kludge image (spec 3.1.3): the new MIS byte by byte, the entry registers, where the kernel and
 * the modules land, and the error lines.
 */
#include "../../multiboot.h"
#include "boot.h"
#include "elfgen.h"
#include "mbpass.h"
#include "test.h"

#define MIS_PA 0x9500u
#define LOADER_PA 0x9f00u
#define MMAP_PA 0x9000u
#define MODS_PA 0x9a00u
#define STRINGS_PA 0x9c00u
#define CMDLINE_PA 0x9800u
#define KFILE 0x2000000u
#define MOD1_PA 0x3000000u
#define MOD1_LEN 0x1234u
#define MOD2_PA 0x3100000u
#define MOD2_LEN 0x10u

static void wr(uint8_t *p, uint64_t v, unsigned len)
{
	for (unsigned i = 0; i < len; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

/* A Multiboot header at pa: magic, flags, checksum, and with `kludge` its five addresses. */
static void put_header(uint64_t pa, uint32_t flags, const uint32_t *kludge)
{
	host_w32(pa, MB_HEADER_MAGIC);
	host_w32(pa + 4, flags);
	host_w32(pa + 8, 0u - MB_HEADER_MAGIC - flags);
	for (unsigned i = 0; kludge && i < 5; i++)
		host_w32(pa + 12 + 4 * i, kludge[i]);
}

/* ---- mbpass_find_header ------------------------------------------------------------------- */
static struct boot_module fh_module;
static struct mb_kernel_header fh_out;
static bool fh_found;

static void run_find(void *arg)
{
	(void)arg;
	fh_found = mbpass_find_header(&fh_module, &fh_out);
}

static bool find_in(uint32_t len)
{
	fh_module = (struct boot_module){ .start_pa = KFILE, .len = len };
	memset(&fh_out, 0x5a, sizeof(fh_out));
	host_console_clear();
	CHECK_OUTCOME(host_run(run_find, NULL), HOST_RETURNED);
	return fh_found;
}

/* The header find_in found: its offset, flags and the five a.out kludge addresses. */
#define CHECK_HEADER(offset_, flags_, header_, load_, load_end_, bss_end_, entry_) \
	do {                                                                    \
		CHECK_EQ(fh_out.offset, offset_);                               \
		CHECK_EQ(fh_out.flags, flags_);                                 \
		CHECK_EQ(fh_out.header_addr, header_);                          \
		CHECK_EQ(fh_out.load_addr, load_);                              \
		CHECK_EQ(fh_out.load_end_addr, load_end_);                      \
		CHECK_EQ(fh_out.bss_end_addr, bss_end_);                        \
		CHECK_EQ(fh_out.entry_addr, entry_);                            \
	} while (0)

TEST(mbpass_header_at_offset_0)
{
	put_header(KFILE, 0x3, NULL);
	CHECK(find_in(0x4000));
	CHECK_HEADER(0, 0x3, 0, 0, 0, 0, 0);
	/* a 12-byte file holding only the header; 11 bytes cannot hold it */
	CHECK(find_in(12));
	CHECK(!find_in(11));
	CHECK(!find_in(0));
}

/* Spec 3.1.1: the header must lie completely in the first 8192 bytes.  GRUB (loader/
 * multiboot.c) scans `header <= buffer + len - 12` with len = 8192: the last slot is 8180.
 * 8184 and 8188 still have their magic inside 8 KiB, but not the whole 12 bytes. */
TEST(mbpass_header_last_slot_8180)
{
	put_header(KFILE + 8180, 0x2, NULL);
	CHECK(find_in(0x4000));
	CHECK_EQ(fh_out.offset, 8180);
	CHECK_EQ(fh_out.flags, 0x2);
	host_reset_all();
	put_header(KFILE + 8184, 0x2, NULL);
	CHECK(!find_in(0x4000));
	host_reset_all();
	put_header(KFILE + 8188, 0x2, NULL);
	CHECK(!find_in(0x4000));
	/* a file shorter than 8 KiB: the slots end 12 bytes before its end */
	host_reset_all();
	put_header(KFILE + 0x1000, 0x2, NULL);
	CHECK(find_in(0x100c));
	CHECK_EQ(fh_out.offset, 0x1000);
	CHECK(!find_in(0x100b));
}

TEST(mbpass_header_beyond_8k_not_found)
{
	put_header(KFILE + 8192, 0x3, NULL);
	CHECK(!find_in(0x4000));
	put_header(KFILE + 12288, 0x3, NULL);
	CHECK(!find_in(0x4000));
	/* misaligned: not on a 4-byte boundary */
	host_reset_all();
	put_header(KFILE + 0x102, 0x3, NULL);
	CHECK(!find_in(0x4000));
}

TEST(mbpass_header_bad_checksum_skipped)
{
	put_header(KFILE, 0x3, NULL);
	host_w32(KFILE + 8, host_r32(KFILE + 8) + 1); /* damaged */
	put_header(KFILE + 64, 0x10003, (const uint32_t[]){ 0x100040, 0x100000, 0x101000, 0x102000, 0x100010 });
	CHECK(find_in(0x4000));
	CHECK_EQ(fh_out.offset, 64);
	CHECK_EQ(fh_out.flags, 0x10003);
	/* the magic alone, with no valid checksum anywhere, is no header */
	host_reset_all();
	put_header(KFILE, 0x3, NULL);
	host_w32(KFILE + 4, 0x7);
	CHECK(!find_in(0x4000));
}

TEST(mbpass_header_aout_kludge_fields)
{
	put_header(KFILE + 0x40, 0x00010003, (const uint32_t[]){ 0x300040, 0x300000, 0x301800, 0x302400, 0x300100 });
	CHECK(find_in(0x2900));
	CHECK_HEADER(0x40, 0x00010003, 0x300040, 0x300000, 0x301800, 0x302400, 0x300100);
	/* the last offset whose 32 bytes fit the first 8 KiB */
	host_reset_all();
	put_header(KFILE + 8160, 0x00010000, (const uint32_t[]){ 1, 2, 3, 4, 5 });
	CHECK(find_in(0x4000));
	CHECK_EQ(fh_out.offset, 8160);
	CHECK_EQ(fh_out.entry_addr, 5);
	/* one slot later the kludge fields pass 8 KiB */
	host_reset_all();
	put_header(KFILE + 8164, 0x00010000, (const uint32_t[]){ 1, 2, 3, 4, 5 });
	fh_module = (struct boot_module){ .start_pa = KFILE, .len = 0x4000 };
	host_console_clear();
	CHECK_FAILS_WITH(host_run(run_find, NULL),
			 "mbchain: error: mbpass: a.out kludge fields of the header at offset 8164 pass the file's first 8 KiB\n");
}

/* ---- the machine ---------------------------------------------------------------------------- */
static struct mb_info mi;
static uint32_t klen;

static void add_module(uint32_t start, uint32_t len, const char *string)
{
	host_mis_add_module(&mi, MODS_PA, STRINGS_PA, start, len, string);
}

/* QEMU-like: 128 MiB, a three-entry map, boot device 0x8000ffff; two modules to pass on. */
static void machine(const char *loader, const char *cmdline)
{
	memset(&mi, 0, sizeof(mi));
	mi.flags = MB_INFO_MEMORY | MB_INFO_MEM_MAP | MB_INFO_CMDLINE | MB_INFO_BOOT_LOADER_NAME | MB_INFO_BOOTDEV;
	mi.mem_lower_kib = 639;
	mi.mem_upper_kib = 130048;
	mi.boot_device = 0x8000ffff;
	static const uint64_t map[3][3] = { { 0, 0x9fc00, 1 }, { 0xf0000, 0x10000, 2 }, { 0x100000, 0x7f00000, 1 } };
	for (unsigned i = 0; i < 3; i++) {
		uint32_t at = MMAP_PA + 24 * i;
		host_w32(at, 20), host_w64(at + 4, map[i][0]), host_w64(at + 12, map[i][1]), host_w32(at + 20, (uint32_t)map[i][2]);
	}
	mi.mmap_pa = MMAP_PA;
	mi.mmap_len = 72;
	host_puts(CMDLINE_PA, cmdline);
	mi.cmdline_pa = CMDLINE_PA;
	host_puts(LOADER_PA, loader);
	mi.boot_loader_name_pa = LOADER_PA;
	host_w16(0x40e, 0x9fc0);
	for (uint32_t i = 0; i < MOD1_LEN; i++)
		host_w8(MOD1_PA + i, (uint8_t)(i * 13 + 5));
	for (uint32_t i = 0; i < MOD2_LEN; i++)
		host_w8(MOD2_PA + i, (uint8_t)(0xe0 + i));
}

static int boot(void) { return host_boot_mis(&mi, MIS_PA); }

/* ---- an ELF Multiboot kernel ----------------------------------------------------------------
 * Linked at 0x80001000 (text, 0x1000 bytes R+X, the Multiboot header first) and 0x80003000
 * (data 0x200 bytes + bss to 0x800, R+W); loaded at p_paddr 0x200000 and 0x205000 (different
 * offsets per segment, and not p_vaddr & 0x0fffffff); entry 0x80001010 -> 0x200010.
 * The kernel then ends at 0x205800; module 1 at 0x206000 (+0x1234), module 2 at 0x208000. */
static struct elfgen eg;
static uint8_t ktext[0x1000];

static void elf_kernel(uint32_t header_flags)
{
	memset(&eg, 0, sizeof(eg));
	for (unsigned i = 0; i < sizeof(ktext); i++)
		ktext[i] = eg_pattern(0, i);
	wr(ktext, MB_HEADER_MAGIC, 4);
	wr(ktext + 4, header_flags, 4);
	wr(ktext + 8, 0u - MB_HEADER_MAGIC - header_flags, 4);
	eg.cls = 32;
	eg.entry = 0x80001010;
	eg.nseg = 2;
	eg.seg[0] = (struct eg_seg){ 1, 5, 0x80001000, 0x1000, 0x1000, ktext, 0 };
	eg.seg[1] = (struct eg_seg){ 1, 6, 0x80003000, 0x200, 0x800, NULL, 0 };
	klen = eg_load(&eg, KFILE);
	host_w32(KFILE + eg.phoff + 12, 0x200000); /* p_paddr of segment 0 */
	host_w32(KFILE + eg.phoff + 32 + 12, 0x205000); /* of segment 1 */
}

/* The expected new MIS: the structure, the map, the module list, then the strings in order. */
static struct {
	uint8_t b[1024];
	uint32_t len, base;
} ex;

static uint32_t ex_string(const char *s)
{
	uint32_t at = ex.len;
	memcpy(ex.b + at, s, strlen(s) + 1);
	ex.len += (uint32_t)strlen(s) + 1;
	return ex.base + at;
}

/* flags MEMORY|BOOTDEV|CMDLINE|MODS|MEM_MAP|BOOT_LOADER_NAME = 0x24f */
static void ex_mis(uint32_t base, unsigned nmods, const uint32_t *mod_pa, const uint32_t *mod_len,
		   const char *const *mod_string, const char *cmdline)
{
	static const uint64_t map[3][3] = { { 0, 0x9fc00, 1 }, { 0xf0000, 0x10000, 2 }, { 0x100000, 0x7f00000, 1 } };
	memset(&ex, 0, sizeof(ex));
	ex.base = base;
	wr(ex.b + 0, 0x24f, 4);
	wr(ex.b + 4, 639, 4);
	wr(ex.b + 8, 130048, 4);
	wr(ex.b + 12, 0x8000ffff, 4);
	wr(ex.b + 20, nmods, 4);
	wr(ex.b + 24, base + 120 + 72, 4); /* mods_addr */
	wr(ex.b + 44, 72, 4); /* mmap_length */
	wr(ex.b + 48, base + 120, 4); /* mmap_addr */
	for (unsigned i = 0; i < 3; i++) { /* size 20, base, length, type */
		wr(ex.b + 120 + 24 * i, 20, 4);
		wr(ex.b + 120 + 24 * i + 4, map[i][0], 8);
		wr(ex.b + 120 + 24 * i + 12, map[i][1], 8);
		wr(ex.b + 120 + 24 * i + 20, map[i][2], 4);
	}
	ex.len = 120 + 72 + 16 * nmods;
	for (unsigned i = 0; i < nmods; i++) {
		uint32_t m = 120 + 72 + 16 * i;
		wr(ex.b + m, mod_pa[i], 4);
		wr(ex.b + m + 4, mod_pa[i] + mod_len[i], 4);
		wr(ex.b + m + 8, ex_string(mod_string[i]), 4);
	}
	wr(ex.b + 16, ex_string(cmdline), 4); /* cmdline */
	wr(ex.b + 64, ex_string("mbchain"), 4); /* boot_loader_name */
}

static void check_mis(const char *file, int line)
{
	const struct host_entry_info *e = &host_last_entry;
	if (e->eax != MB_LOADER_MAGIC || e->ebx != ex.base)
		test_fail(file, line, "registers: expected eax 0x2badb002 ebx 0x%x, got eax 0x%x ebx 0x%x", ex.base, e->eax,
			  e->ebx);
	const uint8_t *got = host_ram() + ex.base;
	for (uint32_t i = 0; i < ex.len; i++)
		if (got[i] != ex.b[i])
			test_fail(file, line, "MIS byte %u (of %u, at 0x%x): expected 0x%02x, got 0x%02x", i, ex.len,
				  ex.base + i, ex.b[i], got[i]);
}
#define CHECK_MIS() check_mis(__FILE__, __LINE__)

static void check_text(const char *file, int line, uint32_t pa, const char *text)
{
	if (strcmp((const char *)host_ram() + pa, text) != 0)
		test_fail(file, line, "text at 0x%x: expected \"%s\", got \"%.100s\"", pa, text, (const char *)host_ram() + pa);
}
#define CHECK_TEXT(...) check_text(__FILE__, __LINE__, __VA_ARGS__)

static void check_modules_copied(uint32_t mod1_dst, uint32_t mod2_dst)
{
	for (uint32_t i = 0; i < MOD1_LEN; i++)
		CHECK_MSG(host_r8(mod1_dst + i) == (uint8_t)(i * 13 + 5), "module 1 byte 0x%x", i);
	for (uint32_t i = 0; mod2_dst && i < MOD2_LEN; i++)
		CHECK_EQ(host_r8(mod2_dst + i), 0xe0 + i);
}

static const uint32_t two_pa[2] = { 0x206000, 0x208000 }, two_len[2] = { MOD1_LEN, MOD2_LEN };

TEST(mbpass_elf_kernel_qemu)
{
	machine("qemu", "/mbchain.elf");
	elf_kernel(0x3);
	add_module(KFILE, klen, "/boot/kern.elf console=ttyS0 x=1");
	add_module(MOD1_PA, MOD1_LEN, "/boot/initrd.img arg1");
	add_module(MOD2_PA, MOD2_LEN, "/boot/extra");
	for (uint32_t a = 0x205200; a < 0x205800; a++)
		host_w8(a, 0xAA); /* bss must be zeroed */
	CHECK_OUTCOME(boot(), HOST_ENTERED);
	const struct host_entry_info *e = &host_last_entry;
	CHECK(e->stub_code_ok);
	CHECK(!e->list_overwrites_stub);
	CHECK_EQ(e->entry, 0x200010); /* 0x80001010 moved with segment 0 */
	CHECK_EQ(e->eax, 0x2BADB002);
	CHECK_EQ(e->ebx, 0x1000); /* the MIS block: lowest free RAM */
	CHECK_EQ(e->flags, 0); /* protected mode, no return trap */
	CHECK_EQ(e->esp, 0x2130); /* a 4 KiB stack after the 299-byte MIS (at 0x1130), no words */
	CHECK_STR(host_console_text(), "");

	/* the kernel at p_paddr */
	CHECK_MEM(host_ram() + 0x200000, ktext, 0x1000);
	for (uint32_t i = 0; i < 0x200; i++)
		CHECK_EQ(host_r8(0x205000 + i), eg_pattern(1, i));
	for (uint32_t a = 0x205200; a < 0x205800; a++)
		CHECK_MSG(host_r8(a) == 0, "bss byte 0x%x is 0x%02x", a, host_r8(a));
	check_modules_copied(0x206000, 0x208000);

	/* 120 + 72 + 2*16 + 22 + 12 + 33 + 8 = 299 bytes */
	static const char *const strings[2] = { "/boot/initrd.img arg1", "/boot/extra" };
	ex_mis(0x1000, 2, two_pa, two_len, strings, "/boot/kern.elf console=ttyS0 x=1");
	CHECK_EQ(ex.len, 299);
	CHECK_MIS();
	CHECK_TEXT(host_r32(0x1000 + 16), "/boot/kern.elf console=ttyS0 x=1");
	CHECK_TEXT(host_r32(0x1000 + 64), "mbchain");
	CHECK_EQ(host_r32(0x1000 + 20), 2);
}

/* GRUB 2 gives no path words: each string gets one in front, "/kernel", "/moduleN" or name=. */
TEST(mbpass_elf_kernel_grub2_path_words)
{
	machine("GRUB 2.06", "");
	elf_kernel(0x3);
	add_module(KFILE, klen, "console=ttyS0 x=1");
	add_module(MOD1_PA, MOD1_LEN, "arg1");
	add_module(MOD2_PA, MOD2_LEN, "name=/boot/extra.bin v=2");
	CHECK_OUTCOME(boot(), HOST_ENTERED);
	CHECK_EQ(host_last_entry.entry, 0x200010);
	/* 120 + 72 + 32 + 14 + 41 + 26 + 8 = 313 bytes */
	static const char *const strings[2] = { "/module1 arg1", "/boot/extra.bin name=/boot/extra.bin v=2" };
	ex_mis(0x1000, 2, two_pa, two_len, strings, "/kernel console=ttyS0 x=1");
	CHECK_EQ(ex.len, 313);
	CHECK_MIS();
	check_modules_copied(0x206000, 0x208000);

	/* the kernel's own name= */
	host_reset_all();
	machine("GRUB 2.06", "");
	elf_kernel(0x3);
	add_module(KFILE, klen, "name=/boot/xen.gz dom0_mem=512M");
	CHECK_OUTCOME(boot(), HOST_ENTERED);
	CHECK_EQ(host_r32(0x1000 + 20), 0);
	CHECK_TEXT(host_r32(0x1000 + 16), "/boot/xen.gz name=/boot/xen.gz dom0_mem=512M");
}

/* Header bits 16-31 are optional: one that mbchain does not know is no reason to refuse. */
TEST(mbpass_elf_kernel_optional_flag_ignored)
{
	machine("qemu", "");
	elf_kernel(0x00020003);
	add_module(KFILE, klen, "/k");
	CHECK_OUTCOME(boot(), HOST_ENTERED);
	CHECK_EQ(host_last_entry.entry, 0x200010);
}

TEST(mbpass_unknown_required_flag)
{
	machine("qemu", "");
	elf_kernel(0xb); /* bit 3 */
	add_module(KFILE, klen, "/k");
	CHECK_FAILS_WITH(boot(), "mbchain: error: mbpass: the kernel's header requires unknown features (flags 0x8)\n");
	host_reset_all();
	machine("qemu", "");
	elf_kernel(0xfffb);
	add_module(KFILE, klen, "/k");
	CHECK_FAILS_WITH(boot(), "mbchain: error: mbpass: the kernel's header requires unknown features (flags 0xfff8)\n");
}

/* ---- an a.out kludge image ------------------------------------------------------------------
 * A 0x2900-byte file: 4 KiB of a.out header, then the image; the Multiboot header at file
 * offset 0x1040 says header_addr 0x300040 and load_addr 0x300000, so the load starts at file
 * offset 0x1000; load_end 0x301800 (0x1800 bytes), bss_end 0x302400, entry 0x300100. */
#define AOUT_LEN 0x2900u

static void aout_kernel(uint32_t header_addr, uint32_t load, uint32_t load_end, uint32_t bss_end, uint32_t entry)
{
	for (uint32_t i = 0; i < AOUT_LEN; i++)
		host_w8(KFILE + i, (uint8_t)(i * 7 + 3 + (i >> 8)));
	put_header(KFILE + 0x1040, 0x00010003, (const uint32_t[]){ header_addr, load, load_end, bss_end, entry });
	klen = AOUT_LEN;
}

TEST(mbpass_aout_kludge_qemu)
{
	machine("qemu", "/mbchain.elf");
	aout_kernel(0x300040, 0x300000, 0x301800, 0x302400, 0x300100);
	add_module(KFILE, klen, "/boot/aout.kernel -v");
	add_module(MOD1_PA, MOD1_LEN, "/boot/initrd.img arg1");
	uint8_t image[0x1800];
	memcpy(image, host_ram() + KFILE + 0x1000, sizeof(image));
	for (uint32_t a = 0x301800; a < 0x302400; a++)
		host_w8(a, 0xAA);
	CHECK_OUTCOME(boot(), HOST_ENTERED);
	CHECK_EQ(host_last_entry.entry, 0x300100);
	CHECK_EQ(host_last_entry.eax, 0x2BADB002);
	CHECK_EQ(host_last_entry.ebx, 0x1000);
	CHECK_MEM(host_ram() + 0x300000, image, sizeof(image));
	for (uint32_t a = 0x301800; a < 0x302400; a++)
		CHECK_MSG(host_r8(a) == 0, "bss byte 0x%x is 0x%02x", a, host_r8(a));
	check_modules_copied(0x303000, 0); /* round_page(0x302400) */
	/* 120 + 72 + 16 + 22 + 21 + 8 = 259 bytes */
	static const uint32_t pa[1] = { 0x303000 }, len[1] = { MOD1_LEN };
	static const char *const strings[1] = { "/boot/initrd.img arg1" };
	ex_mis(0x1000, 1, pa, len, strings, "/boot/aout.kernel -v");
	CHECK_EQ(ex.len, 259);
	CHECK_MIS();
}

/* load_end_addr 0: the rest of the file; bss_end_addr 0: no bss. */
TEST(mbpass_aout_kludge_whole_file_no_bss)
{
	machine("qemu", "");
	aout_kernel(0x300040, 0x300000, 0, 0, 0x300100);
	add_module(KFILE, klen, "/k");
	add_module(MOD1_PA, MOD1_LEN, "/m");
	uint8_t image[AOUT_LEN - 0x1000];
	memcpy(image, host_ram() + KFILE + 0x1000, sizeof(image));
	CHECK_OUTCOME(boot(), HOST_ENTERED);
	CHECK_MEM(host_ram() + 0x300000, image, sizeof(image));
	/* the image ends at 0x301900: the module goes to 0x302000 */
	CHECK_EQ(host_r32(0x1000 + 20), 1);
	uint32_t mods = host_r32(0x1000 + 24);
	CHECK_EQ(host_r32(mods), 0x302000);
	CHECK_EQ(host_r32(mods + 4), 0x302000 + MOD1_LEN);
	check_modules_copied(0x302000, 0);
}

TEST(mbpass_aout_kludge_errors)
{
	static const struct {
		uint32_t header_addr, load, load_end, bss_end;
		const char *error;
	} t[] = {
		{ 0x2fff00, 0x300000, 0x301800, 0x302400,
		  "mbchain: error: mbpass: header_addr 0x2fff00 does not fit load_addr 0x300000\n" },
		{ 0x302000, 0x300000, 0x303000, 0x304000, /* the load would start before the file */
		  "mbchain: error: mbpass: header_addr 0x302000 does not fit load_addr 0x300000\n" },
		{ 0x300040, 0x300000, 0x2ff000, 0x302400,
		  "mbchain: error: mbpass: load_end_addr 0x2ff000 is below load_addr 0x300000\n" },
		{ 0x300040, 0x300000, 0x301800, 0x301000,
		  "mbchain: error: mbpass: bss_end_addr 0x301000 is below the loaded end 0x301800\n" },
		{ 0x300040, 0x300000, 0x302000, 0x302400, /* needs 0x2000 bytes from offset 0x1000 */
		  "mbchain: error: mbpass: the kernel file (10496 bytes) ends before load_end_addr 0x302000\n" },
	};
	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		host_reset_all();
		machine("qemu", "");
		aout_kernel(t[i].header_addr, t[i].load, t[i].load_end, t[i].bss_end, 0x300100);
		add_module(KFILE, klen, "/k");
		CHECK_FAILS_WITH(boot(), t[i].error);
	}
}

/* mbchain.os=multiboot names the kernel's OS; an a.out kludge image is no ELF file, and its
 * header alone says how to load it, as without the option. */
TEST(mbpass_aout_kludge_with_os_multiboot)
{
	machine("qemu", "/mbchain.elf mbchain.os=multiboot");
	aout_kernel(0x300040, 0x300000, 0x301800, 0x302400, 0x300100);
	add_module(KFILE, klen, "/boot/aout.kernel");
	CHECK_OUTCOME(boot(), HOST_ENTERED);
	CHECK_EQ(host_last_entry.entry, 0x300100);
}
