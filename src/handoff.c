/*
 * handoff.c - the few helpers of handoff.h.  Called by the targets and by boot.c.
 */
#include "handoff.h"
#include <stddef.h>
#include "elf.h"
#include "log.h"
#include "util.h"

unsigned handoff_add_piece(struct handoff *h, enum piece_kind kind, uint64_t dst_pa, uint64_t src_pa, uint64_t len,
			   const char *what)
{
	if (h->piece_count == HANDOFF_MAX_PIECES)
		fail("load fewer modules", "handoff: more than %u pieces to place (%s)", HANDOFF_MAX_PIECES, what);
	/* The stub runs in 32-bit mode and its copy list holds 32-bit addresses and lengths. */
	if (dst_pa >= PA_LIMIT_32 || len > PA_LIMIT_32 - dst_pa || (kind == PIECE_COPY && src_pa + len > PA_LIMIT_32))
		fail("the kernel or a module is damaged or too large", "handoff: %s at 0x%llx (+0x%llx) passes 4 GiB", what,
		     (unsigned long long)dst_pa, (unsigned long long)len);
	h->pieces[h->piece_count] = (struct piece){ kind, dst_pa, src_pa, len, what };
	return h->piece_count++;
}

unsigned handoff_add_block(struct handoff *h, const char *what, uint64_t len, uint64_t align, uint64_t below_pa)
{
	if (h->block_count == HANDOFF_MAX_BLOCKS)
		fail(NULL, "handoff: more than %u blocks (%s)", HANDOFF_MAX_BLOCKS, what);
	h->blocks[h->block_count] = (struct block){ what, len, align, below_pa, 0 };
	return h->block_count++;
}

uint32_t handoff_entry_esp(const struct handoff *h)
{
	const struct block *stack = &h->blocks[h->stack_block];
	return (uint32_t)(stack->pa + stack->len - 4u * h->stack_word_count);
}

void handoff_add_segments(struct handoff *h, const struct kernel_image *img)
{
	for (unsigned i = 0; i < img->segment_count; i++) {
		const struct kernel_segment *s = &img->segments[i];
		if (s->file_len)
			handoff_add_piece(h, PIECE_COPY, s->pa, elf_segment_src(img, s), s->file_len, "kernel segment");
		if (s->mem_len > s->file_len)
			handoff_add_piece(h, PIECE_ZERO, s->pa + s->file_len, 0, s->mem_len - s->file_len, "kernel bss");
	}
}

uint64_t handoff_align(uint64_t x, uint64_t align, const char *what)
{
	uint64_t r;
	if (!align_up_u64(x, align, &r))
		fail("the kernel file is damaged", "handoff: %s at 0x%llx overflows when aligned", what, (unsigned long long)x);
	return r;
}
