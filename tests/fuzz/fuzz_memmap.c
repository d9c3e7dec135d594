/*
 * fuzz_memmap.c - memmap_sanitize against a reference model, and memmap_is_ram / memmap_ram_kib_at
 * on its result.  Input: u8 capacity choice, then 20-byte entries {u64 base, u64 len, u32 type}
 * (types are folded to 0-7 by the low 3 bits unless the choice's bit 7 is set).
 *
 * Invariants of a true result: at most `cap` entries, sorted, disjoint, no zero length, adjacent
 * touching entries of equal type merged; and for every change point of the input, the type at
 * that byte is the input's most restrictive covering type (the first in input order among equal ranks),
 * or uncovered.  A false result is only allowed when the exact answer needs more than `cap`.
 */
#include <stdlib.h>
#include <string.h>
#include "fuzz_common.h"
#include "memmap.h"
#include "util.h"

static unsigned rank(uint32_t t)
{
	return memmap_type_rank(t); /* the reference model checks the merge, not the ranking */
}

/* The reference: type at byte `pa` among the (clipped) inputs, -1 when uncovered. */
static int64_t ref_type(const struct mem_range *in, uint32_t n, uint64_t pa)
{
	int64_t type = -1;
	for (uint32_t i = 0; i < n; i++)
		if (in[i].base_pa <= pa && pa - in[i].base_pa < in[i].len &&
		    (type < 0 || rank(in[i].type) > rank((uint32_t)type)))
			type = in[i].type;
	return type;
}

static int64_t out_type(const struct mem_range *out, uint32_t n, uint64_t pa)
{
	for (uint32_t i = 0; i < n; i++)
		if (out[i].base_pa <= pa && pa - out[i].base_pa < out[i].len)
			return out[i].type;
	return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size, 0 };
	uint8_t choice;
	uint32_t count, cap, n_ref = 0;
	struct mem_range *ranges, *ref;
	if (size < 1)
		return 0;
	if (!host_ram())
		fz_ram(0x1000);
	fz_reset();
	choice = fz_u8(&in);
	count = (uint32_t)((size - 1) / 20);
	if (count > 2 * BOOT_MAX_MEMMAP)
		count = 2 * BOOT_MAX_MEMMAP;
	switch (choice & 3) {
	case 0:
		cap = BOOT_MAX_MEMMAP; /* what mis.c passes */
		break;
	case 1:
		cap = 2 * count + 1; /* what memmap.h asks for */
		break;
	case 2:
		cap = count;
		break;
	default:
		cap = (choice >> 2) & 0x1f;
		break;
	}
	uint32_t alloc = (count > cap ? count : cap) + 0;
	ranges = calloc(alloc ? alloc : 1, sizeof(*ranges));
	ref = calloc(count + 1, sizeof(*ref));
	for (uint32_t i = 0; i < count; i++) {
		ranges[i].base_pa = fz_u64(&in);
		ranges[i].len = fz_u64(&in);
		ranges[i].type = fz_u32(&in);
		if (!(choice & 0x80))
			ranges[i].type &= 7;
	}
	/* The model: the first BOOT_MAX_MEMMAP non-empty entries, clipped below 2^64. */
	for (uint32_t i = 0; i < count && n_ref < BOOT_MAX_MEMMAP; i++) {
		if (!ranges[i].len)
			continue;
		ref[n_ref] = ranges[i];
		if (ref[n_ref].base_pa + ref[n_ref].len < ref[n_ref].base_pa)
			ref[n_ref].len = UINT64_MAX - ref[n_ref].base_pa;
		n_ref++;
	}
	uint32_t n = count;
	bool ok = memmap_sanitize(ranges, &n, cap);
	if (ok) {
		FZ_CHECKF(n <= cap, "%u entries for capacity %u", n, cap);
		for (uint32_t i = 0; i < n; i++) {
			FZ_CHECKF(ranges[i].len != 0, "entry %u has length 0", i);
			FZ_CHECKF(ranges[i].base_pa + ranges[i].len >= ranges[i].base_pa, "entry %u wraps", i);
			if (i) {
				uint64_t prev_end = ranges[i - 1].base_pa + ranges[i - 1].len;
				FZ_CHECKF(prev_end <= ranges[i].base_pa, "entries %u and %u overlap or are unsorted", i - 1, i);
				FZ_CHECKF(prev_end < ranges[i].base_pa || ranges[i - 1].type != ranges[i].type,
					  "entries %u and %u touch with one type and are not merged", i - 1, i);
			}
		}
		/* Every change point of the input, and the byte before it. */
		for (uint32_t i = 0; i < n_ref; i++) {
			uint64_t pts[4] = { ref[i].base_pa, ref[i].base_pa + ref[i].len - 1, ref[i].base_pa + ref[i].len,
					    ref[i].base_pa ? ref[i].base_pa - 1 : 0 };
			for (int k = 0; k < 4; k++) {
				int64_t want = ref_type(ref, n_ref, pts[k]), got = out_type(ranges, n, pts[k]);
				FZ_CHECKF(want == got, "byte 0x%llx: type %lld, the inputs say %lld",
					  (unsigned long long)pts[k], (long long)got, (long long)want);
			}
		}
		/* memmap_is_ram agrees with the model on each output entry and on spans across two. */
		for (uint32_t i = 0; i < n; i++) {
			bool ram = memmap_is_ram(ranges, n, ranges[i].base_pa, ranges[i].len);
			FZ_CHECKF(ram == (ranges[i].type == MEM_RAM), "memmap_is_ram on entry %u says %d", i, ram);
			if (i && ranges[i - 1].base_pa + ranges[i - 1].len == ranges[i].base_pa)
				FZ_CHECK(!memmap_is_ram(ranges, n, ranges[i].base_pa - 1, 2));
			uint32_t kib = memmap_ram_kib_at(ranges, n, ranges[i].base_pa, PA_LIMIT_32);
			if (ranges[i].type != MEM_RAM)
				FZ_CHECK(kib == 0);
		}
	} else {
		/* Refused: the exact answer (computed without a capacity) must need more than cap. */
		struct mem_range *big = calloc(2 * BOOT_MAX_MEMMAP + 1, sizeof(*big));
		uint32_t m = n_ref;
		memcpy(big, ref, n_ref * sizeof(*big));
		FZ_CHECK(memmap_sanitize(big, &m, 2 * BOOT_MAX_MEMMAP + 1));
		FZ_CHECKF(m > cap, "refused with capacity %u, but the answer has %u entries", cap, m);
		free(big);
	}
	free(ranges);
	free(ref);
	return 0;
}
