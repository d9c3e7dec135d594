/*
 * handoff.h - the contract between a target (netbsd.c, ...) and the stages that carry out its
 * wishes (layout.c, reloc.c, boot.c).
 *
 * A target fills a struct handoff: every piece of memory the kernel must find at a fixed
 * physical address (kernel segments, symbols, modules: copied from a source or zero-filled, or
 * built by us), every block whose address is ours to choose (bootinfo, stack, scratch), and the
 * CPU state at the jump.  layout.c gives blocks addresses in free RAM; reloc.c orders the copies.
 */
#ifndef MBCHAIN_HANDOFF_H
#define MBCHAIN_HANDOFF_H
#include <stdbool.h>
#include <stdint.h>

#define HANDOFF_MAX_PIECES 512 /* a .ko adds a piece per section */
#define HANDOFF_MAX_BLOCKS 8
#define HANDOFF_MAX_STACK_WORDS 16

enum piece_kind {
	PIECE_COPY, /* len bytes from src_pa (a module, still where the loader put it) */
	PIECE_BUILT, /* len bytes we build in a scratch block; src_pa is known after layout */
	PIECE_ZERO, /* len zero bytes (bss) */
};

struct piece {
	enum piece_kind kind;
	uint64_t dst_pa, src_pa, len;
	const char *what; /* for the plan table and error lines */
};

/* A block of memory at an address of our choosing, below `below_pa`.  The targets write their
 * blocks in place once layout.c has placed them: blocks are final, never copied again. */
struct block {
	const char *what;
	uint64_t len, align, below_pa;
	uint64_t pa; /* set by layout.c */
};

enum cpu_mode {
	CPU_PROTECTED_32, /* paging off, flat segments (NetBSD, FreeBSD/i386, Multiboot) */
	CPU_LONG_64, /* long mode through page tables at cr3_pa (FreeBSD/amd64) */
};

struct handoff {
	unsigned piece_count;
	struct piece pieces[HANDOFF_MAX_PIECES];
	unsigned block_count;
	struct block blocks[HANDOFF_MAX_BLOCKS];

	/* The kernel's own range: nothing of ours may be placed in [keepout_start, keepout_end),
	 * where the kernel builds its first page tables before it has read what we pass. */
	uint64_t keepout_start_pa, keepout_end_pa;

	enum cpu_mode mode;
	uint32_t entry_pa; /* CPU_PROTECTED_32 */
	uint64_t entry_va; /* CPU_LONG_64: a virtual address mapped by the tables at cr3_pa */
	uint32_t cr3_pa;
	bool return_trap; /* the stack's return slot catches a kernel that returns */
	uint32_t eax, ebx;
	unsigned stack_block; /* index of the block holding the kernel's stack */
	unsigned stack_word_count; /* words at the stack top, [0] at ESP */
	uint32_t stack_words[HANDOFF_MAX_STACK_WORDS];
};

/* Add a piece; fails when the table is full.  Returns its index. */
unsigned handoff_add_piece(struct handoff *h, enum piece_kind kind, uint64_t dst_pa, uint64_t src_pa, uint64_t len,
			   const char *what);
/* Ask for a block; returns its index. */
unsigned handoff_add_block(struct handoff *h, const char *what, uint64_t len, uint64_t align, uint64_t below_pa);
/* The kernel's segments as pieces: each file part copied from the kernel module (from where it
 * was inflated, for a segment inflated in place: no copy at all when that is its destination),
 * each bss part zero-filled (both BSDs' loaders do exactly this). */
struct kernel_image;
void handoff_add_segments(struct handoff *h, const struct kernel_image *img);
/* x rounded up to `align`; fails with an error line (naming `what`) if that passes 2^64. */
uint64_t handoff_align(uint64_t x, uint64_t align, const char *what);
/* The ESP the kernel gets: the stack block's top minus the stack words. */
uint32_t handoff_entry_esp(const struct handoff *h);
#endif
