/*
 * log.h - console messages and the one way mbchain fails.
 *
 * Every error is one line "mbchain: error: <subsystem>: <what> (<value>)", then a line with a
 * hint, then the operator's failure policy (options.h: halt, or reboot after N seconds).
 * Quiet by default: log_info prints only in verbose mode; warnings always print.
 */
#ifndef MBCHAIN_LOG_H
#define MBCHAIN_LOG_H
#include <stdbool.h>

struct failure_policy {
	bool reboot; /* mbchain.onerror=reboot[:seconds] */
	unsigned reboot_seconds;
	unsigned exit_port; /* mbchain.exitport=: test harness only */
};

void log_set_verbose(bool verbose);
bool log_is_verbose(void);
void log_set_policy(const struct failure_policy *policy);

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print the error line and the hint, then apply the failure policy.  Never returns. */
_Noreturn void fail(const char *hint, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#endif
