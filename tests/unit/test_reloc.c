/*
 * test_reloc.c - reloc_plan + reloc_execute: exact lists for small cases, and a randomised
 * property test over overlapping layouts (fixed seed): the final image must be the intended one,
 * nothing but destinations and allocated bounce buffers may change, and the stats must add up.
 */
#include <stdlib.h>
#include "reloc.h"
#include "stub_abi.h"
#include "util.h"
#include <stddef.h>
#include "test.h"

#define ARENA_START 0x10000u
#define ARENA_END 0x20000u
#define BOUNCE_START 0x30000u
#define BOUNCE_END 0x40000u
#define RELOC_RAM 0x48000u

static struct handoff h;
static struct free_ram fr;
static struct copy_entry list[2 * HANDOFF_MAX_PIECES + 1];
static struct copy_stats stats;
static uint32_t count;

static void run_plan(void *arg)
{
	(void)arg;
	count = reloc_plan(&h, &fr, list, &stats);
}

static void reset_plan(void)
{
	memset(&h, 0, sizeof(h));
	memset(list, 0, sizeof(list));
	fr.count = 1;
	fr.ranges[0].start_pa = BOUNCE_START;
	fr.ranges[0].end_pa = BOUNCE_END;
}

static void check_entry(const char *file, int line, uint32_t i, uint32_t dst, uint32_t src, uint32_t len, uint32_t kind)
{
	if (i >= count)
		test_fail(file, line, "entry %u missing (%u entries)", i, count);
	const struct copy_entry *e = &list[i];
	if (e->dst_pa != dst || e->src_pa != src || e->len != len || e->kind != kind)
		test_fail(file, line, "entry %u: expected dst 0x%x src 0x%x len 0x%x kind %u, got dst 0x%x src 0x%x len 0x%x kind %u",
			  i, dst, src, len, kind, e->dst_pa, e->src_pa, e->len, e->kind);
}
#define CHECK_ENTRY(...) check_entry(__FILE__, __LINE__, __VA_ARGS__)

TEST(reloc_entry_layout_matches_stub_abi)
{
	CHECK_EQ(sizeof(struct copy_entry), STUB_ENTRY_SIZE);
	CHECK_EQ(offsetof(struct copy_entry, dst_pa), STUB_ENTRY_DST);
	CHECK_EQ(offsetof(struct copy_entry, src_pa), STUB_ENTRY_SRC);
	CHECK_EQ(offsetof(struct copy_entry, len), STUB_ENTRY_LEN);
	CHECK_EQ(offsetof(struct copy_entry, kind), STUB_ENTRY_KIND);
}

TEST(reloc_swap_bounces_once)
{
	host_ram_reset(RELOC_RAM);
	reset_plan();
	handoff_add_piece(&h, PIECE_COPY, 0x10000, 0x11000, 0x100, "a");
	handoff_add_piece(&h, PIECE_COPY, 0x11000, 0x10000, 0x80, "b");
	for (uint32_t i = 0; i < 0x100; i++)
		host_w8(0x10000 + i, (uint8_t)i), host_w8(0x11000 + i, (uint8_t)(0x80 + i));
	CHECK_OUTCOME(host_run(run_plan, NULL), HOST_RETURNED);
	CHECK_EQ(count, 3);
	CHECK_ENTRY(0, 0x30000, 0x10000, 0x80, STUB_KIND_COPY);
	CHECK_ENTRY(1, 0x10000, 0x11000, 0x100, STUB_KIND_COPY);
	CHECK_ENTRY(2, 0x11000, 0x30000, 0x80, STUB_KIND_COPY);
	CHECK_EQ(stats.bounces, 1);
	CHECK_EQ(stats.delivered, 0x180);
	CHECK_EQ(stats.moved, 0x200);
	CHECK_EQ(stats.zeroed, 0);
	reloc_execute(list, count);
	for (uint32_t i = 0; i < 0x100; i++)
		CHECK_EQ(host_r8(0x10000 + i), (uint8_t)(0x80 + i));
	for (uint32_t i = 0; i < 0x80; i++)
		CHECK_EQ(host_r8(0x11000 + i), (uint8_t)i);
}

TEST(reloc_chain_ordered_without_bounce)
{
	/* c: 0x12000 <- 0x11000, b: 0x11000 <- 0x10000 ... must run c before b */
	host_ram_reset(RELOC_RAM);
	reset_plan();
	handoff_add_piece(&h, PIECE_COPY, 0x11000, 0x10000, 0x1000, "b");
	handoff_add_piece(&h, PIECE_COPY, 0x12000, 0x11000, 0x1000, "c");
	handoff_add_piece(&h, PIECE_ZERO, 0x10000, 0, 0x800, "bss");
	handoff_add_piece(&h, PIECE_COPY, 0x13000, 0x13000, 0x100, "in place");
	CHECK_OUTCOME(host_run(run_plan, NULL), HOST_RETURNED);
	CHECK_EQ(count, 3);
	CHECK_ENTRY(0, 0x12000, 0x11000, 0x1000, STUB_KIND_COPY);
	CHECK_ENTRY(1, 0x11000, 0x10000, 0x1000, STUB_KIND_COPY);
	CHECK_ENTRY(2, 0x10000, 0, 0x800, STUB_KIND_ZERO);
	CHECK_EQ(stats.bounces, 0);
	CHECK_EQ(stats.delivered, 0x2100);
	CHECK_EQ(stats.moved, 0x2000);
	CHECK_EQ(stats.zeroed, 0x800);
}

TEST(reloc_no_room_for_bounce)
{
	host_ram_reset(RELOC_RAM);
	reset_plan();
	fr.ranges[0].end_pa = BOUNCE_START + 0x40;
	handoff_add_piece(&h, PIECE_COPY, 0x10000, 0x11000, 0x100, "a");
	handoff_add_piece(&h, PIECE_COPY, 0x11000, 0x10000, 0x100, "b");
	CHECK_FAILS_WITH(host_run(run_plan, NULL), "mbchain: error: reloc: no free RAM for a 256-byte bounce buffer\n");
}

/* ---- the property test ---- */

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static bool overlaps_a_dst(uint32_t dst, uint32_t len)
{
	for (unsigned i = 0; i < h.piece_count; i++)
		if (ranges_overlap(dst, len, h.pieces[i].dst_pa, h.pieces[i].len))
			return true;
	return false;
}

static bool pick_dst(uint32_t len, uint32_t *dst)
{
	for (int tries = 0; tries < 50; tries++) {
		*dst = ARENA_START + rnd(ARENA_END - ARENA_START - len + 1);
		if (!overlaps_a_dst(*dst, len))
			return true;
	}
	return false;
}

static void random_layout(void)
{
	unsigned n = 1 + rnd(10);
	uint32_t max_len = rnd(2) ? 64 : 3000;
	reset_plan();
	for (unsigned i = 0; i < n; i++) {
		uint32_t len = 1 + rnd(max_len), dst, src;
		unsigned shape = rnd(10);
		if (!pick_dst(len, &dst))
			continue;
		if (shape == 0) {
			handoff_add_piece(&h, PIECE_ZERO, dst, 0, len, "zero");
			continue;
		}
		if (shape == 1) { /* swap with a new piece when both destinations are free */
			uint32_t other;
			if (pick_dst(len, &other) && !ranges_overlap(dst, len, other, len)) {
				handoff_add_piece(&h, PIECE_COPY, dst, other, len, "swap a");
				handoff_add_piece(&h, PIECE_COPY, other, dst, len, "swap b");
				continue;
			}
		}
		if (shape == 2) /* self-overlap: shifted by a little */
			src = (uint32_t)((int64_t)dst + (int64_t)rnd(33) - 16);
		else if (shape == 3 && h.piece_count) /* read another piece's destination */
			src = (uint32_t)h.pieces[rnd(h.piece_count)].dst_pa + rnd(16);
		else
			src = ARENA_START + rnd(ARENA_END - ARENA_START - len + 1);
		if (src < ARENA_START || src + len > ARENA_END)
			src = dst;
		handoff_add_piece(&h, rnd(8) ? PIECE_COPY : PIECE_BUILT, dst, src, len, "copy");
	}
}

/* Does the wait graph (i waits on j when i's destination overlaps j's source) have a cycle? */
static int colour[HANDOFF_MAX_PIECES];
static bool is_move(unsigned i)
{
	const struct piece *p = &h.pieces[i];
	return p->kind != PIECE_ZERO && p->len && p->src_pa != p->dst_pa;
}
static bool dfs_cycle(unsigned i)
{
	colour[i] = 1;
	for (unsigned j = 0; j < h.piece_count; j++) {
		if (j == i || !is_move(j) ||
		    !ranges_overlap(h.pieces[i].dst_pa, h.pieces[i].len, h.pieces[j].src_pa, h.pieces[j].len))
			continue;
		if (colour[j] == 1 || (colour[j] == 0 && dfs_cycle(j)))
			return true;
	}
	colour[i] = 2;
	return false;
}
static bool has_cycle(void)
{
	memset(colour, 0, sizeof(colour));
	for (unsigned i = 0; i < h.piece_count; i++)
		if (is_move(i) && colour[i] == 0 && dfs_cycle(i))
			return true;
	return false;
}

TEST(reloc_random_layouts)
{
	static uint8_t before[RELOC_RAM], want[RELOC_RAM];
	static bool in_dst[RELOC_RAM], in_bounce[RELOC_RAM];
	unsigned cycles = 0, bounced_cases = 0;
	host_ram_reset(RELOC_RAM);
	for (unsigned c = 0; c < 4000; c++) {
		random_layout();
		for (uint32_t a = ARENA_START; a < ARENA_END; a++)
			host_ram()[a] = (uint8_t)rnd(256);
		memcpy(before, host_ram(), RELOC_RAM);
		memcpy(want, before, RELOC_RAM);
		memset(in_dst, 0, sizeof(in_dst));
		memset(in_bounce, 0, sizeof(in_bounce));
		uint64_t delivered = 0, moved = 0, zeroed = 0;
		for (unsigned i = 0; i < h.piece_count; i++) {
			const struct piece *p = &h.pieces[i];
			for (uint64_t b = 0; b < p->len; b++) {
				want[p->dst_pa + b] = p->kind == PIECE_ZERO ? 0 : before[p->src_pa + b];
				in_dst[p->dst_pa + b] = true;
			}
			if (p->kind == PIECE_ZERO)
				zeroed += p->len;
			else
				delivered += p->len;
			if (is_move(i))
				moved += p->len;
		}
		bool cyclic = has_cycle();

		CHECK_OUTCOME(host_run(run_plan, NULL), HOST_RETURNED);
		CHECK_MSG(count <= reloc_max_entries(&h), "case %u: %u entries, max %u", c, count, reloc_max_entries(&h));
		uint32_t bounces = 0;
		uint64_t bounced = 0;
		bool seen_zero = false;
		for (uint32_t i = 0; i < count; i++) {
			const struct copy_entry *e = &list[i];
			if (e->kind == STUB_KIND_ZERO)
				seen_zero = true;
			else
				CHECK_MSG(!seen_zero, "case %u: copy entry %u after a zero fill", c, i);
			if (e->dst_pa >= BOUNCE_START && e->dst_pa < BOUNCE_END) {
				CHECK_MSG(e->dst_pa + e->len <= BOUNCE_END, "case %u: bounce buffer 0x%x+0x%x leaves free RAM", c,
					  e->dst_pa, e->len);
				bounces++;
				bounced += e->len;
				for (uint32_t b = 0; b < e->len; b++) {
					CHECK_MSG(!in_bounce[e->dst_pa + b], "case %u: bounce buffers overlap at 0x%x", c, e->dst_pa + b);
					in_bounce[e->dst_pa + b] = true;
				}
			} else {
				/* every other entry writes inside one destination */
				bool inside = false;
				for (unsigned p = 0; p < h.piece_count; p++)
					if (e->dst_pa >= h.pieces[p].dst_pa && e->dst_pa + e->len <= h.pieces[p].dst_pa + h.pieces[p].len)
						inside = true;
				CHECK_MSG(inside, "case %u: entry %u writes [0x%x, +0x%x), no destination", c, i, e->dst_pa, e->len);
			}
		}
		reloc_execute(list, count);
		/* bounce buffers may hold anything afterwards; every other byte must be as intended */
		for (uint32_t i = 0; i < count; i++)
			if (list[i].dst_pa >= BOUNCE_START && list[i].dst_pa < BOUNCE_END)
				memcpy(want + list[i].dst_pa, host_ram() + list[i].dst_pa, list[i].len);
		if (memcmp(host_ram(), want, RELOC_RAM) != 0) {
			uint32_t a = 0;
			while (host_ram()[a] == want[a])
				a++;
			test_fail(__FILE__, __LINE__,
				  "case %u (%u pieces, %u entries, %u bounces): byte 0x%x expected 0x%02x, got 0x%02x (%s)", c,
				  h.piece_count, count, bounces, a, want[a], host_ram()[a],
				  in_dst[a] ? "destination" : "outside every destination");
		}
		CHECK_EQ(stats.delivered, delivered);
		CHECK_EQ(stats.zeroed, zeroed);
		CHECK_EQ(stats.bounces, bounces);
		CHECK_EQ(stats.moved, moved + bounced);
		if (!cyclic)
			CHECK_MSG(bounces == 0, "case %u: %u bounces without a cycle", c, bounces);
		else
			CHECK_MSG(bounces > 0, "case %u: a cycle and no bounce", c);
		cycles += cyclic;
		bounced_cases += bounces > 0;
	}
	/* the generator must actually produce cycles, or the test proves little */
	CHECK_MSG(cycles >= 200, "only %u cyclic cases of 4000", cycles);
	CHECK_MSG(bounced_cases == cycles, "%u cases bounced, %u had cycles", bounced_cases, cycles);
}
