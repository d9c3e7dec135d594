/*
 * inflate.c - see inflate.h.  Written from RFC 1951 (DEFLATE) and RFC 1952 (gzip): canonical
 * Huffman codes decoded a bit at a time, which keeps the code small and every table bounded;
 * speed is secondary for a file inflated once per boot.
 */
#include "inflate.h"
#include "util.h"

#define MAX_BITS 15
#define MAX_LITLEN_CODES 288
#define MAX_DIST_CODES 30

/* --- CRC-32 (polynomial 0xEDB88320, reflected), four bits at a time ------------------------ */

uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t len)
{
	static const uint32_t nibble[16] = {
		0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4, 0x4db26158, 0x5005713c,
		0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c, 0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
	};
	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		crc = (crc >> 4) ^ nibble[crc & 15];
		crc = (crc >> 4) ^ nibble[crc & 15];
	}
	return ~crc;
}

/* --- the bit reader: least significant bit first (RFC 1951 3.1.1) -------------------------- */

struct bits {
	const uint8_t *in;
	size_t len, pos;
	uint32_t buf;
	unsigned count;
	bool overrun; /* read past the input: reported as a truncated stream */
};

static unsigned take(struct bits *b, unsigned n)
{
	unsigned v;
	while (b->count < n) {
		uint32_t byte = 0;
		if (b->pos < b->len)
			byte = b->in[b->pos++];
		else
			b->overrun = true;
		b->buf |= byte << b->count;
		b->count += 8;
	}
	v = b->buf & ((1u << n) - 1);
	b->buf >>= n;
	b->count -= n;
	return v;
}

/* --- canonical Huffman codes (RFC 1951 3.2.2) ---------------------------------------------- */

struct huffman {
	uint16_t counts[MAX_BITS + 1]; /* codes of each length */
	uint16_t symbols[MAX_LITLEN_CODES]; /* symbols in code order */
};

/* Build the decoding table for `n` code lengths; refuses an over-subscribed set.  An
 * incomplete set is allowed (a single distance code is legal); unused codes fail on decode. */
static bool huffman_build(struct huffman *h, const uint8_t *lengths, unsigned n)
{
	uint16_t offsets[MAX_BITS + 2];
	int left = 1;
	memset(h->counts, 0, sizeof(h->counts));
	for (unsigned i = 0; i < n; i++)
		h->counts[lengths[i]]++;
	h->counts[0] = 0;
	for (unsigned len = 1; len <= MAX_BITS; len++) {
		left = 2 * left - h->counts[len];
		if (left < 0)
			return false;
	}
	offsets[1] = 0;
	for (unsigned len = 1; len <= MAX_BITS; len++)
		offsets[len + 1] = (uint16_t)(offsets[len] + h->counts[len]);
	for (unsigned i = 0; i < n; i++)
		if (lengths[i])
			h->symbols[offsets[lengths[i]]++] = (uint16_t)i;
	return true;
}

/* The next symbol, or -1 when the bits form no code of this table. */
static int huffman_decode(struct bits *b, const struct huffman *h)
{
	int code = 0, first = 0, index = 0;
	for (unsigned len = 1; len <= MAX_BITS; len++) {
		int count = h->counts[len];
		code |= (int)take(b, 1);
		if (code - first < count)
			return h->symbols[index + code - first];
		index += count;
		first = (first + count) << 1;
		code <<= 1;
	}
	return -1;
}

/* --- blocks (RFC 1951 3.2.3-3.2.7) ---------------------------------------------------------- */

/* The output stream: byte `pos` of the file lives in buf[pos], unless a route of `map` holds
 * it (then at route.dst[pos - route.offset]).  The window is where the next byte goes: bytes
 * [win_start, win_end) live at win[0..], so the common case costs one comparison. */
struct output {
	uint8_t *buf;
	size_t cap, len;
	struct inflate_map *map; /* NULL: everything in buf */
	uint8_t *win;
	size_t win_start, win_end;
};

/* Routes must be sorted, disjoint, non-empty and inside the buffer: anything else is refused
 * as a whole (everything then stays in the buffer). */
static bool routes_valid(const struct inflate_map *m, size_t cap)
{
	size_t prev_end = 0;
	if (m->count > INFLATE_MAX_ROUTES)
		return false;
	for (unsigned i = 0; i < m->count; i++) {
		const struct inflate_route *r = &m->routes[i];
		if (!r->dst || r->len == 0 || r->offset < prev_end || r->offset > cap || r->len > cap - r->offset)
			return false;
		prev_end = r->offset + r->len;
	}
	return true;
}

static const struct inflate_route *route_of(const struct output *o, size_t pos)
{
	for (unsigned i = 0; o->map && !o->map->decide && i < o->map->count; i++) {
		const struct inflate_route *r = &o->map->routes[i];
		if (pos >= r->offset && pos - r->offset < r->len)
			return r;
	}
	return NULL;
}

/* The output reached win_end: decide the routes if it is time, then set the window for the
 * next byte.  Route bytes written before the decision are copied to their route (and stay in
 * the buffer too). */
static void output_refill(struct output *o)
{
	struct inflate_map *m = o->map;
	const struct inflate_route *r;
	size_t end = o->cap;
	if (m && m->decide && o->len >= m->decide_at) {
		void (*decide)(struct inflate_map *, const uint8_t *, size_t) = m->decide;
		m->count = 0;
		decide(m, o->buf, o->len);
		m->decide = NULL;
		if (!routes_valid(m, o->cap))
			m->count = 0;
		for (unsigned i = 0; i < m->count && m->routes[i].offset < o->len; i++) {
			r = &m->routes[i];
			memcpy(r->dst, o->buf + r->offset, (r->len < o->len - r->offset ? r->len : o->len - r->offset));
		}
	}
	r = route_of(o, o->len);
	if (r) {
		o->win = r->dst;
		o->win_start = r->offset;
		o->win_end = r->offset + r->len;
		return;
	}
	if (m && m->decide && m->decide_at < end)
		end = m->decide_at;
	/* The buffer window runs from the end of the route before to the start of the next. */
	o->win_start = 0;
	for (unsigned i = 0; m && !m->decide && i < m->count; i++) {
		const struct inflate_route *q = &m->routes[i];
		if (q->offset > o->len && q->offset < end)
			end = q->offset;
		if (q->offset + q->len <= o->len && q->offset + q->len > o->win_start)
			o->win_start = q->offset + q->len;
	}
	o->win = o->buf + o->win_start;
	o->win_end = end;
}

static void output_init(struct output *o, uint8_t *buf, size_t cap, struct inflate_map *map)
{
	*o = (struct output){ buf, cap, 0, map, buf, 0, 0 };
	if (map)
		map->count = 0;
	output_refill(o);
}

/* Callers have checked the capacity. */
static inline void output_put(struct output *o, uint8_t byte)
{
	if (o->len >= o->win_end)
		output_refill(o);
	o->win[o->len - o->win_start] = byte;
	o->len++;
}

static inline uint8_t output_get(const struct output *o, size_t pos)
{
	const struct inflate_route *r;
	if (pos >= o->win_start && pos < o->win_end)
		return o->win[pos - o->win_start];
	r = route_of(o, pos);
	return r ? r->dst[pos - r->offset] : o->buf[pos];
}

/* CRC-32 of the output in file order, wherever each part lives. */
static uint32_t output_crc(const struct output *o)
{
	uint32_t crc = 0;
	size_t pos = 0;
	while (pos < o->len) {
		const struct inflate_route *r = route_of(o, pos);
		size_t end = o->len;
		if (r) {
			end = r->offset + r->len < end ? r->offset + r->len : end;
			crc = crc32_update(crc, r->dst + (pos - r->offset), end - pos);
		} else {
			for (unsigned i = 0; o->map && !o->map->decide && i < o->map->count; i++)
				if (o->map->routes[i].offset > pos && o->map->routes[i].offset < end)
					end = o->map->routes[i].offset;
			crc = crc32_update(crc, o->buf + pos, end - pos);
		}
		pos = end;
	}
	return crc;
}

static const uint16_t length_base[29] = { 3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
					  31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258 };
static const uint8_t length_extra[29] = { 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0 };
static const uint16_t dist_base[30] = { 1,   2,   3,   4,   5,   7,    9,    13,   17,   25,   33,   49,   65,    97,    129,
					193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577 };
static const uint8_t dist_extra[30] = { 0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13 };

static const char *inflate_codes(struct bits *b, struct output *o, const struct huffman *litlen,
				 const struct huffman *dist)
{
	for (;;) {
		int sym = huffman_decode(b, litlen);
		if (b->overrun)
			return "the stream is truncated";
		if (sym < 0)
			return "a literal/length code is invalid";
		if (sym < 256) {
			if (o->len == o->cap)
				return "it inflates to more than expected";
			output_put(o, (uint8_t)sym);
			continue;
		}
		if (sym == 256)
			return NULL; /* end of block */
		if (sym > 285)
			return "a length code is invalid";
		size_t length = length_base[sym - 257] + take(b, length_extra[sym - 257]);
		int d = huffman_decode(b, dist);
		if (b->overrun)
			return "the stream is truncated";
		if (d < 0 || d >= MAX_DIST_CODES)
			return "a distance code is invalid";
		size_t distance = dist_base[d] + take(b, dist_extra[d]);
		if (b->overrun)
			return "the stream is truncated";
		if (distance > o->len)
			return "a distance points before the start";
		if (length > o->cap - o->len)
			return "it inflates to more than expected";
		for (; length; length--) /* byte by byte: the source may overlap */
			output_put(o, output_get(o, o->len - distance));
	}
}

static const char *inflate_stored(struct bits *b, struct output *o)
{
	unsigned len, nlen;
	take(b, b->count & 7); /* to the byte boundary */
	len = take(b, 16);
	nlen = take(b, 16);
	if (b->overrun)
		return "the stream is truncated";
	if ((len ^ 0xffffu) != nlen)
		return "a stored block's length check fails";
	if (len > o->cap - o->len)
		return "it inflates to more than expected";
	while (len--) {
		output_put(o, (uint8_t)take(b, 8));
		if (b->overrun)
			return "the stream is truncated";
	}
	return NULL;
}

static void fixed_tables(struct huffman *litlen, struct huffman *dist)
{
	uint8_t lengths[MAX_LITLEN_CODES];
	unsigned i = 0;
	for (; i < 144; i++)
		lengths[i] = 8;
	for (; i < 256; i++)
		lengths[i] = 9;
	for (; i < 280; i++)
		lengths[i] = 7;
	for (; i < 288; i++)
		lengths[i] = 8;
	huffman_build(litlen, lengths, MAX_LITLEN_CODES);
	/* 32 five-bit codes: 30 and 31 exist in the fixed code but mean nothing (RFC 1951 3.2.6) */
	memset(lengths, 5, MAX_DIST_CODES + 2);
	huffman_build(dist, lengths, MAX_DIST_CODES + 2);
}

static const char *dynamic_tables(struct bits *b, struct huffman *litlen, struct huffman *dist)
{
	static const uint8_t order[19] = { 16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15 };
	uint8_t lengths[MAX_LITLEN_CODES + MAX_DIST_CODES + 2];
	struct huffman codelen;
	unsigned nlit = take(b, 5) + 257, ndist = take(b, 5) + 1, ncode = take(b, 4) + 4, n = 0;
	if (nlit > 286 || ndist > MAX_DIST_CODES)
		return "a dynamic block has too many codes";
	memset(lengths, 0, 19);
	for (unsigned i = 0; i < ncode; i++)
		lengths[order[i]] = (uint8_t)take(b, 3);
	if (b->overrun) /* a cut stream reads as zeros: say so before judging what was read */
		return "the stream is truncated";
	if (!huffman_build(&codelen, lengths, 19))
		return "a code-length code is over-subscribed";
	while (n < nlit + ndist) {
		int sym = huffman_decode(b, &codelen);
		unsigned repeat, value = 0;
		if (b->overrun)
			return "the stream is truncated";
		if (sym < 0)
			return "a code-length code is invalid";
		if (sym < 16) {
			lengths[n++] = (uint8_t)sym;
			continue;
		}
		if (sym == 16) {
			if (n == 0)
				return "a repeat has nothing to repeat";
			value = lengths[n - 1];
			repeat = 3 + take(b, 2);
		} else if (sym == 17) {
			repeat = 3 + take(b, 3);
		} else {
			repeat = 11 + take(b, 7);
		}
		if (repeat > nlit + ndist - n)
			return "code lengths run past their count";
		while (repeat--)
			lengths[n++] = (uint8_t)value;
	}
	if (lengths[256] == 0)
		return "the block has no end-of-block code";
	if (!huffman_build(litlen, lengths, nlit) || !huffman_build(dist, lengths + nlit, ndist))
		return "a code is over-subscribed";
	return NULL;
}

static const char *inflate_stream(struct bits *bp, struct output *op)
{
	static struct huffman litlen, dist; /* static: the boot stack is small */
	struct bits b = *bp;
	struct output o = *op;
	unsigned last;
	do {
		const char *err = NULL;
		unsigned type;
		last = take(&b, 1);
		type = take(&b, 2);
		if (b.overrun)
			return "the stream is truncated";
		if (type == 0) {
			err = inflate_stored(&b, &o);
		} else if (type == 1) {
			fixed_tables(&litlen, &dist);
			err = inflate_codes(&b, &o, &litlen, &dist);
		} else if (type == 2) {
			err = dynamic_tables(&b, &litlen, &dist);
			if (!err)
				err = inflate_codes(&b, &o, &litlen, &dist);
		} else {
			err = "a block has the reserved type 3";
		}
		if (err)
			return err;
	} while (!last);
	*bp = b;
	*op = o;
	return NULL;
}

const char *inflate_raw(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len,
			size_t *in_used)
{
	struct bits b = { in, in_len, 0, 0, 0, false };
	struct output o;
	const char *err;
	output_init(&o, out, out_cap, NULL);
	err = inflate_stream(&b, &o);
	if (err)
		return err;
	*out_len = o.len;
	*in_used = b.pos - b.count / 8; /* whole bytes read ahead are given back */
	return NULL;
}

/* --- gzip (RFC 1952) ----------------------------------------------------------------------- */

#define GZ_FTEXT 1
#define GZ_FHCRC 2
#define GZ_FEXTRA 4
#define GZ_FNAME 8
#define GZ_FCOMMENT 16
#define GZ_HEADER_LEN 10
#define GZ_TRAILER_LEN 8

bool gzip_detect(const uint8_t *in, size_t in_len)
{
	return in_len >= GZ_HEADER_LEN && in[0] == 0x1f && in[1] == 0x8b && in[2] == 8;
}

uint32_t gzip_trailer_size(const uint8_t *in, size_t in_len)
{
	uint32_t v;
	if (in_len < GZ_HEADER_LEN + GZ_TRAILER_LEN)
		return 0;
	memcpy(&v, in + in_len - 4, 4);
	return v;
}

/* Skip a NUL-terminated header field; false when it runs off the end. */
static bool skip_string(const uint8_t *in, size_t in_len, size_t *pos)
{
	while (*pos < in_len)
		if (in[(*pos)++] == 0)
			return true;
	return false;
}

const char *gzip_inflate(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	return gzip_inflate_routed(in, in_len, out, out_cap, NULL, out_len);
}

const char *gzip_inflate_routed(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, struct inflate_map *map,
				size_t *out_len)
{
	size_t pos = GZ_HEADER_LEN;
	struct bits b;
	struct output o;
	uint8_t flags;
	uint32_t crc, isize;
	const char *err;
	if (!gzip_detect(in, in_len))
		return "not a gzip file with DEFLATE compression";
	flags = in[3];
	if (flags & 0xe0)
		return "the gzip header has reserved flags set";
	if (flags & GZ_FEXTRA) {
		if (in_len - pos < 2)
			return "the gzip header is truncated";
		pos += 2 + (size_t)(in[pos] | in[pos + 1] << 8);
	}
	if ((flags & GZ_FNAME) && !skip_string(in, in_len, &pos))
		return "the gzip header is truncated";
	if ((flags & GZ_FCOMMENT) && !skip_string(in, in_len, &pos))
		return "the gzip header is truncated";
	if (flags & GZ_FHCRC)
		pos += 2;
	if (pos > in_len)
		return "the gzip header is truncated";
	b = (struct bits){ in + pos, in_len - pos, 0, 0, 0, false };
	output_init(&o, out, out_cap, map);
	err = inflate_stream(&b, &o);
	if (err)
		return err;
	*out_len = o.len;
	pos += b.pos - b.count / 8;
	if (in_len - pos < GZ_TRAILER_LEN)
		return "the gzip trailer is missing";
	memcpy(&crc, in + pos, 4);
	memcpy(&isize, in + pos + 4, 4);
	if (crc != output_crc(&o))
		return "the CRC-32 does not match (damaged file)";
	if (isize != (uint32_t)*out_len)
		return "the size in the trailer does not match";
	/* RFC 1952 allows a series of members; the last trailer would size only the last one and
	 * a kernel would arrive cut: refuse rather than guess.  Other trailing bytes are ignored,
	 * as gzip does. */
	pos += GZ_TRAILER_LEN;
	if (gzip_detect(in + pos, in_len - pos))
		return "the file holds more than one gzip member (concatenated files)";
	return NULL;
}
