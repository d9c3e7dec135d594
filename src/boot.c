/*
 * boot.c - see boot.h.  The only file that knows the order of the stages.
 */
#include "boot.h"
#include "../multiboot.h"
#include "boot_request.h"
#include "elf.h"
#include "freebsd.h"
#include "handoff.h"
#include "inflate.h"
#include "layout.h"
#include "log.h"
#include "mbpass.h"
#include "mis.h"
#include "netbsd.h"
#include "options.h"
#include "platform.h"
#include "util.h"

/* The stub turns paging on for long-mode kernels with tables that identity-map only the low
 * 1 GiB (FreeBSD's layout): it, its parameters and its copy list must live there. */
#define STUB_BELOW_PA (1ull << 30)

/* The pipeline's state lives in BSS: nothing here is on the (small) boot stack. */
static struct boot_request request;
static struct options options;
static struct kernel_image kernel;
static struct handoff handoff;
static struct netbsd_plan netbsd;
static struct freebsd_plan freebsd;
static struct mbpass_plan mbpass;
static struct free_ram free_ram;
struct boot_result boot_last_result;

static const char *os_name(enum target_os os)
{
	static const char *const names[] = { "auto", "netbsd", "freebsd", "multiboot" };
	return names[os];
}

/* NetBSD by its ident note, FreeBSD by its OSABI, else a Multiboot kernel by its header
 * (NetBSD/i386 kernels carry a Multiboot header too: the note decides first). */
static enum target_os detect_os(const struct kernel_image *img, bool has_mb_header, enum target_os forced)
{
	if (forced != OS_AUTO)
		return forced;
	if (img->netbsd_note)
		return OS_NETBSD;
	if (img->osabi == ELFOSABI_FREEBSD)
		return OS_FREEBSD;
	if (has_mb_header)
		return OS_MULTIBOOT;
	fail("name the kernel's OS with mbchain.os=netbsd (or freebsd, multiboot)",
	     "boot: kernel has no NetBSD ident note, is not FreeBSD (OSABI %u) and has no Multiboot header", img->osabi);
}

/* The largest module we inflate: the gzip trailer's size is only believed up to this. */
#define INFLATE_MAX_LEN (512u * MIB)
/* Inflated into the buffer before anything goes in place: the ELF and program headers, and the
 * range where a Multiboot header is looked for. */
#define INFLATE_HEAD_LEN 8192u

/* The kernel module being inflated, for place_segments. */
struct place_context {
	const struct options *opts;
	struct boot_module *module;
	unsigned index;
	uint64_t file_len; /* the trailer's claim: only a bound, checked on every write */
};

/* The target the kernel will get, as far as its head tells: OS_AUTO when it cannot be told
 * (a Multiboot header and no NetBSD note in the head: NetBSD/i386 or a Multiboot kernel) or
 * when the a.out kludge will read the file by the header's addresses.  detect_os decides the
 * same way; a wrong guess costs a copy, never correctness (the bytes are the module's). */
static enum target_os guess_os(const struct kernel_image *head, const uint8_t *bytes, size_t len, enum target_os forced)
{
	uint32_t mb_flags = 0;
	bool mb = mbpass_peek_header(bytes, len, &mb_flags);
	if (mb && (mb_flags & MB_HEADER_AOUT_KLUDGE) && (forced == OS_AUTO || forced == OS_MULTIBOOT))
		return OS_AUTO;
	if (forced != OS_AUTO)
		return forced;
	if (head->netbsd_note)
		return OS_NETBSD;
	if (head->osabi == ELFOSABI_FREEBSD)
		return OS_FREEBSD;
	return mb ? OS_AUTO : OS_NETBSD;
}

/* Where the target will put segment s (netbsd_plan, freebsd_plan, mbpass_plan); false when it
 * will not load it or it passes 4 GiB. */
static bool segment_destination(enum target_os os, const struct kernel_image *img, const struct kernel_segment *s,
				uint64_t *pa)
{
	if (os == OS_NETBSD) {
		if (!netbsd_segment_loadable(s->flags))
			return false;
		*pa = s->va & NETBSD_LOAD_MASK;
	} else if (os == OS_FREEBSD) {
		*pa = s->va - freebsd_load_offset(img);
	} else {
		*pa = s->paddr;
	}
	return *pa < PA_LIMIT_32 && s->file_len <= PA_LIMIT_32 - *pa;
}

/* inflate's decide(): route each kernel segment whose destination is free RAM right now (not
 * our image, a module, the compressed file, the buffer, page 0 or the EBDA, below 4 GiB) to
 * that destination, and take it out of free RAM.  Everything else stays in the buffer. */
static void place_segments(struct inflate_map *map, const uint8_t *head, size_t head_len)
{
	static struct kernel_image peek; /* static: the boot stack is small */
	const struct place_context *c = map->ctx;
	struct boot_module *m = c->module;
	enum target_os os;
	m->placed_count = 0;
	if (!elf_peek(head, head_len, c->file_len, &peek))
		return;
	os = guess_os(&peek, head, head_len, c->opts->os);
	if (os == OS_AUTO) {
		log_info("gzip: module %u: its target is not known from its head: inflated whole into the buffer", c->index);
		return;
	}
	for (unsigned i = 0; i < peek.segment_count && map->count < INFLATE_MAX_ROUTES; i++) {
		const struct kernel_segment *s = &peek.segments[i];
		uint64_t pa;
		unsigned at = map->count;
		bool clash = false;
		if (s->file_len == 0 || !segment_destination(os, &peek, s, &pa))
			continue;
		for (unsigned j = 0; j < map->count; j++)
			clash |= ranges_overlap(s->file_offset, s->file_len, map->routes[j].offset, map->routes[j].len);
		if (clash || free_ram.count + 1 >= FREE_RAM_MAX_RANGES || !layout_is_free(&free_ram, pa, s->file_len)) {
			log_info("gzip: module %u: segment %u (0x%llx bytes for 0x%llx) goes through the buffer: its "
				 "destination is not free", c->index, i, (unsigned long long)s->file_len, (unsigned long long)pa);
			continue;
		}
		layout_reserve(&free_ram, pa, pa + s->file_len);
		while (at > 0 && map->routes[at - 1].offset > s->file_offset) { /* keep them sorted */
			map->routes[at] = map->routes[at - 1];
			m->placed[at] = m->placed[at - 1];
			at--;
		}
		map->routes[at] = (struct inflate_route){ (size_t)s->file_offset, (size_t)s->file_len, phys_ptr(pa, s->file_len) };
		m->placed[at] = (struct module_placed){ (uint32_t)s->file_offset, (uint32_t)s->file_len, (uint32_t)pa };
		map->count++;
	}
}

/* Modules that arrive gzip-compressed (QEMU -kernel passes files as they are) are inflated into
 * free RAM at the top, away from the low addresses kernels go to, and then stand in for the
 * compressed module.  The kernel's segments whose destination is free go straight there
 * (place_segments): the buffer keeps a hole in their place.  The trailer's size sizes the
 * buffer; every write is checked against it, and the real size and CRC are checked. */
static void inflate_modules(struct boot_request *req, const struct options *opts, uint64_t image_start,
			    uint64_t image_end)
{
	static struct handoff nothing_placed;
	static struct inflate_map map;
	bool any = false;
	for (uint32_t i = 0; i < req->module_count; i++) {
		struct boot_module *m = &req->modules[i];
		struct place_context ctx = { opts, m, i, 0 };
		uint32_t isize;
		uint64_t buffer;
		size_t out_len;
		if (m->len < 18 || !gzip_detect(phys_ptr(m->start_pa, m->len), m->len))
			continue;
		if (!any)
			layout_init(&free_ram, req, &nothing_placed, image_start, image_end);
		any = true;
		isize = gzip_trailer_size(phys_ptr(m->start_pa, m->len), m->len);
		if (isize == 0 || isize > INFLATE_MAX_LEN)
			fail("gunzip the file, or load it through GRUB with insmod gzio", "gzip: module %u claims %u bytes inflated",
			     i, isize);
		if (!layout_alloc_top(&free_ram, isize, PAGE_SIZE, PA_LIMIT_32, &buffer))
			fail("give the machine more memory, or gunzip the file", "gzip: no free RAM to inflate module %u (%u bytes)",
			     i, isize);
		memset(&map, 0, sizeof(map));
		ctx.file_len = isize;
		map.ctx = &ctx;
		map.decide_at = INFLATE_HEAD_LEN < isize ? INFLATE_HEAD_LEN : isize;
		map.decide = i == opts->kernel_module ? place_segments : NULL;
		const char *err =
			gzip_inflate_routed(phys_ptr(m->start_pa, m->len), m->len, phys_ptr(buffer, isize), isize, &map, &out_len);
		if (err)
			fail("the compressed file is damaged: gunzip -t it", "gzip: module %u: %s", i, err);
		log_info("gzip: module %u inflated from %u to %u bytes at 0x%llx", i, m->len, (unsigned)out_len,
			 (unsigned long long)buffer);
		m->start_pa = (uint32_t)buffer;
		m->len = (uint32_t)out_len;
		m->placed_count = map.count;
		for (unsigned j = 0; j < m->placed_count; j++)
			log_info("gzip: module %u: bytes 0x%x (+0x%x) inflated in place at 0x%x", i, m->placed[j].offset,
				 m->placed[j].len, m->placed[j].pa);
	}
}

static void print_plan(const struct handoff *h, const struct copy_entry *list, uint32_t count,
		       const struct copy_stats *stats)
{
	log_info("plan: %u pieces, %u copy entries", h->piece_count, count);
	for (unsigned i = 0; i < h->piece_count; i++) {
		const struct piece *p = &h->pieces[i];
		log_info("plan: %-16s dst 0x%08llx len 0x%08llx %s 0x%08llx", p->what, (unsigned long long)p->dst_pa,
			 (unsigned long long)p->len, p->kind == PIECE_ZERO ? "zero" : "from", (unsigned long long)p->src_pa);
	}
	for (uint32_t i = 0; i < count; i++)
		log_info("copy %2u: %s 0x%08x -> 0x%08x len 0x%08x", i, list[i].kind == STUB_KIND_ZERO ? "zero" : "move",
			 list[i].src_pa, list[i].dst_pa, list[i].len);
	log_info("plan: %llu bytes delivered, %llu moved, %llu zeroed, %u bounces",
		 (unsigned long long)stats->delivered, (unsigned long long)stats->moved, (unsigned long long)stats->zeroed,
		 stats->bounces);
}

/* Copy the stub into its block, write the copy list and parameters next to it, and go. */
static _Noreturn void install_stub_and_enter(struct handoff *h, unsigned stub_block, size_t code_len)
{
	struct block *b = &h->blocks[stub_block];
	size_t stub_len;
	const void *code = platform_stub_code(&stub_len);
	uint32_t params_pa = (uint32_t)(b->pa + ((code_len + 15) & ~(size_t)15));
	uint32_t list_pa = params_pa + STUB_PARAMS_LEN;
	uint32_t max_entries = reloc_max_entries(h);
	struct copy_entry *list = phys_ptr(list_pa, (uint64_t)max_entries * STUB_ENTRY_SIZE);
	uint8_t *params = phys_ptr(params_pa, STUB_PARAMS_LEN);
	struct boot_result *r = &boot_last_result;

	memcpy(phys_ptr(b->pa, stub_len), code, stub_len);
	r->copy_count = reloc_plan(h, &free_ram, list, &r->stats);
	if (log_is_verbose())
		print_plan(h, list, r->copy_count, &r->stats);

	/* The kernel's stack words, at the top of its stack block. */
	uint32_t esp = handoff_entry_esp(h);
	uint8_t *stack = phys_ptr(esp, 4u * h->stack_word_count);
	for (unsigned i = 0; i < h->stack_word_count; i++)
		put_le32(stack + 4 * i, h->stack_words[i]);

	memset(params, 0, STUB_PARAMS_LEN);
	put_le32(params + STUB_PARAM_COPY_LIST, list_pa);
	put_le32(params + STUB_PARAM_COPY_COUNT, r->copy_count);
	put_le32(params + STUB_PARAM_ENTRY, h->entry_pa);
	put_le32(params + STUB_PARAM_ESP, esp);
	put_le32(params + STUB_PARAM_EAX, h->eax);
	put_le32(params + STUB_PARAM_EBX, h->ebx);
	put_le32(params + STUB_PARAM_FLAGS, (platform_cpu_has_efer() ? STUB_FLAG_CLEAR_EFER : 0) |
						    (h->mode == CPU_LONG_64 ? STUB_FLAG_LONG_MODE : 0) |
						    (h->return_trap ? STUB_FLAG_RETURN_TRAP : 0));
	put_le32(params + STUB_PARAM_CR3, h->cr3_pa);
	put_le64(params + STUB_PARAM_ENTRY64, h->entry_va);
	r->stub_pa = (uint32_t)b->pa;
	r->params_pa = params_pa;
	log_info("boot: jumping to 0x%llx with esp 0x%x through the stub at 0x%x",
		 (unsigned long long)(h->mode == CPU_LONG_64 ? h->entry_va : h->entry_pa), esp, r->stub_pa);
	platform_enter_stub(r->stub_pa, params_pa);
}

_Noreturn void mbchain_main(uint32_t magic, uint32_t mis_pa)
{
	struct failure_policy early = { 0 };
	bool early_verbose;
	uint64_t image_start, image_end;
	size_t stub_code_len;

	memset(&handoff, 0, sizeof(handoff));
	log_set_verbose(false);
	log_set_policy(&early);
	mis_read_cmdline(magic, mis_pa, &request);
	options_early(request.cmdline, &early, &early_verbose);
	log_set_policy(&early);
	log_set_verbose(early_verbose);
	mis_read_rest(mis_pa, &request);
	options_parse(&request, &options);
	log_set_verbose(options.verbose);
	log_set_policy(&options.policy);
	log_info("boot: loader \"%s\", %u modules, %u memory ranges", request.loader_name, request.module_count,
		 request.memmap_count);

	if (request.module_count == 0)
		fail("give the kernel as the first Multiboot module (GRUB: module /netbsd; QEMU: -initrd netbsd)",
		     "boot: no modules, so no kernel to boot");
	if (options.kernel_module >= request.module_count)
		fail("mbchain.kernel= counts modules from 0", "boot: mbchain.kernel=%u but only %u modules",
		     options.kernel_module, request.module_count);
	platform_image_range(&image_start, &image_end);
	inflate_modules(&request, &options, image_start, image_end);
	const struct boot_module *km = &request.modules[options.kernel_module];
	struct mb_kernel_header mb_header;
	bool has_mb_header = mbpass_find_header(km, &mb_header);
	enum target_os os;
	if (has_mb_header && (mb_header.flags & MB_HEADER_AOUT_KLUDGE) &&
	    (options.os == OS_AUTO || options.os == OS_MULTIBOOT)) {
		os = OS_MULTIBOOT; /* the a.out kludge: its header, not an ELF header, says how to load it */
	} else {
		elf_parse_module(km, &kernel);
		os = detect_os(&kernel, has_mb_header, options.os);
	}
	log_info("boot: kernel is module %u, OS %s", options.kernel_module, os_name(os));
	if (os == OS_MULTIBOOT && !has_mb_header)
		fail("mbchain.os=multiboot needs a kernel with a Multiboot header",
		     "boot: the kernel has no Multiboot header in its first 8 KiB");
	if (os == OS_NETBSD)
		netbsd_plan(&request, &options, &kernel, &netbsd, &handoff);
	else if (os == OS_FREEBSD)
		freebsd_plan(&request, &options, &kernel, &freebsd, &handoff);
	else
		mbpass_plan(&request, &options, km, &mb_header, &kernel, &mbpass, &handoff);

	platform_stub_code(&stub_code_len);
	unsigned stub_block = handoff_add_block(&handoff, "handoff stub",
						((stub_code_len + 15) & ~(size_t)15) + STUB_PARAMS_LEN +
							(uint64_t)reloc_max_entries(&handoff) * STUB_ENTRY_SIZE,
						16, STUB_BELOW_PA);
	layout_init(&free_ram, &request, &handoff, image_start, image_end);
	layout_place_blocks(&free_ram, &handoff);
	if (os == OS_NETBSD)
		netbsd_build(&request, &options, &kernel, &netbsd, &handoff);
	else if (os == OS_FREEBSD)
		freebsd_build(&request, &options, &kernel, &freebsd, &handoff);
	else
		mbpass_build(&request, &options, &mbpass, &handoff);
	install_stub_and_enter(&handoff, stub_block, stub_code_len);
}
