/*
 * fmt.c - see fmt.h.  Called by log.c for every console line.
 */
#include "fmt.h"
#include "util.h"

struct out {
	char *buf;
	size_t cap, len;
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->cap)
		o->buf[o->len++] = c;
}

/* Divide by 10 with shifts and subtraction: 32-bit code has no __udivdi3. */
static uint64_t div10(uint64_t n, unsigned *rem)
{
	uint64_t q = (n >> 1) + (n >> 2);
	q += q >> 4;
	q += q >> 8;
	q += q >> 16;
	q += q >> 32;
	q >>= 3;
	uint64_t r = n - q * 10; /* the estimate is low by at most one (Hacker's Delight, divu10) */
	uint64_t fix = (r + 6) >> 4; /* 1 exactly when r >= 10; no loop a compiler could turn back into a division */
	q += fix;
	*rem = (unsigned)(r - fix * 10);
	return q;
}

static void put_number(struct out *o, uint64_t v, unsigned base, bool upper, unsigned width, char pad,
		       bool negative)
{
	char digits[24];
	unsigned n = 0;
	const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	do {
		unsigned d;
		if (base == 16) {
			d = (unsigned)(v & 15);
			v >>= 4;
		} else {
			v = div10(v, &d);
		}
		digits[n++] = set[d];
	} while (v);
	if (negative && pad == '0') { /* the sign goes before zero padding: -0005 */
		put(o, '-');
		width = width ? width - 1 : 0;
	} else if (negative) {
		digits[n++] = '-';
	}
	while (width > n) {
		put(o, pad);
		width--;
	}
	while (n)
		put(o, digits[--n]);
}

size_t fmt_vformat(char *buf, size_t cap, const char *fmt, va_list ap)
{
	struct out o = { buf, cap, 0 };
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		fmt++;
		char pad = ' ';
		unsigned width = 0, longs = 0;
		bool left = false;
		if (*fmt == '-')
			left = true, fmt++;
		if (*fmt == '0')
			pad = '0', fmt++;
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (unsigned)(*fmt++ - '0');
		while (*fmt == 'l')
			longs++, fmt++;
		switch (*fmt) {
		case 's': {
			const char *s = va_arg(ap, const char *);
			size_t len = strlen(s ? s : "(null)");
			for (; !left && width > len; width--)
				put(&o, ' ');
			for (s = s ? s : "(null)"; *s; s++)
				put(&o, *s);
			for (; left && width > len; width--)
				put(&o, ' ');
			break;
		}
		case 'c':
			put(&o, (char)va_arg(ap, int));
			break;
		case 'd': {
			int64_t v = longs >= 2 ? va_arg(ap, long long) : longs ? va_arg(ap, long) : va_arg(ap, int);
			put_number(&o, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v, 10, false, width, pad, v < 0);
			break;
		}
		case 'u':
		case 'x':
		case 'X': {
			uint64_t v = longs >= 2 ? va_arg(ap, unsigned long long)
				     : longs ? va_arg(ap, unsigned long)
					     : va_arg(ap, unsigned int);
			put_number(&o, v, *fmt == 'u' ? 10 : 16, *fmt == 'X', width, pad, false);
			break;
		}
		case 'p':
			put(&o, '0');
			put(&o, 'x');
			put_number(&o, (uintptr_t)va_arg(ap, void *), 16, false, width, pad, false);
			break;
		case '%':
			put(&o, '%');
			break;
		default: /* an unknown conversion prints as itself, never reads an argument */
			put(&o, '%');
			if (*fmt)
				put(&o, *fmt);
			else
				fmt--;
		}
	}
	if (cap)
		buf[o.len] = 0;
	return o.len;
}

size_t fmt_format(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t n = fmt_vformat(buf, cap, fmt, ap);
	va_end(ap);
	return n;
}
