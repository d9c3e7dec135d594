/*
 * layout.h - free RAM, and the blocks placed in it.  Called by boot.c after the target has
 * planned, and by reloc.c for bounce buffers.
 *
 * Free RAM is RAM (type 1, below 4 GiB) minus page 0, the EBDA up to 1 MiB, mbchain's own image,
 * every destination, every source still to be read (all modules, with their bytes inflated in
 * place), and the target's keep-out
 * range.  Blocks are placed lowest-first, as NetBSD's /boot keeps its data in low memory.
 */
#ifndef MBCHAIN_LAYOUT_H
#define MBCHAIN_LAYOUT_H
#include "boot_request.h"
#include "handoff.h"

#define FREE_RAM_MAX_RANGES 256

struct free_ram {
	uint32_t count;
	struct {
		uint64_t start_pa, end_pa;
	} ranges[FREE_RAM_MAX_RANGES];
};

/* Build the free list from the request, the handoff's pieces and mbchain's image range. */
void layout_init(struct free_ram *fr, const struct boot_request *req, const struct handoff *h, uint64_t image_start_pa,
		 uint64_t image_end_pa);
/* Take len bytes aligned to `align`, ending at or below `below_pa`, lowest first.  Returns
 * false when nothing fits. */
bool layout_alloc(struct free_ram *fr, uint64_t len, uint64_t align, uint64_t below_pa, uint64_t *pa);
/* The same, highest first: for buffers that should stay clear of low kernel destinations. */
bool layout_alloc_top(struct free_ram *fr, uint64_t len, uint64_t align, uint64_t below_pa, uint64_t *pa);
/* Give every block of h an address; fails with an error line when one does not fit. */
void layout_place_blocks(struct free_ram *fr, struct handoff *h);
/* True when [start_pa, start_pa+len) lies wholly in one free range. */
bool layout_is_free(const struct free_ram *fr, uint64_t start_pa, uint64_t len);
/* Remove [start, end) from the free list (exposed for tests). */
void layout_reserve(struct free_ram *fr, uint64_t start_pa, uint64_t end_pa);
#endif
