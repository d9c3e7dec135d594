/*
 * test_fidelity.c - the rows tests/FIDELITY.md marked NO CHECK, closed with exact values:
 *   NetBSD: .SUNW_ctf in the symbol image (N7), the bootinfo size limits (N1/N3), BIOSGEOM from
 *           the MIS drives through the whole pipeline;
 *   FreeBSD: MODINFOMD_DYNAMIC and CTORS_ADDR/SIZE of the kernel, acpi.xsdt/xsdt_length in the
 *            kenv, and an i386 shared-object .ko (placement, symbols, every metadata record).
 * Expected values are computed here by hand from the layouts in the comments, not read back
 * from the code under test.
 */
#include <stdio.h>
#include "../../multiboot.h"
#include "boot.h"
#include "elf.h"
#include "elfgen.h"
#include "freebsd.h"
#include "layout.h"
#include "netbsd.h"
#include "options.h"
#include "platform.h"
#include "test.h"
#include "util.h"

static void wr(uint8_t *p, uint64_t v, unsigned len)
{
	for (unsigned i = 0; i < len; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t rd(const uint8_t *p, unsigned len)
{
	uint64_t v = 0;
	for (unsigned i = len; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

static uint64_t round_up(uint64_t x, uint64_t a) { return (x + a - 1) & ~(a - 1); }

/* Shared state of the direct (plan + layout + build) runs. */
static struct boot_request req;
static struct options opts;
static struct kernel_image img;
static struct netbsd_plan nplan;
static struct freebsd_plan fplan;
static struct handoff h;
static struct free_ram fr;

#define CHECK_PIECE(...) host_check_piece(__FILE__, __LINE__, &h, __VA_ARGS__)

static void base_request(uint32_t kernel_pa, uint32_t kernel_len, const char *loader, const char *cmdline)
{
	host_qemu_request(&req, loader, cmdline);
	memset(&h, 0, sizeof(h));
	req.module_count = 1;
	req.modules[0] = (struct boot_module){ .start_pa = kernel_pa, .len = kernel_len };
}

/* =============================================================================================
 * 1. NetBSD: .SUNW_ctf (FIDELITY sections 1 and 2, N7 ksyms_addsyms_elf)
 *
 * The kernel of eg_netbsd_kernel with a CTF section before the symbol table and a look-alike
 * after it:  1 .text  2 .data  3 .bss  4 .note.netbsd.ident  5 .comment (PROGBITS)
 *            6 .SUNW_ctf (PROGBITS, 0x35 bytes)  7 .symtab (link 8)  8 .strtab
 *            9 .SUNW_ctfx (PROGBITS, not CTF)  10 .shstrtab
 * .shstrtab: "" .text .data .bss .note.netbsd.ident .comment .SUNW_ctf .symtab .strtab .SUNW_ctfx
 * .shstrtab = 1+6+6+5+19+9+10+8+8+11+10 = 93 (0x5d) bytes.  .symtab 3 symbols, .strtab 20 bytes.
 * ============================================================================================= */
#define NB_KPA 0x400000u
#define CTF_LEN 0x35u
static struct eg_kernel nk;
static uint8_t ctf[CTF_LEN], ctfx[0x10];

static void ctf_kernel(unsigned cls)
{
	eg_netbsd_kernel(&nk, cls);
	struct eg_sec sym = nk.g.sec[5], str = nk.g.sec[6];
	nk.g.nsec = 5;
	for (unsigned i = 0; i < CTF_LEN; i++)
		ctf[i] = (uint8_t)(0xc0 + 5 * i);
	for (unsigned i = 0; i < sizeof(ctfx); i++)
		ctfx[i] = (uint8_t)(0x31 + i);
	struct eg_sec *s = eg_add_sec(&nk.g, ".SUNW_ctf", SHT_PROGBITS);
	s->data = ctf, s->size = CTF_LEN;
	sym.link = 8;
	nk.g.sec[nk.g.nsec++] = sym;
	nk.g.sec[nk.g.nsec++] = str;
	s = eg_add_sec(&nk.g, ".SUNW_ctfx", SHT_PROGBITS);
	s->data = ctfx, s->size = sizeof(ctfx);
	base_request(NB_KPA, eg_load(&nk.g, NB_KPA), "GRUB 2.06", "");
}

static struct host_target netbsd_stages = { &req, &opts, &img, &h, &fr, &nplan, NULL };


struct ctf_expect {
	uint64_t ssym, esym;
	uint64_t off[11]; /* sh_offset in the symbol image, per section */
};

static void check_ctf_image(unsigned cls, const struct ctf_expect *x)
{
	const int is64 = cls == 64;
	const unsigned ehsize = is64 ? 64 : 52, shsize = is64 ? 64 : 40, w = is64 ? 8 : 4;
	const unsigned at_off = is64 ? 24 : 16, at_size = is64 ? 32 : 20;
	const uint8_t *file = host_ram() + NB_KPA;

	host_console_clear();
	CHECK_OUTCOME(host_run_target(&netbsd_stages), HOST_RETURNED);
	CHECK(nplan.has_symbols);
	CHECK_EQ(nplan.ssym_pa, x->ssym);
	CHECK_EQ(nplan.esym_pa, x->esym);
	for (unsigned i = 0; i < 11; i++)
		CHECK_MSG(nplan.section_offset[i] == x->off[i], "section %u offset: expected 0x%llx, got 0x%llx", i,
			  (unsigned long long)x->off[i], (unsigned long long)nplan.section_offset[i]);
	/* Ehdr | Shdrs built; then shstrtab, and the wanted sections in section-index order */
	CHECK_PIECE(3, PIECE_BUILT, x->ssym, h.blocks[nplan.scratch_block].pa, ehsize + 11 * shsize);
	CHECK_PIECE(4, PIECE_COPY, x->ssym + x->off[10], NB_KPA + nk.g.shstrtab_offset, 0x5d);
	CHECK_PIECE(5, PIECE_COPY, x->ssym + x->off[6], NB_KPA + nk.g.sec[5].offset, CTF_LEN);
	CHECK_STR(h.pieces[5].what, "ksyms ctf");
	CHECK_PIECE(6, PIECE_COPY, x->ssym + x->off[7], NB_KPA + nk.g.sec[6].offset, nk.symtab_size);
	CHECK_PIECE(7, PIECE_COPY, x->ssym + x->off[8], NB_KPA + nk.g.sec[7].offset, nk.strtab_size);
	CHECK_EQ(h.piece_count, 8);
	CHECK_EQ(h.stack_words[4], x->esym);

	/* What the kernel finds at ssym, read the way ksyms_addsyms_elf does. */
	host_apply_pieces(&h);
	const uint8_t *im = host_ram() + x->ssym;
	uint64_t e_shoff = rd(im + (is64 ? 40 : 32), w);
	uint32_t e_shnum = (uint32_t)rd(im + (is64 ? 60 : 48), 2), e_shstrndx = (uint32_t)rd(im + (is64 ? 62 : 50), 2);
	CHECK_EQ(e_shoff, ehsize);
	CHECK_EQ(e_shnum, 11);
	CHECK_EQ(e_shstrndx, 10); /* kept */
	const uint8_t *sh = im + e_shoff;
	uint64_t names_off = rd(sh + e_shstrndx * shsize + at_off, w);
	CHECK_EQ(names_off, x->off[10]);
	CHECK_MEM(im + names_off, file + nk.g.shstrtab_offset, 0x5d);
	unsigned found = 0;
	for (unsigned i = 1; i < e_shnum; i++) {
		const uint8_t *s = sh + i * shsize;
		uint64_t off = rd(s + at_off, w), size = rd(s + at_size, w);
		/* every header is the file's, with sh_offset rewritten (0 when not loaded) */
		uint8_t want[64];
		memcpy(want, file + nk.g.shoff + i * shsize, shsize);
		wr(want + at_off, x->off[i], w);
		CHECK_MSG(memcmp(s, want, shsize) == 0, "section header %u differs from the file's with sh_offset 0x%llx", i,
			  (unsigned long long)x->off[i]);
		if (off)
			CHECK_MSG(off % w == 0, "section %u at 0x%llx is not ELFROUND aligned", i, (unsigned long long)off);
		if (strcmp((const char *)im + names_off + rd(s, 4), ".SUNW_ctf") == 0) {
			found++;
			CHECK_EQ(i, 6);
			CHECK_EQ(off, x->off[6]);
			CHECK_EQ(size, CTF_LEN);
			CHECK_MEM(im + off, ctf, CTF_LEN);
		}
	}
	CHECK_EQ(found, 1);
	CHECK_MEM(im + x->off[7], nk.symtab, nk.symtab_size);
	CHECK_MEM(im + x->off[8], nk.strtab, nk.strtab_size);
}

/* ELF32: ssym = 0x103204; Ehdr+Shdrs 52+11*40 = 0x1ec; shstrtab at 0x1ec (+0x5d -> 0x249, to
 * 0x24c); CTF at 0x24c (+0x35 -> 0x281, to 0x284); symtab at 0x284 (+48 = 0x2b4); strtab at
 * 0x2b4 (+20 = 0x2c8); esym = 0x103204 + 0x2c8 = 0x1034cc.  .comment and .SUNW_ctfx: 0. */
TEST(fidelity_netbsd_ctf_elf32)
{
	static const struct ctf_expect x = { 0x103204, 0x1034cc, { 0, 0, 0, 0, 0, 0, 0x24c, 0x284, 0x2b4, 0, 0x1ec } };
	ctf_kernel(32);
	check_ctf_image(32, &x);
}

/* ELF64: ssym = 0x203208; Ehdr+Shdrs 64+11*64 = 0x300; shstrtab at 0x300 (+0x5d -> 0x35d, to
 * 0x360); CTF at 0x360 (+0x35 -> 0x395, to 0x398); symtab at 0x398 (+72 = 0x3e0); strtab at
 * 0x3e0 (+20 -> 0x3f4, to 0x3f8); esym = 0x203208 + 0x3f8 = 0x203600. */
TEST(fidelity_netbsd_ctf_elf64)
{
	static const struct ctf_expect x = { 0x203208, 0x203600, { 0, 0, 0, 0, 0, 0, 0x360, 0x398, 0x3e0, 0, 0x300 } };
	ctf_kernel(64);
	check_ctf_image(64, &x);
}

/* =============================================================================================
 * Whole-pipeline machine: a Multiboot information structure in simulated RAM, mbchain_main.
 * ============================================================================================= */
#define PL_MIS 0x9500u
#define PL_LOADER 0x9f00u
#define PL_MMAP 0x10000u /* 128 entries of 24 bytes */
#define PL_MODS 0x11000u /* 64 entries of 16 bytes */
#define PL_STRINGS 0x12000u /* 64 strings of 64 bytes */
#define PL_DRIVES 0x14000u
#define PL_CMDLINE 0x15000u
#define PL_KFILE 0x2000000u
#define PL_MODDATA 0x3000000u

static struct mb_info mi;
static struct eg_kernel pk;
static uint32_t pk_len;

static void pl_map(uint64_t base, uint64_t len, uint32_t type)
{
	uint32_t at = PL_MMAP + mi.mmap_len;
	host_w32(at, 20), host_w64(at + 4, base), host_w64(at + 12, len), host_w32(at + 20, type);
	mi.mmap_len += 24;
}

static void pl_module(uint32_t start, uint32_t len, const char *string)
{
	host_mis_add_module(&mi, PL_MODS, PL_STRINGS, start, len, string);
}

/* A drive entry (flag bit 7): size counts the whole entry, 10 bytes and 2 per port. */
static void pl_drive(uint8_t number, uint8_t mode, uint16_t cyl, uint8_t heads, uint8_t sec, unsigned ports)
{
	uint32_t at = PL_DRIVES + mi.drives_len, size = 10 + 2 * ports;
	host_w32(at, size), host_w8(at + 4, number), host_w8(at + 5, mode), host_w16(at + 6, cyl);
	host_w8(at + 8, heads), host_w8(at + 9, sec);
	for (unsigned i = 0; i < ports; i++)
		host_w16(at + 10 + 2 * i, (uint16_t)(0x1f0 + 8 * i));
	mi.drives_len += size;
	mi.drives_pa = PL_DRIVES;
	mi.flags |= MB_INFO_DRIVE_INFO;
}

/* A QEMU-like machine: 128 MiB, four map entries plus `extra` alternating 4 KiB reserved/RAM
 * entries from 64 MiB up (nothing merges them), the NetBSD kernel of eg_netbsd_kernel as
 * module 0 with `kernel_string`. */
static void pl_machine(const char *cmdline, unsigned extra, const char *kernel_string)
{
	memset(&mi, 0, sizeof(mi));
	mi.flags = MB_INFO_MEMORY | MB_INFO_MEM_MAP | MB_INFO_CMDLINE | MB_INFO_BOOT_LOADER_NAME | MB_INFO_BOOTDEV;
	mi.mem_lower_kib = 639;
	mi.mem_upper_kib = 130048;
	mi.boot_device = 0x8000ffff;
	mi.mmap_pa = PL_MMAP;
	pl_map(0, 0x9fc00, MEM_RAM);
	pl_map(0x9fc00, 0x400, MEM_RESERVED);
	pl_map(0xf0000, 0x10000, MEM_RESERVED);
	pl_map(0x100000, 0x3f00000, MEM_RAM);
	for (unsigned i = 0; i < extra; i++)
		pl_map(0x4000000 + 0x1000ull * i, 0x1000, i % 2 ? MEM_RAM : MEM_RESERVED);
	host_puts(PL_CMDLINE, cmdline);
	mi.cmdline_pa = PL_CMDLINE;
	host_puts(PL_LOADER, "qemu");
	mi.boot_loader_name_pa = PL_LOADER;
	host_w16(0x40e, 0x9fc0);
	eg_netbsd_kernel(&pk, 32);
	pk_len = eg_load(&pk.g, PL_KFILE);
	pl_module(PL_KFILE, pk_len, kernel_string);
}

static int pl_boot(void) { return host_boot_mis(&mi, PL_MIS); }

/* The bootinfo the kernel got: 12(%esp) */
static uint32_t pl_bootinfo(void) { return host_r32(host_last_entry.esp + 12); }

/* Sum of the records' len fields: what N1/N3 copy into BOOTINFO_MAXSIZE after the count word. */
static uint32_t pl_records_len(uint32_t bi)
{
	uint32_t sum = 0;
	for (uint32_t i = 0; i < host_r32(bi); i++)
		sum += host_r32(host_r32(bi + 4 + 4 * i));
	return sum;
}

static uint32_t pl_find_record(uint32_t bi, uint32_t type)
{
	for (uint32_t i = 0; i < host_r32(bi); i++) {
		uint32_t r = host_r32(bi + 4 + 4 * i);
		if (host_r32(r + 4) == type)
			return r;
	}
	return 0;
}

/* =============================================================================================
 * 2. NetBSD: bootinfo size limits (FIDELITY section 3, "total size").
 *
 * Record lengths (netbsd.c): CONSOLE 32, ROOTDEVICE 24, BOOTPATH 88, BOOTDISK 40, BIOSGEOM
 * 12+112n, MEMMAP 12+20n, MODULELIST 16+92n, USERCONF 12+80n, SYMTAB 20, FRAMEBUFFER 56.
 * The size checked is the sum of the lengths + 4 (the count word).
 * With the caps (map 128 entries, 64 modules of which one is the kernel, 16 userconf words,
 * 8 drives) the largest possible total is
 *   32+24+88+40 + (12+112*8) + (12+20*128) + (16+92*63) + (12+80*16) + 20 + 56 + 4 = 10848,
 * below BOOTINFO_MAX_NEW (16384): the "error above 16 KiB" path cannot be reached.
 * ============================================================================================= */
static void many_userconf(char *cmdline, unsigned n)
{
	strcpy(cmdline, "/mbchain.elf");
	for (unsigned i = 0; i < n; i++)
		sprintf(cmdline + strlen(cmdline), " userconf=disable_x%u", i);
}

/* 128 map entries, one module, 13 userconf words, one drive, no root=:
 * 32+88+40+124 + (12+20*128) + (16+92) + (12+80*13) + 20 + 56 = 4092, +4 = 4096: no warning. */
TEST(fidelity_netbsd_bootinfo_4096_no_warning)
{
	char cmdline[512];
	many_userconf(cmdline, 13);
	pl_machine(cmdline, 124, "/netbsd");
	pl_drive(0x80, 1, 1023, 255, 63, 0);
	pl_module(PL_MODDATA, 0x100, "/mod1");
	CHECK_EQ(mi.mmap_len, 128 * 24);
	CHECK_OUTCOME(pl_boot(), HOST_ENTERED);
	CHECK_STR(host_console_text(), "");
	uint32_t bi = pl_bootinfo();
	CHECK_EQ(host_r32(bi), 9);
	CHECK_EQ(pl_records_len(bi) + 4, 4096);
	CHECK_EQ(host_r32(pl_find_record(bi, 9) + 8), 128); /* MEMMAP num */
	CHECK_EQ(host_r32(pl_find_record(bi, 13) + 8), 13); /* USERCONFCOMMANDS num */
}

/* One map entry fewer (-20), root= (+24): 4096 + 4 = 4100 > 4096: the warning, and it boots. */
TEST(fidelity_netbsd_bootinfo_over_4096_warns_and_boots)
{
	char cmdline[512];
	many_userconf(cmdline, 13);
	pl_machine(cmdline, 123, "/netbsd root=wd0a");
	pl_drive(0x80, 1, 1023, 255, 63, 0);
	pl_module(PL_MODDATA, 0x100, "/mod1");
	CHECK_OUTCOME(pl_boot(), HOST_ENTERED);
	CHECK_STR(host_console_text(),
		  "mbchain: warning: netbsd: bootinfo records take 4100 bytes; kernels before NetBSD 5 copy only 4096\n");
	CHECK_EQ(host_last_entry.entry, 0x100020);
	uint32_t bi = pl_bootinfo();
	CHECK_EQ(host_r32(bi), 10);
	CHECK_EQ(pl_records_len(bi) + 4, 4100);
	CHECK_EQ(host_r32(pl_find_record(bi, 9) + 8), 127);
}

/* Everything at its cap: 10848 bytes, a warning, a boot, and no 16 KiB error (unreachable). */
TEST(fidelity_netbsd_bootinfo_largest_reachable)
{
	char cmdline[1024];
	many_userconf(cmdline, 16);
	pl_machine(cmdline, 124, "/netbsd root=wd0a");
	for (unsigned i = 0; i < 8; i++)
		pl_drive((uint8_t)(0x80 + i), 1, 1023, 255, 63, 0);
	for (unsigned i = 1; i < 64; i++) {
		char s[16];
		sprintf(s, "/m%u", i);
		pl_module(PL_MODDATA + 0x1000 * i, 0x100, s);
	}
	CHECK_EQ(mi.mods_count, 64);
	CHECK_OUTCOME(pl_boot(), HOST_ENTERED);
	CHECK_STR(host_console_text(),
		  "mbchain: warning: netbsd: bootinfo records take 10848 bytes; kernels before NetBSD 5 copy only 4096\n");
	uint32_t bi = pl_bootinfo();
	CHECK_EQ(host_r32(bi), 10);
	CHECK_EQ(pl_records_len(bi) + 4, 10848);
	CHECK(pl_records_len(bi) + 4 <= 16384);
	CHECK_EQ(host_r32(pl_find_record(bi, 7) + 8), 8); /* BIOSGEOM num */
	CHECK_EQ(host_r32(pl_find_record(bi, 11) + 8), 63); /* MODULELIST num */
	CHECK_EQ(host_r32(pl_find_record(bi, 13) + 8), 16);
}

/* =============================================================================================
 * 3. NetBSD: BIOSGEOM from the MIS drives through mbchain_main (FIDELITY section 3).
 * Record: {len, type 7, num} then per drive 112 bytes: sec@0, head@4, cyl@8, totsec@12 (u64),
 * flags@20, dev@24, the rest (checksum, MBR partitions) 0.
 * ============================================================================================= */
TEST(fidelity_netbsd_biosgeom_pipeline)
{
	pl_machine("/mbchain.elf", 0, "/netbsd");
	pl_drive(0x80, 1, 1023, 255, 63, 2); /* LBA, two ports: size 14 */
	pl_drive(0x81, 0, 80, 2, 18, 0); /* CHS, no ports: size 10 */
	CHECK_OUTCOME(pl_boot(), HOST_ENTERED);
	uint32_t bi = pl_bootinfo();
	/* CONSOLE, BOOTPATH, BOOTDISK, BIOSGEOM, MEMMAP, MODULELIST, USERCONF, SYMTAB, FRAMEBUFFER */
	CHECK_EQ(host_r32(bi), 9);
	uint32_t r = host_r32(bi + 4 + 4 * 3);
	CHECK_EQ(r, bi + 68 + 32 + 88 + 40);
	uint8_t want[12 + 2 * 112];
	memset(want, 0, sizeof(want));
	wr(want, sizeof(want), 4);
	wr(want + 4, 7, 4);
	wr(want + 8, 2, 4);
	wr(want + 12 + 0, 63, 4);
	wr(want + 12 + 4, 255, 4);
	wr(want + 12 + 8, 1023, 4);
	wr(want + 12 + 24, 0x80, 4);
	wr(want + 124 + 0, 18, 4);
	wr(want + 124 + 4, 2, 4);
	wr(want + 124 + 8, 80, 4);
	wr(want + 124 + 24, 0x81, 4);
	CHECK_EQ(sizeof(want), 236);
	CHECK_MEM(host_ram() + r, want, sizeof(want));
	/* the next record starts right after it */
	CHECK_EQ(host_r32(bi + 4 + 4 * 4), r + 236);
	CHECK_EQ(host_r32(r + 236 + 4), 9);
}

/* =============================================================================================
 * FreeBSD direct runs: kernel file at FB_KFILE; 64-bit linked at 0xffffffff80200000 (PA
 * 0x200000), 32-bit at 0x400000.  text [base, +0x1800) R+X, data [base+0x2000, +0x300) + bss
 * to base+0x3203; sections 1 .text 2 .data 3 .bss 4 .symtab (link 5) 5 .strtab, then extras.
 * ============================================================================================= */
#define FB_KFILE 0x2000000u
#define FB_KOFILE 0x3200000u

/* sys/sys/linker.h */
#define T_NAME 0x0001u
#define T_TYPE 0x0002u
#define T_ADDR 0x0003u
#define T_SIZE 0x0004u
#define T_ELFHDR 0x8002u
#define T_SSYM 0x8003u
#define T_ESYM 0x8004u
#define T_DYNAMIC 0x8005u
#define T_ENVP 0x8006u
#define T_HOWTO 0x8007u
#define T_KERNEND 0x8008u
#define T_SHDR 0x8009u
#define T_CTORS_ADDR 0x800au
#define T_CTORS_SIZE 0x800bu
#define T_SMAP 0x9001u

static struct eg_fb_kernel fk;

/* eg_freebsd_kernel with .data 0x100 bytes, optionally a PT_DYNAMIC and a .ctors section. */
static void fb_kernel(unsigned cls, bool dynamic, bool ctors)
{
	struct elfgen *g = &fk.g;
	const int is64 = cls == 64;
	const uint64_t base = is64 ? 0xffffffff80200000ull : 0x400000u;
	struct eg_sec *s;
	eg_freebsd_kernel(&fk, cls, 0x100);
	if (dynamic) /* PT_DYNAMIC (2) at base + 0x2100 */
		g->seg[g->nseg++] = (struct eg_seg){ 2, 6, base + 0x2100, 0x80, 0x80, NULL, 0 };
	if (ctors) { /* in the data segment at base + 0x2200: three pointers */
		s = eg_add_sec(g, ".ctors", SHT_PROGBITS);
		s->in_seg = 1, s->seg_off = 0x200, s->addr = base + 0x2200, s->size = 3 * (is64 ? 8 : 4), s->flags = 3;
		s->addralign = is64 ? 8 : 4;
	}
}

static void fb_request(const char *loader, const char *cmdline)
{
	base_request(FB_KFILE, eg_load(&fk.g, FB_KFILE), loader, cmdline);
	memset(&fplan, 0, sizeof(fplan));
}

static struct host_target freebsd_stages = { &req, &opts, &img, &h, &fr, NULL, &fplan };


static int fb_target(void)
{
	host_console_clear();
	int r = host_run_target(&freebsd_stages);
	if (r == HOST_RETURNED)
		host_apply_pieces(&h);
	return r;
}

/* Walk the metadata at modulep as preload_search_info does: the records of the file group
 * `file` (0 = the kernel) of `type`; returns how many, and the first one's offset. */
static unsigned md_count(unsigned file, uint32_t type, uint64_t *first)
{
	const uint8_t *m = host_ram() + fplan.modulep_pa;
	uint64_t o = 0;
	int group = -1;
	unsigned n = 0;
	while (o + 8 <= fplan.md_len) {
		uint32_t t = le32(m + o), len = le32(m + o + 4);
		if (t == 0 && len == 0)
			break;
		if (t == T_NAME)
			group++;
		if (group == (int)file && t == type && n++ == 0)
			*first = o;
		o += round_up(8 + len, fplan.word);
	}
	return n;
}

static void check_md_word(const char *file, int line, unsigned group, uint32_t type, uint64_t value)
{
	uint64_t o = 0;
	unsigned n = md_count(group, type, &o);
	const uint8_t *m = host_ram() + fplan.modulep_pa;
	if (n != 1)
		test_fail(file, line, "record 0x%x of file %u: expected once, found %u times", type, group, n);
	if (le32(m + o + 4) != fplan.word || rd(m + o + 8, fplan.word) != value)
		test_fail(file, line, "record 0x%x of file %u: expected size %u value 0x%llx, got size %u value 0x%llx", type,
			  group, fplan.word, (unsigned long long)value, le32(m + o + 4),
			  (unsigned long long)rd(m + o + 8, fplan.word));
}
#define CHECK_MD_WORD(...) check_md_word(__FILE__, __LINE__, __VA_ARGS__)

/* =============================================================================================
 * 4. FreeBSD: MODINFOMD_DYNAMIC (kernel) and CTORS_ADDR/CTORS_SIZE (FIDELITY section 6, D6).
 * ============================================================================================= */
TEST(fidelity_freebsd_amd64_dynamic_and_ctors)
{
	fb_kernel(64, true, true);
	fb_request("GRUB 2.06", "");
	CHECK_OUTCOME(fb_target(), HOST_RETURNED);
	CHECK(img.has_dynamic);
	CHECK_MD_WORD(0, T_DYNAMIC, 0xffffffff80202100ull); /* p_vaddr, not relocated */
	CHECK_MD_WORD(0, T_CTORS_ADDR, 0xffffffff80202200ull); /* sh_addr */
	CHECK_MD_WORD(0, T_CTORS_SIZE, 24); /* sh_size */
	uint64_t o = 0;
	CHECK_EQ(md_count(0, T_HOWTO, &o), 1); /* the walk reached the records after them */
	CHECK_EQ(md_count(0, T_SMAP, &o), 1);
}

TEST(fidelity_freebsd_i386_dynamic_and_ctors)
{
	fb_kernel(32, true, true);
	fb_request("GRUB 2.06", "");
	CHECK_OUTCOME(fb_target(), HOST_RETURNED);
	CHECK_MD_WORD(0, T_DYNAMIC, 0x402100);
	CHECK_MD_WORD(0, T_CTORS_ADDR, 0x402200);
	CHECK_MD_WORD(0, T_CTORS_SIZE, 12);
}

TEST(fidelity_freebsd_no_dynamic_no_ctors_records)
{
	fb_kernel(64, false, false);
	fb_request("GRUB 2.06", "");
	CHECK_OUTCOME(fb_target(), HOST_RETURNED);
	uint64_t o = 0;
	CHECK_EQ(md_count(0, T_DYNAMIC, &o), 0);
	CHECK_EQ(md_count(0, T_CTORS_ADDR, &o), 0);
	CHECK_EQ(md_count(0, T_CTORS_SIZE, &o), 0);
	/* only PT_DYNAMIC: DYNAMIC without CTORS */
	fb_kernel(64, true, false);
	fb_request("GRUB 2.06", "");
	CHECK_OUTCOME(fb_target(), HOST_RETURNED);
	CHECK_MD_WORD(0, T_DYNAMIC, 0xffffffff80202100ull);
	CHECK_EQ(md_count(0, T_CTORS_ADDR, &o), 0);
}

/* =============================================================================================
 * 5. FreeBSD kenv: an ACPI 2.0 RSDP (good extended checksum) in the BIOS area (FIDELITY 7).
 * ============================================================================================= */
#define CHECK_ENV(entries) \
	host_check_env(__FILE__, __LINE__, fplan.envp_pa, fplan.env_len, (entries), (unsigned)ARRAY_LEN(entries))

TEST(fidelity_freebsd_kenv_acpi20_xsdt)
{
	static const char *const env[] = {
		"kernelname=/boot/kernel/kernel",
		"acpi.rsdp=0x000fe300",
		"acpi.revision=2",
		"acpi.oem=MBFIDL",
		"acpi.rsdt=0x7ffe1234",
		"acpi.xsdt=0x00000001fee01000", /* 0x%016llx: all 64 bits */
		"acpi.xsdt_length=36", /* %u */
	};
	/* amd64 and i386 alike; no EBDA, so the BIOS area scan finds it */
	for (unsigned cls = 32; cls <= 64; cls += 32) {
		host_reset_all();
		fb_kernel(cls, false, false);
		fb_request("GRUB 2.06", "");
		req.ebda_pa = 0;
		host_put_rsdp(0xfe300, 2, "MBFIDL", 0x7ffe1234, 0x00000001fee01000ull);
		CHECK_OUTCOME(fb_target(), HOST_RETURNED);
		CHECK_ENV(env);
	}
}

/* =============================================================================================
 * 6. FreeBSD/i386: a shared-object .ko (ET_DYN), FIDELITY section 6 ".ko (i386)".
 *
 * Segments: PT_LOAD R+X vaddr 0 (0x400 bytes), PT_LOAD R+W vaddr 0x1400 (0x100 file, 0x300
 * memory), PT_DYNAMIC vaddr 0x1480 (0x40).  Sections: 1 .text 2 .data 3 .dynamic 4 .bss
 * 5 .symtab (4 symbols, 64 bytes, link 6) 6 .strtab (13 bytes) 7 .shstrtab; .symtab and
 * .strtab in no segment.
 * Kernel (i386): [0x400000, 0x403203), symbols 0x403204..0x403254 (kernel SIZE 0x3254).
 * The .ko: base = round_page(0x403254) = 0x404000; text 0x404000 (+0x400), data 0x405400
 * (+0x100, zero to 0x405700); ssym 0x405700: [u32 64] symtab 0x405704..0x405744, [u32 13] at
 * 0x405744, strtab 0x405748..0x405755, pad to esym 0x405758; SIZE 0x1758.
 * Then the environment at 0x406000, the metadata at 0x407000, kernend 0x408000.
 * ============================================================================================= */
static struct {
	struct elfgen g;
	uint8_t symtab[64], strtab[13];
	uint32_t len;
} ko;

static void shared_ko(void)
{
	struct elfgen *g = &ko.g;
	struct eg_sec *s;
	memset(&ko, 0, sizeof(ko));
	eg_init(g, 32, ET_DYN, 9);
	g->nseg = 3;
	g->seg[0] = (struct eg_seg){ 1, 5, 0, 0x400, 0x400, NULL, 0 };
	g->seg[1] = (struct eg_seg){ 1, 6, 0x1400, 0x100, 0x300, NULL, 0 };
	g->seg[2] = (struct eg_seg){ 2, 6, 0x1480, 0x40, 0x40, NULL, 0 };
	s = eg_add_sec(g, ".text", SHT_PROGBITS);
	s->in_seg = 0, s->size = 0x400, s->flags = 6;
	s = eg_add_sec(g, ".data", SHT_PROGBITS);
	s->in_seg = 1, s->size = 0x80, s->addr = 0x1400, s->flags = 3;
	s = eg_add_sec(g, ".dynamic", 6 /* SHT_DYNAMIC */);
	s->in_seg = 2, s->size = 0x40, s->addr = 0x1480, s->flags = 3, s->link = 6, s->entsize = 8;
	s = eg_add_sec(g, ".bss", SHT_NOBITS);
	s->size = 0x200, s->addr = 0x1500, s->flags = 3;
	eg_fill(ko.symtab, sizeof(ko.symtab), 0x17, 11);
	memcpy(ko.strtab, "\0ko_start\0xy", 13);
	s = eg_add_sec(g, ".symtab", SHT_SYMTAB);
	s->data = ko.symtab, s->size = sizeof(ko.symtab), s->link = 6, s->info = 1, s->addralign = 4, s->entsize = 16;
	s = eg_add_sec(g, ".strtab", SHT_STRTAB);
	s->data = ko.strtab, s->size = sizeof(ko.strtab);
	ko.len = eg_load(g, FB_KOFILE);
}

static struct {
	uint8_t b[8192];
	size_t len;
} ex;

static void ex_rec(uint32_t type, const void *data, uint32_t len)
{
	wr(ex.b + ex.len, type, 4);
	wr(ex.b + ex.len + 4, len, 4);
	if (len)
		memcpy(ex.b + ex.len + 8, data, len);
	ex.len += round_up(8 + len, 4);
}
static void ex_str(uint32_t type, const char *s) { ex_rec(type, s, (uint32_t)strlen(s) + 1); }
static void ex_u32(uint32_t type, uint32_t v)
{
	uint8_t b[4];
	wr(b, v, 4);
	ex_rec(type, b, 4);
}

TEST(fidelity_freebsd_i386_shared_ko)
{
	fb_kernel(32, false, false);
	fb_request("GRUB 2.06", "");
	shared_ko();
	req.module_count = 2;
	req.modules[1] = (struct boot_module){ .start_pa = FB_KOFILE, .len = ko.len };
	strcpy(req.modules[1].string, "name=/boot/kernel/test.ko");
	for (uint32_t a = 0x405500; a < 0x405700; a++)
		host_w8(a, 0xAA); /* the bss must be zeroed */
	CHECK_OUTCOME(fb_target(), HOST_RETURNED);

	CHECK_EQ(fplan.module_count, 1);
	const struct freebsd_module *m = &fplan.modules[0];
	CHECK(m->is_shared);
	CHECK(!m->is_ko);
	CHECK_STR(m->type, "elf module");
	CHECK_STR(m->name, "/boot/kernel/test.ko");
	CHECK_EQ(m->base_pa, 0x404000);
	CHECK_EQ(m->len, 0x1758);
	CHECK(m->syms.present);
	CHECK_EQ(m->syms.ssym_pa, 0x405700);
	CHECK_EQ(m->syms.esym_pa, 0x405758);
	CHECK_EQ(fplan.envp_pa, 0x406000);
	CHECK_EQ(fplan.modulep_pa, 0x407000);
	CHECK_EQ(fplan.kernend_pa, 0x408000);

	/* the image: segments at base + p_vaddr, bss zeroed */
	const struct eg_seg *sg = ko.g.seg;
	CHECK_MEM(host_ram() + 0x404000, host_ram() + FB_KOFILE + sg[0].offset, 0x400);
	CHECK_MEM(host_ram() + 0x405400, host_ram() + FB_KOFILE + sg[1].offset, 0x100);
	for (uint32_t a = 0x405500; a < 0x405700; a++)
		CHECK_MSG(host_r8(a) == 0, "bss byte 0x%x is 0x%02x", a, host_r8(a));
	/* its symbols: [u32 size][symtab][u32 size][strtab], then 3 pad bytes to esym that neither
	 * loader(8) (load_elf.c: lastaddr = roundup(...)) nor mbchain writes */
	uint8_t want[0x55];
	memset(want, 0, sizeof(want));
	wr(want, 64, 4);
	memcpy(want + 4, ko.symtab, 64);
	wr(want + 0x44, 13, 4);
	memcpy(want + 0x48, ko.strtab, 13);
	CHECK_MEM(host_ram() + 0x405700, want, sizeof(want));

	/* every metadata record */
	memset(&ex, 0, sizeof(ex));
	ex_str(T_NAME, "/boot/kernel/kernel");
	ex_str(T_TYPE, "elf kernel");
	ex_u32(T_ADDR, 0x400000);
	ex_u32(T_SIZE, 0x3254);
	ex_rec(T_ELFHDR, host_ram() + FB_KFILE, 52);
	ex_rec(T_SHDR, host_ram() + FB_KFILE + fk.g.shoff, fk.g.shnum * 40);
	ex_u32(T_SSYM, 0x403204);
	ex_u32(T_ESYM, 0x403254);
	ex_u32(T_HOWTO, 0);
	ex_u32(T_ENVP, 0x406000);
	ex_u32(T_KERNEND, 0x408000);
	uint8_t smap[80];
	for (uint32_t i = 0; i < 4; i++) {
		wr(smap + 20 * i, req.memmap[i].base_pa, 8);
		wr(smap + 20 * i + 8, req.memmap[i].len, 8);
		wr(smap + 20 * i + 16, req.memmap[i].type, 4);
	}
	ex_rec(T_SMAP, smap, 80);
	size_t module_at = ex.len;
	ex_str(T_NAME, "/boot/kernel/test.ko");
	ex_str(T_TYPE, "elf module");
	ex_u32(T_ADDR, 0x404000);
	ex_u32(T_SIZE, 0x1758);
	ex_rec(T_ELFHDR, host_ram() + FB_KOFILE, 52);
	ex_rec(T_SHDR, host_ram() + FB_KOFILE + ko.g.shoff, 8 * 40); /* the file's table, unchanged */
	ex_u32(T_SSYM, 0x405700);
	ex_u32(T_ESYM, 0x405758);
	ex_u32(T_DYNAMIC, 0x1480); /* p_vaddr of PT_DYNAMIC: link_elf adds the base */
	ex_rec(0, NULL, 0);
	const uint8_t *got = host_ram() + fplan.modulep_pa;
	for (size_t i = 0; i < ex.len; i++)
		CHECK_MSG(got[i] == ex.b[i], "metadata byte 0x%zx (module group from 0x%zx): expected 0x%02x, got 0x%02x", i,
			  module_at, ex.b[i], got[i]);
	CHECK_EQ(fplan.md_len, ex.len);
	/* and by the walk */
	CHECK_MD_WORD(1, T_SSYM, 0x405700);
	CHECK_MD_WORD(1, T_ESYM, 0x405758);
	CHECK_MD_WORD(1, T_DYNAMIC, 0x1480);
}
