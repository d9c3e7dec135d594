/*
 * log.c - see log.h.  Called by every stage; writes through platform.h's console.
 */
#include "log.h"
#include "fmt.h"
#include "platform.h"
#include "util.h"

static bool verbose;
static struct failure_policy policy;

void log_set_verbose(bool on) { verbose = on; }
bool log_is_verbose(void) { return verbose; }
void log_set_policy(const struct failure_policy *p) { policy = *p; }

static void log_line(const char *prefix, const char *fmt, va_list ap)
{
	char line[256];
	size_t n = fmt_format(line, sizeof(line), "%s", prefix);
	n += fmt_vformat(line + n, sizeof(line) - n, fmt, ap);
	if (n + 1 < sizeof(line))
		line[n++] = '\n';
	else
		line[sizeof(line) - 2] = '\n', n = sizeof(line) - 1;
	console_write(line, n);
}

void log_info(const char *fmt, ...)
{
	if (!verbose)
		return;
	va_list ap;
	va_start(ap, fmt);
	log_line("mbchain: ", fmt, ap);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_line("mbchain: warning: ", fmt, ap);
	va_end(ap);
}

_Noreturn void fail(const char *hint, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_line("mbchain: error: ", fmt, ap);
	va_end(ap);
	if (hint) {
		static const char sep[] = "mbchain: hint: ";
		console_write(sep, sizeof(sep) - 1);
		console_write(hint, strlen(hint));
		console_write("\n", 1);
	}
	if (policy.reboot) {
		char line[64];
		size_t n = fmt_format(line, sizeof(line), "mbchain: rebooting in %u s\n", policy.reboot_seconds);
		console_write(line, n);
	} else {
		static const char halted[] = "mbchain: halted\n";
		console_write(halted, sizeof(halted) - 1);
	}
	platform_stop(policy.reboot, policy.reboot_seconds, policy.exit_port);
}
