/*
 * test_freebsd.c - the FreeBSD target: howto letters and console flags, freebsd_plan + layout +
 * freebsd_build on crafted ELF64 (amd64) and ELF32 (i386) kernels in simulated RAM.  The pieces
 * are then applied to the simulated RAM as the stub would, and the result is compared byte by
 * byte with expectations written here from SPEC section B: the symbols after the kernel, the
 * preload metadata record by record, the static environment, the amd64 page tables and stack
 * words, the i386 struct bootinfo and stack words, an amd64 .ko laid out section by section
 * (stand/common/load_elf_obj.c), and the error lines.
 */
#include <stdio.h>
#include "elf.h"
#include "elfgen.h"
#include "freebsd.h"
#include "layout.h"
#include "options.h"
#include "platform.h"
#include "test.h"
#include "util.h"

#define KFILE 0x2000000u /* the kernel file, where the loader put it */
#define MOD_PA 0x3000000u
#define MOD_LEN 0x1234u
#define ENV_PA 0x3100000u
#define KO_PA 0x3200000u
#define RSDP_PA 0xe1230u
#define EBDA_PA 0x9fc00u

/* sys/sys/linker.h, sys/x86/include/metadata.h */
#define T_NAME 0x0001u
#define T_TYPE 0x0002u
#define T_ADDR 0x0003u
#define T_SIZE 0x0004u
#define T_ARGS 0x0006u
#define T_ELFHDR 0x8002u
#define T_SSYM 0x8003u
#define T_ESYM 0x8004u
#define T_ENVP 0x8006u
#define T_HOWTO 0x8007u
#define T_KERNEND 0x8008u
#define T_SHDR 0x8009u
#define T_SMAP 0x9001u
#define T_MODULEP 0x9006u
#define T_VBE_FB 0x9007u

static uint64_t round_up(uint64_t x, uint64_t a) { return (x + a - 1) & ~(a - 1); }

static void wr(uint8_t *p, uint64_t v, unsigned len)
{
	for (unsigned i = 0; i < len; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

/* ---- a FreeBSD-like kernel ---------------------------------------------------------------
 * amd64: linked at 0xffffffff80200000 (p_paddr 0x200000), i386: VA == PA 0x400000.
 * text [base, +0x1800) R+X; data [base+0x2000, +0x300) + bss to base+0x3203 R+W; entry base+0x20.
 * Sections: 1 .text, 2 .data, 3 .bss, 4 .symtab, 5 .strtab, 6 .shstrtab. */
static struct eg_fb_kernel k; /* eg_freebsd_kernel, .data 0x300 bytes */
static const char kstrs[] = "\0start\0probe_marker\0ab"; /* 23 bytes: the strtab needs padding */

static void fb_kernel(unsigned cls) { eg_freebsd_kernel(&k, cls, 0x300); }

/* ---- an amd64 .ko (ET_REL) -----------------------------------------------------------------
 * 1 .text PROGBITS AX 0x35 align 16    2 .data PROGBITS WA 0x11 align 8
 * 3 .comment PROGBITS (not ALLOC)       4 .bss NOBITS WA 0x40 align 32
 * 5 .rela.text RELA -> 1 (48, align 8)  6 .symtab (72, align 8, link 7)
 * 7 .strtab (23)                         8 .rela.comment RELA -> 3 (not loaded)
 * 9 .empty PROGBITS AX size 0           10 .shstrtab */
static struct {
	struct elfgen g;
	uint8_t text[0x35], data[0x11], comment[0x13], rela[48], rela2[24], symtab[72], strtab[23];
	uint32_t len;
} ko;

static void fb_ko(void)
{
	struct elfgen *g = &ko.g;
	struct eg_sec *s;
	memset(&ko, 0, sizeof(ko));
	eg_init(g, 64, ET_REL, 9);
	eg_fill(ko.text, sizeof(ko.text), 0x90, 1);
	eg_fill(ko.data, sizeof(ko.data), 0xd0, 1);
	memcpy(ko.comment, "GCC: (kmod) 1.2.3.4", 0x13);
	eg_fill(ko.rela, sizeof(ko.rela), 0x10, 1);
	eg_fill(ko.rela2, sizeof(ko.rela2), 0x70, 1);
	eg_fill(ko.symtab, sizeof(ko.symtab), 0xa0, 1);
	memcpy(ko.strtab, kstrs, sizeof(ko.strtab));
	s = eg_add_sec(g, ".text", SHT_PROGBITS);
	s->flags = 6, s->data = ko.text, s->size = sizeof(ko.text), s->addralign = 16, s->addr = 0x10; /* stale addr */
	s = eg_add_sec(g, ".data", SHT_PROGBITS);
	s->flags = 3, s->data = ko.data, s->size = sizeof(ko.data), s->addralign = 8;
	s = eg_add_sec(g, ".comment", SHT_PROGBITS);
	s->flags = 0x30, s->data = ko.comment, s->size = sizeof(ko.comment), s->addr = 0x777; /* must become 0 */
	s = eg_add_sec(g, ".bss", SHT_NOBITS);
	s->flags = 3, s->size = 0x40, s->addralign = 32;
	s = eg_add_sec(g, ".rela.text", SHT_RELA);
	s->flags = 0x40, s->data = ko.rela, s->size = sizeof(ko.rela), s->link = 6, s->info = 1, s->addralign = 8;
	s->entsize = 24;
	s = eg_add_sec(g, ".symtab", SHT_SYMTAB);
	s->data = ko.symtab, s->size = sizeof(ko.symtab), s->link = 7, s->info = 2, s->addralign = 8, s->entsize = 24;
	s = eg_add_sec(g, ".strtab", SHT_STRTAB);
	s->data = ko.strtab, s->size = sizeof(ko.strtab);
	s = eg_add_sec(g, ".rela.comment", SHT_RELA);
	s->flags = 0x40, s->data = ko.rela2, s->size = sizeof(ko.rela2), s->link = 6, s->info = 3, s->addralign = 8;
	s->entsize = 24;
	s = eg_add_sec(g, ".empty", SHT_PROGBITS);
	s->flags = 6, s->addralign = 4;
}

/* ---- the machine -------------------------------------------------------------------------- */
static struct boot_request req;
static struct options opts;
static struct kernel_image img;
static struct freebsd_plan plan;
static struct handoff h;
static struct free_ram fr;

static void reload_kernel(void) { req.modules[0].len = eg_load(&k.g, KFILE); }

static void fixture(unsigned cls, const char *loader, const char *cmdline, const char *kernel_string,
		    const char *module_string)
{
	fb_kernel(cls);
	host_qemu_request(&req, loader, cmdline);
	memset(&h, 0, sizeof(h));
	memset(&plan, 0, sizeof(plan));
	req.has_boot_device = true;
	req.boot_device = 0x81ffffff;
	req.module_count = 2;
	req.modules[0] = (struct boot_module){ .start_pa = KFILE, .len = 0 };
	strcpy(req.modules[0].string, kernel_string);
	reload_kernel();
	req.modules[1] = (struct boot_module){ .start_pa = MOD_PA, .len = MOD_LEN };
	strcpy(req.modules[1].string, module_string);
	for (uint32_t i = 0; i < MOD_LEN; i++)
		host_w8(MOD_PA + i, (uint8_t)(i * 13 + 5));
}

static void add_module(uint32_t pa, uint32_t len, const char *string)
{
	struct boot_module *m = &req.modules[req.module_count++];
	*m = (struct boot_module){ .start_pa = pa, .len = len };
	strcpy(m->string, string);
}

static void add_env_module(const char *text)
{
	host_put(ENV_PA, text, strlen(text));
	add_module(ENV_PA, (uint32_t)strlen(text), "type=env");
}

static struct host_target freebsd_stages = { &req, &opts, &img, &h, &fr, NULL, &plan };


/* Run the target; when it returns, carry out the pieces on the simulated RAM in order (the
 * sources here never overlap the destinations). */
static int target(void)
{
	host_console_clear();
	int r = host_run_target(&freebsd_stages);
	if (r != HOST_RETURNED)
		return r;
	host_apply_pieces(&h);
	return r;
}

#define CHECK_PIECE(...) host_check_piece(__FILE__, __LINE__, &h, __VA_ARGS__)

/* Where the main fixtures' ten pieces go: the kernel's text, data and bss, the symbols
 * ([word symsize][symtab][word strsize][strtab], sym_bytes with the padding), the module, the
 * metadata and the environment. */
struct main_pieces {
	uint64_t text, data, bss, ssym, symtab, strsize, strtab, module, md, env;
	unsigned word, symsize, sym_bytes;
};

/* The plan's first module: where it goes, its name, type and arguments. */
static void check_module0(uint64_t base_pa, const char *name, const char *type, const char *args)
{
	CHECK_EQ(plan.modules[0].base_pa, base_pa);
	CHECK_STR(plan.modules[0].name, name);
	CHECK_STR(plan.modules[0].type, type);
	CHECK_STR(plan.modules[0].args, args);
}

/* The pieces of a main fixture's run, in order, and the symbol bytes they leave at ssym. */
static void check_main_pieces(uint64_t scratch, struct main_pieces x)
{
	CHECK_PIECE(0, PIECE_COPY, x.text, KFILE + k.g.seg[0].offset, 0x1800);
	CHECK_PIECE(1, PIECE_COPY, x.data, KFILE + k.g.seg[1].offset, 0x300);
	CHECK_PIECE(2, PIECE_ZERO, x.bss, 0, 0xf03);
	CHECK_PIECE(3, PIECE_BUILT, x.ssym, scratch + plan.md_len + plan.env_len, x.word);
	CHECK_PIECE(4, PIECE_COPY, x.symtab, KFILE + k.g.sec[3].offset, x.symsize);
	CHECK_PIECE(5, PIECE_BUILT, x.strsize, scratch + plan.md_len + plan.env_len + x.word, x.word);
	CHECK_PIECE(6, PIECE_COPY, x.strtab, KFILE + k.g.sec[4].offset, 23);
	CHECK_PIECE(7, PIECE_COPY, x.module, MOD_PA, MOD_LEN);
	CHECK_PIECE(8, PIECE_BUILT, x.md, scratch, plan.md_len);
	CHECK_PIECE(9, PIECE_BUILT, x.env, scratch + plan.md_len, plan.env_len);
	CHECK_EQ(h.piece_count, 10);
	uint8_t want[112] = { 0 };
	wr(want, x.symsize, x.word);
	memcpy(want + x.word, k.symtab, x.symsize);
	wr(want + x.word + x.symsize, 23, x.word);
	memcpy(want + 2 * x.word + x.symsize, kstrs, 23);
	CHECK_MEM(host_ram() + x.ssym, want, x.sym_bytes);
}

/* ---- expected metadata, built here record by record ---------------------------------------- */
static struct {
	uint8_t b[16384];
	size_t len;
	unsigned word;
} ex;

static void ex_reset(unsigned word)
{
	memset(&ex, 0, sizeof(ex));
	ex.word = word;
}

static void ex_rec(uint32_t type, const void *data, uint32_t len)
{
	wr(ex.b + ex.len, type, 4);
	wr(ex.b + ex.len + 4, len, 4);
	if (len)
		memcpy(ex.b + ex.len + 8, data, len);
	ex.len += round_up(8 + len, ex.word); /* padding stays 0 */
}

static void ex_str(uint32_t type, const char *s) { ex_rec(type, s, (uint32_t)strlen(s) + 1); }

static void ex_word(uint32_t type, uint64_t v)
{
	uint8_t b[8];
	wr(b, v, ex.word);
	ex_rec(type, b, ex.word);
}

static void ex_u32(uint32_t type, uint32_t v)
{
	uint8_t b[4];
	wr(b, v, 4);
	ex_rec(type, b, 4);
}

static void ex_u64(uint32_t type, uint64_t v)
{
	uint8_t b[8];
	wr(b, v, 8);
	ex_rec(type, b, 8);
}

/* A MODINFOMD_VBE_FB record (struct efi_fb): address and size (u64), height, width, stride in
 * pixels, the red, green, blue and reserved masks, bits per pixel (u32). */
static void ex_vbe_fb(uint64_t addr, uint64_t size, uint32_t height, uint32_t width, uint32_t stride, uint32_t red,
		      uint32_t green, uint32_t blue, uint32_t reserved, uint32_t bpp)
{
	uint8_t fb[48];
	wr(fb, addr, 8);
	wr(fb + 8, size, 8);
	wr(fb + 16, height, 4);
	wr(fb + 20, width, 4);
	wr(fb + 24, stride, 4);
	wr(fb + 28, red, 4);
	wr(fb + 32, green, 4);
	wr(fb + 36, blue, 4);
	wr(fb + 40, reserved, 4);
	wr(fb + 44, bpp, 4);
	ex_rec(T_VBE_FB, fb, 48);
}

/* The kernel's group up to its symbols: NAME, TYPE, ADDR, SIZE, ELFHDR, SHDR (as in the file). */
static void ex_kernel(const char *name, uint64_t addr, uint64_t size)
{
	const unsigned ehsize = ex.word == 8 ? 64 : 52, shsize = ex.word == 8 ? 64 : 40;
	ex_str(T_NAME, name);
	ex_str(T_TYPE, "elf kernel");
	ex_word(T_ADDR, addr);
	ex_word(T_SIZE, size);
	ex_rec(T_ELFHDR, host_ram() + KFILE, ehsize);
	ex_rec(T_SHDR, host_ram() + KFILE + k.g.shoff, k.g.shnum * shsize);
}

static void ex_smap(void)
{
	uint8_t b[20 * 8];
	for (uint32_t i = 0; i < req.memmap_count; i++) {
		wr(b + 20 * i, req.memmap[i].base_pa, 8);
		wr(b + 20 * i + 8, req.memmap[i].len, 8);
		wr(b + 20 * i + 16, req.memmap[i].type, 4);
	}
	ex_rec(T_SMAP, b, 20 * req.memmap_count);
}

static void ex_file(const char *name, const char *type, const char *args, uint64_t addr, uint64_t size)
{
	ex_str(T_NAME, name);
	ex_str(T_TYPE, type);
	if (args)
		ex_str(T_ARGS, args);
	ex_word(T_ADDR, addr);
	ex_word(T_SIZE, size);
}

static void ex_end(void) { ex_rec(0, NULL, 0); }

/* Compare the metadata at modulep with ex, record by record.  skip_howto: compare only the
 * HOWTO record's head (its value is checked on its own). */
static void check_md(const char *file, int line, bool skip_howto)
{
	const uint8_t *got = host_ram() + plan.modulep_pa;
	size_t o = 0;
	unsigned n = 0;
	while (o < ex.len) {
		uint32_t type = le32(ex.b + o), len = le32(ex.b + o + 4);
		size_t next = o + (size_t)round_up(8 + len, ex.word), end = skip_howto && type == T_HOWTO ? o + 8 : next;
		for (size_t i = o; i < end; i++)
			if (got[i] != ex.b[i])
				test_fail(file, line,
					  "metadata record %u (type 0x%x len %u) at modulep+0x%zx: byte %zu expected 0x%02x, "
					  "got 0x%02x (the record there: type 0x%x len %u)",
					  n, type, len, o, i - o, ex.b[i], got[i], le32(got + o), le32(got + o + 4));
		o = next;
		n++;
	}
	if (plan.md_len != ex.len)
		test_fail(file, line, "metadata length: expected %zu, got %llu", ex.len, (unsigned long long)plan.md_len);
}
#define CHECK_MD(skip) check_md(__FILE__, __LINE__, (skip))

/* ---- expected environment ------------------------------------------------------------------ */
/* The environment at envp must be exactly the entries given, each NUL-terminated, then a NUL. */
#define CHECK_ENV(entries) \
	host_check_env(__FILE__, __LINE__, plan.envp_pa, plan.env_len, (entries), (unsigned)ARRAY_LEN(entries))

/* ============================================================================================ */

TEST(freebsd_howto_letters)
{
	static const struct {
		char letter;
		uint32_t bit;
	} t[] = { { 'a', 0x1 },	      { 's', 0x2 },	{ 'r', 0x20 },	     { 'd', 0x40 },	    { 'v', 0x800 },
		  { 'h', 0x1000 },    { 'C', 0x2000 },	{ 'g', 0x8000 },     { 'm', 0x10000 },	    { 'p', 0x100000 },
		  { 'P', 0x10000000 }, { 'D', 0x20000000 } };
	for (unsigned i = 0; i < ARRAY_LEN(t); i++) {
		char f[2] = { t[i].letter, 0 };
		CHECK_MSG(freebsd_howto(f) == t[i].bit, "-%c: expected 0x%x, got 0x%x", t[i].letter, t[i].bit,
			  freebsd_howto(f));
	}
	CHECK_EQ(freebsd_howto(""), 0);
	CHECK_EQ(freebsd_howto("asv"), 0x803);
	CHECK_EQ(freebsd_howto("asrdvhCgmpPD"), 0x3011b863);
	CHECK_EQ(freebsd_howto("bcSqxz19"), 0); /* not FreeBSD letters (S<n> is no flag either) */
	CHECK_EQ(freebsd_howto("sbv"), 0x802);
}

TEST(freebsd_console_howto)
{
	static const struct {
		const char *cmdline;
		uint32_t howto;
	} t[] = {
		{ "console=comconsole", 0x1000 },
		{ "console=nullconsole", 0x10000 },
		{ "console=vidconsole", 0 },
		{ "console=comconsole,vidconsole", 0x20001000 },
		{ "console=\"vidconsole comconsole\"", 0x20001000 },
		{ "console=comconsole -D", 0x20001000 },
		{ "-h console=vidconsole", 0x1000 },
		{ "", 0 },
	};
	for (unsigned i = 0; i < ARRAY_LEN(t); i++) {
		fixture(64, "GRUB 2.06", t[i].cmdline, "", "type=md_image");
		CHECK_OUTCOME(target(), HOST_RETURNED);
		CHECK_MSG(plan.howto == t[i].howto, "%s: expected howto 0x%x, got 0x%x", t[i].cmdline, t[i].howto, plan.howto);
		CHECK_EQ(h.stack_words[0], 0);
	}
	/* i386: RB_BOOTINFO in the howto argument */
	fixture(32, "GRUB 2.06", "console=comconsole", "", "type=md_image");
	CHECK_OUTCOME(target(), HOST_RETURNED);
	CHECK_EQ(h.stack_words[1], 0x80001000);
	fixture(32, "GRUB 2.06", "", "", "type=md_image");
	CHECK_OUTCOME(target(), HOST_RETURNED);
	CHECK_EQ(h.stack_words[1], 0x80000000);
}

/* amd64: kernel at PA 0x200000 (end 0x203203), symbols at 0x203208, an md_image module at
 * 0x204000, metadata at 0x206000, environment at 0x207000, kernend 0x208000. */
static void amd64_main_fixture(void)
{
	fixture(64, "GRUB 2.06", "console=comconsole vfs.root.mountfrom=ufs:/dev/ada0p2 foo=1 -s mbchain.os=freebsd",
		"-v bare foo=2 boot_verbose=NO hint.uart.0.flags=\"0x10\"", "type=md_image name=/boot/mfsroot ro");
	add_env_module("# loader.conf style\n  hw.physmem=\"1G\"  \r\nkern.hz=100\t\n\nfoo=3\n   # indented\nlast=x y");
	host_put_rsdp(RSDP_PA, 2, "MBTEST", 0x07fe0000, 0x07fe1000);
	req.has_framebuffer = true;
	req.framebuffer = (struct boot_framebuffer){ 0xfd000000, 4096, 1024, 768, 32, 16, 8, 8, 8, 0, 8 };
}

/* amd64_main_fixture, then the target, which must return. */
static void amd64_main_run(void)
{
	amd64_main_fixture();
	CHECK_OUTCOME(target(), HOST_RETURNED);
}

TEST(freebsd_amd64_layout_and_pieces)
{
	amd64_main_run();
	CHECK(plan.amd64);
	CHECK_EQ(plan.word, 8);
	CHECK(plan.syms.present);
	CHECK_EQ(plan.syms.ssym_pa, 0x203208);
	CHECK_EQ(plan.syms.esym_pa, 0x203278);
	CHECK_EQ(plan.syms.symsize, 72);
	CHECK_EQ(plan.syms.strsize, 23);
	CHECK_EQ(plan.kernel_size, 0x3278);
	CHECK_EQ(plan.module_count, 1);
	CHECK_EQ(plan.modules[0].len, MOD_LEN);
	check_module0(0x204000, "/boot/mfsroot", "md_image", "ro");
	CHECK_EQ(plan.modulep_pa, 0x206000);
	CHECK_EQ(plan.envp_pa, 0x207000);
	CHECK_EQ(plan.kernend_pa, 0x208000);

	const uint64_t scratch = h.blocks[plan.scratch_block].pa;
	CHECK_EQ(scratch, 0x1000); /* lowest free RAM */
	/* [u64 72][symtab][u64 23][strtab][1 pad byte] */
	check_main_pieces(scratch, (struct main_pieces){ 0x200000, 0x202000, 0x202300, 0x203208, 0x203210, 0x203258,
							 0x203260, 0x204000, 0x206000, 0x207000, 8, 72, 112 });
	/* the kernel image itself */
	for (unsigned i = 0; i < 0x1800; i += 0x100)
		CHECK_EQ(host_r8(0x200000 + i), eg_pattern(0, i));
	CHECK_EQ(host_r8(0x2022ff), eg_pattern(1, 0x2ff));
	/* the module */
	CHECK_MEM(host_ram() + 0x204000, host_ram() + MOD_PA, MOD_LEN);

	CHECK_EQ(h.keepout_start_pa, 0x200000);
	CHECK_EQ(h.keepout_end_pa, 0x208000 + 16 * 1024 * 1024);
}

TEST(freebsd_amd64_metadata_bytes)
{
	amd64_main_run();
	ex_reset(8);
	ex_kernel("/boot/kernel/kernel", 0x200000, 0x3278);
	ex_word(T_SSYM, 0x203208);
	ex_word(T_ESYM, 0x203278);
	ex_u32(T_HOWTO, 0x1802); /* -s -v, comconsole */
	ex_word(T_ENVP, 0x207000);
	ex_word(T_KERNEND, 0x208000);
	ex_word(T_MODULEP, 0x206000);
	ex_smap();
	ex_vbe_fb(0xfd000000, 4096 * 768, 768, 1024, 1024, 0xff0000, 0xff00, 0xff, 0xff000000, 32); /* stride in pixels */
	ex_file("/boot/mfsroot", "md_image", "ro", 0x204000, MOD_LEN);
	ex_end();
	/* NAME 32 + TYPE 24 + ADDR 16 + SIZE 16 + ELFHDR 72 + SHDR 456 + SSYM/ESYM 32 + HOWTO 16 +
	 * ENVP/KERNEND/MODULEP 48 + SMAP 88 + VBE_FB 56 + module 24+24+16+16+16 + END 8 */
	CHECK_EQ(ex.len, 960);
	CHECK_MD(false);
}

TEST(freebsd_amd64_environment_bytes)
{
	amd64_main_run();
	static const char *const env[] = {
		"kernelname=/boot/kernel/kernel",
		"acpi.rsdp=0x000e1230",
		"acpi.revision=2",
		"acpi.oem=MBTEST",
		"acpi.rsdt=0x07fe0000",
		"acpi.xsdt=0x0000000007fe1000",
		"acpi.xsdt_length=36",
		"boot_single=YES",
		"boot_verbose=NO", /* later value, first position */
		"boot_serial=YES",
		"console=comconsole",
		"vfs.root.mountfrom=ufs:/dev/ada0p2",
		"foo=3",
		"bare=1",
		"hint.uart.0.flags=0x10",
		"hw.physmem=1G",
		"kern.hz=100",
		"last=x y",
	};
	CHECK_ENV(env);
}

TEST(freebsd_amd64_tables_stack_entry)
{
	amd64_main_run();
	CHECK_EQ(h.mode, CPU_LONG_64);
	CHECK_EQ(h.entry_va, 0xffffffff80200020ull);
	const struct block *t = &h.blocks[plan.tables_block];
	CHECK_EQ(t->len, 3 * 4096);
	CHECK_EQ(t->pa & 0xfff, 0);
	CHECK(t->pa + t->len <= 0x40000000);
	CHECK_EQ(h.cr3_pa, t->pa);
	for (unsigned i = 0; i < 512; i++) {
		CHECK_MSG(host_r64(t->pa + 8 * i) == ((t->pa + 0x1000) | 3), "PML4[%u] = 0x%llx", i,
			  (unsigned long long)host_r64(t->pa + 8 * i));
		CHECK_MSG(host_r64(t->pa + 0x1000 + 8 * i) == ((t->pa + 0x2000) | 3), "PDPT[%u] = 0x%llx", i,
			  (unsigned long long)host_r64(t->pa + 0x1000 + 8 * i));
		CHECK_MSG(host_r64(t->pa + 0x2000 + 8 * i) == ((uint64_t)i * 0x200000 | 0x83), "PD[%u] = 0x%llx", i,
			  (unsigned long long)host_r64(t->pa + 0x2000 + 8 * i));
	}
	CHECK_EQ(h.stack_word_count, 3);
	CHECK_EQ(h.stack_words[0], 0);
	CHECK_EQ(h.stack_words[1], 0x206000); /* modulep */
	CHECK_EQ(h.stack_words[2], 0x208000); /* kernend */
	const struct block *st = &h.blocks[h.stack_block];
	CHECK_EQ(st->len, 4096);
	CHECK(st->pa + st->len <= 0x40000000);
	CHECK_EQ(handoff_entry_esp(&h), st->pa + 4096 - 12);
	CHECK_EQ(h.eax, 0);
	CHECK_EQ(h.ebx, 0);
}

/* i386: kernel at 0x400000 (end 0x403203), symbols 0x403204..0x403254, a module at 0x404000,
 * environment at 0x406000, metadata at 0x407000, kernend 0x408000. */
static void i386_main_fixture(void)
{
	fixture(32, "qemu", "/mbchain.elf console=\"comconsole vidconsole\"", "/boot/kernel.i386/kernel -a rootdev=disk0s1a",
		"/boot/mfsroot type=mfs_root");
	req.ebda_pa = EBDA_PA;
	host_put_rsdp(EBDA_PA + 0x40, 0, "BOCHS ", 0x07ff0000, 0);
	host_put_rsdp(RSDP_PA, 2, "MBTEST", 0x07fe0000, 0x07fe1000); /* the EBDA's is found first */
}

/* i386_main_fixture, then the target, which must return. */
static void i386_main_run(void)
{
	i386_main_fixture();
	CHECK_OUTCOME(target(), HOST_RETURNED);
}

TEST(freebsd_i386_layout_and_pieces)
{
	i386_main_run();
	CHECK(!plan.amd64);
	CHECK_EQ(plan.word, 4);
	CHECK_EQ(plan.syms.ssym_pa, 0x403204);
	CHECK_EQ(plan.syms.esym_pa, 0x403254);
	CHECK_EQ(plan.kernel_size, 0x3254);
	check_module0(0x404000, "/boot/mfsroot", "mfs_root", "");
	CHECK_EQ(plan.envp_pa, 0x406000);
	CHECK_EQ(plan.modulep_pa, 0x407000);
	CHECK_EQ(plan.kernend_pa, 0x408000);
	const uint64_t scratch = h.blocks[plan.scratch_block].pa;
	/* [u32 48][symtab][u32 23][strtab][1 pad byte] */
	check_main_pieces(scratch, (struct main_pieces){ 0x400000, 0x402000, 0x402300, 0x403204, 0x403208, 0x403238,
							 0x40323c, 0x404000, 0x407000, 0x406000, 4, 48, 80 });
	CHECK_EQ(h.keepout_start_pa, 0x400000);
}

static void ex_i386_main(uint32_t howto)
{
	ex_reset(4);
	ex_kernel("/boot/kernel.i386/kernel", 0x400000, 0x3254);
	ex_word(T_SSYM, 0x403204);
	ex_word(T_ESYM, 0x403254);
	ex_u32(T_HOWTO, howto);
	ex_word(T_ENVP, 0x406000);
	ex_word(T_KERNEND, 0x408000);
	ex_smap(); /* no MODULEP on i386, no framebuffer here */
	ex_file("/boot/mfsroot", "mfs_root", NULL, 0x404000, MOD_LEN);
	ex_end();
}

TEST(freebsd_i386_metadata_bytes)
{
	i386_main_run();
	ex_i386_main(0x20001001);
	/* NAME 36 + TYPE 20 + ADDR/SIZE 24 + ELFHDR 60 + SHDR 288 + SSYM/ESYM 24 + HOWTO 12 +
	 * ENVP/KERNEND 24 + SMAP 88 + module 24+20+12+12 + END 8 */
	CHECK_EQ(ex.len, 652);
	CHECK_MD(false);
}

/* bootinfo32.c: MODINFOMD_HOWTO holds bi_getboothowto()'s value; RB_BOOTINFO is added only to
 * the howto argument on the stack (*howtop = howto | RB_BOOTINFO). */
TEST(freebsd_i386_howto_record_without_bootinfo_flag)
{
	i386_main_run();
	ex_i386_main(0x20001001);
	CHECK_MD(true); /* the HOWTO record sits at the same place */
	uint32_t at = (uint32_t)plan.modulep_pa + 36 + 20 + 24 + 60 + 288 + 24;
	CHECK_EQ(host_r32(at), T_HOWTO);
	CHECK_EQ(host_r32(at + 4), 4);
	CHECK_EQ(host_r32(at + 8), 0x20001001);
}

TEST(freebsd_i386_environment_bytes)
{
	i386_main_run();
	static const char *const env[] = {
		"kernelname=/boot/kernel.i386/kernel",
		"acpi.rsdp=0x0009fc40",
		"acpi.revision=1", /* revision 0 is reported as 1 */
		"acpi.oem=BOCHS ",
		"acpi.rsdt=0x07ff0000",
		"boot_askname=YES",
		"boot_serial=YES",
		"boot_multicons=YES",
		"console=comconsole vidconsole",
		"rootdev=disk0s1a",
	};
	CHECK_ENV(env);
}

TEST(freebsd_i386_bootinfo_and_stack)
{
	i386_main_run();
	CHECK_EQ(h.mode, CPU_PROTECTED_32);
	CHECK_EQ(h.entry_pa, 0x400020);
	CHECK(h.return_trap);
	const struct block *b = &h.blocks[plan.bootinfo_block];
	static const char name[] = "/boot/kernel.i386/kernel";
	CHECK_EQ(b->len, 84 + sizeof(name));
	const uint32_t bi = (uint32_t)b->pa;
	uint8_t want[84 + sizeof(name)];
	memset(want, 0, sizeof(want));
	wr(want + 0, 1, 4); /* bi_version */
	wr(want + 4, bi + 84, 4); /* bi_kernelname */
	/* 8 bi_nfs_diskless, 12 bi_n_bios_used, 16..47 bi_bios_geom: 0 */
	wr(want + 48, 84, 4); /* bi_size */
	want[52] = 1; /* bi_memsizes_valid */
	want[53] = 0x81; /* bi_bios_dev: the Multiboot boot device's drive */
	wr(want + 56, 639, 4);
	wr(want + 60, 130048, 4);
	wr(want + 64, 0x403204, 4);
	wr(want + 68, 0x403254, 4);
	wr(want + 72, 0x408000, 4);
	wr(want + 76, 0x406000, 4);
	wr(want + 80, 0x407000, 4);
	memcpy(want + 84, name, sizeof(name));
	CHECK_MEM(host_ram() + bi, want, sizeof(want));

	CHECK_EQ(h.stack_word_count, 9);
	const uint32_t words[9] = { 0, 0xa0001001, 0, 0, 0, 0, bi, 0x407000, 0x408000 };
	for (unsigned i = 0; i < 9; i++)
		CHECK_MSG(h.stack_words[i] == words[i], "stack word %u: expected 0x%x, got 0x%x", i, words[i],
			  h.stack_words[i]);
	CHECK_EQ(handoff_entry_esp(&h), h.blocks[h.stack_block].pa + 4096 - 36);
}

TEST(freebsd_vbe_fb_16bpp)
{
	fixture(64, "GRUB 2.06", "", "", "type=md_image");
	req.has_framebuffer = true;
	req.framebuffer = (struct boot_framebuffer){ 0xe0000000, 2048, 1000, 600, 16, 11, 5, 5, 6, 0, 5 };
	CHECK_OUTCOME(target(), HOST_RETURNED);
	ex_reset(8);
	ex_kernel("/boot/kernel/kernel", 0x200000, 0x3278);
	ex_word(T_SSYM, 0x203208);
	ex_word(T_ESYM, 0x203278);
	ex_u32(T_HOWTO, 0);
	ex_word(T_ENVP, plan.envp_pa);
	ex_word(T_KERNEND, plan.kernend_pa);
	ex_word(T_MODULEP, 0x206000);
	ex_smap();
	ex_vbe_fb(0xe0000000, 2048 * 600, 600, 1000, 1024, 0xf800, 0x7e0, 0x1f, 0, 16); /* stride: 2048 bytes / 2 */
	ex_file("module1", "md_image", NULL, 0x204000, MOD_LEN);
	ex_end();
	CHECK_MD(false);
	CHECK_EQ(plan.envp_pa, 0x207000);
	CHECK_EQ(plan.kernend_pa, 0x208000);
}

TEST(freebsd_env_name_option_and_module_lines)
{
	fixture(64, "GRUB 2.06", "name=/boot/kernel.old/kernel empty= -p", "", "type=md_image");
	add_env_module("a=1\r\n\t b = 2\n");
	CHECK_FAILS_WITH(target(), "mbchain: error: freebsd: env module 2, line 2 is not name=value\n");

	static const char *const bad[] = { "novalue\n", "=v\n", "x y=1\n", "ok=1\n\n  # c\n\tspace in=1" };
	static const unsigned bad_line[] = { 1, 1, 1, 4 };
	for (unsigned i = 0; i < ARRAY_LEN(bad); i++) {
		char line[96];
		fixture(64, "GRUB 2.06", "", "", "type=md_image");
		add_env_module(bad[i]);
		snprintf(line, sizeof(line), "mbchain: error: freebsd: env module 2, line %u is not name=value\n", bad_line[i]);
		CHECK_FAILS_WITH(target(), line);
	}

	fixture(64, "GRUB 2.06", "name=/boot/kernel.old/kernel empty= -p", "", "type=md_image");
	add_env_module("q=\"\"\nempty=set\n\"quoted\"=x\nhalf=\"open\n");
	CHECK_OUTCOME(target(), HOST_RETURNED);
	CHECK_STR(plan.kernel_name, "/boot/kernel.old/kernel");
	static const char *const env[] = {
		"kernelname=/boot/kernel.old/kernel",
		"boot_pause=YES",
		"empty=set",
		"q=",
		"\"quoted\"=x",
		"half=\"open",
	};
	CHECK_ENV(env);
}

TEST(freebsd_no_acpi_no_symbols)
{
	fixture(64, "GRUB 2.06", "", "", "type=md_image");
	/* .symtab (section 4) becomes PROGBITS: no symbol table */
	host_w32(KFILE + (uint32_t)k.g.shoff + 4 * 64 + 4, SHT_PROGBITS);
	CHECK_OUTCOME(target(), HOST_RETURNED);
	CHECK(!plan.syms.present);
	CHECK_EQ(plan.kernel_size, 0x3208);
	CHECK_EQ(plan.modules[0].base_pa, 0x204000);
	CHECK_PIECE(3, PIECE_COPY, 0x204000, MOD_PA, MOD_LEN);
	CHECK_EQ(h.piece_count, 6);
	ex_reset(8);
	ex_kernel("/boot/kernel/kernel", 0x200000, 0x3208);
	ex_u32(T_HOWTO, 0);
	ex_word(T_ENVP, 0x207000);
	ex_word(T_KERNEND, 0x208000);
	ex_word(T_MODULEP, 0x206000);
	ex_smap();
	ex_file("module1", "md_image", NULL, 0x204000, MOD_LEN);
	ex_end();
	CHECK_MD(false);
	static const char *const env[] = { "kernelname=/boot/kernel/kernel" };
	CHECK_ENV(env);

	/* i386: bi_symtab and bi_esymtab 0 */
	fixture(32, "GRUB 2.06", "", "", "type=md_image");
	host_w32(KFILE + (uint32_t)k.g.shoff + 4 * 40 + 4, SHT_PROGBITS);
	CHECK_OUTCOME(target(), HOST_RETURNED);
	CHECK(!plan.syms.present);
	uint32_t bi = (uint32_t)h.blocks[plan.bootinfo_block].pa;
	CHECK_EQ(host_r32(bi + 64), 0);
	CHECK_EQ(host_r32(bi + 68), 0);
	ex_reset(4);
	ex_kernel("/boot/kernel/kernel", 0x400000, 0x3204);
	ex_u32(T_HOWTO, 0);
	ex_word(T_ENVP, 0x406000); /* module [0x404000, 0x405234) */
	ex_word(T_KERNEND, 0x408000);
	ex_smap();
	ex_file("module1", "md_image", NULL, 0x404000, MOD_LEN);
	ex_end();
	CHECK_MD(false);
}

TEST(freebsd_kernel_past_1g)
{
	fixture(64, "GRUB 2.06", "", "", "type=md_image");
	req.memmap[3].len = 0x7ff00000; /* RAM claimed up to 2 GiB */
	k.g.seg[1].memsz = 0x40000000;
	reload_kernel();
	/* end 0x40202000, symbols to 0x40202070, module at 0x40203000 (+0x1234), metadata at
	 * 0x40205000, environment at 0x40206000, kernend 0x40207000 */
	CHECK_FAILS_WITH(target(), "mbchain: error: freebsd: kernend 0x40207000 leaves the kernel too little of its first "
				   "1 GiB (needs kernend + 0x200000 + 16 MiB below 1 GiB)\n");
	/* i386: end 0x40402000, symbols to 0x40402050, module at 0x40403000, environment at
	 * 0x40405000, metadata at 0x40406000, kernend 0x40407000 */
	fixture(32, "GRUB 2.06", "", "", "type=md_image");
	req.memmap[3].len = 0x7ff00000;
	k.g.seg[1].memsz = 0x40000000;
	reload_kernel();
	CHECK_FAILS_WITH(target(), "mbchain: error: freebsd: kernel, modules and metadata end at 0x40407000, past 1 GiB\n");
}

/* ---- amd64 .ko ---------------------------------------------------------------------------- */
#define B 0x204000u

static void ko_fixture(void)
{
	fixture(64, "GRUB 2.06", "", "", "");
	fb_ko();
}

static void ko_load_modules(void)
{
	ko.len = eg_load(&ko.g, KO_PA);
	req.modules[1] = (struct boot_module){ .start_pa = KO_PA, .len = ko.len };
	strcpy(req.modules[1].string, "name=/boot/kernel/test.ko foo=bar");
	add_module(MOD_PA, MOD_LEN, "type=cpu_microcode");
}

static const uint64_t ko_addr[11] = { 0, B, B + 0x38, 0, B + 0x60, B + 0x158, B + 0xa0, B + 0xe8, 0, 0, B + 0xff };

TEST(freebsd_amd64_ko_layout)
{
	ko_fixture();
	ko_load_modules();
	CHECK_EQ(ko.g.shnum, 11);
	CHECK_EQ(ko.g.shstrtab_size, 0x55);
	for (uint32_t i = 0; i < 0x1000; i++)
		host_w8(B + i, 0xAA); /* whatever was there: the padding must be zeroed */
	CHECK_OUTCOME(target(), HOST_RETURNED);
	CHECK_EQ(plan.module_count, 2);
	CHECK(plan.modules[0].is_ko);
	CHECK_EQ(plan.modules[0].base_pa, B);
	CHECK_EQ(plan.modules[0].len, 0x188);
	CHECK_STR(plan.modules[0].type, "elf obj module");
	CHECK_STR(plan.modules[0].name, "/boot/kernel/test.ko");
	CHECK_STR(plan.modules[0].args, "foo=bar");
	CHECK_EQ(plan.modules[1].base_pa, 0x205000);
	CHECK_STR(plan.modules[1].name, "module2");
	CHECK_STR(plan.modules[1].type, "cpu_microcode");

	const struct eg_sec *s = ko.g.sec; /* s[i - 1] is section i */
	CHECK_PIECE(7, PIECE_COPY, B, KO_PA + s[0].offset, 0x35);
	CHECK_PIECE(8, PIECE_ZERO, B + 0x35, 0, 3);
	CHECK_PIECE(9, PIECE_COPY, B + 0x38, KO_PA + s[1].offset, 0x11);
	CHECK_PIECE(10, PIECE_ZERO, B + 0x49, 0, 0x17);
	CHECK_PIECE(11, PIECE_ZERO, B + 0x60, 0, 0x40);
	CHECK_PIECE(12, PIECE_COPY, B + 0xa0, KO_PA + s[5].offset, 72);
	CHECK_PIECE(13, PIECE_COPY, B + 0xe8, KO_PA + s[6].offset, 23);
	CHECK_PIECE(14, PIECE_COPY, B + 0xff, KO_PA + ko.g.shstrtab_offset, 0x55);
	CHECK_PIECE(15, PIECE_ZERO, B + 0x154, 0, 4);
	CHECK_PIECE(16, PIECE_COPY, B + 0x158, KO_PA + s[4].offset, 48);
	CHECK_PIECE(17, PIECE_COPY, 0x205000, MOD_PA, MOD_LEN);
	CHECK_EQ(h.piece_count, 20);

	uint8_t want[0x188];
	memset(want, 0, sizeof(want));
	memcpy(want, ko.text, 0x35);
	memcpy(want + 0x38, ko.data, 0x11);
	memcpy(want + 0xa0, ko.symtab, 72);
	memcpy(want + 0xe8, ko.strtab, 23);
	memcpy(want + 0xff, host_ram() + KO_PA + ko.g.shstrtab_offset, 0x55);
	memcpy(want + 0x158, ko.rela, 48);
	CHECK_MEM(host_ram() + B, want, sizeof(want));
	CHECK_EQ(plan.modulep_pa, 0x207000);
	CHECK_EQ(plan.envp_pa, 0x208000);
	CHECK_EQ(plan.kernend_pa, 0x209000);
}

TEST(freebsd_amd64_ko_metadata)
{
	ko_fixture();
	ko_load_modules();
	CHECK_OUTCOME(target(), HOST_RETURNED);
	ex_reset(8);
	ex_kernel("/boot/kernel/kernel", 0x200000, 0x3278);
	ex_word(T_SSYM, 0x203208);
	ex_word(T_ESYM, 0x203278);
	ex_u32(T_HOWTO, 0);
	ex_word(T_ENVP, 0x208000);
	ex_word(T_KERNEND, 0x209000);
	ex_u64(T_MODULEP, 0x207000);
	ex_smap();
	ex_file("/boot/kernel/test.ko", "elf obj module", "foo=bar", B, 0x188);
	ex_rec(T_ELFHDR, host_ram() + KO_PA, 64);
	uint8_t shdr[11 * 64];
	memcpy(shdr, host_ram() + KO_PA + ko.g.shoff, sizeof(shdr));
	for (unsigned i = 0; i < 11; i++)
		wr(shdr + 64 * i + 16, ko_addr[i], 8); /* sh_addr: the load address, 0 when not loaded */
	ex_rec(T_SHDR, shdr, sizeof(shdr));
	ex_file("module2", "cpu_microcode", NULL, 0x205000, MOD_LEN);
	ex_end();
	CHECK_MD(false);
}

TEST(freebsd_amd64_ko_typed)
{
	/* type="elf obj module" given explicitly; the next module is page-aligned after it */
	ko_fixture();
	ko_load_modules();
	strcpy(req.modules[1].string, "type=\"elf obj module\"");
	CHECK_OUTCOME(target(), HOST_RETURNED);
	CHECK(plan.modules[0].is_ko);
	CHECK_STR(plan.modules[0].name, "module1");
	CHECK_EQ(plan.modules[0].len, 0x188);
	CHECK_EQ(plan.modules[1].base_pa, 0x205000);
}

/* Load the (damaged) .ko as module 1; the target must fail with `error`. */
static void ko_fails_with(const char *error)
{
	ko_load_modules();
	CHECK_FAILS_WITH(target(), error);
}

TEST(freebsd_amd64_ko_errors)
{
	/* two symbol tables */
	ko_fixture();
	ko.g.sec[7].type = SHT_SYMTAB; /* .rela.comment */
	ko_fails_with("mbchain: error: freebsd: module has 2 symbol tables (needs exactly one)\n");
	/* none */
	ko_fixture();
	ko.g.sec[5].type = SHT_PROGBITS;
	ko_fails_with("mbchain: error: freebsd: module has 0 symbol tables (needs exactly one)\n");
	/* the symbol table's sh_link is not a string table */
	ko_fixture();
	ko.g.sec[5].link = 1;
	ko_fails_with("mbchain: error: freebsd: module symbol table links to section 1, not a string table\n");
	ko_fixture();
	ko.g.sec[5].link = 99;
	ko_fails_with("mbchain: error: freebsd: module symbol table links to section 99, not a string table\n");
	/* no section names */
	ko_fixture();
	ko.g.no_shstrtab = 1;
	ko_fails_with("mbchain: error: freebsd: module has no section names (e_shstrndx 0)\n");
	ko_fixture();
	ko_load_modules();
	host_w16(KO_PA + 62, 1); /* e_shstrndx: .text */
	CHECK_FAILS_WITH(target(), "mbchain: error: freebsd: module has no section names (e_shstrndx 1)\n");
	/* an alignment that is not a power of two */
	ko_fixture();
	ko.g.sec[1].addralign = 12;
	ko_fails_with("mbchain: error: freebsd: module section 2 has alignment 12, not a power of two\n");
	/* a .ko for another machine */
	ko_fixture();
	ko.g.cls = 32;
	ko_load_modules();
	CHECK_FAILS_WITH(target(), "mbchain: error: freebsd: module 1 is for machine 3\n");
}

TEST(freebsd_i386_kernel_with_amd64_ko)
{
	/* An i386 kernel takes shared-object modules; an amd64 relocatable .ko is refused. */
	fixture(32, "GRUB 2.06", "", "", "");
	fb_ko();
	ko_load_modules();
	CHECK_FAILS_WITH(target(), "mbchain: error: elf: module is not a shared object (e_type 1)\n");
}

TEST(freebsd_module_names_and_types)
{
	fixture(64, "qemu", "", "/boot/kernel/kernel", "/boot/zfs/zpool.cache type=/boot/zfs/zpool.cache name=x");
	add_module(MOD_PA + 0x2000, 0x10, "/boot/blob");
	add_module(MOD_PA + 0x3000, 0x20, "/boot/fw.bin type=cpu_microcode name=/boot/firmware/ucode a b  c");
	CHECK_OUTCOME(target(), HOST_RETURNED);
	CHECK_EQ(plan.module_count, 3);
	CHECK_STR(plan.modules[0].name, "/boot/zfs/zpool.cache");
	CHECK_STR(plan.modules[0].type, "/boot/zfs/zpool.cache");
	CHECK_EQ(plan.modules[0].base_pa, 0x204000);
	CHECK_STR(plan.modules[1].name, "/boot/blob");
	CHECK_STR(plan.modules[1].type, "raw");
	CHECK_EQ(plan.modules[1].base_pa, 0x206000);
	CHECK_STR(plan.modules[2].name, "/boot/firmware/ucode");
	CHECK_STR(plan.modules[2].type, "cpu_microcode");
	CHECK_STR(plan.modules[2].args, "a b c");
	CHECK_EQ(plan.modules[2].base_pa, 0x207000);
	CHECK_CONTAINS(host_console_text(), "mbchain: warning: freebsd: module 2 has no type=");
}
