/*
 * freebsd.c - see freebsd.h.  Record numbers and layouts: FreeBSD sys/sys/linker.h,
 * sys/x86/include/metadata.h, sys/i386/include/bootinfo.h; summarised with sources in
 * ../shared/SPEC.md section B.
 */
#include "freebsd.h"
#include "acpi.h"
#include "fmt.h"
#include "log.h"
#include "memmap.h"
#include "platform.h"
#include "util.h"

/* sys/sys/linker.h */
enum {
	MODINFO_END = 0x0000,
	MODINFO_NAME = 0x0001,
	MODINFO_TYPE = 0x0002,
	MODINFO_ADDR = 0x0003,
	MODINFO_SIZE = 0x0004,
	MODINFO_ARGS = 0x0006,
	MODINFO_METADATA = 0x8000,
	MODINFOMD_ELFHDR = 0x0002,
	MODINFOMD_SSYM = 0x0003,
	MODINFOMD_ESYM = 0x0004,
	MODINFOMD_DYNAMIC = 0x0005,
	MODINFOMD_ENVP = 0x0006,
	MODINFOMD_HOWTO = 0x0007,
	MODINFOMD_KERNEND = 0x0008,
	MODINFOMD_SHDR = 0x0009,
	MODINFOMD_CTORS_ADDR = 0x000a,
	MODINFOMD_CTORS_SIZE = 0x000b,
	/* sys/x86/include/metadata.h */
	MODINFOMD_SMAP = 0x1001,
	MODINFOMD_MODULEP = 0x1006,
	MODINFOMD_VBE_FB = 0x1007,
};

/* sys/sys/reboot.h */
#define RB_ASKNAME 0x001u
#define RB_SINGLE 0x002u
#define RB_DFLTROOT 0x020u
#define RB_KDB 0x040u
#define RB_VERBOSE 0x800u
#define RB_SERIAL 0x1000u
#define RB_CDROM 0x2000u
#define RB_GDB 0x8000u
#define RB_MUTE 0x10000u
#define RB_PAUSE 0x100000u
#define RB_PROBE 0x10000000u
#define RB_MULTIPLE 0x20000000u
#define RB_BOOTINFO 0x80000000u /* i386: the bootinfo argument is valid */

#define I386_BOOTINFO_LEN 84u /* struct bootinfo, BOOTINFO_VERSION 1 (i386/include/bootinfo.h) */
#define FREEBSD_MAP_LIMIT_PA (1ull << 30) /* the loader's tables alias only the low 1 GiB */
#define STACK_LEN 4096u
/* The kernel allocates its first pages from physfree = kernend (+2 MiB on amd64) upward while
 * it still runs on our page tables and stack (SPEC G.23): keep our blocks well clear. */
#define KERNEL_EARLY_ALLOC_MARGIN (16u * MIB)
#define DEFAULT_KERNEL_NAME "/boot/kernel/kernel"
#define ENV_MODULE_TYPE "env"
#define KO_TYPE "elf obj module" /* __elfN(obj_moduletype), load_elf_obj.c: amd64 .ko */
#define SHARED_KO_TYPE "elf module" /* __elfN(moduletype), load_elf.c: i386 .ko */

static const char hint_freebsd[] = "see the FreeBSD section of mbchain's README";

/* Flag letters, the bit (sys/reboot.h, boot_parse_arg in sys/kern/subr_boot.c) and the boot_*
 * variable loader(8) mirrors each into (boot_howto_to_env). */
static const struct flag_bit howto_names[] = {
	{ 'a', RB_ASKNAME, "boot_askname" }, { 's', RB_SINGLE, "boot_single" }, { 'r', RB_DFLTROOT, "boot_dfltroot" },
	{ 'd', RB_KDB, "boot_ddb" },	     { 'v', RB_VERBOSE, "boot_verbose" }, { 'h', RB_SERIAL, "boot_serial" },
	{ 'C', RB_CDROM, "boot_cdrom" },     { 'g', RB_GDB, "boot_gdb" },	 { 'm', RB_MUTE, "boot_mute" },
	{ 'p', RB_PAUSE, "boot_pause" },     { 'P', RB_PROBE, NULL },		 { 'D', RB_MULTIPLE, "boot_multicons" },
};

uint32_t freebsd_howto(const char *flags)
{
	return options_howto(flags, howto_names, ARRAY_LEN(howto_names), "freebsd");
}

/*
 * Writers for the metadata and the environment.  Each runs twice: measuring (base NULL) while
 * planning, writing into the scratch block once layout has placed it.
 */
struct writer {
	uint8_t *base;
	uint64_t pos;
	unsigned align;
};

static void emit(struct writer *w, const void *data, uint64_t len)
{
	if (w->base && len) /* END records carry no data (and no pointer) */
		memcpy(w->base + w->pos, data, len);
	w->pos += len;
}

/* A record is {u32 type; u32 size} and `size` data bytes, padded to the record alignment:
 * md_begin writes the head, the caller emits the data, md_end pads. */
static void md_begin(struct writer *w, uint32_t type, uint32_t len)
{
	uint8_t head[8];
	put_le32(head, type);
	put_le32(head + 4, len);
	emit(w, head, 8);
}

static void md_end(struct writer *w)
{
	uint64_t end;
	align_up_u64(w->pos, w->align, &end); /* modinfo: next = roundup(8 + size, sizeof(u_long)) */
	if (w->base)
		memset(w->base + w->pos, 0, end - w->pos);
	w->pos = end;
}

static void md_record(struct writer *w, uint32_t type, const void *data, uint32_t len)
{
	md_begin(w, type, len);
	emit(w, data, len);
	md_end(w);
}

static void md_string(struct writer *w, uint32_t type, const char *s)
{
	md_record(w, type, s, (uint32_t)strlen(s) + 1);
}

static void put_word(uint8_t *p, uint64_t value, unsigned word)
{
	if (word == 8)
		put_le64(p, value);
	else
		put_le32(p, (uint32_t)value);
}

/* An address or size: 8 bytes for amd64 kernels, 4 for i386. */
static void md_word(struct writer *w, uint32_t type, uint64_t value, unsigned word)
{
	uint8_t b[8];
	put_word(b, value, word);
	md_record(w, type, b, word);
}

static void md_file(struct writer *w, const char *name, const char *type, const char *args, uint64_t addr,
		    uint64_t size, unsigned word)
{
	md_string(w, MODINFO_NAME, name); /* NAME first: it opens the file's group */
	md_string(w, MODINFO_TYPE, type);
	if (args && args[0])
		md_string(w, MODINFO_ARGS, args);
	md_word(w, MODINFO_ADDR, addr, word);
	md_word(w, MODINFO_SIZE, size, word);
}

/* `size` one bits from bit `pos`, the part that fits in 32 bits (the sizes come from the MIS). */
static uint32_t color_mask(uint32_t size, uint32_t pos)
{
	uint32_t ones = size >= 32 ? 0xffffffffu : (1u << size) - 1;
	return pos >= 32 ? 0 : ones << pos;
}

static void md_vbe_fb(struct writer *w, const struct boot_framebuffer *fb)
{
	uint8_t b[48];
	uint32_t bytes_pp = (fb->bpp + 7u) / 8u;
	uint32_t red = color_mask(fb->red_size, fb->red_pos), green = color_mask(fb->green_size, fb->green_pos);
	uint32_t blue = color_mask(fb->blue_size, fb->blue_pos);
	uint32_t all = color_mask(fb->bpp, 0);
	put_le64(b, fb->pa);
	put_le64(b + 8, (uint64_t)fb->pitch_bytes * fb->height);
	put_le32(b + 16, fb->height);
	put_le32(b + 20, fb->width);
	put_le32(b + 24, bytes_pp ? fb->pitch_bytes / bytes_pp : 0); /* fb_stride is in pixels */
	put_le32(b + 28, red);
	put_le32(b + 32, green);
	put_le32(b + 36, blue);
	put_le32(b + 40, all & ~(red | green | blue));
	put_le32(b + 44, fb->bpp);
	md_record(w, MODINFO_METADATA | MODINFOMD_VBE_FB, b, sizeof(b));
}

static void md_smap(struct writer *w, const struct boot_request *req)
{
	/* struct bios_smap {u64 base; u64 length; u32 type}: 20 bytes each, the count is the size */
	md_begin(w, MODINFO_METADATA | MODINFOMD_SMAP, 20 * req->memmap_count);
	for (uint32_t i = 0; i < req->memmap_count; i++) {
		uint8_t e[20];
		put_le64(e, req->memmap[i].base_pa);
		put_le64(e + 8, req->memmap[i].len);
		put_le32(e + 16, req->memmap[i].type);
		emit(w, e, 20);
	}
	md_end(w);
}

/*
 * Kernel modules.  On amd64 a .ko is a relocatable object ("elf obj module"): its sections are
 * laid out one after another as stand/common/load_elf_obj.c does — allocated PROGBITS, NOBITS
 * and unwind sections, then the one symbol table, its strings, the section names, and the
 * relocations of allocated sections, each at its sh_addralign, the rest zeroed — and the
 * kernel's linker finds them through the section headers (MODINFOMD_SHDR) whose sh_addr
 * holds each load address (0: not loaded).
 */
static struct kernel_image ko_image; /* the .ko being laid out */
static uint64_t ko_addr[ELF_MAX_SHNUM]; /* its sections' load addresses */

static uint64_t ko_place(const struct kernel_image *ko, uint32_t i, const struct elf_section *s, uint64_t pos,
			 struct handoff *h)
{
	uint64_t align = s->addralign ? s->addralign : 1, at;
	if (align & (align - 1))
		fail("the module file is damaged", "freebsd: module section %u has alignment %llu, not a power of two", i,
		     (unsigned long long)align);
	at = handoff_align(pos, align, "module section");
	ko_addr[i] = at;
	if (h && at > pos)
		handoff_add_piece(h, PIECE_ZERO, pos, 0, at - pos, "module padding");
	if (h && s->size)
		handoff_add_piece(h, s->type == SHT_NOBITS ? PIECE_ZERO : PIECE_COPY, at,
				  s->type == SHT_NOBITS ? 0 : elf_file_pa(ko, s->offset, s->size, "module section"), s->size,
				  "module section");
	return at + s->size;
}

/* Lay out ko at base (adding pieces to h when given); returns the end. */
static uint64_t ko_layout(const struct kernel_image *ko, uint64_t base, struct handoff *h)
{
	static const char hint_ko[] = "the module file is damaged, or is not a FreeBSD/amd64 kernel module";
	uint64_t pos = base;
	uint32_t symtab = 0, symtabs = 0;
	struct elf_section s, t;
	memset(ko_addr, 0, sizeof(ko_addr[0]) * ko->shnum);
	for (uint32_t i = 0; i < ko->shnum; i++) {
		elf_section(ko, i, &s);
		if (s.type == SHT_SYMTAB)
			symtab = i, symtabs++;
		if (s.size && (s.flags & SHF_ALLOC) &&
		    (s.type == SHT_PROGBITS || s.type == SHT_NOBITS || s.type == SHT_X86_64_UNWIND))
			pos = ko_place(ko, i, &s, pos, h);
	}
	if (symtabs != 1)
		fail(hint_ko, "freebsd: module has %u symbol tables (needs exactly one)", symtabs);
	elf_section(ko, symtab, &s);
	pos = ko_place(ko, symtab, &s, pos, h);
	if (s.link == 0 || s.link >= ko->shnum || (elf_section(ko, s.link, &t), t.type != SHT_STRTAB))
		fail(hint_ko, "freebsd: module symbol table links to section %u, not a string table", s.link);
	pos = ko_place(ko, s.link, &t, pos, h);
	if (ko->shstrndx == 0 || (elf_section(ko, ko->shstrndx, &t), t.type != SHT_STRTAB))
		fail(hint_ko, "freebsd: module has no section names (e_shstrndx %u)", ko->shstrndx);
	pos = ko_place(ko, ko->shstrndx, &t, pos, h);
	for (uint32_t i = 0; i < ko->shnum; i++) {
		elf_section(ko, i, &s);
		if ((s.type != SHT_REL && s.type != SHT_RELA) || s.info >= ko->shnum)
			continue;
		elf_section(ko, s.info, &t);
		if (t.flags & SHF_ALLOC)
			pos = ko_place(ko, i, &s, pos, h);
	}
	return pos;
}

static void md_ko_sections(struct writer *w, const struct kernel_image *ko)
{
	uint32_t shsize = elf_shdr_size(ko);
	md_begin(w, MODINFO_METADATA | MODINFOMD_SHDR, ko->shnum * shsize);
	for (uint32_t i = 0; i < ko->shnum; i++) {
		uint8_t raw[64];
		struct elf_section s;
		elf_section(ko, i, &s);
		s.addr = ko_addr[i];
		elf_write_section(ko, raw, &s);
		emit(w, raw, shsize);
	}
	md_end(w);
}

static void md_symbols(struct writer *w, const struct freebsd_symbols *syms, unsigned word)
{
	if (!syms->present)
		return;
	md_word(w, MODINFO_METADATA | MODINFOMD_SSYM, syms->ssym_pa, word);
	md_word(w, MODINFO_METADATA | MODINFOMD_ESYM, syms->esym_pa, word);
}

/* load_elf.c: a kernel with a .ctors section gets its address and size, which link_elf_init
 * uses to run the constructors (KASAN, KCSAN and GCOV kernels have them). */
static void md_ctors(struct writer *w, const struct kernel_image *img, unsigned word)
{
	for (uint32_t i = 1; i < img->shnum; i++) {
		struct elf_section s;
		elf_section(img, i, &s);
		if (strcmp(elf_string(img, img->shstrndx, s.name), ".ctors") != 0)
			continue;
		md_word(w, MODINFO_METADATA | MODINFOMD_CTORS_ADDR, s.addr, word);
		md_word(w, MODINFO_METADATA | MODINFOMD_CTORS_SIZE, s.size, word);
		return;
	}
}

static void write_metadata(struct writer *w, const struct boot_request *req, const struct kernel_image *img,
			   const struct freebsd_plan *plan)
{
	unsigned word = plan->word;
	uint32_t shdrs_len = img->shnum * img->shentsize;
	uint8_t howto[4];
	md_file(w, plan->kernel_name, "elf kernel", NULL, img->start_pa, plan->kernel_size, word);
	md_record(w, MODINFO_METADATA | MODINFOMD_ELFHDR, phys_ptr(img->file_pa, img->ehsize), img->ehsize);
	if (shdrs_len)
		md_record(w, MODINFO_METADATA | MODINFOMD_SHDR,
			  phys_ptr(elf_file_pa(img, img->shoff, shdrs_len, "section headers"), shdrs_len), shdrs_len);
	md_symbols(w, &plan->syms, word);
	md_ctors(w, img, word);
	if (img->has_dynamic)
		md_word(w, MODINFO_METADATA | MODINFOMD_DYNAMIC, img->dynamic_va, word);
	put_le32(howto, plan->howto);
	md_record(w, MODINFO_METADATA | MODINFOMD_HOWTO, howto, 4);
	md_word(w, MODINFO_METADATA | MODINFOMD_ENVP, plan->envp_pa, word);
	md_word(w, MODINFO_METADATA | MODINFOMD_KERNEND, plan->kernend_pa, word);
	if (plan->amd64)
		md_word(w, MODINFO_METADATA | MODINFOMD_MODULEP, plan->modulep_pa, 8);
	md_smap(w, req);
	if (req->has_framebuffer)
		md_vbe_fb(w, &req->framebuffer);
	for (uint32_t i = 0; i < plan->module_count; i++) {
		const struct freebsd_module *m = &plan->modules[i];
		md_file(w, m->name, m->type, m->args, m->base_pa, m->len, word);
		const struct boot_module *bm = &req->modules[m->request_index];
		if (m->is_ko) {
			elf_parse_object(bm->start_pa, bm->len, &ko_image);
			ko_layout(&ko_image, m->base_pa, NULL);
			md_record(w, MODINFO_METADATA | MODINFOMD_ELFHDR, phys_ptr(bm->start_pa, ko_image.ehsize),
				  ko_image.ehsize);
			md_ko_sections(w, &ko_image);
		} else if (m->is_shared) {
			/* load_elf.c records for a shared-object module: its header, its section table as
			 * in the file, its symbols, and the unrelocated p_vaddr of PT_DYNAMIC. */
			elf_parse_shared(bm->start_pa, bm->len, &ko_image);
			uint32_t len = ko_image.shnum * ko_image.shentsize;
			md_record(w, MODINFO_METADATA | MODINFOMD_ELFHDR, phys_ptr(bm->start_pa, ko_image.ehsize),
				  ko_image.ehsize);
			if (len)
				md_record(w, MODINFO_METADATA | MODINFOMD_SHDR,
					  phys_ptr(elf_file_pa(&ko_image, ko_image.shoff, len, "section headers"), len), len);
			md_symbols(w, &m->syms, word);
			if (ko_image.has_dynamic)
				md_word(w, MODINFO_METADATA | MODINFOMD_DYNAMIC, ko_image.dynamic_va, word);
		}
	}
	md_record(w, MODINFO_END, NULL, 0);
}

/* The static environment: name=value\0 ... \0 (bootinfo.c bi_copyenv).  A name given twice
 * keeps its first place and its last value. */
static void write_env(struct writer *w, const struct freebsd_plan *plan)
{
	for (uint32_t i = 0; i < plan->kenv_count; i++) {
		const struct kenv_entry *e = &plan->kenv[i], *last = e;
		bool seen = false;
		for (uint32_t j = 0; j < plan->kenv_count; j++) {
			const struct kenv_entry *o = &plan->kenv[j];
			if (o->key_len == e->key_len && memcmp(o->key, e->key, e->key_len) == 0) {
				if (j < i)
					seen = true;
				last = o;
			}
		}
		if (seen)
			continue;
		emit(w, e->key, e->key_len);
		emit(w, "=", 1);
		emit(w, last->value, last->value_len);
		emit(w, "", 1);
	}
	emit(w, "", 1);
}

static void kenv_add(struct freebsd_plan *plan, const char *key, uint32_t key_len, const char *value,
		     uint32_t value_len)
{
	if (plan->kenv_count == FREEBSD_MAX_KENV)
		fail(hint_freebsd, "freebsd: more than %u environment variables", FREEBSD_MAX_KENV);
	plan->kenv[plan->kenv_count++] = (struct kenv_entry){ key, value, key_len, value_len };
}

static void kenv_set(struct freebsd_plan *plan, const char *key, const char *value)
{
	kenv_add(plan, key, (uint32_t)strlen(key), value, (uint32_t)strlen(value));
}

/* A loader.conf / device.hints style module (type=env): name=value or name="value" lines,
 * '#' comments, as GRUB's kfreebsd_loadenv reads them. */
static void kenv_from_module(struct freebsd_plan *plan, const struct boot_module *m, uint32_t index)
{
	const char *text = phys_ptr(m->start_pa, m->len ? m->len : 1);
	uint32_t pos = 0, line = 0;
	while (pos < m->len) {
		uint32_t start = pos, end, eq;
		line++;
		while (pos < m->len && text[pos] != '\n')
			pos++;
		end = pos++;
		while (start < end && (text[start] == ' ' || text[start] == '\t'))
			start++;
		while (end > start && (text[end - 1] == ' ' || text[end - 1] == '\t' || text[end - 1] == '\r'))
			end--;
		if (start == end || text[start] == '#')
			continue;
		for (eq = start; eq < end && text[eq] != '='; eq++)
			if (text[eq] == ' ' || text[eq] == '\t' || text[eq] == 0)
				break;
		if (eq == start || eq == end || text[eq] != '=')
			fail("write one name=value per line", "freebsd: env module %u, line %u is not name=value", index, line);
		uint32_t v = eq + 1;
		if (end - v >= 2 && text[v] == '"' && text[end - 1] == '"')
			v++, end--;
		kenv_add(plan, text + start, eq - start, text + v, end - v);
	}
}

static char acpi_text[6][24];

static void kenv_acpi(struct freebsd_plan *plan, const struct boot_request *req)
{
	struct acpi_rsdp r;
	if (!acpi_find_rsdp(req->ebda_pa, &r)) {
		log_info("freebsd: no ACPI RSDP in the EBDA or 0xE0000-0xFFFFF; acpi.rsdp not set");
		return;
	}
	/* The spellings of stand/i386/libi386/biosacpi.c. */
	fmt_format(acpi_text[0], sizeof(acpi_text[0]), "0x%08x", r.pa);
	fmt_format(acpi_text[1], sizeof(acpi_text[1]), "%u", r.revision ? r.revision : 1);
	str_copy(acpi_text[2], sizeof(acpi_text[2]), r.oem, sizeof(r.oem));
	fmt_format(acpi_text[3], sizeof(acpi_text[3]), "0x%08x", r.rsdt_pa);
	kenv_set(plan, "acpi.rsdp", acpi_text[0]);
	kenv_set(plan, "acpi.revision", acpi_text[1]);
	kenv_set(plan, "acpi.oem", acpi_text[2]);
	kenv_set(plan, "acpi.rsdt", acpi_text[3]);
	if (r.revision >= 2) {
		fmt_format(acpi_text[4], sizeof(acpi_text[4]), "0x%016llx", (unsigned long long)r.xsdt_pa);
		fmt_format(acpi_text[5], sizeof(acpi_text[5]), "%u", r.length);
		kenv_set(plan, "acpi.xsdt", acpi_text[4]);
		kenv_set(plan, "acpi.xsdt_length", acpi_text[5]);
	}
}

/* NetBSD's multiboot(8) words for a serial console, accepted here too. */
static bool is_serial_word(const char *v)
{
	return strcmp(v, "com") == 0 || strcmp(v, "com0") == 0 || strcmp(v, "serial") == 0;
}

/* howto from the console variable, as bi_getboothowto does: comconsole → RB_SERIAL,
 * nullconsole → RB_MUTE, both a serial and a video console → RB_MULTIPLE. */
static uint32_t console_howto(const char *console)
{
	uint32_t howto = 0;
	bool serial = is_serial_word(console), video = false;
	for (const char *p = console; *p; p++) {
		if (str_starts_with(p, "comconsole"))
			serial = true;
		if (str_starts_with(p, "vidconsole") || str_starts_with(p, "efi"))
			video = true;
		if (str_starts_with(p, "nullconsole"))
			howto |= RB_MUTE;
	}
	if (serial)
		howto |= RB_SERIAL;
	if (serial && video)
		howto |= RB_MULTIPLE;
	return howto;
}

static char serial_text[2][32];

/* What loader(8)'s comconsole sets for a serial console: comconsole_speed, and with a known
 * port hw.uart.console "io:PORT,br:SPEED" (stand/i386/libi386/comconsole.c), so the kernel's
 * uart driver takes the same port.  console_speed=/console_addr= (NetBSD's words) or
 * comconsole_speed=/comconsole_port= give them. */
static void kenv_serial(const struct options *opts, struct freebsd_plan *plan)
{
	uint64_t speed = 9600, port = 0;
	const char *v;
	if (opts->has_console_speed)
		speed = opts->console_speed;
	else if ((v = options_var(opts, "comconsole_speed")) && !parse_u64(v, strlen(v), &speed))
		fail(hint_freebsd, "freebsd: comconsole_speed=%s is not a number", v);
	if (opts->has_console_addr)
		port = opts->console_addr;
	else if ((v = options_var(opts, "comconsole_port")) && !parse_u64(v, strlen(v), &port))
		fail(hint_freebsd, "freebsd: comconsole_port=%s is not a number", v);
	if (opts->has_console_speed) {
		fmt_format(serial_text[0], sizeof(serial_text[0]), "%u", (unsigned)speed);
		kenv_set(plan, "comconsole_speed", serial_text[0]);
	}
	if (port) {
		fmt_format(serial_text[1], sizeof(serial_text[1]), "io:%u,br:%u", (unsigned)port, (unsigned)speed);
		kenv_set(plan, "hw.uart.console", serial_text[1]);
	}
}

static void plan_kenv(const struct boot_request *req, const struct options *opts, struct freebsd_plan *plan)
{
	kenv_set(plan, "kernelname", plan->kernel_name);
	kenv_acpi(plan, req);
	for (unsigned i = 0; i < ARRAY_LEN(howto_names); i++)
		if ((plan->howto & howto_names[i].bit) && howto_names[i].env)
			kenv_set(plan, howto_names[i].env, "YES");
	for (uint32_t i = 0; i < opts->var_count; i++) {
		const struct option_var *v = &opts->vars[i];
		if (strcmp(v->key, "name") == 0)
			continue; /* ours: the kernel's name */
		if (strcmp(v->key, "console") == 0 && is_serial_word(v->value))
			kenv_set(plan, "console", "comconsole"); /* the kernel knows only FreeBSD's names */
		else
			kenv_set(plan, v->key, v->bare ? "1" : v->value); /* boot_parse_arg: a bare word is "1" */
	}
	if (plan->howto & RB_SERIAL)
		kenv_serial(opts, plan);
	for (uint32_t i = 0; i < req->module_count; i++) {
		struct module_options mo;
		if (i == opts->kernel_module)
			continue;
		options_parse_module(req->modules[i].string, req->loader_name, &mo);
		if (mo.has_type && strcmp(mo.type, ENV_MODULE_TYPE) == 0)
			kenv_from_module(plan, &req->modules[i], i);
	}
}

/* The symbol table loader(8) takes: the last SHT_SYMTAB not inside a loaded segment. */
static bool find_symbols(const struct kernel_image *img, struct elf_section *symtab, struct elf_section *strtab)
{
	bool found = false;
	for (uint32_t i = 1; i < img->shnum; i++) {
		struct elf_section s;
		bool in_segment = false;
		elf_section(img, i, &s);
		if (s.type != SHT_SYMTAB)
			continue;
		for (unsigned j = 0; j < img->segment_count; j++)
			if (ranges_overlap(s.offset, s.size, img->segments[j].file_offset, img->segments[j].file_len))
				in_segment = true;
		if (in_segment)
			continue;
		if (s.link == 0 || s.link >= img->shnum)
			fail("the kernel file is damaged", "freebsd: symbol table %u links to string table %u of %u sections", i,
			     s.link, img->shnum);
		*symtab = s;
		elf_section(img, s.link, strtab);
		found = true;
	}
	return found;
}

static uint64_t round_word(const struct freebsd_plan *plan, uint64_t x)
{
	return handoff_align(x, plan->word, "symbol table");
}

static uint64_t round_page(uint64_t x)
{
	return handoff_align(x, PAGE_SIZE, "module");
}

/* [size][symtab][pad][size][strtab][pad] right after an image (load_elf.c); returns the end. */
static uint64_t plan_symbols(const struct kernel_image *img, const struct freebsd_plan *plan,
			     struct freebsd_symbols *syms, struct handoff *h)
{
	struct elf_section symtab, strtab;
	uint64_t pos = round_word(plan, img->end_pa);
	syms->present = find_symbols(img, &symtab, &strtab);
	if (!syms->present) {
		log_info("freebsd: no symbol table in an image ending at 0x%llx; no symbols for it",
			 (unsigned long long)img->end_pa);
		return pos;
	}
	syms->ssym_pa = pos;
	syms->symsize = symtab.size;
	syms->strsize = strtab.size;
	syms->symsize_piece = handoff_add_piece(h, PIECE_BUILT, pos, 0, plan->word, "symtab size");
	handoff_add_piece(h, PIECE_COPY, pos + plan->word, elf_file_pa(img, symtab.offset, symtab.size, "symbol table"),
			  symtab.size, "symtab");
	pos = round_word(plan, pos + plan->word + symtab.size);
	syms->strsize_piece = handoff_add_piece(h, PIECE_BUILT, pos, 0, plan->word, "strtab size");
	handoff_add_piece(h, PIECE_COPY, pos + plan->word, elf_file_pa(img, strtab.offset, strtab.size, "string table"),
			  strtab.size, "strtab");
	pos = round_word(plan, pos + plan->word + strtab.size);
	syms->esym_pa = pos;
	return pos;
}

static void module_args(const char *args, char *out, size_t cap)
{
	/* The words after the path but our own keys, joined by single blanks. */
	size_t n = 0;
	out[0] = 0;
	while (*args) {
		while (*args == ' ' || *args == '\t')
			args++;
		const char *start = args;
		while (*args && *args != ' ' && *args != '\t')
			args++;
		size_t len = (size_t)(args - start);
		if (!len || str_starts_with(start, "type=") || str_starts_with(start, "name="))
			continue;
		if (n + len + 2 > cap)
			fail(hint_freebsd, "freebsd: module arguments longer than %u bytes", (unsigned)cap - 1);
		if (n)
			out[n++] = ' ';
		memcpy(out + n, start, len);
		n += len;
		out[n] = 0;
	}
}

static uint64_t plan_modules(const struct boot_request *req, const struct options *opts, struct freebsd_plan *plan,
			     struct handoff *h, uint64_t pos)
{
	for (uint32_t i = 0; i < req->module_count; i++) {
		struct module_options mo;
		struct freebsd_module *fm;
		const struct boot_module *m = &req->modules[i];
		if (i == opts->kernel_module)
			continue;
		options_parse_module(m->string, req->loader_name, &mo);
		if (mo.has_type && strcmp(mo.type, ENV_MODULE_TYPE) == 0)
			continue; /* read into the environment, not passed on */
		const uint8_t *head = m->len >= 4 ? phys_ptr(m->start_pa, 4) : NULL;
		bool elf = head && memcmp(head, "\177ELF", 4) == 0;
		fm = &plan->modules[plan->module_count++];
		pos = round_page(pos);
		fm->request_index = i;
		fm->base_pa = pos;
		fm->len = m->len;
		bool ko = (!mo.has_type && elf) || (mo.has_type && (strcmp(mo.type, KO_TYPE) == 0 ||
								      strcmp(mo.type, SHARED_KO_TYPE) == 0));
		fm->is_ko = ko && plan->amd64;
		fm->is_shared = ko && !plan->amd64;
		if (fm->is_shared) {
			/* load_elf.c: a shared object's segments at base + p_vaddr, its symbols after it */
			elf_parse_shared(m->start_pa, m->len, &ko_image);
			if (ko_image.machine != EM_386)
				fail("load modules built for the kernel's architecture", "freebsd: module %u is for machine %u", i,
				     ko_image.machine);
			elf_assign_pa(&ko_image, ~0ull, (uint64_t)0 - pos, req->memmap, req->memmap_count);
			handoff_add_segments(h, &ko_image);
			fm->base_pa = ko_image.start_pa;
			fm->len = (uint32_t)(plan_symbols(&ko_image, plan, &fm->syms, h) - ko_image.start_pa);
		}
		if (fm->is_ko) {
			elf_parse_object(m->start_pa, m->len, &ko_image);
			if (ko_image.machine != EM_X86_64)
				fail("load modules built for the kernel's architecture", "freebsd: module %u is for machine %u", i,
				     ko_image.machine);
			uint64_t end = ko_layout(&ko_image, pos, h);
			if (end > FREEBSD_MAP_LIMIT_PA)
				fail("the module file is damaged, or too large", "freebsd: module %u would end at 0x%llx, past 1 GiB", i,
				     (unsigned long long)end);
			fm->len = (uint32_t)(end - pos);
		}
		str_copy(fm->type, sizeof(fm->type),
			 fm->is_ko ? KO_TYPE : fm->is_shared ? SHARED_KO_TYPE : mo.has_type ? mo.type : "raw", sizeof(mo.type));
		if (!mo.has_type && !elf)
			log_warn("freebsd: module %u has no type= (md_image, cpu_microcode, ...); passed as type raw, which "
				 "the kernel ignores", i);
		if (strcmp(fm->type, "/boot/zfs/zpool.cache") == 0)
			str_copy(fm->name, sizeof(fm->name), fm->type, sizeof(fm->type));
		else if (mo.has_name)
			str_copy(fm->name, sizeof(fm->name), mo.name, sizeof(mo.name));
		else if (mo.path[0])
			str_copy(fm->name, sizeof(fm->name), mo.path, sizeof(mo.path));
		else
			fmt_format(fm->name, sizeof(fm->name), "module%u", i);
		module_args(mo.args, fm->args, sizeof(fm->args));
		if (!ko)
			handoff_add_piece(h, PIECE_COPY, pos, m->start_pa, m->len, "module");
		pos = fm->base_pa + fm->len;
	}
	return pos;
}

/* load_elf.c: the load offset is the entry's page with its low 24 (i386) or 40 (amd64) bits
 * dropped, so KERNBASE + 2 MiB lands at 2 MiB. */
uint64_t freebsd_load_offset(const struct kernel_image *img)
{
	uint64_t dest = img->entry_va & ~(uint64_t)(PAGE_SIZE - 1);
	return dest & (img->elf_class == 64 ? 0xffffffffff000000ull : 0xff000000ull);
}

void freebsd_plan(const struct boot_request *req, const struct options *opts, struct kernel_image *img,
		  struct freebsd_plan *plan, struct handoff *h)
{
	struct writer measure = { NULL, 0, 0 };
	uint64_t pos;
	memset(plan, 0, sizeof(*plan));
	plan->amd64 = img->elf_class == 64;
	if (plan->amd64 && !platform_cpu_has_long_mode())
		fail("boot the i386 kernel on this CPU, or use a 64-bit CPU",
		     "freebsd: this CPU has no long mode (CPUID 0x80000001 EDX bit 29): it cannot run an amd64 kernel");
	plan->word = plan->amd64 ? 8 : 4;
	measure.align = plan->word;

	elf_assign_pa(img, ~0ull, freebsd_load_offset(img), req->memmap, req->memmap_count);
	handoff_add_segments(h, img);
	str_copy(plan->kernel_name, sizeof(plan->kernel_name),
		 opts->has_name ? opts->name : opts->kernel_path[0] ? opts->kernel_path : DEFAULT_KERNEL_NAME, BOOT_STRING_MAX);

	pos = plan_symbols(img, plan, &plan->syms, h);
	plan->kernel_size = pos - img->start_pa;
	pos = plan_modules(req, opts, plan, h, pos);

	plan->howto = freebsd_howto(opts->flags) | (opts->has_console ? console_howto(opts->console) : 0);
	plan_kenv(req, opts, plan);

	/* Measure, then place metadata and environment: bi_load64 puts the metadata first,
	 * bi_load32 the environment. */
	write_metadata(&measure, req, img, plan);
	plan->md_len = measure.pos;
	measure.pos = 0;
	write_env(&measure, plan);
	plan->env_len = measure.pos;
	if (plan->amd64) {
		plan->modulep_pa = round_page(pos);
		plan->envp_pa = round_page(plan->modulep_pa + plan->md_len);
		plan->kernend_pa = round_page(plan->envp_pa + plan->env_len);
	} else {
		plan->envp_pa = round_page(pos);
		plan->modulep_pa = round_page(plan->envp_pa + plan->env_len);
		plan->kernend_pa = round_page(plan->modulep_pa + plan->md_len);
	}
	/* hammer_time reaches physfree = kernend + kernphys through the 1 GiB alias and allocates
	 * its first pages there. */
	if (plan->amd64 && plan->kernend_pa + img->start_pa + KERNEL_EARLY_ALLOC_MARGIN > FREEBSD_MAP_LIMIT_PA)
		fail("load fewer or smaller modules",
		     "freebsd: kernend 0x%llx leaves the kernel too little of its first 1 GiB (needs kernend + 0x%llx "
		     "+ 16 MiB below 1 GiB)",
		     (unsigned long long)plan->kernend_pa, (unsigned long long)img->start_pa);
	if (plan->kernend_pa > FREEBSD_MAP_LIMIT_PA)
		fail("load fewer or smaller modules", "freebsd: kernel, modules and metadata end at 0x%llx, past 1 GiB",
		     (unsigned long long)plan->kernend_pa);
	if (!memmap_is_ram(req->memmap, req->memmap_count, img->start_pa, plan->kernend_pa - img->start_pa))
		fail("give the machine more memory, or load fewer modules",
		     "freebsd: kernel, modules and metadata [0x%llx, 0x%llx) do not fit in RAM",
		     (unsigned long long)img->start_pa, (unsigned long long)plan->kernend_pa);
	plan->md_piece = handoff_add_piece(h, PIECE_BUILT, plan->modulep_pa, 0, plan->md_len, "metadata");
	plan->env_piece = handoff_add_piece(h, PIECE_BUILT, plan->envp_pa, 0, plan->env_len, "environment");

	plan->scratch_block = handoff_add_block(h, "metadata and environment",
						plan->md_len + plan->env_len + 2 * plan->word * (1 + plan->module_count), 8,
						PA_LIMIT_32);
	h->stack_block = handoff_add_block(h, "kernel stack", STACK_LEN, 16, FREEBSD_MAP_LIMIT_PA);
	if (plan->amd64) {
		plan->tables_block = handoff_add_block(h, "page tables", 3 * PAGE_SIZE, PAGE_SIZE, FREEBSD_MAP_LIMIT_PA);
		h->mode = CPU_LONG_64;
		h->entry_va = img->entry_va;
	} else {
		plan->bootinfo_block = handoff_add_block(h, "bootinfo", I386_BOOTINFO_LEN + strlen(plan->kernel_name) + 1, 8,
							 PA_LIMIT_32);
		h->mode = CPU_PROTECTED_32;
		h->entry_pa = (uint32_t)(img->entry_va & 0xffffff); /* elf32_freebsd.c */
		h->return_trap = true;
	}
	h->keepout_start_pa = img->start_pa;
	h->keepout_end_pa = plan->kernend_pa + KERNEL_EARLY_ALLOC_MARGIN;
	log_info("freebsd: ELF%u kernel [0x%llx, 0x%llx) entry 0x%llx, symbols to 0x%llx, %u modules, modulep 0x%llx, "
		 "envp 0x%llx, kernend 0x%llx",
		 img->elf_class, (unsigned long long)img->start_pa, (unsigned long long)img->end_pa,
		 (unsigned long long)img->entry_va, (unsigned long long)pos, plan->module_count,
		 (unsigned long long)plan->modulep_pa, (unsigned long long)plan->envp_pa,
		 (unsigned long long)plan->kernend_pa);
}

/* amd64_tramp's tables: every PML4 entry to one PDPT, every PDPT entry to one PD, and the PD
 * mapping 0-1 GiB with 2 MiB pages, so each 1 GiB of VA aliases PA 0-1 GiB (elf64_freebsd.c). */
static void build_page_tables(uint64_t pa)
{
	uint8_t *t = phys_ptr(pa, 3 * PAGE_SIZE);
	for (unsigned i = 0; i < 512; i++) {
		put_le64(t + 8 * i, (pa + PAGE_SIZE) | 0x3); /* present, writable */
		put_le64(t + PAGE_SIZE + 8 * i, (pa + 2 * PAGE_SIZE) | 0x3);
		put_le64(t + 2 * PAGE_SIZE + 8 * i, (uint64_t)i * 2 * MIB | 0x83); /* present, writable, 2 MiB */
	}
}

/* struct bootinfo for i386 (i386/include/bootinfo.h, bootinfo32.c), with the kernel's name
 * right after it. */
static void build_i386_bootinfo(const struct boot_request *req, const struct freebsd_plan *plan, const struct block *b)
{
	uint8_t *bi = phys_ptr(b->pa, b->len);
	memset(bi, 0, b->len);
	memcpy(bi + I386_BOOTINFO_LEN, plan->kernel_name, strlen(plan->kernel_name) + 1);
	put_le32(bi + 0, 1); /* bi_version */
	put_le32(bi + 4, (uint32_t)b->pa + I386_BOOTINFO_LEN); /* bi_kernelname */
	put_le32(bi + 48, I386_BOOTINFO_LEN); /* bi_size */
	bi[52] = 1; /* bi_memsizes_valid */
	bi[53] = req->has_boot_device ? (uint8_t)(req->boot_device >> 24) : 0x80; /* bi_bios_dev */
	put_le32(bi + 56, memmap_basemem_kib(req));
	put_le32(bi + 60, memmap_extmem_kib(req));
	put_le32(bi + 64, (uint32_t)plan->syms.ssym_pa);
	put_le32(bi + 68, (uint32_t)plan->syms.esym_pa);
	put_le32(bi + 72, (uint32_t)plan->kernend_pa);
	put_le32(bi + 76, (uint32_t)plan->envp_pa);
	put_le32(bi + 80, (uint32_t)plan->modulep_pa);
}

/* Write a symbol image's two size words at pa and point its pieces there; returns the next pa. */
static uint64_t build_size_words(const struct freebsd_symbols *syms, unsigned word, uint64_t pa, struct handoff *h)
{
	if (!syms->present)
		return pa;
	put_word(phys_ptr(pa, word), syms->symsize, word);
	put_word(phys_ptr(pa + word, word), syms->strsize, word);
	h->pieces[syms->symsize_piece].src_pa = pa;
	h->pieces[syms->strsize_piece].src_pa = pa + word;
	return pa + 2 * word;
}

void freebsd_build(const struct boot_request *req, const struct options *opts, const struct kernel_image *img,
		   struct freebsd_plan *plan, struct handoff *h)
{
	struct block *scratch = &h->blocks[plan->scratch_block];
	uint8_t *s = phys_ptr(scratch->pa, scratch->len);
	struct writer md = { s, 0, plan->word };
	struct writer env = { s + plan->md_len, 0, plan->word };
	(void)opts;

	write_metadata(&md, req, img, plan);
	write_env(&env, plan);
	h->pieces[plan->md_piece].src_pa = scratch->pa;
	h->pieces[plan->env_piece].src_pa = scratch->pa + plan->md_len;
	/* The symbol size words (Elf_Size) of the kernel and of each shared-object module. */
	uint64_t words_pa = scratch->pa + plan->md_len + plan->env_len;
	words_pa = build_size_words(&plan->syms, plan->word, words_pa, h);
	for (uint32_t i = 0; i < plan->module_count; i++)
		words_pa = build_size_words(&plan->modules[i].syms, plan->word, words_pa, h);

	if (plan->amd64) {
		/* btext: 0(%rsp) a return address (unused), 4(%rsp) modulep, 8(%rsp) kernend (physfree). */
		h->cr3_pa = (uint32_t)h->blocks[plan->tables_block].pa;
		build_page_tables(h->cr3_pa);
		h->stack_word_count = 3;
		h->stack_words[0] = 0;
		h->stack_words[1] = (uint32_t)plan->modulep_pa;
		h->stack_words[2] = (uint32_t)plan->kernend_pa;
	} else {
		/* __exec(entry, howto, bootdev, 0, 0, 0, &bootinfo, modulep, kernend): the return slot is
		 * the stub's trap (recover_bootinfo needs it non-zero); the fifth argument must be 0. */
		const struct block *bi = &h->blocks[plan->bootinfo_block];
		build_i386_bootinfo(req, plan, bi);
		h->stack_word_count = 9;
		memset(h->stack_words, 0, sizeof(h->stack_words));
		h->stack_words[1] = plan->howto | RB_BOOTINFO; /* only on the stack: bootinfo32.c */
		h->stack_words[6] = (uint32_t)bi->pa;
		h->stack_words[7] = (uint32_t)plan->modulep_pa;
		h->stack_words[8] = (uint32_t)plan->kernend_pa;
	}
	h->eax = 0;
	h->ebx = 0;
}
