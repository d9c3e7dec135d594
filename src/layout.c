/*
 * layout.c - see layout.h.
 */
#include "layout.h"
#include "log.h"
#include "util.h"

#define LOW_RESERVED_END_PA 0x1000u /* page 0: real-mode IVT and BIOS data area */

static void free_add(struct free_ram *fr, uint64_t start, uint64_t end)
{
	if (start >= end)
		return;
	if (fr->count == FREE_RAM_MAX_RANGES)
		fail(NULL, "layout: free memory is split into more than %u ranges", FREE_RAM_MAX_RANGES);
	fr->ranges[fr->count].start_pa = start;
	fr->ranges[fr->count].end_pa = end;
	fr->count++;
}

void layout_reserve(struct free_ram *fr, uint64_t start, uint64_t end)
{
	uint32_t n = fr->count;
	if (start >= end)
		return;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t s = fr->ranges[i].start_pa, e = fr->ranges[i].end_pa;
		if (end <= s || start >= e)
			continue;
		/* Keep the part below, and append the part above (order does not matter). */
		fr->ranges[i].end_pa = max_u64(s, start);
		free_add(fr, min_u64(e, max_u64(end, s)), e);
	}
	/* Drop ranges that became empty. */
	uint32_t kept = 0;
	for (uint32_t i = 0; i < fr->count; i++)
		if (fr->ranges[i].start_pa < fr->ranges[i].end_pa)
			fr->ranges[kept++] = fr->ranges[i];
	fr->count = kept;
}

void layout_init(struct free_ram *fr, const struct boot_request *req, const struct handoff *h, uint64_t image_start_pa,
		 uint64_t image_end_pa)
{
	fr->count = 0;
	for (uint32_t i = 0; i < req->memmap_count; i++) {
		const struct mem_range *r = &req->memmap[i];
		if (r->type == MEM_RAM && r->base_pa < PA_LIMIT_32)
			free_add(fr, align_down_u64(r->base_pa + PAGE_SIZE - 1, PAGE_SIZE),
				 align_down_u64(min_u64(r->base_pa + r->len, PA_LIMIT_32), PAGE_SIZE));
	}
	layout_reserve(fr, 0, LOW_RESERVED_END_PA);
	layout_reserve(fr, req->low_reserved_start_pa, MIB);
	layout_reserve(fr, image_start_pa, image_end_pa);
	layout_reserve(fr, h->keepout_start_pa, h->keepout_end_pa);
	for (uint32_t i = 0; i < req->module_count; i++) {
		const struct boot_module *m = &req->modules[i];
		layout_reserve(fr, m->start_pa, (uint64_t)m->start_pa + m->len);
		for (uint32_t j = 0; j < m->placed_count && j < BOOT_MAX_PLACED; j++)
			layout_reserve(fr, m->placed[j].pa, (uint64_t)m->placed[j].pa + m->placed[j].len);
	}
	for (unsigned i = 0; i < h->piece_count; i++) {
		const struct piece *p = &h->pieces[i];
		layout_reserve(fr, p->dst_pa, p->dst_pa + p->len);
		if (p->kind == PIECE_COPY)
			layout_reserve(fr, p->src_pa, p->src_pa + p->len);
	}
}

/* Take len bytes aligned to `align` in one free range, ending at or below below_pa: the lowest
 * such place, or the highest with `top`. */
static bool alloc_in(struct free_ram *fr, uint64_t len, uint64_t align, uint64_t below_pa, bool top, uint64_t *pa)
{
	bool found = false;
	uint64_t best = 0;
	for (uint32_t i = 0; i < fr->count; i++) {
		uint64_t lo = fr->ranges[i].start_pa, hi = min_u64(fr->ranges[i].end_pa, below_pa), at;
		if (hi < lo || hi - lo < len)
			continue;
		if (top)
			at = align_down_u64(hi - len, align);
		else if (!align_up_u64(lo, align, &at))
			continue;
		if (at < lo || at > hi - len)
			continue;
		if (!found || (top ? at > best : at < best)) {
			best = at;
			found = true;
		}
	}
	if (!found)
		return false;
	layout_reserve(fr, best, best + len);
	*pa = best;
	return true;
}

bool layout_alloc(struct free_ram *fr, uint64_t len, uint64_t align, uint64_t below_pa, uint64_t *pa)
{
	return alloc_in(fr, len, align, below_pa, false, pa);
}

bool layout_alloc_top(struct free_ram *fr, uint64_t len, uint64_t align, uint64_t below_pa, uint64_t *pa)
{
	return alloc_in(fr, len, align, below_pa, true, pa);
}

void layout_place_blocks(struct free_ram *fr, struct handoff *h)
{
	for (unsigned i = 0; i < h->block_count; i++) {
		struct block *b = &h->blocks[i];
		if (!layout_alloc(fr, b->len, b->align, b->below_pa, &b->pa))
			fail("give the machine more memory, or load fewer modules",
			     "layout: no free RAM for the %s (%llu bytes)", b->what, (unsigned long long)b->len);
		log_info("layout: %s at 0x%llx (+%llu)", b->what, (unsigned long long)b->pa, (unsigned long long)b->len);
	}
}

bool layout_is_free(const struct free_ram *fr, uint64_t start_pa, uint64_t len)
{
	for (uint32_t i = 0; i < fr->count; i++)
		if (start_pa >= fr->ranges[i].start_pa && start_pa < fr->ranges[i].end_pa &&
		    len <= fr->ranges[i].end_pa - start_pa)
			return true;
	return false;
}
