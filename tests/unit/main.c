/*
 * main.c - runs every registered test (see test.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "test.h"

#define MAX_TESTS 512

static struct {
	const char *name;
	test_fn fn;
} tests[MAX_TESTS];
static unsigned test_count;
static jmp_buf test_jmp;
static char detail[4096];

void test_register(const char *name, test_fn fn)
{
	if (test_count == MAX_TESTS) {
		fprintf(stderr, "too many tests\n");
		exit(2);
	}
	tests[test_count].name = name;
	tests[test_count].fn = fn;
	test_count++;
}

_Noreturn void test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(detail, sizeof(detail), "%s:%d: ", file, line);
	va_start(ap, fmt);
	vsnprintf(detail + n, sizeof(detail) - (size_t)n, fmt, ap);
	va_end(ap);
	longjmp(test_jmp, 1);
}

const char *outcome_name(int outcome)
{
	switch (outcome) {
	case HOST_RETURNED:
		return "RETURNED";
	case HOST_FAILED:
		return "FAILED";
	case HOST_ENTERED:
		return "ENTERED";
	}
	return "?";
}

const char *console_tail(void)
{
	static char tail[1024];
	const char *t = host_console_text();
	size_t len = strlen(t);
	const char *start = len > 600 ? t + len - 600 : t;
	size_t j = 0;
	for (; *start && j + 3 < sizeof(tail); start++) {
		if (*start == '\n')
			tail[j++] = '\\', tail[j++] = 'n';
		else
			tail[j++] = *start;
	}
	tail[j] = 0;
	return tail;
}

void check_mem(const char *file, int line, const char *what, const void *got, const void *expected, size_t len)
{
	const uint8_t *g = got, *e = expected;
	for (size_t i = 0; i < len; i++)
		if (g[i] != e[i])
			test_fail(file, line, "%s: %zu bytes differ first at offset %zu: expected 0x%02x, got 0x%02x", what,
				  len, i, e[i], g[i]);
}

void check_outcome(const char *file, int line, int got, int expected)
{
	if (got != expected)
		test_fail(file, line, "outcome: expected %s, got %s; console: \"%s\"", outcome_name(expected),
			  outcome_name(got), console_tail());
}

void check_fails_with(const char *file, int line, int outcome, const char *prefix)
{
	const char *text = host_console_text();
	check_outcome(file, line, outcome, HOST_FAILED);
	/* The error line is the first "mbchain: error:" line (warnings may precede it). */
	const char *err = strstr(text, "mbchain: error: ");
	if (!err || strncmp(err, prefix, strlen(prefix)) != 0)
		test_fail(file, line, "error line: expected to start with \"%s\", console: \"%s\"", prefix, console_tail());
}

static bool run_one(test_fn fn)
{
	host_reset_all();
	if (setjmp(test_jmp) != 0)
		return false;
	fn();
	return true;
}

int main(int argc, char **argv)
{
	unsigned passed = 0, failed = 0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (unsigned i = 0; i < test_count; i++) {
		if (argc > 1 && !strstr(tests[i].name, argv[1]))
			continue;
		if (run_one(tests[i].fn)) {
			printf("ok %s\n", tests[i].name);
			passed++;
		} else {
			printf("FAIL %s: %s\n", tests[i].name, detail);
			failed++;
		}
	}
	printf("unit: %u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
