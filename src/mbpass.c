/*
 * mbpass.c - see mbpass.h.  The only file besides mis.c that knows Multiboot's structures: it
 * writes them, mis.c reads them.
 */
#include "mbpass.h"
#include "../multiboot.h"
#include "fmt.h"
#include "log.h"
#include "memmap.h"
#include "platform.h"
#include "util.h"

#define MB_HEADER_SEARCH_LEN 8192u /* spec 3.1.1 */
#define MB_HEADER_LEN 48u
#define MB_SUPPORTED_REQUIRED_FLAGS (MB_HEADER_PAGE_ALIGN | MB_HEADER_MEMORY_INFO | MB_HEADER_VIDEO_MODE)
#define MODULES_MARGIN (1u * MIB) /* kernels often put their first tables right after their image */
#define STACK_LEN 4096u
#define LOADER_NAME "mbchain"

static const char hint_mb[] = "the kernel's Multiboot header is damaged";

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

/* The offset of the first header (magic and checksum right) in p[0..limit), or limit. */
static uint32_t header_offset(const uint8_t *p, uint32_t limit)
{
	for (uint32_t off = 0; p && off + 12 <= limit; off += 4) {
		uint32_t magic = rd32(p + off), flags = rd32(p + off + 4), sum = rd32(p + off + 8);
		/* cppcheck-suppress knownConditionTrueFalse ; flags and sum come from the file */
		if (magic == MB_HEADER_MAGIC && magic + flags + sum == 0)
			return off;
	}
	return limit;
}

bool mbpass_peek_header(const uint8_t *head, uint64_t head_len, uint32_t *flags)
{
	uint32_t limit = (uint32_t)min_u64(head_len, MB_HEADER_SEARCH_LEN), off = header_offset(head, limit);
	if (off == limit)
		return false;
	*flags = rd32(head + off + 4);
	return true;
}

bool mbpass_find_header(const struct boot_module *m, struct mb_kernel_header *out)
{
	uint32_t limit = (uint32_t)min_u64(m->len, MB_HEADER_SEARCH_LEN);
	const uint8_t *p = limit ? phys_ptr(m->start_pa, limit) : NULL;
	uint32_t off = header_offset(p, limit);
	if (off != limit) {
		uint32_t flags = rd32(p + off + 4);
		memset(out, 0, sizeof(*out));
		out->offset = off;
		out->flags = flags;
		if (flags & MB_HEADER_AOUT_KLUDGE) {
			if (off + 32 > limit)
				fail(hint_mb, "mbpass: a.out kludge fields of the header at offset %u pass the file's first 8 KiB",
				     off);
			out->header_addr = rd32(p + off + 12);
			out->load_addr = rd32(p + off + 16);
			out->load_end_addr = rd32(p + off + 20);
			out->bss_end_addr = rd32(p + off + 24);
			out->entry_addr = rd32(p + off + 28);
		}
		return true;
	}
	return false;
}

/* The a.out kludge (spec 3.1.3): one segment described by the header's addresses. */
static void kludge_image(const struct boot_request *req, const struct boot_module *km, const struct mb_kernel_header *hd,
			 struct kernel_image *img)
{
	uint32_t file_offset, file_len, mem_len;
	memset(img, 0, sizeof(*img));
	img->file_pa = km->start_pa;
	img->file_len = km->len;
	if (hd->header_addr < hd->load_addr || hd->header_addr - hd->load_addr > hd->offset)
		fail(hint_mb, "mbpass: header_addr 0x%x does not fit load_addr 0x%x", hd->header_addr, hd->load_addr);
	file_offset = hd->offset - (hd->header_addr - hd->load_addr);
	file_len = hd->load_end_addr ? hd->load_end_addr - hd->load_addr : km->len - file_offset;
	if (hd->load_end_addr && hd->load_end_addr < hd->load_addr)
		fail(hint_mb, "mbpass: load_end_addr 0x%x is below load_addr 0x%x", hd->load_end_addr, hd->load_addr);
	if (file_len > km->len - file_offset)
		fail(hint_mb, "mbpass: the kernel file (%u bytes) ends before load_end_addr 0x%x", km->len, hd->load_end_addr);
	mem_len = file_len;
	if (hd->bss_end_addr) {
		if (hd->bss_end_addr < hd->load_addr + file_len)
			fail(hint_mb, "mbpass: bss_end_addr 0x%x is below the loaded end 0x%x", hd->bss_end_addr,
			     hd->load_addr + file_len);
		mem_len = hd->bss_end_addr - hd->load_addr;
	}
	img->segment_count = 1;
	img->segments[0] = (struct kernel_segment){ hd->load_addr, hd->load_addr, hd->load_addr, file_offset, file_len,
						    mem_len, PF_X | PF_W };
	img->elf_type = ET_EXEC;
	img->entry_va = hd->entry_addr;
	img->load_by_paddr = true;
	elf_assign_pa(img, ~0ull, 0, req->memmap, req->memmap_count);
}

/* The path word our strings carry when our loader gave none (GRUB 2): most Multiboot kernels
 * drop the first word of their command line as the image name unless the loader's name says
 * GRUB 2 (Xen's cmdline_cook), and we name ourselves "mbchain".  NULL when none is needed. */
static const char *path_word(const struct boot_request *req, const struct options *opts, uint32_t module_index,
			     char *buf, size_t cap)
{
	struct module_options mo;
	if (options_loader_gives_paths(req->loader_name))
		return NULL;
	options_parse_module(req->modules[module_index].string, req->loader_name, &mo);
	if (mo.has_name)
		str_copy(buf, cap, mo.name, sizeof(mo.name));
	else if (module_index == opts->kernel_module && opts->has_name)
		str_copy(buf, cap, opts->name, sizeof(opts->name));
	else
		fmt_format(buf, cap, module_index == opts->kernel_module ? "/kernel" : "/module%u", module_index);
	return buf;
}

/* Bytes a module's string takes in the new MIS, NUL included. */
static uint32_t string_len(const struct boot_request *req, const struct options *opts, uint32_t index)
{
	char buf[OPT_TEXT_MAX];
	const char *path = path_word(req, opts, index, buf, sizeof(buf));
	return (uint32_t)strlen(req->modules[index].string) + 1 + (path ? (uint32_t)strlen(path) + 1 : 0);
}

/* Bytes of the new MIS block: the structure, the map, the module list and every string. */
static uint32_t mis_len(const struct boot_request *req, const struct options *opts, const struct mbpass_plan *plan)
{
	uint32_t len = sizeof(struct mb_info) + req->memmap_count * sizeof(struct mb_mmap_entry) +
		       plan->module_count * sizeof(struct mb_module);
	len += string_len(req, opts, opts->kernel_module) + sizeof(LOADER_NAME);
	for (uint32_t i = 0; i < plan->module_count; i++)
		len += string_len(req, opts, plan->module_index[i]);
	return len;
}

void mbpass_plan(const struct boot_request *req, const struct options *opts, const struct boot_module *km,
		 const struct mb_kernel_header *hd, struct kernel_image *img, struct mbpass_plan *plan, struct handoff *h)
{
	uint64_t pos;
	uint32_t unsupported = hd->flags & 0xffffu & ~MB_SUPPORTED_REQUIRED_FLAGS;
	memset(plan, 0, sizeof(*plan));
	plan->header = *hd;
	if (unsupported)
		fail("this kernel needs a Multiboot feature mbchain does not offer",
		     "mbpass: the kernel's header requires unknown features (flags 0x%x)", unsupported);
	if (hd->flags & MB_HEADER_AOUT_KLUDGE) {
		kludge_image(req, km, hd, img); /* the header's addresses win over any ELF header */
	} else {
		img->load_by_paddr = true; /* GRUB loads Multiboot ELF kernels by p_paddr */
		elf_assign_pa(img, ~0ull, 0, req->memmap, req->memmap_count);
	}
	handoff_add_segments(h, img);
	pos = img->end_pa;
	for (uint32_t i = 0; i < req->module_count; i++) {
		const struct boot_module *m = &req->modules[i];
		if (i == opts->kernel_module)
			continue;
		pos = handoff_align(pos, PAGE_SIZE, "module");
		if (pos + m->len > PA_LIMIT_32 || !memmap_is_ram(req->memmap, req->memmap_count, pos, m->len))
			fail("give the machine more memory, or load fewer modules",
			     "mbpass: module %u does not fit in RAM after the kernel (0x%llx)", i, (unsigned long long)pos);
		plan->module_index[plan->module_count] = i;
		plan->module_pa[plan->module_count++] = (uint32_t)pos;
		handoff_add_piece(h, PIECE_COPY, pos, m->start_pa, m->len, "module");
		pos += m->len;
	}
	plan->mis_len = mis_len(req, opts, plan);
	plan->mis_block = handoff_add_block(h, "boot information", plan->mis_len, 8, PA_LIMIT_32);
	h->stack_block = handoff_add_block(h, "kernel stack", STACK_LEN, 16, PA_LIMIT_32);
	h->stack_word_count = 0;
	h->keepout_start_pa = img->start_pa;
	h->keepout_end_pa = pos + MODULES_MARGIN;
	h->mode = CPU_PROTECTED_32;
	h->entry_pa = (uint32_t)img->entry_pa;
	log_info("mbpass: Multiboot kernel [0x%llx, 0x%llx) entry 0x%x, %u modules to 0x%llx",
		 (unsigned long long)img->start_pa, (unsigned long long)img->end_pa, h->entry_pa, plan->module_count,
		 (unsigned long long)pos);
}

/* Append module `index`'s string (after a path word when one is needed) at *cursor; returns
 * its physical address. */
static uint32_t put_string(uint8_t *base, uint32_t base_pa, uint32_t *cursor, const char *prefix, const char *s)
{
	uint32_t at = *cursor;
	if (prefix) {
		uint32_t n = (uint32_t)strlen(prefix);
		/* NOLINTNEXTLINE(bugprone-not-null-terminated-result): a blank follows, then the string */
		memcpy(base + *cursor, prefix, n);
		base[*cursor + n] = ' ';
		*cursor += n + 1;
	}
	uint32_t len = (uint32_t)strlen(s) + 1;
	memcpy(base + *cursor, s, len);
	*cursor += len;
	return base_pa + at;
}

static uint32_t put_module_string(const struct boot_request *req, const struct options *opts, uint32_t index,
				  uint8_t *base, uint32_t base_pa, uint32_t *cursor)
{
	char buf[OPT_TEXT_MAX];
	return put_string(base, base_pa, cursor, path_word(req, opts, index, buf, sizeof(buf)),
			  req->modules[index].string);
}

void mbpass_build(const struct boot_request *req, const struct options *opts, struct mbpass_plan *plan,
		  struct handoff *h)
{
	struct block *b = &h->blocks[plan->mis_block];
	uint8_t *base = phys_ptr(b->pa, b->len);
	uint32_t base_pa = (uint32_t)b->pa, cursor = sizeof(struct mb_info);
	struct mb_info mis;
	memset(base, 0, b->len);
	memset(&mis, 0, sizeof(mis));

	mis.flags = MB_INFO_MEMORY | MB_INFO_CMDLINE | MB_INFO_MODS | MB_INFO_MEM_MAP | MB_INFO_BOOT_LOADER_NAME;
	mis.mem_lower_kib = memmap_basemem_kib(req);
	mis.mem_upper_kib = memmap_extmem_kib(req);
	if (req->has_boot_device) {
		mis.flags |= MB_INFO_BOOTDEV;
		mis.boot_device = req->boot_device;
	}
	mis.mmap_pa = base_pa + cursor;
	for (uint32_t i = 0; i < req->memmap_count; i++, cursor += sizeof(struct mb_mmap_entry)) {
		struct mb_mmap_entry e = { sizeof(e) - 4, req->memmap[i].base_pa, req->memmap[i].len, req->memmap[i].type };
		memcpy(base + cursor, &e, sizeof(e));
	}
	mis.mmap_len = req->memmap_count * (uint32_t)sizeof(struct mb_mmap_entry);
	mis.mods_pa = base_pa + cursor;
	mis.mods_count = plan->module_count;
	uint32_t mods_at = cursor;
	cursor += plan->module_count * (uint32_t)sizeof(struct mb_module);
	for (uint32_t i = 0; i < plan->module_count; i++) {
		const struct boot_module *m = &req->modules[plan->module_index[i]];
		struct mb_module mod = { plan->module_pa[i], plan->module_pa[i] + m->len, 0, 0 };
		mod.string_pa = put_module_string(req, opts, plan->module_index[i], base, base_pa, &cursor);
		memcpy(base + mods_at + i * sizeof(mod), &mod, sizeof(mod));
	}
	/* The kernel's own string as our loader gave it, with a path word in front when it had none
	 * (the spec leaves the form to the loader; most kernels expect the path first). */
	mis.cmdline_pa = put_module_string(req, opts, opts->kernel_module, base, base_pa, &cursor);
	mis.boot_loader_name_pa = put_string(base, base_pa, &cursor, NULL, LOADER_NAME);
	if (req->has_framebuffer && (plan->header.flags & MB_HEADER_VIDEO_MODE)) {
		const struct boot_framebuffer *fb = &req->framebuffer;
		mis.flags |= MB_INFO_FRAMEBUFFER_INFO;
		mis.framebuffer_pa = fb->pa;
		mis.framebuffer_pitch = fb->pitch_bytes;
		mis.framebuffer_width = fb->width;
		mis.framebuffer_height = fb->height;
		mis.framebuffer_bpp = fb->bpp;
		mis.framebuffer_type = MB_FRAMEBUFFER_TYPE_RGB;
		mis.color_info[0] = fb->red_pos;
		mis.color_info[1] = fb->red_size;
		mis.color_info[2] = fb->green_pos;
		mis.color_info[3] = fb->green_size;
		mis.color_info[4] = fb->blue_pos;
		mis.color_info[5] = fb->blue_size;
	}
	memcpy(base, &mis, sizeof(mis));
	h->eax = MB_LOADER_MAGIC;
	h->ebx = base_pa;
}

