/*
 * reloc.c - see reloc.h.  The idea is kexec's (kimage destination pages: never overwrite a
 * page still to be read), done on byte ranges instead of pages.
 */
#include "reloc.h"
#include "log.h"
#include "platform.h"
#include "stub_abi.h"
#include "util.h"

struct move {
	uint64_t dst, src, len;
	bool done;
};

uint32_t reloc_max_entries(const struct handoff *h)
{
	return 2 * h->piece_count + 1; /* each copy bounced at most once, plus zero fills */
}

/* Is some other pending move still reading bytes that move m would write? */
static bool waits(const struct move *moves, uint32_t n, uint32_t m)
{
	for (uint32_t i = 0; i < n; i++)
		if (i != m && !moves[i].done && ranges_overlap(moves[m].dst, moves[m].len, moves[i].src, moves[i].len))
			return true;
	return false;
}

/* Does a pending move other than m want to write over m's source? */
static bool blocks_someone(const struct move *moves, uint32_t n, uint32_t m)
{
	for (uint32_t i = 0; i < n; i++)
		if (i != m && !moves[i].done && ranges_overlap(moves[i].dst, moves[i].len, moves[m].src, moves[m].len))
			return true;
	return false;
}

static void emit(struct copy_entry *list, uint32_t *count, uint64_t dst, uint64_t src, uint64_t len, uint32_t kind)
{
	list[(*count)++] = (struct copy_entry){ (uint32_t)dst, (uint32_t)src, (uint32_t)len, kind };
}

uint32_t reloc_plan(const struct handoff *h, struct free_ram *fr, struct copy_entry *list, struct copy_stats *stats)
{
	static struct move moves[HANDOFF_MAX_PIECES]; /* static: the boot stack is small */
	uint32_t n = 0, count = 0, left;
	memset(stats, 0, sizeof(*stats));
	for (unsigned i = 0; i < h->piece_count; i++) {
		const struct piece *p = &h->pieces[i];
		if (p->kind == PIECE_ZERO || p->len == 0)
			continue;
		stats->delivered += p->len;
		if (p->src_pa == p->dst_pa)
			continue; /* already where the kernel wants it */
		moves[n++] = (struct move){ p->dst_pa, p->src_pa, p->len, false };
	}
	for (left = n; left;) {
		/* Sweep: run every copy nobody waits on; each sweep is O(n^2), and sweeps are few. */
		bool progress = false;
		for (uint32_t i = 0; i < n; i++) {
			if (moves[i].done || waits(moves, n, i))
				continue;
			emit(list, &count, moves[i].dst, moves[i].src, moves[i].len, STUB_KIND_COPY);
			stats->moved += moves[i].len;
			moves[i].done = true;
			left--;
			progress = true;
		}
		if (progress || !left)
			continue;
		/* A cycle: bounce the smallest source that someone waits on. */
		uint32_t bounce = n;
		for (uint32_t i = 0; i < n; i++)
			if (!moves[i].done && blocks_someone(moves, n, i) && (bounce == n || moves[i].len < moves[bounce].len))
				bounce = i;
		uint64_t buffer;
		if (bounce == n || !layout_alloc(fr, moves[bounce].len, 16, PA_LIMIT_32, &buffer))
			fail("give the machine more memory", "reloc: no free RAM for a %llu-byte bounce buffer",
			     (unsigned long long)(bounce == n ? 0 : moves[bounce].len));
		emit(list, &count, buffer, moves[bounce].src, moves[bounce].len, STUB_KIND_COPY);
		stats->moved += moves[bounce].len;
		stats->bounces++;
		moves[bounce].src = buffer;
	}
	for (unsigned i = 0; i < h->piece_count; i++) {
		const struct piece *p = &h->pieces[i];
		if (p->kind == PIECE_ZERO && p->len) {
			emit(list, &count, p->dst_pa, 0, p->len, STUB_KIND_ZERO);
			stats->zeroed += p->len;
		}
	}
	return count;
}

void reloc_execute(const struct copy_entry *list, uint32_t count)
{
	for (uint32_t i = 0; i < count; i++) {
		uint8_t *dst = phys_ptr(list[i].dst_pa, list[i].len);
		if (list[i].kind == STUB_KIND_ZERO)
			memset(dst, 0, list[i].len);
		else
			memmove(dst, phys_ptr(list[i].src_pa, list[i].len), list[i].len);
	}
}
