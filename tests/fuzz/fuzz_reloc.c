/*
 * fuzz_reloc.c - the copy planner on fuzzed piece layouts.  Input: u8 bounce room (x 256 bytes),
 * u8 flags, then 7-byte pieces {u8 kind, u16 dst, u16 src, u16 len} in a 64 KiB arena where
 * sources and destinations overlap at will (destinations pairwise disjoint, as every target
 * guarantees: a piece whose destination overlaps an earlier one is dropped).  kind & 3: 0 copy,
 * 1 zero fill, 2 built (a copy from anywhere), 3 copy onto itself.  flags bit 0: split the
 * bounce room in two ranges.
 *
 * reloc_plan runs; a clean failure (no room for a bounce buffer) is accepted.  Otherwise the
 * list runs and: every destination holds its source's original bytes (zeros for fills), every
 * other byte of the arena is unchanged, only the bounce room may hold anything new, and the
 * statistics add up (delivered, zeroed, moved = copies not in place + bounces; one entry per
 * copy not in place, per bounce and per fill).
 */
#include <stdlib.h>
#include <string.h>
#include "fuzz_common.h"
#include "reloc.h"
#include "stub_abi.h"
#include "util.h"

#define ARENA_PA 0x10000u
#define ARENA_LEN 0x10000u
#define BOUNCE_PA 0x20000u
#define RAM_LEN 0x30000u
#define MAX_LEN 0x2000u

static struct handoff h;
static struct free_ram fr;
static struct copy_entry list[2 * HANDOFF_MAX_PIECES + 1];
static struct copy_stats stats;
static uint32_t count;
static uint8_t before[RAM_LEN];

static void run_plan(void *arg)
{
	(void)arg;
	count = reloc_plan(&h, &fr, list, &stats);
}

static uint8_t is_dst[RAM_LEN];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size, 0 };
	uint32_t bounce_len, flags;
	uint64_t delivered = 0, zeroed = 0, copies = 0, fills = 0, moved_direct = 0;
	if (!host_ram())
		fz_ram(RAM_LEN);
	fz_reset();
	memset(&h, 0, sizeof(h));
	bounce_len = (uint32_t)fz_u8(&in) * 256;
	flags = fz_u8(&in);
	fr.count = 0;
	if (bounce_len) {
		if ((flags & 1) && bounce_len >= 512) {
			fr.ranges[0].start_pa = BOUNCE_PA;
			fr.ranges[0].end_pa = BOUNCE_PA + bounce_len / 2 - 16;
			fr.ranges[1].start_pa = BOUNCE_PA + bounce_len / 2;
			fr.ranges[1].end_pa = BOUNCE_PA + bounce_len;
			fr.count = 2;
		} else {
			fr.ranges[0].start_pa = BOUNCE_PA;
			fr.ranges[0].end_pa = BOUNCE_PA + bounce_len;
			fr.count = 1;
		}
	}
	while (in.pos + 7 <= in.len && h.piece_count < HANDOFF_MAX_PIECES) {
		uint8_t kind = fz_u8(&in) & 3;
		uint32_t len = fz_u16(&in) % MAX_LEN, dst, src;
		dst = ARENA_PA + fz_u16(&in) % (ARENA_LEN - len + 1);
		src = ARENA_PA + fz_u16(&in) % (ARENA_LEN - len + 1);
		bool clash = false;
		for (unsigned i = 0; i < h.piece_count; i++)
			if (ranges_overlap(dst, len, h.pieces[i].dst_pa, h.pieces[i].len))
				clash = true;
		if (clash)
			continue;
		enum piece_kind k = kind == 1 ? PIECE_ZERO : kind == 2 ? PIECE_BUILT : PIECE_COPY;
		if (kind == 3)
			src = dst;
		handoff_add_piece(&h, k, dst, k == PIECE_ZERO ? 0 : src, len, "fuzz");
		if (k == PIECE_ZERO) {
			zeroed += len;
			fills += len != 0;
		} else {
			delivered += len;
			if (len && src != dst)
				copies++, moved_direct += len;
		}
	}
	/* a recognisable arena, a poisoned bounce room */
	for (uint32_t i = 0; i < ARENA_LEN; i++)
		host_ram()[ARENA_PA + i] = (uint8_t)(i * 7 + (i >> 8) * 13 + 1);
	memset(host_ram() + BOUNCE_PA, 0xA5, RAM_LEN - BOUNCE_PA);
	fz_dirty(ARENA_PA, RAM_LEN - ARENA_PA);
	memcpy(before, host_ram(), RAM_LEN);

	if (fz_run(run_plan, NULL) != HOST_RETURNED) {
		FZ_CHECK(strstr(host_console_text(), "reloc: no free RAM for a") != NULL);
		return 0;
	}
	FZ_CHECKF(count <= reloc_max_entries(&h), "%u entries, room for %u", count, reloc_max_entries(&h));
	uint64_t bounced = 0;
	uint32_t bounces = 0;
	for (uint32_t i = 0; i < count; i++) {
		const struct copy_entry *e = &list[i];
		FZ_CHECK(e->len != 0);
		if (e->dst_pa >= BOUNCE_PA) {
			FZ_CHECKF(e->dst_pa + e->len <= BOUNCE_PA + bounce_len, "bounce entry %u outside the bounce room", i);
			bounced += e->len, bounces++;
		} else {
			FZ_CHECKF(e->dst_pa >= ARENA_PA && e->dst_pa + e->len <= ARENA_PA + ARENA_LEN, "entry %u outside arena", i);
		}
	}
	FZ_CHECKF(stats.delivered == delivered && stats.zeroed == zeroed && stats.bounces == bounces &&
			  stats.moved == moved_direct + bounced,
		  "stats: delivered %llu/%llu zeroed %llu/%llu bounces %u/%u moved %llu/%llu",
		  (unsigned long long)stats.delivered, (unsigned long long)delivered, (unsigned long long)stats.zeroed,
		  (unsigned long long)zeroed, stats.bounces, bounces, (unsigned long long)stats.moved,
		  (unsigned long long)(moved_direct + bounced));
	FZ_CHECKF(count == copies + bounces + fills, "%u entries for %llu copies, %u bounces, %llu fills", count,
		  (unsigned long long)copies, bounces, (unsigned long long)fills);
	reloc_execute(list, count);
	for (unsigned i = 0; i < h.piece_count; i++) {
		const struct piece *p = &h.pieces[i];
		for (uint64_t k = 0; k < p->len; k++) {
			uint8_t want = p->kind == PIECE_ZERO ? 0 : before[p->src_pa + k], got = host_ram()[p->dst_pa + k];
			if (got != want)
				fz_bug("piece %u [0x%llx <- 0x%llx, 0x%llx] byte 0x%llx is 0x%02x, expected 0x%02x", i,
				       (unsigned long long)p->dst_pa, (unsigned long long)p->src_pa, (unsigned long long)p->len,
				       (unsigned long long)k, got, want);
		}
	}
	memset(is_dst, 0, sizeof(is_dst));
	for (unsigned i = 0; i < h.piece_count; i++)
		memset(is_dst + h.pieces[i].dst_pa, 1, h.pieces[i].len);
	for (uint32_t pa = ARENA_PA; pa < BOUNCE_PA; pa++)
		if (!is_dst[pa] && host_ram()[pa] != before[pa])
			fz_bug("byte 0x%x outside every destination changed", pa);
	return 0;
}
