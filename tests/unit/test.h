/*
 * test.h - a tiny harness.  TEST(name) { ... } defines and registers a test; the CHECK macros
 * stop the test at the first failure with a detail holding the exact expected and actual values.
 * main.c runs every test (fresh simulated RAM each time) and prints "ok name" or
 * "FAIL name: detail", then "unit: N passed, M failed".
 */
#ifndef MBCHAIN_TEST_TEST_H
#define MBCHAIN_TEST_TEST_H
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "host.h"

typedef void (*test_fn)(void);
void test_register(const char *name, test_fn fn);
_Noreturn void test_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
const char *outcome_name(int outcome);
/* Console text shortened to its last lines, for failure details. */
const char *console_tail(void);

#define TEST(name)                                                                  \
	static void test_##name(void);                                              \
	__attribute__((constructor)) static void register_##name(void)              \
	{                                                                           \
		test_register(#name, test_##name);                                  \
	}                                                                           \
	static void test_##name(void)

#define CHECK(cond)                                                                 \
	do {                                                                        \
		if (!(cond))                                                        \
			test_fail(__FILE__, __LINE__, "%s is false", #cond);        \
	} while (0)

#define CHECK_MSG(cond, ...)                                                        \
	do {                                                                        \
		if (!(cond))                                                        \
			test_fail(__FILE__, __LINE__, __VA_ARGS__);                 \
	} while (0)

#define CHECK_EQ(got, expected)                                                                             \
	do {                                                                                                \
		unsigned long long got_ = (unsigned long long)(got), exp_ = (unsigned long long)(expected); \
		if (got_ != exp_)                                                                           \
			test_fail(__FILE__, __LINE__, "%s: expected 0x%llx (%llu), got 0x%llx (%llu)", #got, \
				  exp_, exp_, got_, got_);                                          \
	} while (0)

#define CHECK_STR(got, expected)                                                                      \
	do {                                                                                          \
		const char *gs_ = (got), *es_ = (expected);                                           \
		if (!gs_ || strcmp(gs_, es_) != 0)                                                    \
			test_fail(__FILE__, __LINE__, "%s: expected \"%s\", got \"%s\"", #got, es_,   \
				  gs_ ? gs_ : "(null)");                                              \
	} while (0)

#define CHECK_CONTAINS(hay, needle)                                                                    \
	do {                                                                                           \
		const char *h_ = (hay), *n_ = (needle);                                                \
		if (!strstr(h_, n_))                                                                   \
			test_fail(__FILE__, __LINE__, "%s: expected to contain \"%s\", got \"%s\"", #hay, \
				  n_, h_);                                                             \
	} while (0)

void check_mem(const char *file, int line, const char *what, const void *got, const void *expected, size_t len);
#define CHECK_MEM(got, expected, len) check_mem(__FILE__, __LINE__, #got, (got), (expected), (len))

/* Run fn(arg) under host_run and insist on an outcome. */
void check_outcome(const char *file, int line, int got, int expected);
#define CHECK_OUTCOME(got, expected) check_outcome(__FILE__, __LINE__, (got), (expected))

/* The stage failed, and its first console line starts with `prefix`. */
void check_fails_with(const char *file, int line, int outcome, const char *prefix);
#define CHECK_FAILS_WITH(outcome, prefix) check_fails_with(__FILE__, __LINE__, (outcome), (prefix))
#endif
