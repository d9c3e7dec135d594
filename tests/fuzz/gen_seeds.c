/*
 * gen_seeds.c - writes the seed corpora of tests/fuzz/corpus/<harness>/ (run by
 * `make -C tests/fuzz seeds`; the output is committed).  Every seed is small and means one
 * thing: a QEMU-, GRUB- or kexec-shaped MIS, a NetBSD or FreeBSD kernel built by
 * tests/unit/elfgen.c, a FreeBSD/amd64 .ko, a loader.conf, a copy layout with a cycle, a
 * firmware map with overlaps.  Formats: see the comment at the top of each fuzz_*.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "../../multiboot.h"
#include "boot_request.h"
#include "elfgen.h"

static const char *root;
static uint8_t buf[1 << 20];

static void save(const char *harness, const char *name, const void *data, size_t len)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", root, harness);
	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s/%s", root, harness, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static void w16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }
static void w32(uint8_t *p, uint32_t v) { w16(p, (uint16_t)v), w16(p + 2, (uint16_t)(v >> 16)); }
static void w64(uint8_t *p, uint64_t v) { w32(p, (uint32_t)v), w32(p + 4, (uint32_t)(v >> 32)); }

/* ---- MIS seeds: 12-byte header, then the bytes at MIS_PA (0x10000) ---- */

#define MIS_PA 0x10000u
struct mis_seed {
	uint8_t b[4096];
	size_t len; /* of the data after the header */
	int relative;
};

static uint32_t mis_add(struct mis_seed *s, const void *data, size_t len)
{
	uint32_t off = (uint32_t)((s->len + 7) & ~(size_t)7);
	memcpy(s->b + 12 + off, data, len);
	s->len = off + len;
	return s->relative ? off : MIS_PA + off;
}

static void mis_begin(struct mis_seed *s, uint8_t ctrl)
{
	memset(s, 0, sizeof(*s));
	s->relative = ctrl & 1;
	s->b[0] = ctrl;
	w16(s->b + 2, 0x9fc0);
	s->len = 120;
}

static uint8_t *mis_field(struct mis_seed *s, unsigned off) { return s->b + 12 + off; }

static void mis_map(struct mis_seed *s, const uint64_t (*r)[3], unsigned n, uint32_t entry_size)
{
	uint8_t m[1024];
	memset(m, 0, sizeof(m));
	for (unsigned i = 0; i < n; i++) {
		uint8_t *e = m + (entry_size + 4) * i;
		w32(e, entry_size), w64(e + 4, r[i][0]), w64(e + 12, r[i][1]), w32(e + 20, (uint32_t)r[i][2]);
	}
	w32(mis_field(s, 44), (entry_size + 4) * n);
	w32(mis_field(s, 48), mis_add(s, m, (entry_size + 4) * n));
	w32(mis_field(s, 0), le32_flags(s) | MB_INFO_MEM_MAP);
}

static uint32_t le32_flags(struct mis_seed *s)
{
	uint8_t *p = mis_field(s, 0);
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
