/*
 * reloc.h - turns the handoff's pieces into an ordered copy list that is safe although sources
 * and destinations overlap (loaders put modules right where kernels want to go).  Called by
 * boot.c after layout; the list is written straight into the stub's block and run by
 * asm/handoff.asm (or by reloc_execute in the host tests).
 *
 * Order: a copy runs only when no copy still to run reads bytes it would overwrite; when every
 * remaining copy waits on another (a cycle), the smallest source someone waits on is first
 * moved to a bounce buffer in free RAM.  Zero fills run last.  A copy onto its own source is
 * a memmove.  So each byte moves once, except bytes bounced to break a cycle.
 */
#ifndef MBCHAIN_RELOC_H
#define MBCHAIN_RELOC_H
#include "handoff.h"
#include "layout.h"

struct copy_entry {
	uint32_t dst_pa, src_pa, len, kind; /* stub_abi.h STUB_ENTRY_*, STUB_KIND_* */
};

struct copy_stats {
	uint64_t delivered; /* bytes the kernel receives from a source */
	uint64_t moved; /* bytes copied, bounces included */
	uint64_t zeroed;
	uint32_t bounces;
};

/* Copy entries the plan of h can need at most. */
uint32_t reloc_max_entries(const struct handoff *h);
/* Write the ordered list to `list` (room for reloc_max_entries); returns the entry count. */
uint32_t reloc_plan(const struct handoff *h, struct free_ram *fr, struct copy_entry *list, struct copy_stats *stats);
/* Run a list exactly as the stub does: the host tests' reference executor. */
void reloc_execute(const struct copy_entry *list, uint32_t count);
#endif
