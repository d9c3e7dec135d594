/*
 * test_memmap.c - memmap_sanitize and memmap_is_ram.
 */
#include "memmap.h"
#include "test.h"

#define R(b, l, t) ((struct mem_range){ (b), (l), (t) })

static void check_map(const char *file, int line, const struct mem_range *got, uint32_t got_count,
		      const struct mem_range *want, uint32_t want_count)
{
	if (got_count != want_count)
		test_fail(file, line, "map count: expected %u, got %u (first got [0x%llx +0x%llx t%u])", want_count, got_count,
			  got_count ? (unsigned long long)got[0].base_pa : 0ull, got_count ? (unsigned long long)got[0].len : 0ull,
			  got_count ? got[0].type : 0);
	for (uint32_t i = 0; i < want_count; i++)
		if (got[i].base_pa != want[i].base_pa || got[i].len != want[i].len || got[i].type != want[i].type)
			test_fail(file, line, "map[%u]: expected [0x%llx +0x%llx type %u], got [0x%llx +0x%llx type %u]", i,
				  (unsigned long long)want[i].base_pa, (unsigned long long)want[i].len, want[i].type,
				  (unsigned long long)got[i].base_pa, (unsigned long long)got[i].len, got[i].type);
}
#define CHECK_MAP(got, n, ...)                                                                             \
	do {                                                                                               \
		const struct mem_range want_[] = { __VA_ARGS__ };                                          \
		check_map(__FILE__, __LINE__, (got), (n), want_, (uint32_t)(sizeof(want_) / sizeof(want_[0]))); \
	} while (0)

TEST(memmap_unsorted)
{
	struct mem_range m[16] = {
		R(0x100000, 0x7f00000, MEM_RAM),
		R(0xf0000, 0x10000, MEM_RESERVED),
		R(0, 0x9fc00, MEM_RAM),
		R(0x9fc00, 0x400, MEM_RESERVED),
	};
	uint32_t n = 4;
	CHECK(memmap_sanitize(m, &n, 16));
	CHECK_MAP(m, n, R(0, 0x9fc00, MEM_RAM), R(0x9fc00, 0x400, MEM_RESERVED), R(0xf0000, 0x10000, MEM_RESERVED),
		  R(0x100000, 0x7f00000, MEM_RAM));
}

TEST(memmap_overlap_reserved_wins)
{
	/* A reserved hole inside RAM splits it; ACPI inside reserved stays reserved. */
	struct mem_range m[16] = {
		R(0x100000, 0x1000000, MEM_RAM),
		R(0x800000, 0x1000, MEM_RESERVED),
		R(0x10ff000, 0x2000, MEM_ACPI), /* straddles the end of RAM */
		R(0x800800, 0x100, MEM_ACPI), /* inside the reserved range */
	};
	uint32_t n = 4;
	CHECK(memmap_sanitize(m, &n, 16));
	CHECK_MAP(m, n, R(0x100000, 0x700000, MEM_RAM), R(0x800000, 0x1000, MEM_RESERVED),
		  R(0x801000, 0x8fe000, MEM_RAM), R(0x10ff000, 0x2000, MEM_ACPI));
}

TEST(memmap_type_ranks)
{
	/* bad > unknown > reserved > NVS > ACPI > RAM, each overlapping the next */
	struct mem_range m[16] = {
		R(0x0, 0x6000, MEM_RAM), R(0x1000, 0x5000, MEM_ACPI), R(0x2000, 0x4000, MEM_NVS),
		R(0x3000, 0x3000, MEM_RESERVED), R(0x4000, 0x2000, 12), R(0x5000, 0x1000, MEM_BAD),
	};
	uint32_t n = 6;
	CHECK(memmap_sanitize(m, &n, 16));
	CHECK_MAP(m, n, R(0, 0x1000, MEM_RAM), R(0x1000, 0x1000, MEM_ACPI), R(0x2000, 0x1000, MEM_NVS),
		  R(0x3000, 0x1000, MEM_RESERVED), R(0x4000, 0x1000, 12), R(0x5000, 0x1000, MEM_BAD));
}

TEST(memmap_zero_length_and_merge)
{
	struct mem_range m[16] = {
		R(0x100000, 0x100000, MEM_RAM),
		R(0x5000, 0, MEM_RESERVED), /* dropped */
		R(0x200000, 0x100000, MEM_RAM), /* adjacent: merged */
		R(0x180000, 0x10000, MEM_RAM), /* inside: merged */
		R(0x300000, 0, MEM_RAM), /* dropped */
		R(0x300000, 0x1000, MEM_RESERVED), /* adjacent, other type: kept apart */
		R(0x301000, 0x1000, MEM_RESERVED),
	};
	uint32_t n = 7;
	CHECK(memmap_sanitize(m, &n, 16));
	CHECK_MAP(m, n, R(0x100000, 0x200000, MEM_RAM), R(0x300000, 0x2000, MEM_RESERVED));
}

TEST(memmap_above_4g_kept)
{
	struct mem_range m[16] = {
		R(0x100000000ull, 0x40000000, MEM_RAM),
		R(0x100000, 0xbff00000, MEM_RAM),
		R(0xfec00000, 0x1000, MEM_RESERVED),
	};
	uint32_t n = 3;
	CHECK(memmap_sanitize(m, &n, 16));
	CHECK_MAP(m, n, R(0x100000, 0xbff00000, MEM_RAM), R(0xfec00000, 0x1000, MEM_RESERVED),
		  R(0x100000000ull, 0x40000000, MEM_RAM));
	CHECK(memmap_is_ram(m, n, 0x100000000ull, 0x1000));
	CHECK(!memmap_is_ram(m, n, 0x13ffff000ull, 0x2000));
}

TEST(memmap_wrapping_entry)
{
	struct mem_range m[16] = {
		R(0xfffffffffffff000ull, 0x2000, MEM_RESERVED), /* wraps: clipped below 2^64 */
		R(0x100000, 0x100000, MEM_RAM),
	};
	uint32_t n = 2;
	CHECK(memmap_sanitize(m, &n, 16));
	CHECK_MAP(m, n, R(0x100000, 0x100000, MEM_RAM), R(0xfffffffffffff000ull, 0xfff, MEM_RESERVED));
	CHECK(!memmap_is_ram(m, n, 0xfffffffffffff800ull, 0x1000));
}

TEST(memmap_capacity_overflow)
{
	struct mem_range m[16] = {
		R(0x0, 0x1000, MEM_RAM), R(0x2000, 0x1000, MEM_RAM), R(0x4000, 0x1000, MEM_RAM),
	};
	uint32_t n = 3;
	CHECK(!memmap_sanitize(m, &n, 2));
	struct mem_range split[16] = { R(0x0, 0x3000, MEM_RAM), R(0x1000, 0x1000, MEM_RESERVED) };
	n = 2;
	CHECK(!memmap_sanitize(split, &n, 2)); /* RAM | reserved | RAM needs 3 */
	split[0] = R(0x0, 0x3000, MEM_RAM), split[1] = R(0x1000, 0x1000, MEM_RESERVED);
	n = 2;
	CHECK(memmap_sanitize(split, &n, 3));
	CHECK_MAP(split, n, R(0, 0x1000, MEM_RAM), R(0x1000, 0x1000, MEM_RESERVED), R(0x2000, 0x1000, MEM_RAM));
}

TEST(memmap_is_ram_cases)
{
	struct mem_range m[16] = {
		R(0, 0x9fc00, MEM_RAM), R(0x9fc00, 0x400, MEM_RESERVED), R(0x100000, 0x100000, MEM_RAM),
	};
	uint32_t n = 3;
	CHECK(memmap_sanitize(m, &n, 16));
	CHECK(memmap_is_ram(m, n, 0, 0x9fc00));
	CHECK(!memmap_is_ram(m, n, 0, 0x9fc01));
	CHECK(memmap_is_ram(m, n, 0x100000, 0x100000));
	CHECK(!memmap_is_ram(m, n, 0x100000, 0x100001));
	CHECK(!memmap_is_ram(m, n, 0xfffff, 2));
	CHECK(!memmap_is_ram(m, n, 0x9fc00, 1));
	CHECK(!memmap_is_ram(m, n, 0x300000, 1));
	CHECK(!memmap_is_ram(m, n, 0x100000, UINT64_MAX)); /* wraps */
}
