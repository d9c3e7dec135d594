/*
 * fuzz_mis.c - mis_read_cmdline + mis_read_rest (then options_parse) on a MIS built from the
 * input.  Input: a 12-byte header, then the bytes placed at MIS_PA: the MIS itself and whatever
 * its pointers point to.  Simulated RAM ends exactly where the input ends, so a read past the
 * loader's data is an ASan report or a phys_ptr abort.
 *
 * Header: u8 ctrl, u8 unused, u16 EBDA segment (BIOS data area 0x40E), u32 image offset, u32
 * magic.  ctrl bit 0: pointer fields of the MIS (cmdline, mods, mmap, drives, loader name) and
 * the module strings are relative to MIS_PA (so the fuzzer reaches its own bytes easily);
 * otherwise they are raw physical addresses.  Bit 1: EAX is the header's magic, not
 * 0x2BADB002.  Bit 2: write the EBDA segment.  Bit 3: mbchain's image is 8 KiB at MIS_PA +
 * image offset (instead of 1 MiB) so the image checks are reached.  Bit 4: verbose.
 */
#include <stdlib.h>
#include <string.h>
#include "../../multiboot.h"
#include "fuzz_common.h"
#include "log.h"
#include "memmap.h"
#include "mis.h"
#include "options.h"
#include "platform.h"
#include "util.h"

#define MIS_PA 0x10000u
#define HEADER 12u

static struct boot_request req;
static struct options opts;
static uint32_t magic;

static void relocate(uint8_t *mis, size_t len, uint32_t off)
{
	uint32_t v;
	memcpy(&v, mis + off, 4);
	v += MIS_PA;
	memcpy(mis + off, &v, 4);
	(void)len;
}

static void run_mis(void *arg)
{
	(void)arg;
	mis_read_cmdline(magic, MIS_PA, &req);
	mis_read_rest(MIS_PA, &req);
}

static void run_options(void *arg)
{
	(void)arg;
	options_parse(&req, &opts);
}

static void check_string(const char *s, size_t cap, const char *what)
{
	FZ_CHECKF(memchr(s, 0, cap) != NULL, "%s is not NUL-terminated", what);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size, 0 };
	uint8_t ctrl;
	uint16_t ebda;
	uint32_t image_off;
	size_t len;
	uint8_t *bytes;

	if (size < HEADER)
		return 0;
	ctrl = fz_u8(&in);
	fz_u8(&in);
	ebda = fz_u16(&in);
	image_off = fz_u32(&in);
	magic = (ctrl & 2) ? fz_u32(&in) : (fz_u32(&in), MB_LOADER_MAGIC);
	len = size - HEADER;
	bytes = malloc(len + 1);
	memcpy(bytes, data + HEADER, len);
	if ((ctrl & 1) && len >= 88) {
		static const uint32_t ptrs[] = { 16, 24, 48, 56, 64 };
		for (unsigned i = 0; i < ARRAY_LEN(ptrs); i++)
			relocate(bytes, len, ptrs[i]);
		/* module strings, where the module list lies inside the input */
		uint32_t mods, count;
		memcpy(&mods, bytes + 24, 4);
		memcpy(&count, bytes + 20, 4);
		for (uint32_t i = 0; i < count && i < BOOT_MAX_MODULES; i++) {
			uint64_t at = (uint64_t)mods - MIS_PA + 16 * i + 8;
			if (mods < MIS_PA || at + 4 > len)
				break;
			uint32_t s;
			memcpy(&s, bytes + at, 4);
			if (s)
				relocate(bytes, len, (uint32_t)at);
		}
	}

	fz_ram(MIS_PA + len); /* RAM ends where the input ends */
	fz_reset();
	if (len)
		host_put(MIS_PA, bytes, len);
	if (ctrl & 4)
		host_w16(0x40e, ebda);
	if (ctrl & 8)
		host_set_image_range((uint64_t)MIS_PA + image_off, (uint64_t)MIS_PA + image_off + 0x2000);
	log_set_verbose(ctrl & 16);

	if (fz_run(run_mis, NULL) == HOST_RETURNED) {
		uint64_t img_start, img_end;
		platform_image_range(&img_start, &img_end);
		check_string(req.cmdline, sizeof(req.cmdline), "cmdline");
		check_string(req.loader_name, sizeof(req.loader_name), "loader name");
		FZ_CHECK(req.module_count <= BOOT_MAX_MODULES);
		FZ_CHECK(req.memmap_count >= 1 && req.memmap_count <= BOOT_MAX_MEMMAP);
		FZ_CHECK(req.drive_count <= BOOT_MAX_DRIVES);
		for (uint32_t i = 0; i < req.memmap_count; i++) {
			const struct mem_range *r = &req.memmap[i];
			FZ_CHECKF(r->len != 0, "map entry %u has length 0", i);
			FZ_CHECKF(r->base_pa + r->len > r->base_pa || r->base_pa + r->len == 0, "map entry %u wraps", i);
			if (i) {
				const struct mem_range *p = &req.memmap[i - 1];
				FZ_CHECKF(p->base_pa + p->len <= r->base_pa, "map entries %u and %u overlap or are unsorted", i - 1, i);
				FZ_CHECKF(p->type != r->type || p->base_pa + p->len < r->base_pa, "map entries %u and %u not merged",
					  i - 1, i);
			}
		}
		FZ_CHECK(memmap_is_ram(req.memmap, req.memmap_count, MIB, PAGE_SIZE));
		for (uint32_t i = 0; i < req.module_count; i++) {
			const struct boot_module *m = &req.modules[i];
			check_string(m->string, sizeof(m->string), "module string");
			FZ_CHECKF(!m->len || memmap_is_ram(req.memmap, req.memmap_count, m->start_pa, m->len),
				  "module %u [0x%x, +0x%x) accepted outside RAM", i, m->start_pa, m->len);
			FZ_CHECKF(!ranges_overlap(m->start_pa, m->len, img_start, img_end - img_start),
				  "module %u accepted over mbchain's image", i);
		}
		FZ_CHECK((req.low_reserved_start_pa & (PAGE_SIZE - 1)) == 0 && req.low_reserved_start_pa <= 0xA0000);
		FZ_CHECK(req.ebda_pa == 0 || (req.ebda_pa >= 0x80000 && req.ebda_pa < 0xA0000));
		/* The command line is the loader's string, byte for byte. */
		uint32_t flags = host_r32(MIS_PA);
		if (flags & MB_INFO_CMDLINE) {
			uint32_t pa = host_r32(MIS_PA + 16);
			FZ_CHECKF(strcmp(req.cmdline, (const char *)host_ram() + pa) == 0, "cmdline differs from the MIS's");
		} else {
			FZ_CHECK(req.cmdline[0] == 0);
		}
		fz_run(run_options, NULL);
	}
	free(bytes);
	return 0;
}
