/*
 * fuzz_common.c - see fuzz_common.h.
 */
#include "fuzz_common.h"
#include <sanitizer/asan_interface.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../multiboot.h"
#include "log.h"
#include "memmap.h"
#include "mis.h"
#include "options.h"
#include "platform.h"
#include "stub_abi.h"
#include "util.h"

#define DIRTY_MAX 4096

static struct {
	uint64_t pa, len;
} dirty[DIRTY_MAX];
static unsigned dirty_count;
static bool dirty_all;

_Noreturn void fz_bug(const char *fmt, ...)
{
	va_list ap;
	const char *console = host_console_text();
	size_t len = strlen(console);
	fprintf(stderr, "fuzz: invariant broken: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nfuzz: console tail:\n%s\n", len > 2000 ? console + len - 2000 : console);
	abort();
}

void fz_ram(uint64_t size)
{
	if (host_ram() && host_ram_size() == size) {
		dirty_all = true;
		fz_reset();
		return;
	}
	host_ram_reset(size);
	dirty_count = 0;
	dirty_all = false;
}

void fz_dirty(uint64_t pa, uint64_t len)
{
	if (!len)
		return;
	if (dirty_count == DIRTY_MAX) {
		dirty_all = true;
		return;
	}
	dirty[dirty_count].pa = pa;
	dirty[dirty_count].len = len;
	dirty_count++;
}

void fz_put(uint64_t pa, const void *data, size_t len)
{
	host_put(pa, data, len);
	fz_dirty(pa, len);
}

void fz_reset(void)
{
	static const struct failure_policy none;
	uint64_t size = host_ram_size();
	host_console_clear();
	host_set_image_range(HOST_IMAGE_START_DEFAULT, HOST_IMAGE_END_DEFAULT);
	host_set_efer(0);
	memset(&host_last_stop, 0, sizeof(host_last_stop));
	memset(&host_last_entry, 0, sizeof(host_last_entry));
	log_set_verbose(false);
	log_set_policy(&none);
	if (dirty_all) {
		memset(host_ram(), 0, (size_t)size);
	} else {
		for (unsigned i = 0; i < dirty_count; i++) {
			uint64_t pa = dirty[i].pa, end = pa + dirty[i].len;
			if (end < pa || end > size)
				end = size;
			if (pa < end)
				memset(host_ram() + pa, 0, (size_t)(end - pa));
		}
	}
	dirty_count = 0;
	dirty_all = false;
}

_Noreturn void fz_bug_at(const char *file, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fz_bug("%s:%d: %s", file, line, msg);
}

int fz_run(void (*fn)(void *), void *arg)
{
	static int show = -1;
	if (show < 0)
		show = getenv("FUZZ_SHOW") != NULL;
	int r = host_run(fn, arg);
	if (show && r == HOST_FAILED)
		fprintf(stderr, "fuzz: stage failed cleanly:\n%s", host_console_text());
	if (r == HOST_ENTERED)
		fz_bug("a stage entered the stub");
	if (r == HOST_FAILED && !strstr(host_console_text(), "mbchain: error: "))
		fz_bug("a stage stopped without an error line");
	return r;
}

uint8_t fz_u8(struct fz_in *in) { return in->pos < in->len ? in->p[in->pos++] : 0; }
uint16_t fz_u16(struct fz_in *in) { return (uint16_t)(fz_u8(in) | fz_u8(in) << 8); }
uint32_t fz_u32(struct fz_in *in) { return fz_u16(in) | (uint32_t)fz_u16(in) << 16; }
uint64_t fz_u64(struct fz_in *in) { return fz_u32(in) | (uint64_t)fz_u32(in) << 32; }

/* ---- the fixed machine ---- */

static void put_rsdp(void)
{
	uint8_t r[36] = "RSD PTR ";
	uint8_t sum = 0;
	r[8] = 0;
	memcpy(r + 9, "FUZZOE", 6);
	r[15] = 2;
	put_le32(r + 16, 0x7fe0000);
	put_le32(r + 20, 36);
	put_le64(r + 24, 0x7fe1000);
	for (int i = 0; i < 20; i++)
		sum = (uint8_t)(sum + r[i]);
	r[8] = (uint8_t)-sum;
	sum = 0;
	for (int i = 0; i < 36; i++)
		sum = (uint8_t)(sum + r[i]);
	r[32] = (uint8_t)-sum;
	host_put(FZ_RSDP_PA, r, sizeof(r)); /* reserved in the map: never written, never dirty */
}

struct machine_arg {
	struct boot_request *req;
};

static void read_mis(void *arg)
{
	struct machine_arg *a = arg;
	struct failure_policy policy;
	bool verbose;
	mis_read_cmdline(MB_LOADER_MAGIC, FZ_MIS_PA, a->req);
	options_early(a->req->cmdline, &policy, &verbose);
	log_set_policy(&policy);
	log_set_verbose(verbose);
	mis_read_rest(FZ_MIS_PA, a->req);
}

int fz_machine(const char *cmdline, const char *loader, const struct fz_module *mods, unsigned count,
	       struct boot_request *req)
{
	struct mb_info mi;
	uint8_t map[3 * 24];
	struct machine_arg a = { req };
	memset(&mi, 0, sizeof(mi));
	mi.flags = MB_INFO_MEMORY | MB_INFO_MEM_MAP | MB_INFO_CMDLINE | MB_INFO_BOOT_LOADER_NAME | MB_INFO_BOOTDEV |
		   MB_INFO_MODS;
	mi.mem_lower_kib = 639;
	mi.mem_upper_kib = (FZ_MACHINE_RAM - MIB) / KIB;
	mi.boot_device = 0x8000ffff;
	static const uint64_t ranges[3][3] = {
		{ 0, 0x9fc00, MEM_RAM }, { 0xf0000, 0x10000, MEM_RESERVED }, { MIB, FZ_MACHINE_RAM - MIB, MEM_RAM }
	};
	for (int i = 0; i < 3; i++) {
		put_le32(map + 24 * i, 20);
		put_le64(map + 24 * i + 4, ranges[i][0]);
		put_le64(map + 24 * i + 12, ranges[i][1]);
		put_le32(map + 24 * i + 20, (uint32_t)ranges[i][2]);
	}
	fz_put(FZ_MMAP_PA, map, sizeof(map));
	mi.mmap_pa = FZ_MMAP_PA;
	mi.mmap_len = sizeof(map);
	fz_put(FZ_CMDLINE_PA, cmdline, strlen(cmdline) + 1);
	mi.cmdline_pa = FZ_CMDLINE_PA;
	fz_put(FZ_LOADER_PA, loader, strlen(loader) + 1);
	mi.boot_loader_name_pa = FZ_LOADER_PA;
	mi.mods_pa = FZ_MODS_PA;
	mi.mods_count = count;
	for (unsigned i = 0; i < count; i++) {
		uint8_t e[16];
		size_t slen = strlen(mods[i].string);
		if (slen > 255)
			slen = 255;
		put_le32(e, mods[i].pa);
		put_le32(e + 4, mods[i].pa + mods[i].len);
		put_le32(e + 8, FZ_STRINGS_PA + 256 * i);
		put_le32(e + 12, 0);
		fz_put(FZ_MODS_PA + 16 * i, e, 16);
		fz_put(FZ_STRINGS_PA + 256 * i, mods[i].string, slen);
		host_w8(FZ_STRINGS_PA + 256 * i + slen, 0);
		if (mods[i].len)
			fz_put(mods[i].pa, mods[i].data, mods[i].len);
	}
	fz_put(FZ_MIS_PA, &mi, sizeof(mi));
	host_w16(0x40e, 0x9fc0); /* EBDA at 0x9fc00: written every time, never cleared */
	put_rsdp();
	return fz_run(read_mis, &a);
}

/* ---- oracles ---- */

static bool overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen) { return ranges_overlap(a, alen, b, blen); }

void fz_check_handoff(const struct boot_request *req, const struct handoff *h)
{
	uint64_t img_start, img_end;
	platform_image_range(&img_start, &img_end);
	FZ_CHECK(h->piece_count <= HANDOFF_MAX_PIECES);
	FZ_CHECK(h->block_count <= HANDOFF_MAX_BLOCKS);
	for (unsigned i = 0; i < h->piece_count; i++) {
		const struct piece *p = &h->pieces[i];
		if (!p->len)
			continue;
		FZ_CHECKF(p->dst_pa < PA_LIMIT_32 && p->len <= PA_LIMIT_32 - p->dst_pa,
			  "piece %u (%s) [0x%llx, +0x%llx) passes 4 GiB: the stub's 32-bit list truncates it", i, p->what,
			  (unsigned long long)p->dst_pa, (unsigned long long)p->len);
		FZ_CHECKF(memmap_is_ram(req->memmap, req->memmap_count, p->dst_pa, p->len),
			  "piece %u (%s) [0x%llx, +0x%llx) is not in RAM of the map", i, p->what,
			  (unsigned long long)p->dst_pa, (unsigned long long)p->len);
		if (p->kind == PIECE_COPY)
			FZ_CHECKF(p->src_pa < PA_LIMIT_32 && p->len <= PA_LIMIT_32 - p->src_pa && phys_valid(p->src_pa, p->len),
				  "piece %u (%s) source [0x%llx, +0x%llx) is outside RAM", i, p->what,
				  (unsigned long long)p->src_pa, (unsigned long long)p->len);
		for (unsigned j = 0; j < i; j++)
			FZ_CHECKF(!overlap(p->dst_pa, p->len, h->pieces[j].dst_pa, h->pieces[j].len),
				  "pieces %u (%s) and %u (%s) overlap: [0x%llx, +0x%llx) and [0x%llx, +0x%llx)", j,
				  h->pieces[j].what, i, p->what, (unsigned long long)h->pieces[j].dst_pa,
				  (unsigned long long)h->pieces[j].len, (unsigned long long)p->dst_pa,
				  (unsigned long long)p->len);
	}
	for (unsigned i = 0; i < h->block_count; i++) {
		const struct block *b = &h->blocks[i];
		FZ_CHECKF(b->align && (b->pa & (b->align - 1)) == 0, "block %s at 0x%llx not aligned to %llu", b->what,
			  (unsigned long long)b->pa, (unsigned long long)b->align);
		FZ_CHECKF(b->pa + b->len <= b->below_pa && b->pa >= 0x1000, "block %s at [0x%llx, +0x%llx) out of bounds",
			  b->what, (unsigned long long)b->pa, (unsigned long long)b->len);
		FZ_CHECKF(memmap_is_ram(req->memmap, req->memmap_count, b->pa, b->len), "block %s at 0x%llx not in RAM",
			  b->what, (unsigned long long)b->pa);
		FZ_CHECKF(!overlap(b->pa, b->len, img_start, img_end - img_start), "block %s over mbchain's image", b->what);
		FZ_CHECKF(!overlap(b->pa, b->len, req->low_reserved_start_pa, MIB - req->low_reserved_start_pa),
			  "block %s over the EBDA/BIOS area", b->what);
		FZ_CHECKF(!overlap(b->pa, b->len, h->keepout_start_pa, h->keepout_end_pa - h->keepout_start_pa),
			  "block %s in the kernel's keep-out range", b->what);
		for (unsigned j = 0; j < i; j++)
			FZ_CHECKF(!overlap(b->pa, b->len, h->blocks[j].pa, h->blocks[j].len), "blocks %s and %s overlap",
				  h->blocks[j].what, b->what);
		for (unsigned j = 0; j < h->piece_count; j++)
			FZ_CHECKF(!overlap(b->pa, b->len, h->pieces[j].dst_pa, h->pieces[j].len),
				  "block %s overlaps piece %u (%s)", b->what, j, h->pieces[j].what);
		for (unsigned j = 0; j < req->module_count; j++)
			FZ_CHECKF(!overlap(b->pa, b->len, req->modules[j].start_pa, req->modules[j].len),
				  "block %s overlaps module %u", b->what, j);
	}
}

#define GUARD 4096u

static void guard_range(const struct block *b, uint64_t *lo, uint64_t *hi)
{
	uint64_t size = host_ram_size();
	*lo = b->pa > GUARD ? b->pa - GUARD : 0;
	*hi = min_u64(size, b->pa + b->len + GUARD);
}

void fz_guard_blocks(const struct boot_request *req, const struct handoff *h)
{
	for (unsigned i = 0; i < h->block_count; i++) {
		uint64_t lo, hi;
		guard_range(&h->blocks[i], &lo, &hi);
		if (lo < hi)
			ASAN_POISON_MEMORY_REGION(host_ram() + lo, hi - lo);
	}
	for (unsigned i = 0; i < h->block_count; i++)
		if (phys_valid(h->blocks[i].pa, h->blocks[i].len))
			ASAN_UNPOISON_MEMORY_REGION(host_ram() + h->blocks[i].pa, h->blocks[i].len);
	for (unsigned i = 0; i < req->module_count; i++)
		if (phys_valid(req->modules[i].start_pa, req->modules[i].len))
			ASAN_UNPOISON_MEMORY_REGION(host_ram() + req->modules[i].start_pa, req->modules[i].len);
}

void fz_unguard_blocks(const struct handoff *h)
{
	for (unsigned i = 0; i < h->block_count; i++) {
		uint64_t lo, hi;
		guard_range(&h->blocks[i], &lo, &hi);
		if (lo < hi)
			ASAN_UNPOISON_MEMORY_REGION(host_ram() + lo, hi - lo);
		fz_dirty(h->blocks[i].pa, h->blocks[i].len);
	}
}

struct plan_arg {
	const struct handoff *h;
	struct free_ram *fr;
	struct copy_entry *list;
	struct copy_stats stats;
	uint32_t count;
};

static void run_plan(void *arg)
{
	struct plan_arg *a = arg;
	a->count = reloc_plan(a->h, a->fr, a->list, &a->stats);
}

int fz_plan_execute_check(const struct handoff *h, struct free_ram *fr)
{
	uint32_t max = reloc_max_entries(h);
	struct plan_arg a = { h, fr, calloc(max + 1, sizeof(struct copy_entry)), { 0 }, 0 };
	uint8_t **snap = calloc(h->piece_count + 1, sizeof(*snap));
	uint64_t delivered = 0, zeroed = 0;
	int r;
	if (!a.list || !snap)
		abort();
	r = fz_run(run_plan, &a);
	if (r != HOST_RETURNED)
		goto out;
	FZ_CHECKF(a.count <= max, "reloc_plan wrote %u entries, room for %u", a.count, max);
	for (uint32_t i = 0; i < a.count; i++) {
		const struct copy_entry *e = &a.list[i];
		FZ_CHECKF(e->kind == STUB_KIND_COPY || e->kind == STUB_KIND_ZERO, "entry %u kind %u", i, e->kind);
		FZ_CHECKF(phys_valid(e->dst_pa, e->len) && (e->kind == STUB_KIND_ZERO || phys_valid(e->src_pa, e->len)),
			  "entry %u [0x%x <- 0x%x, 0x%x] outside RAM", i, e->dst_pa, e->src_pa, e->len);
		for (unsigned j = 0; j < h->block_count; j++)
			FZ_CHECKF(!ranges_overlap(e->dst_pa, e->len, h->blocks[j].pa, h->blocks[j].len),
				  "entry %u [0x%x, +0x%x) writes over block %s [0x%llx, +0x%llx)", i, e->dst_pa, e->len,
				  h->blocks[j].what, (unsigned long long)h->blocks[j].pa, (unsigned long long)h->blocks[j].len);
	}
	for (unsigned i = 0; i < h->piece_count; i++) {
		const struct piece *p = &h->pieces[i];
		if (p->kind == PIECE_ZERO) {
			zeroed += p->len;
			continue;
		}
		delivered += p->len;
		if (!p->len)
			continue;
		FZ_CHECKF(phys_valid(p->src_pa, p->len), "piece %u (%s) source 0x%llx (+0x%llx) outside RAM", i, p->what,
			  (unsigned long long)p->src_pa, (unsigned long long)p->len);
		snap[i] = malloc(p->len);
		if (!snap[i])
			abort();
		host_get(p->src_pa, snap[i], p->len);
	}
	FZ_CHECKF(a.stats.delivered == delivered && a.stats.zeroed == zeroed,
		  "stats: delivered %llu (expected %llu), zeroed %llu (expected %llu)",
		  (unsigned long long)a.stats.delivered, (unsigned long long)delivered, (unsigned long long)a.stats.zeroed,
		  (unsigned long long)zeroed);
	for (uint32_t i = 0; i < a.count; i++)
		fz_dirty(a.list[i].dst_pa, a.list[i].len);
	reloc_execute(a.list, a.count);
	for (unsigned i = 0; i < h->piece_count; i++) {
		const struct piece *p = &h->pieces[i];
		if (!p->len)
			continue;
		FZ_CHECKF(phys_valid(p->dst_pa, p->len), "piece %u (%s) destination 0x%llx (+0x%llx) outside RAM", i,
			  p->what, (unsigned long long)p->dst_pa, (unsigned long long)p->len);
		const uint8_t *got = host_ram() + p->dst_pa;
		for (uint64_t k = 0; k < p->len; k++) {
			uint8_t want = p->kind == PIECE_ZERO ? 0 : snap[i][k];
			if (got[k] != want)
				fz_bug("after the copy list, piece %u (%s) byte 0x%llx at 0x%llx is 0x%02x, expected 0x%02x", i,
				       p->what, (unsigned long long)k, (unsigned long long)(p->dst_pa + k), got[k], want);
		}
	}
out:
	for (unsigned i = 0; i < h->piece_count; i++)
		free(snap[i]);
	free(snap);
	free(a.list);
	return r;
}
