/*
 * memmap.c - see memmap.h.  Called by mis.c once, and by layout.c and the targets to ask
 * whether a range is RAM.
 */
#include "memmap.h"
#include "util.h"

/* Which type wins where two entries overlap.  RAM loses to everything: firmware marks holes
 * inside RAM, never RAM inside a hole.  Then ACPI reclaimable < ACPI NVS < reserved < unknown <
 * bad: the more a kernel must leave a byte alone, the higher the rank, so an overlap never
 * makes memory look more usable than one of its entries said. */
unsigned memmap_type_rank(uint32_t type)
{
	switch (type) {
	case MEM_RAM:
		return 0;
	case MEM_ACPI:
		return 1;
	case MEM_NVS:
		return 2;
	case MEM_RESERVED:
		return 3;
	case MEM_BAD:
		return 5;
	default:
		return 4; /* an unknown type: keep it away from RAM, keep its number */
	}
}

static void sort_points(uint64_t *points, uint32_t n)
{
	for (uint32_t i = 1; i < n; i++) {
		uint64_t v = points[i];
		uint32_t j = i;
		for (; j > 0 && points[j - 1] > v; j--)
			points[j] = points[j - 1];
		points[j] = v;
	}
}

bool memmap_sanitize(struct mem_range *ranges, uint32_t *count, uint32_t cap)
{
	struct mem_range in[BOOT_MAX_MEMMAP];
	uint64_t points[2 * BOOT_MAX_MEMMAP];
	uint32_t n_in = 0, n_points = 0, n_out = 0;

	for (uint32_t i = 0; i < *count && n_in < ARRAY_LEN(in); i++) {
		uint64_t end = ranges[i].base_pa + ranges[i].len;
		if (ranges[i].len == 0)
			continue;
		if (end < ranges[i].base_pa) /* wraps: clip just below 2^64 */
			ranges[i].len = UINT64_MAX - ranges[i].base_pa;
		in[n_in++] = ranges[i];
	}
	for (uint32_t i = 0; i < n_in; i++) {
		points[n_points++] = in[i].base_pa;
		points[n_points++] = in[i].base_pa + in[i].len;
	}
	sort_points(points, n_points);

	/* Walk the elementary intervals between consecutive change points. */
	for (uint32_t p = 0; p + 1 < n_points; p++) {
		uint64_t lo = points[p], hi = points[p + 1];
		if (lo == hi)
			continue;
		bool covered = false;
		uint32_t type = 0;
		for (uint32_t i = 0; i < n_in; i++) {
			uint64_t end = in[i].base_pa + in[i].len;
			bool covers = in[i].base_pa <= lo && end >= hi;
			if (covers && (!covered || memmap_type_rank(in[i].type) > memmap_type_rank(type))) {
				type = in[i].type;
				covered = true;
			}
		}
		if (!covered)
			continue;
		if (n_out && ranges[n_out - 1].type == type && ranges[n_out - 1].base_pa + ranges[n_out - 1].len == lo) {
			ranges[n_out - 1].len += hi - lo;
			continue;
		}
		if (n_out == cap)
			return false;
		ranges[n_out].base_pa = lo;
		ranges[n_out].len = hi - lo;
		ranges[n_out].type = type;
		n_out++;
	}
	*count = n_out;
	return true;
}

bool memmap_is_ram(const struct mem_range *ranges, uint32_t count, uint64_t pa, uint64_t len)
{
	uint64_t end = pa + len;
	if (end < pa)
		return false;
	/* Sanitised ranges are sorted and adjacent RAM is merged, so one range must hold it all. */
	for (uint32_t i = 0; i < count; i++)
		if (ranges[i].type == MEM_RAM && ranges[i].base_pa <= pa && end <= ranges[i].base_pa + ranges[i].len)
			return true;
	return false;
}

uint32_t memmap_ram_kib_at(const struct mem_range *ranges, uint32_t count, uint64_t pa, uint64_t limit)
{
	for (uint32_t i = 0; i < count; i++)
		if (ranges[i].type == MEM_RAM && ranges[i].base_pa <= pa && pa < ranges[i].base_pa + ranges[i].len)
			return (uint32_t)((min_u64(ranges[i].base_pa + ranges[i].len, limit) - pa) / KIB);
	return 0;
}

uint32_t memmap_basemem_kib(const struct boot_request *req)
{
	if (req->has_mem_sizes)
		return req->mem_lower_kib;
	return memmap_ram_kib_at(req->memmap, req->memmap_count, 0, 640 * KIB);
}

uint32_t memmap_extmem_kib(const struct boot_request *req)
{
	if (req->has_mem_sizes)
		return req->mem_upper_kib;
	return memmap_ram_kib_at(req->memmap, req->memmap_count, MIB, PA_LIMIT_32);
}
