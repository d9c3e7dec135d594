/*
 * test_util.c - util.c and fmt.c.
 */
#include <inttypes.h>
#include <stdio.h>
#include "fmt.h"
#include "test.h"
#include "util.h"

static bool parse(const char *s, uint64_t *v)
{
	*v = 0xdeadbeef;
	return parse_u64(s, strlen(s), v);
}

TEST(parse_u64_decimal)
{
	uint64_t v;
	CHECK(parse("0", &v));
	CHECK_EQ(v, 0);
	CHECK(parse("115200", &v));
	CHECK_EQ(v, 115200);
	CHECK(parse("18446744073709551615", &v));
	CHECK_EQ(v, UINT64_MAX);
	CHECK(parse("000123", &v));
	CHECK_EQ(v, 123);
	/* only the given length counts */
	CHECK(parse_u64("12345", 3, &v));
	CHECK_EQ(v, 123);
}

TEST(parse_u64_hex)
{
	uint64_t v;
	CHECK(parse("0x3f8", &v));
	CHECK_EQ(v, 0x3f8);
	CHECK(parse("0X3F8", &v));
	CHECK_EQ(v, 0x3f8);
	CHECK(parse("0xffffffffffffffff", &v));
	CHECK_EQ(v, UINT64_MAX);
	CHECK(parse("0x0000000000000000001", &v));
	CHECK_EQ(v, 1);
}

TEST(parse_u64_overflow)
{
	uint64_t v;
	CHECK(!parse("18446744073709551616", &v));
	CHECK(!parse("18446744073709551620", &v));
	CHECK(!parse("99999999999999999999", &v));
	CHECK(!parse("0x10000000000000000", &v));
	CHECK(!parse("0x1ffffffffffffffff", &v));
	CHECK_EQ(v, 0xdeadbeef); /* untouched on failure */
}

TEST(parse_u64_junk)
{
	uint64_t v;
	CHECK(!parse("", &v));
	CHECK(!parse("0x", &v));
	CHECK(!parse("12a", &v));
	CHECK(!parse("0x12g", &v));
	CHECK(!parse("-1", &v));
	CHECK(!parse(" 1", &v));
	CHECK(!parse("1 ", &v));
	CHECK(!parse("+5", &v));
	CHECK(!parse("ff", &v));
	CHECK_EQ(v, 0xdeadbeef);
}

TEST(align_up_u64_values_and_wrap)
{
	uint64_t r = 7;
	CHECK(align_up_u64(0, 4096, &r));
	CHECK_EQ(r, 0);
	CHECK(align_up_u64(1, 4096, &r));
	CHECK_EQ(r, 4096);
	CHECK(align_up_u64(4096, 4096, &r));
	CHECK_EQ(r, 4096);
	CHECK(align_up_u64(0x102203, 4, &r));
	CHECK_EQ(r, 0x102204);
	CHECK(align_up_u64(UINT64_MAX, 1, &r));
	CHECK_EQ(r, UINT64_MAX);
	CHECK(align_up_u64(0xfffffffffffff000ull, 4096, &r));
	CHECK_EQ(r, 0xfffffffffffff000ull);
	r = 7;
	CHECK(!align_up_u64(0xfffffffffffff001ull, 4096, &r));
	CHECK(!align_up_u64(UINT64_MAX, 8, &r));
	CHECK(!align_up_u64(UINT64_MAX - 2, 4, &r));
	CHECK_EQ(r, 7);
	CHECK_EQ(align_down_u64(0x9fc00, 4096), 0x9f000);
}

TEST(util_strings)
{
	char buf[8];
	CHECK(str_copy(buf, sizeof(buf), "abc", 100));
	CHECK_STR(buf, "abc");
	CHECK(str_copy(buf, sizeof(buf), "1234567", 100));
	CHECK_STR(buf, "1234567");
	CHECK(!str_copy(buf, sizeof(buf), "12345678", 100));
	CHECK_STR(buf, "1234567");
	CHECK(str_copy(buf, sizeof(buf), "abcdef", 2));
	CHECK_STR(buf, "ab");
	CHECK_EQ(str_len_max("hello", 3), 3);
	CHECK_EQ(str_len_max("hi", 3), 2);
	CHECK(str_starts_with("mbchain.os=x", "mbchain."));
	CHECK(!str_starts_with("mbcha", "mbchain."));
	CHECK_EQ(strchr_index("a=b", '='), 1);
	CHECK_EQ(strchr_index("ab", '='), (unsigned long long)-1);
	CHECK_STR(path_basename("/boot/netbsd"), "netbsd");
	CHECK_STR(path_basename("netbsd"), "netbsd");
	CHECK_STR(path_basename("/boot/"), "");
	CHECK(ranges_overlap(0, 10, 9, 1));
	CHECK(!ranges_overlap(0, 10, 10, 1));
	CHECK(!ranges_overlap(5, 0, 0, 10));
}

static const char *f(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *f(const char *fmt, ...)
{
	static char buf[256];
	va_list ap;
	va_start(ap, fmt);
	fmt_vformat(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return buf;
}

TEST(fmt_integers)
{
	CHECK_STR(f("%d", 0), "0");
	CHECK_STR(f("%d", -42), "-42");
	CHECK_STR(f("%d", INT32_MIN), "-2147483648");
	CHECK_STR(f("%u", 4294967295u), "4294967295");
	CHECK_STR(f("%x", 0xdeadbeefu), "deadbeef");
	CHECK_STR(f("%X", 0xdeadbeefu), "DEADBEEF");
	CHECK_STR(f("%08x", 0x2badb002u), "2badb002");
	CHECK_STR(f("%08x", 0x1fu), "0000001f");
	CHECK_STR(f("%2u", 7u), " 7");
	CHECK_STR(f("%llx", 0x123456789abcdef0ull), "123456789abcdef0");
	CHECK_STR(f("%08llx", 0x1000ull), "00001000");
	CHECK_STR(f("%llu", (unsigned long long)UINT64_MAX), "18446744073709551615");
	CHECK_STR(f("%lld", (long long)INT64_MIN), "-9223372036854775808");
	CHECK_STR(f("%lu", 123456ul), "123456");
	CHECK_STR(f("%c%c", 'o', 'k'), "ok");
	CHECK_STR(f("100%%"), "100%");
}

TEST(fmt_strings)
{
	CHECK_STR(f("%s", "pc"), "pc");
	CHECK_STR(f("[%-10s]", "ksyms"), "[ksyms     ]");
	CHECK_STR(f("[%10s]", "ksyms"), "[     ksyms]");
	CHECK_STR(f("[%-3s]", "toolong"), "[toolong]");
	const char *volatile null_str = NULL;
	CHECK_STR(f("%s", null_str), "(null)");
	CHECK_STR(f("a%sb", ""), "ab");
}

/* fmt.h promises '0' padding with a width: for a negative number the sign goes first. */
TEST(fmt_negative_zero_padded)
{
	CHECK_STR(f("%05d", -5), "-0005");
}

TEST(fmt_truncation)
{
	char buf[6];
	size_t n = fmt_format(buf, sizeof(buf), "%s", "abcdefgh");
	CHECK_EQ(n, 5);
	CHECK_STR(buf, "abcde");
	n = fmt_format(buf, sizeof(buf), "%u", 12345678u);
	CHECK_EQ(n, 5);
	CHECK_STR(buf, "12345");
	buf[0] = 'x';
	n = fmt_format(buf, 1, "abc");
	CHECK_EQ(n, 0);
	CHECK_EQ(buf[0], 0);
}

/* div10 without 64-bit division: compare with the C library over many values. */
TEST(fmt_decimal_matches_libc)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	char want[32];
	for (unsigned i = 0; i < 20000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		uint64_t v = x >> (i % 64);
		snprintf(want, sizeof(want), "%" PRIu64, v);
		CHECK_STR(f("%llu", (unsigned long long)v), want);
	}
	for (uint64_t v = 0; v < 2000; v++) {
		snprintf(want, sizeof(want), "%" PRIu64, v);
		CHECK_STR(f("%llu", (unsigned long long)v), want);
		snprintf(want, sizeof(want), "%" PRIu64, UINT64_MAX - v);
		CHECK_STR(f("%llu", (unsigned long long)(UINT64_MAX - v)), want);
	}
}
