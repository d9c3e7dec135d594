/*
 * handoff.c - the few helpers of handoff.h.  Called by the targets and by boot.c.
 */
#include "handoff.h"
#include <stddef.h>
#include "log.h"

unsigned handoff_add_piece(struct handoff *h, enum piece_kind kind, uint64_t dst_pa, uint64_t src_pa, uint64_t len,
			   const char *what)
{
	if (h->piece_count == HANDOFF_MAX_PIECES)
		fail("load fewer modules", "handoff: more than %u pieces to place (%s)", HANDOFF_MAX_PIECES, what);
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
