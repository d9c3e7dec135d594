/*
 * test_layout.c - the free list and block placement.
 */
#include <stdio.h>
#include <stdlib.h>
#include "layout.h"
#include "test.h"
#include "util.h"

static struct free_ram fr;
static struct boot_request req;
static struct handoff h;

static int cmp_range(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;
	return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* The free list, sorted, compared with want[n][2]. */
static void check_free(const char *file, int line, const uint64_t (*want)[2], unsigned n)
{
	uint64_t got[FREE_RAM_MAX_RANGES][2];
	char text[2048];
	size_t len = 0;
	for (uint32_t i = 0; i < fr.count; i++)
		got[i][0] = fr.ranges[i].start_pa, got[i][1] = fr.ranges[i].end_pa;
	qsort(got, fr.count, sizeof(got[0]), cmp_range);
	for (uint32_t i = 0; i < fr.count && len < sizeof(text) - 64; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, " [0x%llx, 0x%llx)", (unsigned long long)got[i][0],
					(unsigned long long)got[i][1]);
	text[len] = 0;
	bool same = fr.count == n;
	for (unsigned i = 0; same && i < n; i++)
		same = got[i][0] == want[i][0] && got[i][1] == want[i][1];
	if (!same) {
		char wtext[2048];
		size_t wl = 0;
		for (unsigned i = 0; i < n; i++)
			wl += (size_t)snprintf(wtext + wl, sizeof(wtext) - wl, " [0x%llx, 0x%llx)", (unsigned long long)want[i][0],
					       (unsigned long long)want[i][1]);
		test_fail(file, line, "free list: expected%s, got%s", wtext, text);
	}
}
#define CHECK_FREE(...)                                                                                     \
	do {                                                                                                \
		static const uint64_t want_[][2] = { __VA_ARGS__ };                                         \
		check_free(__FILE__, __LINE__, want_, (unsigned)(sizeof(want_) / sizeof(want_[0])));        \
	} while (0)

static void base_request(void)
{
	memset(&req, 0, sizeof(req));
	memset(&h, 0, sizeof(h));
	req.memmap_count = 5;
	req.memmap[0] = (struct mem_range){ 0, 0x9fc00, MEM_RAM };
	req.memmap[1] = (struct mem_range){ 0xf0000, 0x10000, MEM_RESERVED };
	req.memmap[2] = (struct mem_range){ 0x100000, 0x7f00000, MEM_RAM };
	req.memmap[3] = (struct mem_range){ 0x8000000, 0x800, MEM_ACPI };
	req.memmap[4] = (struct mem_range){ 0x100000000ull, 0x40000000, MEM_RAM }; /* above 4 GiB: unusable */
	req.low_reserved_start_pa = 0x9f000;
}

TEST(layout_free_list_exclusions)
{
	base_request();
	req.module_count = 2;
	req.modules[0] = (struct boot_module){ .start_pa = 0x120000, .len = 0x10000 };
	req.modules[1] = (struct boot_module){ .start_pa = 0x130000, .len = 0x1000 };
	handoff_add_piece(&h, PIECE_COPY, 0x100000, 0x120000, 0x20000, "kernel");
	handoff_add_piece(&h, PIECE_ZERO, 0x200000, 0, 0x3000, "bss");
	handoff_add_piece(&h, PIECE_COPY, 0x400000, 0x300000, 0x800, "from elsewhere");
	h.keepout_start_pa = 0x100000;
	h.keepout_end_pa = 0x180000;
	layout_init(&fr, &req, &h, 0x100000, 0x120000);
	CHECK_FREE({ 0x1000, 0x9f000 }, { 0x180000, 0x200000 }, { 0x203000, 0x300000 }, { 0x300800, 0x400000 },
		   { 0x400800, 0x8000000 });
}

TEST(layout_free_list_alignment_and_4g)
{
	base_request();
	req.memmap_count = 3;
	req.memmap[0] = (struct mem_range){ 0x800, 0x9f000, MEM_RAM }; /* not page aligned */
	req.memmap[1] = (struct mem_range){ 0x100000, 0xfff00000, MEM_RAM }; /* to 4 GiB exactly */
	req.memmap[2] = (struct mem_range){ 0x100000000ull, 0x1000, MEM_RAM };
	req.low_reserved_start_pa = 0x9e000;
	layout_init(&fr, &req, &h, 0x100000, 0x120000);
	CHECK_FREE({ 0x1000, 0x9e000 }, { 0x120000, 0x100000000ull });
	/* a low reservation from the EBDA; an image elsewhere */
	base_request();
	req.low_reserved_start_pa = 0x80000;
	layout_init(&fr, &req, &h, 0x2000000, 0x2021000);
	CHECK_FREE({ 0x1000, 0x80000 }, { 0x100000, 0x2000000 }, { 0x2021000, 0x8000000 });
}

TEST(layout_alloc_lowest_first)
{
	uint64_t pa = 0;
	fr.count = 3;
	fr.ranges[0].start_pa = 0x200000, fr.ranges[0].end_pa = 0x300000;
	fr.ranges[1].start_pa = 0x1008, fr.ranges[1].end_pa = 0x3000;
	fr.ranges[2].start_pa = 0x5000, fr.ranges[2].end_pa = 0x6000;
	CHECK(layout_alloc(&fr, 0x10, 16, UINT64_MAX, &pa));
	CHECK_EQ(pa, 0x1010);
	/* the 8 bytes left below it are too small for 0x100: the next lowest start is 0x1020 */
	CHECK(layout_alloc(&fr, 0x100, 1, UINT64_MAX, &pa));
	CHECK_EQ(pa, 0x1020);
	CHECK(layout_alloc(&fr, 0x8, 1, UINT64_MAX, &pa));
	CHECK_EQ(pa, 0x1008);
	CHECK(layout_alloc(&fr, 0x2000, 0x1000, UINT64_MAX, &pa));
	CHECK_EQ(pa, 0x200000);
}

TEST(layout_alloc_alignment_and_below)
{
	uint64_t pa = 0;
	fr.count = 2;
	fr.ranges[0].start_pa = 0x1008, fr.ranges[0].end_pa = 0x3000;
	fr.ranges[1].start_pa = 0x5000, fr.ranges[1].end_pa = 0x6000;
	CHECK(layout_alloc(&fr, 0x10, 16, UINT64_MAX, &pa));
	CHECK_EQ(pa, 0x1010);
	CHECK(layout_alloc(&fr, 0x1000, 0x1000, UINT64_MAX, &pa));
	CHECK_EQ(pa, 0x2000);
	CHECK(layout_alloc(&fr, 0x1000, 0x1000, UINT64_MAX, &pa));
	CHECK_EQ(pa, 0x5000);
	CHECK(!layout_alloc(&fr, 0x1000, 0x1000, UINT64_MAX, &pa));
	CHECK(layout_alloc(&fr, 0x8, 8, UINT64_MAX, &pa));
	CHECK_EQ(pa, 0x1008);
	CHECK(layout_alloc(&fr, 0x100, 8, 0x1200, &pa));
	CHECK_EQ(pa, 0x1020);
	CHECK(!layout_alloc(&fr, 0x100, 8, 0x1200, &pa)); /* 0x1120 + 0x100 passes 0x1200 */
	CHECK(layout_alloc(&fr, 0xe0, 8, 0x1200, &pa));
	CHECK_EQ(pa, 0x1120);
	CHECK(!layout_alloc(&fr, 1, 1, 0x1200, &pa));
	CHECK(!layout_alloc(&fr, UINT64_MAX, 1, UINT64_MAX, &pa)); /* wraps */
}

static void run_place(void *arg)
{
	(void)arg;
	layout_place_blocks(&fr, &h);
}

TEST(layout_place_blocks_and_fail)
{
	base_request();
	layout_init(&fr, &req, &h, 0x100000, 0x120000);
	handoff_add_block(&h, "a", 0x100, 8, PA_LIMIT_32);
	handoff_add_block(&h, "b", 0x1000, 0x1000, PA_LIMIT_32);
	handoff_add_block(&h, "c", 0x10, 16, PA_LIMIT_32);
	layout_place_blocks(&fr, &h);
	CHECK_EQ(h.blocks[0].pa, 0x1000);
	CHECK_EQ(h.blocks[1].pa, 0x2000);
	CHECK_EQ(h.blocks[2].pa, 0x1100);
	handoff_add_block(&h, "huge", 0x10000000, 16, PA_LIMIT_32);
	CHECK_FAILS_WITH(host_run(run_place, NULL), "mbchain: error: layout: no free RAM for the huge (268435456 bytes)\n");
}
