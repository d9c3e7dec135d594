/*
 * util.c - the freestanding C library subset mbchain needs; see util.h.  Called from every
 * stage, and implicitly by the compiler (memcpy/memset/memmove for struct copies).
 */
#include "util.h"

#ifndef MBCHAIN_HOST

/* String instructions: one per dword (fast on hardware, and the boot path copies whole
 * structures), then the tail bytes. */
void *memcpy(void *dst, const void *src, size_t len)
{
	void *d = dst;
	const void *s = src;
	size_t dwords = len / 4, tail = len % 4;
	__asm__ volatile("rep movsl; mov %3, %%ecx; rep movsb"
			 : "+D"(d), "+S"(s), "+c"(dwords)
			 : "r"(tail)
			 : "memory");
	return dst;
}

void *memmove(void *dst, const void *src, size_t len)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	if (d <= s || d >= s + len)
		return memcpy(dst, src, len);
	while (len--) /* overlapping, destination above: backwards (rare: small structures only) */
		d[len] = s[len];
	return dst;
}

void *memset(void *dst, int byte, size_t len)
{
	void *d = dst;
	uint32_t pattern = (uint8_t)byte * 0x01010101u;
	size_t dwords = len / 4, tail = len % 4;
	__asm__ volatile("rep stosl; mov %3, %%ecx; rep stosb"
			 : "+D"(d), "+c"(dwords)
			 : "a"(pattern), "r"(tail)
			 : "memory");
	return dst;
}

int memcmp(const void *a, const void *b, size_t len)
{
	const unsigned char *x = a, *y = b;
	for (; len; len--, x++, y++)
		if (*x != *y)
			return *x < *y ? -1 : 1;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t len)
{
	for (; len; len--, a++, b++) {
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		if (!*a)
			return 0;
	}
	return 0;
}

#endif /* !MBCHAIN_HOST */

size_t str_len_max(const char *s, size_t max)
{
	size_t n = 0;
	while (n < max && s[n])
		n++;
	return n;
}

bool str_copy(char *dst, size_t dst_len, const char *src, size_t src_len)
{
	size_t n = str_len_max(src, src_len);
	bool fits = n < dst_len;
	if (!fits)
		n = dst_len - 1;
	memcpy(dst, src, n);
	dst[n] = 0;
	return fits;
}

bool str_starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

int strchr_index(const char *s, char c)
{
	for (int i = 0; s[i]; i++)
		if (s[i] == c)
			return i;
	return -1;
}

const char *path_basename(const char *path)
{
	const char *base = path;
	for (; *path; path++)
		if (*path == '/')
			base = path + 1;
	return base;
}

static int digit_value(char c, unsigned base)
{
	unsigned v;
	if (c >= '0' && c <= '9')
		v = (unsigned)(c - '0');
	else if (c >= 'a' && c <= 'f')
		v = (unsigned)(c - 'a') + 10;
	else if (c >= 'A' && c <= 'F')
		v = (unsigned)(c - 'A') + 10;
	else
		return -1;
	return v < base ? (int)v : -1;
}

bool parse_u64(const char *s, size_t len, uint64_t *out)
{
	unsigned base = 10;
	uint64_t v = 0;
	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
		len -= 2;
	}
	if (len == 0)
		return false;
	for (; len; len--, s++) {
		int d = digit_value(*s, base);
		/* Constant divisors only: 32-bit code has no 64-bit division. */
		if (d < 0 || v > (base == 16 ? UINT64_MAX / 16 : UINT64_MAX / 10))
			return false;
		v *= base;
		if (v + (uint64_t)d < v)
			return false;
		v += (uint64_t)d;
	}
	*out = v;
	return true;
}

bool align_up_u64(uint64_t x, uint64_t align, uint64_t *out)
{
	uint64_t r = (x + align - 1) & ~(align - 1);
	if (r < x)
		return false;
	*out = r;
	return true;
}
