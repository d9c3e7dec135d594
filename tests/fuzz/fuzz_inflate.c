/*
 * fuzz_inflate.c - inflate_raw and gzip_inflate (src/inflate.c) against zlib as the reference
 * decoder.  zlib is linked into this harness only (Debian zlib1g-dev); src/ never sees it.
 *
 * Input: one mode byte, then the stream.
 *   bit 0      0: a raw DEFLATE stream (inflate_raw; zlib with windowBits -15)
 *              1: a gzip file (gzip_inflate; zlib with windowBits 31)
 *   bits 1-2   out_cap: 0 exact (gzip: the trailer's size, as boot.c uses it; raw: zlib's
 *              output length), 1 smaller (exact - 1 - d), 2 larger (exact + 1 + 97 d),
 *              3 tiny (d bytes), where d = bits 3-7; every out_cap is clamped to FZ_MAX_OUT
 * The output goes to a heap buffer of out_cap bytes followed by GUARD bytes that are
 * ASan-poisoned during the call (a write there is reported at once) and checked afterwards.
 *
 * Oracles:
 *  - success: out_len <= out_cap; (raw) in_used <= in_len; crc32_update agrees with zlib's
 *    crc32 on the output, one-shot and split; when zlib succeeds too, the output, its length
 *    and (raw) the input consumed are identical.  When zlib refuses, the only accepted reasons
 *    are what inflate.c deliberately allows: an incomplete Huffman code (inflate.h: "an
 *    incomplete set is allowed") and an unchecked gzip header CRC (FHCRC);
 *  - failure: the text is one of inflate.c's; when zlib succeeds, the only accepted failure is
 *    "it inflates to more than expected" with zlib's output longer than out_cap;
 *  - determinism: a second call into a fresh buffer gives the same result, bytes and in_used.
 * With FUZZ_STRICT=1 also: when zlib ran out of input without finding an error, inflate.c must
 * say the stream (or header, or trailer) is truncated, or that the output is too large, rather
 * than blaming bits it read past the end (open finding: tests/fuzz/README.md, "inflate").
 */
#include <sanitizer/asan_interface.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "fuzz_common.h"
#include "inflate.h"

#define FZ_MAX_OUT (1u << 20)
#define GUARD 64
#define GUARD_BYTE 0xa5

static const char *const known_errors[] = {
	"the stream is truncated",
	"a literal/length code is invalid",
	"it inflates to more than expected",
	"a length code is invalid",
	"a distance code is invalid",
	"a distance points before the start",
	"a stored block's length check fails",
	"a dynamic block has too many codes",
	"a code-length code is over-subscribed",
	"a code-length code is invalid",
	"a repeat has nothing to repeat",
	"code lengths run past their count",
	"the block has no end-of-block code",
	"a code is over-subscribed",
	"a block has the reserved type 3",
	"not a gzip file with DEFLATE compression",
	"the gzip header has reserved flags set",
	"the gzip header is truncated",
	"the gzip trailer is missing",
	"the CRC-32 does not match (damaged file)",
	"the size in the trailer does not match",
	"the file holds more than one gzip member (concatenated files)",
};

/* zlib refuses these, inflate.c accepts them on purpose. */
static const char *const lenient[] = {
	"invalid code lengths set", /* an incomplete code-length code */
	"invalid literal/lengths set", /* an incomplete literal/length code */
	"invalid distances set", /* an incomplete distance code (other than one code of length 1) */
	"header crc mismatch", /* FHCRC is skipped, not checked */
};

static bool in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

struct ref {
	bool ok, too_big, incomplete; /* incomplete: zlib wants more input, no error seen */
	size_t len, used;
	const char *msg;
};

static uint8_t ref_out[FZ_MAX_OUT + 1];

static void reference(bool gz, const uint8_t *in, size_t len, struct ref *r)
{
	z_stream s;
	int rc;
	memset(&s, 0, sizeof(s));
	memset(r, 0, sizeof(*r));
	if (inflateInit2(&s, gz ? 31 : -15) != Z_OK)
		fz_bug("inflateInit2 failed");
	s.next_in = (Bytef *)(uintptr_t)in;
	s.avail_in = (uInt)len;
	s.next_out = ref_out;
	s.avail_out = sizeof(ref_out);
	rc = inflate(&s, Z_FINISH);
	r->ok = rc == Z_STREAM_END;
	r->len = s.total_out;
	r->used = s.total_in;
	r->too_big = !r->ok && s.avail_out == 0;
	r->incomplete = !r->ok && !r->too_big && (rc == Z_BUF_ERROR || rc == Z_OK);
	r->msg = s.msg ? s.msg : r->incomplete ? "(needs more input)" : r->too_big ? "(larger than the buffer)" : "(no message)";
	inflateEnd(&s);
}

struct run {
	const char *err;
	size_t out_len, used;
	uint8_t *buf;
};

static void run_ours(bool gz, const uint8_t *in, size_t len, size_t cap, struct run *r)
{
	r->buf = malloc(cap + GUARD);
	FZ_CHECK(r->buf != NULL);
	memset(r->buf + cap, GUARD_BYTE, GUARD);
	ASAN_POISON_MEMORY_REGION(r->buf + cap, GUARD);
	r->out_len = r->used = (size_t)-1;
	if (gz) {
		r->err = gzip_inflate(in, len, r->buf, cap, &r->out_len);
		r->used = 0;
	} else {
		r->err = inflate_raw(in, len, r->buf, cap, &r->out_len, &r->used);
	}
	ASAN_UNPOISON_MEMORY_REGION(r->buf + cap, GUARD);
	for (size_t i = 0; i < GUARD; i++)
		FZ_CHECKF(r->buf[cap + i] == GUARD_BYTE, "guard byte %zu past out_cap %zu written", i, cap);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int strict = -1;
	uint8_t mode;
	bool gz;
	size_t len, cap, exact, d;
	const uint8_t *in;
	struct ref ref;
	struct run a, b;
	if (strict < 0)
		strict = getenv("FUZZ_STRICT") != NULL;
	if (size < 1)
		return 0;
	mode = data[0];
	gz = mode & 1;
	d = mode >> 3;
	len = size - 1;
	/* the stream in its own heap block, so a read past it is an ASan report */
	uint8_t *copy = malloc(len ? len : 1);
	FZ_CHECK(copy != NULL);
	memcpy(copy, data + 1, len);
	in = copy;

	reference(gz, in, len, &ref);
	if (gz)
		exact = gzip_trailer_size(in, len);
	else
		exact = ref.too_big ? FZ_MAX_OUT : ref.len;
	if (exact > FZ_MAX_OUT)
		exact = FZ_MAX_OUT;
	switch ((mode >> 1) & 3) {
	case 0:
		cap = exact;
		break;
	case 1:
		cap = exact > 1 + d ? exact - 1 - d : 0;
		break;
	case 2:
		cap = exact + 1 + 97 * d;
		break;
	default:
		cap = d;
		break;
	}
	if (cap > FZ_MAX_OUT)
		cap = FZ_MAX_OUT;

	run_ours(gz, in, len, cap, &a);
	if (a.err) {
		FZ_CHECKF(in_list(a.err, known_errors, sizeof(known_errors) / sizeof(known_errors[0])),
			  "unknown error text \"%s\"", a.err);
		/* zlib's inflate stops after the first member; mbchain refuses a second one */
		if (ref.ok && strcmp(a.err, "the file holds more than one gzip member (concatenated files)") != 0)
			FZ_CHECKF(strcmp(a.err, "it inflates to more than expected") == 0 && ref.len > cap,
				  "%s: refused (\"%s\", out_cap %zu) a stream zlib inflates to %zu bytes", gz ? "gzip" : "raw",
				  a.err, cap, ref.len);
		if (strict && ref.incomplete) {
			bool ok = strcmp(a.err, "the stream is truncated") == 0 ||
				  strcmp(a.err, "it inflates to more than expected") == 0 ||
				  strcmp(a.err, "the gzip header is truncated") == 0 ||
				  strcmp(a.err, "the gzip trailer is missing") == 0 ||
				  (len < 10 && strcmp(a.err, "not a gzip file with DEFLATE compression") == 0);
			FZ_CHECKF(ok, "%s: zlib ran out of input after %zu bytes without an error; inflate.c says \"%s\"",
				  gz ? "gzip" : "raw", ref.used, a.err);
		}
	} else {
		FZ_CHECKF(a.out_len <= cap, "out_len %zu > out_cap %zu", a.out_len, cap);
		if (!gz)
			FZ_CHECKF(a.used <= len, "in_used %zu > in_len %zu", a.used, len);
		uint32_t c = crc32_update(0, a.buf, a.out_len);
		FZ_CHECKF(c == (uint32_t)crc32(0, a.buf, (uInt)a.out_len), "crc32_update 0x%08x, zlib 0x%08lx", c,
			  crc32(0, a.buf, (uInt)a.out_len));
		size_t half = a.out_len / 2;
		FZ_CHECK(crc32_update(crc32_update(0, a.buf, half), a.buf + half, a.out_len - half) == c);
		if (ref.ok) {
			FZ_CHECKF(a.out_len == ref.len, "%s: out_len %zu, zlib %zu", gz ? "gzip" : "raw", a.out_len, ref.len);
			for (size_t i = 0; i < a.out_len; i++)
				FZ_CHECKF(a.buf[i] == ref_out[i], "output byte %zu: 0x%02x, zlib 0x%02x", i, a.buf[i], ref_out[i]);
			if (!gz)
				FZ_CHECKF(a.used == ref.used, "in_used %zu, zlib took %zu", a.used, ref.used);
		} else {
			FZ_CHECKF(!ref.too_big, "%s: inflated %zu bytes, zlib produced more than %u", gz ? "gzip" : "raw",
				  a.out_len, FZ_MAX_OUT);
			FZ_CHECKF(in_list(ref.msg, lenient, sizeof(lenient) / sizeof(lenient[0])),
				  "%s: accepted (%zu bytes) a stream zlib refuses: \"%s\"", gz ? "gzip" : "raw", a.out_len, ref.msg);
		}
	}

	/* determinism */
	run_ours(gz, in, len, cap, &b);
	FZ_CHECKF((a.err == NULL) == (b.err == NULL) && (!a.err || strcmp(a.err, b.err) == 0),
		  "second run: \"%s\", first \"%s\"", b.err ? b.err : "(ok)", a.err ? a.err : "(ok)");
	if (!a.err) {
		FZ_CHECK(a.out_len == b.out_len && a.used == b.used);
		FZ_CHECK(memcmp(a.buf, b.buf, a.out_len) == 0);
	}
	free(a.buf);
	free(b.buf);
	free(copy);
	return 0;
}
