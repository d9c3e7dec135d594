/*
 * util.h - freestanding helpers every stage shares: memory and string functions (the compiler
 * also calls memcpy/memset/memmove implicitly), bounded string copies, number parsing and
 * alignment arithmetic that refuses to wrap.  Host builds use the same code.
 */
#ifndef MBCHAIN_UTIL_H
#define MBCHAIN_UTIL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define PAGE_SIZE 4096u
#define KIB 1024u
#define MIB (1024u * 1024u)
#define GIB (1024ull * 1024u * 1024u)
#define PA_LIMIT_32 0x100000000ull /* first address a 32-bit, paging-off CPU cannot reach */

#ifdef MBCHAIN_HOST
#include <string.h> /* host tests link the C library's versions */
#else
void *memcpy(void *dst, const void *src, size_t len);
void *memmove(void *dst, const void *src, size_t len);
void *memset(void *dst, int byte, size_t len);
int memcmp(const void *a, const void *b, size_t len);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t len);
#endif

/* strnlen-like: length of s, at most max. */
size_t str_len_max(const char *s, size_t max);
/* Copy at most dst_len-1 bytes of src and NUL-terminate; returns false if src was truncated. */
bool str_copy(char *dst, size_t dst_len, const char *src, size_t src_len);
bool str_starts_with(const char *s, const char *prefix);
/* Index of the first c in s, or -1. */
int strchr_index(const char *s, char c);
/* Last path component of path (the whole string when it has no '/'). */
const char *path_basename(const char *path);

/* Parse a decimal or 0x-prefixed hexadecimal number filling the whole of [s, s+len).
 * Returns false on an empty string, a stray character, or a value above UINT64_MAX. */
bool parse_u64(const char *s, size_t len, uint64_t *out);

/* Round x up to a power-of-two `align`; returns false if the result would pass 2^64. */
bool align_up_u64(uint64_t x, uint64_t align, uint64_t *out);
static inline uint64_t align_down_u64(uint64_t x, uint64_t align) { return x & ~(align - 1); }
/* True when [a, a+a_len) and [b, b+b_len) share a byte (empty ranges share nothing). */
static inline bool ranges_overlap(uint64_t a, uint64_t a_len, uint64_t b, uint64_t b_len)
{
	return a_len && b_len && a < b + b_len && b < a + a_len;
}
/* Little-endian stores into byte buffers: the records we build for kernels. */
static inline void put_le16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }
static inline void put_le32(uint8_t *p, uint32_t v) { put_le16(p, (uint16_t)v), put_le16(p + 2, (uint16_t)(v >> 16)); }
static inline void put_le64(uint8_t *p, uint64_t v) { put_le32(p, (uint32_t)v), put_le32(p + 4, (uint32_t)(v >> 32)); }
static inline uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }
static inline uint64_t max_u64(uint64_t a, uint64_t b) { return a > b ? a : b; }
#endif
