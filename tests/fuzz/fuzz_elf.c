/*
 * fuzz_elf.c - the ELF reader on a fuzzed file: elf_parse, then every section through
 * elf_section and elf_string, elf_keep_segments, elf_assign_pa the NetBSD and the FreeBSD way,
 * elf_write_ehdr / elf_write_section; and elf_parse_object and elf_parse_shared on the same bytes.  The file lies at
 * FILE_PA and simulated RAM ends exactly where it ends, so any read past the file is an ASan
 * report or a phys_ptr abort.
 */
#include <stdlib.h>
#include <string.h>
#include "elf.h"
#include "fuzz_common.h"
#include "memmap.h"
#include "netbsd.h"
#include "platform.h"
#include "util.h"

#define FILE_PA 0x1000u

static struct kernel_image img, obj;
static uint32_t file_len;

static const struct mem_range map[] = {
	{ 0, 0x9fc00, MEM_RAM },
	{ 0x100000, 0x3ff00000, MEM_RAM },
	{ 0x40000000, 0x1000, MEM_RESERVED },
	{ 0x40001000, 0xbfeff000, MEM_RAM },
};

static void run_parse(void *arg)
{
	(void)arg;
	elf_parse(FILE_PA, file_len, &img);
}

static void run_parse_object(void *arg)
{
	(void)arg;
	elf_parse_object(FILE_PA, file_len, &obj);
}

static void run_parse_shared(void *arg)
{
	(void)arg;
	elf_parse_shared(FILE_PA, file_len, &obj);
}

static const struct kernel_image *walk_img;
static void run_sections(void *arg)
{
	const struct kernel_image *k = walk_img;
	(void)arg;
	for (uint32_t i = 0; i < k->shnum; i++) {
		struct elf_section s;
		uint8_t raw[64];
		elf_section(k, i, &s);
		const char *names[2] = { elf_string(k, k->shstrndx, s.name), elf_string(k, s.link, s.name) };
		for (int j = 0; j < 2; j++) {
			const char *n = names[j];
			if (!n[0])
				continue;
			/* A name is inside the file and ends inside it. */
			const uint8_t *lo = host_ram() + FILE_PA, *hi = lo + k->file_len;
			FZ_CHECKF((const uint8_t *)n >= lo && (const uint8_t *)n < hi, "section %u name outside the file", i);
			FZ_CHECKF(memchr(n, 0, (size_t)(hi - (const uint8_t *)n)) != NULL, "section %u name runs off the file", i);
		}
		elf_write_section(k, raw, &s);
	}
}

static struct kernel_image work;
static uint64_t mask, offset;
static void run_assign(void *arg)
{
	(void)arg;
	elf_assign_pa(&work, mask, offset, map, ARRAY_LEN(map));
}

static void run_keep(void *arg)
{
	(void)arg;
	elf_keep_segments(&work, netbsd_segment_loadable);
}

static void check_assigned(const struct kernel_image *k)
{
	bool entry = false;
	FZ_CHECK(k->segment_count >= 1 && k->segment_count <= ELF_MAX_SEGMENTS);
	for (unsigned i = 0; i < k->segment_count; i++) {
		const struct kernel_segment *s = &k->segments[i];
		FZ_CHECKF(s->pa < PA_LIMIT_32 && s->mem_len <= PA_LIMIT_32 - s->pa, "segment %u passes 4 GiB", i);
		FZ_CHECKF(s->mem_len == 0 || memmap_is_ram(map, ARRAY_LEN(map), s->pa, s->mem_len), "segment %u not in RAM", i);
		FZ_CHECK(s->pa >= k->start_pa && s->pa + s->mem_len <= k->end_pa);
		for (unsigned j = 0; j < i; j++)
			FZ_CHECKF(!ranges_overlap(s->pa, s->mem_len, k->segments[j].pa, k->segments[j].mem_len),
				  "segments %u and %u overlap", j, i);
		if ((s->flags & PF_X) && k->entry_pa >= s->pa && k->entry_pa < s->pa + s->mem_len)
			entry = true;
	}
	FZ_CHECK(entry || k->elf_type != ET_EXEC); /* a shared object's entry means nothing */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 16 * 1024 * 1024)
		return 0;
	file_len = (uint32_t)size;
	fz_ram(FILE_PA + size);
	fz_reset();
	if (size)
		host_put(FILE_PA, data, size);

	if (fz_run(run_parse, NULL) == HOST_RETURNED) {
		FZ_CHECK(img.elf_class == 32 || img.elf_class == 64);
		FZ_CHECK(img.segment_count >= 1 && img.segment_count <= ELF_MAX_SEGMENTS);
		for (unsigned i = 0; i < img.segment_count; i++) {
			const struct kernel_segment *s = &img.segments[i];
			FZ_CHECK(s->file_len <= s->mem_len);
			FZ_CHECK(s->file_offset <= size && s->file_len <= size - s->file_offset);
		}
		FZ_CHECK(img.shnum <= ELF_MAX_SHNUM);
		FZ_CHECK(img.shnum == 0 || img.shstrndx < img.shnum);
		FZ_CHECK(img.shnum == 0 || (img.shoff <= size && (uint64_t)img.shnum * img.shentsize <= size - img.shoff));
		walk_img = &img;
		fz_run(run_sections, NULL);
		uint8_t ehdr[64];
		elf_write_ehdr(&img, ehdr, img.ehsize);
		FZ_CHECK(memcmp(ehdr, data, 4) == 0);

		/* NetBSD: loadable segments only, VA & 0x07ffffff. */
		work = img;
		if (fz_run(run_keep, NULL) == HOST_RETURNED) {
			mask = 0x07ffffffull, offset = 0;
			if (fz_run(run_assign, NULL) == HOST_RETURNED)
				check_assigned(&work);
		}
		/* FreeBSD: every segment, VA minus the entry's 16 MiB-aligned base. */
		work = img;
		mask = ~0ull;
		offset = (img.entry_va & ~0xfffull) & (img.elf_class == 64 ? 0xffffffffff000000ull : 0xff000000ull);
		if (fz_run(run_assign, NULL) == HOST_RETURNED)
			check_assigned(&work);
	}
	if (fz_run(run_parse_object, NULL) == HOST_RETURNED) {
		FZ_CHECK(obj.shnum >= 1 && obj.shnum <= ELF_MAX_SHNUM && obj.segment_count == 0);
		walk_img = &obj;
		fz_run(run_sections, NULL);
	}
	if (fz_run(run_parse_shared, NULL) == HOST_RETURNED) {
		FZ_CHECK(obj.segment_count >= 1 && obj.segment_count <= ELF_MAX_SEGMENTS);
		walk_img = &obj;
		fz_run(run_sections, NULL);
		/* as freebsd.c loads it: base + p_vaddr */
		work = obj;
		mask = ~0ull, offset = (uint64_t)0 - 0x400000;
		if (fz_run(run_assign, NULL) == HOST_RETURNED)
			check_assigned(&work);
	}
	return 0;
}
