/*
 * netbsd.c - see netbsd.h.  Layouts and numbers: NetBSD sys/arch/x86/include/bootinfo.h
 * (rev 1.31), sys/lib/libsa/loadfile_elf32.c (loadfile_static), sys/arch/i386/stand/lib/exec.c
 * (exec_netbsd, module_init); summarised with sources in ../shared/SPEC.md section A.
 */
#include "netbsd.h"
#include "fmt.h"
#include "log.h"
#include "memmap.h"
#include "platform.h"
#include "util.h"

/* BTINFO record types (bootinfo.h). */
enum {
	BTINFO_BOOTPATH = 0,
	BTINFO_ROOTDEVICE = 1,
	BTINFO_BOOTDISK = 3,
	BTINFO_CONSOLE = 6,
	BTINFO_BIOSGEOM = 7,
	BTINFO_SYMTAB = 8,
	BTINFO_MEMMAP = 9,
	BTINFO_MODULELIST = 11,
	BTINFO_FRAMEBUFFER = 12,
	BTINFO_USERCONFCOMMANDS = 13,
};
enum { BI_MODULE_ELF = 1, BI_MODULE_IMAGE = 2, BI_MODULE_RND = 3, BI_MODULE_FS = 4 };

/* Record sizes, header included (bootinfo.h structs). */
#define BI_BOOTPATH_LEN 88u
#define BI_ROOTDEVICE_LEN 24u
#define BI_BOOTDISK_LEN 40u
#define BI_CONSOLE_LEN 32u
#define BI_BIOSGEOM_LEN(n) (12u + 112u * (n))
#define BI_SYMTAB_LEN 20u
#define BI_MEMMAP_LEN(n) (12u + 20u * (n))
#define BI_MODULELIST_LEN(n) (16u + 92u * (n))
#define BI_FRAMEBUFFER_LEN 56u
#define BI_USERCONF_LEN(n) (12u + 80u * (n))

/* Kernels copy the records into a BOOTINFO_MAXSIZE buffer and drop what does not fit: 4 KiB
 * until 2008, 8 KiB until 2022, 16 KiB since (bootinfo.h). */
#define BOOTINFO_MAX_OLD 4096u
#define BOOTINFO_MAX_NEW 16384u
#define BOOTINFO_MAX_RECORDS 16u
/* NetBSD/amd64 locore drops the whole module list when round_page(endpa) passes its bootstrap
 * window, NKL2_KIMG_ENTRIES * 2 MiB minus its tables: 16 entries (32 MiB) in older kernels,
 * 48 (96 MiB) in current ones (amd64 locore.S, pmap_private.h). */
#define AMD64_WINDOW_OLD_PA (30u * MIB)
#define AMD64_WINDOW_NEW_PA (94u * MIB)
/* The kernel builds its first page tables right after the modules: keep our blocks clear. */
#define KERNEL_TABLES_MARGIN (4u * MIB)
#define STACK_LEN 4096u

bool netbsd_segment_loadable(uint32_t p_flags)
{
	return (p_flags & (PF_W | PF_X)) != 0;
}

uint32_t netbsd_howto(const char *flags)
{
	/* sys/boot_flag.h BOOT_FLAG() */
	static const struct flag_bit table[] = {
		{ 'a', 0x00000001, NULL }, /* RB_ASKNAME */
		{ 's', 0x00000002, NULL }, /* RB_SINGLE */
		{ 'b', 0x00000008, NULL }, /* RB_HALT */
		{ 'd', 0x00000040, NULL }, /* RB_KDB */
		{ 'm', 0x00000200, NULL }, /* RB_MINIROOT */
		{ 'c', 0x00001000, NULL }, /* RB_USERCONF */
		{ 'q', 0x00010000, NULL }, /* AB_QUIET */
		{ 'v', 0x00020000, NULL }, /* AB_VERBOSE */
		{ 'z', 0x00040000, NULL }, /* AB_SILENT */
		{ 'x', 0x00080000, NULL }, /* AB_DEBUG */
		{ '1', 0x10000000, NULL }, /* RB_MD1: no SMP on x86 */
		{ '2', 0x20000000, NULL }, /* RB_MD2: no ACPI on x86 */
		{ '3', 0x40000000, NULL }, /* RB_MD3 */
		{ '4', 0x80000000, NULL }, /* RB_MD4 */
	};
	return options_howto(flags, table, ARRAY_LEN(table), "netbsd");
}

static bool is_netbsd_key(const char *key)
{
	static const char *const keys[] = { "root", "console", "console_addr", "console_speed", "name", "userconf" };
	for (unsigned i = 0; i < ARRAY_LEN(keys); i++)
		if (strcmp(key, keys[i]) == 0)
			return true;
	return false;
}

static uint64_t elfround(const struct kernel_image *img, uint64_t x)
{
	return handoff_align(x, img->elf_class / 8, "symbol table");
}

/* Should section i be loaded with the symbols?  SYMTABs, the STRTABs a SYMTAB links to, and
 * CTF data (loadfile_static). */
static bool section_wanted(const struct kernel_image *img, uint32_t i, const struct elf_section *s)
{
	if (s->type == SHT_SYMTAB)
		return true;
	if (s->type == SHT_PROGBITS)
		return strcmp(elf_string(img, img->shstrndx, s->name), ".SUNW_ctf") == 0;
	if (s->type != SHT_STRTAB)
		return false;
	for (uint32_t j = 1; j < img->shnum; j++) {
		struct elf_section t;
		elf_section(img, j, &t);
		if (t.type == SHT_SYMTAB && t.link == i)
			return true;
	}
	return false;
}

static bool find_symtab(const struct kernel_image *img)
{
	bool found = false;
	for (uint32_t i = 1; i < img->shnum; i++) {
		struct elf_section s;
		elf_section(img, i, &s);
		if (s.type != SHT_SYMTAB)
			continue;
		if (s.link == 0 || s.link >= img->shnum)
			fail("the kernel file is damaged", "netbsd: symbol table %u links to string table %u of %u sections", i,
			     s.link, img->shnum);
		found = true;
	}
	return found;
}

/* Place Ehdr | Shdrs | shstrtab | wanted sections after the kernel, each ELFROUND-aligned. */
static void plan_symbols(const struct kernel_image *img, struct netbsd_plan *plan, struct handoff *h)
{
	uint64_t shdrs_len = (uint64_t)img->shnum * elf_shdr_size(img);
	uint64_t ssym = elfround(img, img->end_pa), pos;

	plan->has_symbols = find_symtab(img);
	if (!plan->has_symbols) {
		plan->esym_pa = 0;
		plan->endpa = img->end_pa;
		log_info("netbsd: the kernel has no symbol table; no ksyms");
		return;
	}
	plan->ssym_pa = ssym;
	plan->headers_piece = handoff_add_piece(h, PIECE_BUILT, ssym, 0, img->ehsize + shdrs_len, "ksyms headers");
	pos = elfround(img, ssym + img->ehsize + shdrs_len);
	if (img->shstrndx) {
		struct elf_section s;
		elf_section(img, img->shstrndx, &s);
		plan->section_offset[img->shstrndx] = pos - ssym;
		handoff_add_piece(h, PIECE_COPY, pos, elf_file_pa(img, s.offset, s.size, "section names"), s.size,
				  "ksyms shstrtab");
		pos = elfround(img, pos + s.size);
	}
	for (uint32_t i = 1; i < img->shnum; i++) {
		struct elf_section s;
		if (i == img->shstrndx)
			continue;
		elf_section(img, i, &s);
		if (!section_wanted(img, i, &s))
			continue;
		plan->section_offset[i] = pos - ssym;
		handoff_add_piece(h, PIECE_COPY, pos, elf_file_pa(img, s.offset, s.size, "symbol section"), s.size,
				  s.type == SHT_SYMTAB ? "ksyms symtab" : s.type == SHT_STRTAB ? "ksyms strtab" : "ksyms ctf");
		pos = elfround(img, pos + s.size);
	}
	plan->esym_pa = (pos + 3) & ~3ull; /* exec.c rounds MARK_END to sizeof(int) */
	plan->endpa = plan->esym_pa;
}

static uint32_t module_type(const struct boot_request *req, uint32_t index, const struct module_options *mo)
{
	static const struct {
		const char *name;
		uint32_t type;
	} types[] = { { "elf", BI_MODULE_ELF }, { "image", BI_MODULE_IMAGE }, { "rnd", BI_MODULE_RND }, { "fs", BI_MODULE_FS } };
	const struct boot_module *m = &req->modules[index];
	if (mo->has_type) {
		for (unsigned i = 0; i < ARRAY_LEN(types); i++)
			if (strcmp(mo->type, types[i].name) == 0)
				return types[i].type;
		fail("use type=elf, image, rnd or fs", "netbsd: module %u has unknown type=%s", index, mo->type);
	}
	const uint8_t *head = m->len >= 4 ? phys_ptr(m->start_pa, 4) : NULL;
	if (head && head[0] == 0x7f && head[1] == 'E' && head[2] == 'L' && head[3] == 'F')
		return BI_MODULE_ELF;
	log_info("netbsd: module %u is not ELF and has no type=; passing it as type=fs", index);
	return BI_MODULE_FS;
}

/* Every module but the kernel goes page-aligned right after the symbols (module_init). */
static void plan_modules(const struct boot_request *req, const struct options *opts, struct netbsd_plan *plan,
			 struct handoff *h)
{
	uint64_t pos = plan->endpa;
	for (uint32_t i = 0; i < req->module_count; i++) {
		struct module_options mo;
		struct netbsd_module *nm;
		if (i == opts->kernel_module)
			continue;
		options_parse_module(req->modules[i].string, req->loader_name, &mo);
		nm = &plan->modules[plan->module_count++];
		pos = handoff_align(pos, PAGE_SIZE, "module");
		if (pos + req->modules[i].len >= PA_LIMIT_32)
			fail("load fewer or smaller modules", "netbsd: module %u does not fit below 4 GiB", i);
		nm->request_index = i;
		nm->base_pa = (uint32_t)pos;
		nm->len = req->modules[i].len;
		nm->type = module_type(req, i, &mo);
		if (mo.has_name)
			str_copy(nm->path, sizeof(nm->path), mo.name, sizeof(mo.name));
		else if (mo.path[0])
			str_copy(nm->path, sizeof(nm->path), mo.path, sizeof(mo.path));
		else
			fmt_format(nm->path, sizeof(nm->path), "module%u", i);
		handoff_add_piece(h, PIECE_COPY, pos, req->modules[i].start_pa, nm->len, "module");
		pos += nm->len;
	}
	plan->endpa = pos;
}

static void check_window(const struct boot_request *req, const struct kernel_image *img, const struct netbsd_plan *plan)
{
	uint64_t end_page;
	if (!memmap_is_ram(req->memmap, req->memmap_count, img->start_pa, plan->endpa - img->start_pa))
		fail("give the machine more memory, or load fewer modules",
		     "netbsd: kernel, symbols and modules [0x%llx, 0x%llx) do not fit in RAM",
		     (unsigned long long)img->start_pa, (unsigned long long)plan->endpa);
	if (img->elf_class != 64 || plan->module_count == 0)
		return;
	align_up_u64(plan->endpa, PAGE_SIZE, &end_page);
	if (end_page > AMD64_WINDOW_NEW_PA)
		fail("load fewer or smaller modules", "netbsd: modules end at 0x%llx, past NetBSD/amd64's bootstrap window (0x%x)",
		     (unsigned long long)end_page, AMD64_WINDOW_NEW_PA);
	if (end_page > AMD64_WINDOW_OLD_PA)
		log_warn("netbsd: modules end at 0x%llx; NetBSD/amd64 kernels before 2020 drop modules past 0x%x",
			 (unsigned long long)end_page, AMD64_WINDOW_OLD_PA);
}

/*
 * The bootinfo records, in exec_netbsd's order.  Run twice: once to measure (w->base NULL),
 * once to write.  Each record is 4-byte aligned after the pointer array.
 */
struct bi_writer {
	uint8_t *base; /* NULL while measuring */
	uint64_t pa;
	uint32_t count, pos, records_len;
	uint32_t table_len; /* 4 + 4 * BOOTINFO_MAX_RECORDS */
};

static uint8_t *bi_record(struct bi_writer *w, uint32_t type, uint32_t len)
{
	static uint8_t measure_scratch[BI_MODULELIST_LEN(BOOT_MAX_MODULES) + BI_MEMMAP_LEN(BOOT_MAX_MEMMAP)];
	uint8_t *r = measure_scratch;
	if (w->base) {
		r = w->base + w->pos;
		put_le32(w->base + 4 + 4 * w->count, (uint32_t)(w->pa + w->pos));
		put_le32(w->base, w->count + 1);
	}
	memset(r, 0, len);
	put_le32(r, len); /* btinfo_common.len counts the header */
	put_le32(r + 4, type);
	w->count++;
	w->pos += (len + 3) & ~3u;
	w->records_len += len;
	return r;
}

static void bi_text(uint8_t *dst, size_t cap, const char *text, const char *what)
{
	if (!str_copy((char *)dst, cap, text, BOOT_STRING_MAX))
		log_warn("netbsd: %s truncated to %u characters", what, (unsigned)cap - 1);
}

static const char *kernel_path(const struct options *opts)
{
	if (opts->has_name)
		return opts->name;
	return opts->kernel_path[0] ? opts->kernel_path : "/netbsd";
}

/* "pc", "com" or "nullcons": NetBSD panics on any other name (x86/consinit.c). */
static const char *console_name(const struct options *opts)
{
	static const struct {
		const char *given, *netbsd;
	} names[] = { { "pc", "pc" }, { "com", "com" }, { "com0", "com" }, { "serial", "com" }, { "nullcons", "nullcons" } };
	if (!opts->has_console)
		return "pc";
	for (unsigned i = 0; i < ARRAY_LEN(names); i++)
		if (strcmp(opts->console, names[i].given) == 0)
			return names[i].netbsd;
	fail("use console=pc, com or nullcons", "netbsd: console=%s is not a NetBSD console", opts->console);
}

static void bi_console(struct bi_writer *w, const struct options *opts)
{
	uint8_t *r = bi_record(w, BTINFO_CONSOLE, BI_CONSOLE_LEN);
	bi_text(r + 8, 16, console_name(opts), "console");
	put_le32(r + 24, opts->console_addr); /* 0: the kernel's CONADDR (consinit.c) */
	put_le32(r + 28, opts->console_speed); /* 0: the kernel's CONSPEED */
}

static void bi_bootdisk(struct bi_writer *w, uint32_t boot_device)
{
	uint8_t *r = bi_record(w, BTINFO_BOOTDISK, BI_BOOTDISK_LEN);
	uint32_t part2 = (boot_device >> 8) & 0xff;
	put_le32(r + 8, 0xffffffffu); /* labelsector -1: no disklabel read (as multiboot2.c does) */
	put_le32(r + 32, boot_device >> 24); /* biosdev */
	put_le32(r + 36, part2 == 0xff ? 0 : part2); /* BSD partition index */
}

static void bi_biosgeom(struct bi_writer *w, const struct boot_request *req)
{
	uint8_t *r = bi_record(w, BTINFO_BIOSGEOM, BI_BIOSGEOM_LEN(req->drive_count));
	put_le32(r + 8, req->drive_count);
	for (uint32_t i = 0; i < req->drive_count; i++) {
		uint8_t *e = r + 12 + 112 * i; /* bi_biosgeom_entry: sec, head, cyl, totsec, flags, dev */
		put_le32(e + 0, req->drives[i].sectors);
		put_le32(e + 4, req->drives[i].heads);
		put_le32(e + 8, req->drives[i].cylinders);
		put_le32(e + 24, req->drives[i].number);
	}
}

static void bi_memmap(struct bi_writer *w, const struct boot_request *req)
{
	uint8_t *r = bi_record(w, BTINFO_MEMMAP, BI_MEMMAP_LEN(req->memmap_count));
	put_le32(r + 8, req->memmap_count);
	for (uint32_t i = 0; i < req->memmap_count; i++) {
		uint8_t *e = r + 12 + 20 * i; /* {u64 addr; u64 size; u32 type}, E820 numbering */
		put_le64(e, req->memmap[i].base_pa);
		put_le64(e + 8, req->memmap[i].len);
		put_le32(e + 16, req->memmap[i].type);
	}
}

static void bi_modulelist(struct bi_writer *w, const struct netbsd_plan *plan)
{
	uint8_t *r = bi_record(w, BTINFO_MODULELIST, BI_MODULELIST_LEN(plan->module_count));
	put_le32(r + 8, plan->module_count);
	put_le32(r + 12, (uint32_t)plan->endpa);
	for (uint32_t i = 0; i < plan->module_count; i++) {
		uint8_t *e = r + 16 + 92 * i; /* {char path[80]; int type; int len; u32 base} */
		bi_text(e, 80, plan->modules[i].path, "module path");
		put_le32(e + 80, plan->modules[i].type);
		put_le32(e + 84, plan->modules[i].len);
		put_le32(e + 88, plan->modules[i].base_pa);
	}
}

static void bi_userconf(struct bi_writer *w, const struct options *opts)
{
	uint8_t *r = bi_record(w, BTINFO_USERCONFCOMMANDS, BI_USERCONF_LEN(opts->userconf_count));
	put_le32(r + 8, opts->userconf_count);
	for (uint32_t i = 0; i < opts->userconf_count; i++) {
		/* userconf= words cannot hold blanks unquoted: '_' stands for a blank */
		char text[OPT_TEXT_MAX];
		str_copy(text, sizeof(text), opts->userconf[i], OPT_TEXT_MAX);
		for (char *c = text; *c; c++)
			if (*c == '_')
				*c = ' ';
		bi_text(r + 12 + 80 * i, 80, text, "userconf command");
	}
}

static void bi_framebuffer(struct bi_writer *w, const struct boot_request *req)
{
	uint8_t *r = bi_record(w, BTINFO_FRAMEBUFFER, BI_FRAMEBUFFER_LEN);
	const struct boot_framebuffer *fb = &req->framebuffer;
	if (req->has_framebuffer) { /* physaddr 0 (no framebuffer) otherwise, as exec_netbsd sends */
		put_le64(r + 8, fb->pa);
		put_le32(r + 20, fb->width);
		put_le32(r + 24, fb->height);
		put_le16(r + 28, (uint16_t)fb->pitch_bytes);
		r[30] = fb->bpp;
		r[31] = fb->red_size;
		r[32] = fb->green_size;
		r[33] = fb->blue_size;
		r[34] = fb->red_pos;
		r[35] = fb->green_pos;
		r[36] = fb->blue_pos;
	}
	/* A VBE mode number means something only with its linear framebuffer: GRUB also reports
	 * text mode 3, which is no framebuffer at all. */
	if (req->has_framebuffer && req->has_vbe_mode)
		put_le16(r + 38, req->vbe_mode);
}

static void write_records(struct bi_writer *w, const struct boot_request *req, const struct options *opts,
			  const struct netbsd_plan *plan)
{
	w->count = 0;
	w->records_len = 0;
	w->pos = w->table_len;
	bi_console(w, opts);
	if (opts->has_root)
		bi_text(bi_record(w, BTINFO_ROOTDEVICE, BI_ROOTDEVICE_LEN) + 8, 16, opts->root, "root device");
	bi_text(bi_record(w, BTINFO_BOOTPATH, BI_BOOTPATH_LEN) + 8, 80, kernel_path(opts), "boot path");
	if (req->has_boot_device)
		bi_bootdisk(w, req->boot_device);
	if (req->drive_count)
		bi_biosgeom(w, req);
	bi_memmap(w, req);
	bi_modulelist(w, plan);
	bi_userconf(w, opts);
	if (plan->has_symbols) {
		uint8_t *r = bi_record(w, BTINFO_SYMTAB, BI_SYMTAB_LEN);
		put_le32(r + 8, 1); /* nsym: "Kernel needs >= 0" (loadfile_elf32.c) */
		put_le32(r + 12, (uint32_t)plan->ssym_pa);
		put_le32(r + 16, (uint32_t)plan->esym_pa);
	}
	bi_framebuffer(w, req);
}

void netbsd_plan(const struct boot_request *req, const struct options *opts, struct kernel_image *img,
		 struct netbsd_plan *plan, struct handoff *h)
{
	struct bi_writer measure = { .table_len = 4 + 4 * BOOTINFO_MAX_RECORDS };
	memset(plan, 0, sizeof(*plan));
	elf_keep_segments(img, netbsd_segment_loadable);
	elf_assign_pa(img, NETBSD_LOAD_MASK, 0, req->memmap, req->memmap_count);
	handoff_add_segments(h, img);
	plan_symbols(img, plan, h);
	plan_modules(req, opts, plan, h);
	check_window(req, img, plan);
	plan->howto = netbsd_howto(opts->flags);
	/* Refuse a bad console= now, before anything is placed; "nullcons" exists only in kernels
	 * built with pseudo-device nullcons (x86/consinit.c): the others panic on it. */
	if (strcmp(console_name(opts), "nullcons") == 0)
		log_warn("netbsd: console=nullcons needs a kernel with pseudo-device nullcons; others panic");
	for (uint32_t i = 0; i < opts->var_count; i++) /* NetBSD's bootinfo has no place for others */
		if (!is_netbsd_key(opts->vars[i].key))
			log_info("netbsd: option %s%s%s has no NetBSD channel; dropped", opts->vars[i].key,
				 opts->vars[i].bare ? "" : "=", opts->vars[i].value);

	write_records(&measure, req, opts, plan);
	if (measure.records_len + 4 > BOOTINFO_MAX_NEW)
		fail("use a smaller memory map or fewer modules", "netbsd: bootinfo records take %u bytes (kernels copy at most %u)",
		     measure.records_len + 4, BOOTINFO_MAX_NEW);
	if (measure.records_len + 4 > BOOTINFO_MAX_OLD)
		log_warn("netbsd: bootinfo records take %u bytes; kernels before NetBSD 5 copy only %u",
			 measure.records_len + 4, BOOTINFO_MAX_OLD);
	plan->bootinfo_len = measure.pos;
	plan->bootinfo_block = handoff_add_block(h, "bootinfo", plan->bootinfo_len, 8, PA_LIMIT_32);
	h->stack_block = handoff_add_block(h, "kernel stack", STACK_LEN, 16, PA_LIMIT_32);
	if (plan->has_symbols)
		plan->scratch_block = handoff_add_block(h, "ksyms headers", h->pieces[plan->headers_piece].len, 8, PA_LIMIT_32);
	h->keepout_start_pa = img->start_pa;
	h->keepout_end_pa = plan->endpa + KERNEL_TABLES_MARGIN;
	h->mode = CPU_PROTECTED_32;
	h->entry_pa = (uint32_t)img->entry_pa;
	log_info("netbsd: ELF%u kernel [0x%llx, 0x%llx) entry 0x%x, symbols to 0x%llx, %u modules to 0x%llx",
		 img->elf_class, (unsigned long long)img->start_pa, (unsigned long long)img->end_pa, h->entry_pa,
		 (unsigned long long)plan->esym_pa, plan->module_count, (unsigned long long)plan->endpa);
}

/* Ehdr and section headers of the symbol image: offsets rewritten relative to ssym, 0 for every
 * section not loaded; sh_addr untouched (loadfile_static). */
static void build_symbol_headers(const struct kernel_image *img, const struct netbsd_plan *plan, struct handoff *h)
{
	struct block *scratch = &h->blocks[plan->scratch_block];
	uint8_t *dst = phys_ptr(scratch->pa, scratch->len);
	uint32_t shsize = elf_shdr_size(img);
	elf_write_ehdr(img, dst, img->ehsize);
	for (uint32_t i = 0; i < img->shnum; i++) {
		struct elf_section s;
		elf_section(img, i, &s);
		s.offset = plan->section_offset[i];
		elf_write_section(img, dst + img->ehsize + (uint64_t)i * shsize, &s);
	}
	h->pieces[plan->headers_piece].src_pa = scratch->pa;
}

void netbsd_build(const struct boot_request *req, const struct options *opts, const struct kernel_image *img,
		  struct netbsd_plan *plan, struct handoff *h)
{
	struct block *bi = &h->blocks[plan->bootinfo_block];
	struct bi_writer w = { phys_ptr(bi->pa, bi->len), bi->pa, 0, 0, 0, 4 + 4 * BOOTINFO_MAX_RECORDS };

	memset(w.base, 0, bi->len);
	write_records(&w, req, opts, plan);
	if (plan->has_symbols)
		build_symbol_headers(img, plan, h);

	/* startprog's stack: a return slot, then howto, bootdev, bootinfo, esym, extmem, basemem
	 * (exec.c BOOT_NARGS 6); bootdev is always 0 now. */
	h->stack_word_count = 7;
	h->stack_words[0] = 0;
	h->stack_words[1] = plan->howto;
	h->stack_words[2] = 0;
	h->stack_words[3] = (uint32_t)bi->pa;
	h->stack_words[4] = (uint32_t)plan->esym_pa;
	h->stack_words[5] = memmap_extmem_kib(req);
	h->stack_words[6] = memmap_basemem_kib(req);
	/* Anything but the Multiboot magics: NetBSD/i386 start treats EAX 0x2BADB002 as a MIS. */
	h->eax = 0;
	h->ebx = 0;
}
