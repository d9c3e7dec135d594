/*
 * inflate.h - gzip (RFC 1952) and DEFLATE (RFC 1951) decompression for kernels and modules
 * that arrive compressed (QEMU -kernel passes files as they are; NetBSD ships netbsd.gz).
 * Called by boot.c before the kernel is parsed.
 *
 * Takes: the compressed bytes (untrusted) and an output buffer with its capacity.  Gives: the
 * inflated bytes, or an error text; never reads or writes outside the two buffers.  The
 * gzip trailer's size is only a hint for the buffer: the real size and the CRC are checked.
 */
#ifndef MBCHAIN_INFLATE_H
#define MBCHAIN_INFLATE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* zlib's CRC-32 (the one gzip uses), continued from `crc` (0 to start). */
uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t len);

/* True when the bytes start like a gzip file (magic 1f 8b, method 8). */
bool gzip_detect(const uint8_t *in, size_t in_len);
/* The uncompressed size the trailer claims (mod 2^32), 0 when the file is too short. */
uint32_t gzip_trailer_size(const uint8_t *in, size_t in_len);
/* Inflate a gzip file into out[0..out_cap); on success *out_len is the inflated size and the
 * result is NULL, else a short description of what is wrong. */
const char *gzip_inflate(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len);
/* Inflating in place: once the output reaches decide_at bytes (the file's head, in the buffer),
 * decide() is called once with them and may fill routes: the file bytes [offset, offset+len)
 * of a route are then written to dst instead of the buffer (bytes of it already inflated are
 * copied there and kept in the buffer), back-references and the CRC read through the routes,
 * and the buffer is left untouched over them.  Routes must be sorted by offset, disjoint and
 * inside out_cap, else all are dropped.  dst must hold len bytes: nothing else is checked. */
#define INFLATE_MAX_ROUTES 16
struct inflate_route {
	size_t offset, len;
	uint8_t *dst;
};
struct inflate_map {
	size_t decide_at;
	void (*decide)(struct inflate_map *map, const uint8_t *head, size_t head_len); /* NULL once called */
	void *ctx;
	unsigned count;
	struct inflate_route routes[INFLATE_MAX_ROUTES];
};
/* gzip_inflate with routes (map may be NULL). */
const char *gzip_inflate_routed(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, struct inflate_map *map,
				size_t *out_len);
/* Inflate a raw DEFLATE stream; *in_used is how many input bytes it took. */
const char *inflate_raw(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len,
			size_t *in_used);
#endif
