/*
 * fuzz_options.c - options_early, options_parse, options_parse_module and the howto tables on
 * fuzzed strings.  Input: u8 loader choice, u8 module count (mod 5), then NUL-separated strings:
 * mbchain's command line, then each module's string (truncated to the boot_request's sizes, as
 * mis.c would).  Loader choice 0-3 picks "GRUB 2.06", "qemu", "" or "kexec"; 4 and up take the
 * next string as the loader name.
 */
#include <stdlib.h>
#include <string.h>
#include "freebsd.h"
#include "fuzz_common.h"
#include "log.h"
#include "netbsd.h"
#include "options.h"
#include "util.h"

static struct boot_request req;
static struct options opts;
static struct module_options mo;
static struct failure_policy early;
static bool early_verbose;
static uint32_t mod_index;

static void run_early(void *arg)
{
	(void)arg;
	options_early(req.cmdline, &early, &early_verbose);
}

static void run_parse(void *arg)
{
	(void)arg;
	options_parse(&req, &opts);
}

static void run_module(void *arg)
{
	(void)arg;
	options_parse_module(req.modules[mod_index].string, req.loader_name, &mo);
}

static const char *next_string(struct fz_in *in)
{
	const char *s = (const char *)in->p + in->pos;
	const char *end = memchr(s, 0, in->len - in->pos);
	in->pos = end ? (size_t)(end - (const char *)in->p) + 1 : in->len;
	return s;
}

/* Copy the string at s (ending at the first NUL or at `limit`) into dst (cap bytes). */
static void take(char *dst, size_t cap, const char *s, const char *limit)
{
	size_t n = 0;
	while (s + n < limit && s[n] && n + 1 < cap)
		n++;
	memcpy(dst, s, n);
	dst[n] = 0;
}

static void check_text(const char *s, size_t cap, const char *what)
{
	FZ_CHECKF(memchr(s, 0, cap) != NULL, "%s is not NUL-terminated", what);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const loaders[] = { "GRUB 2.06", "qemu", "", "kexec" };
	struct fz_in in = { data, size, 0 };
	const char *limit = (const char *)data + size;
	uint8_t loader, mods;
	if (!host_ram())
		fz_ram(0x10000);
	fz_reset();
	memset(&req, 0, sizeof(req));
	loader = fz_u8(&in);
	mods = fz_u8(&in) % 5;
	if (loader < 4)
		strcpy(req.loader_name, loaders[loader]);
	else
		take(req.loader_name, sizeof(req.loader_name), next_string(&in), limit);
	take(req.cmdline, sizeof(req.cmdline), next_string(&in), limit);
	req.module_count = mods;
	for (uint32_t i = 0; i < mods; i++)
		take(req.modules[i].string, sizeof(req.modules[i].string), next_string(&in), limit);
	log_set_verbose(loader & 0x80);

	int early_r = fz_run(run_early, NULL);
	int parse_r = fz_run(run_parse, NULL);
	if (parse_r == HOST_RETURNED) {
		size_t nflags = strlen(opts.flags);
		FZ_CHECK(nflags < sizeof(opts.flags));
		for (size_t i = 0; i < nflags; i++)
			FZ_CHECKF(strchr(opts.flags + i + 1, opts.flags[i]) == NULL, "flag %c twice", opts.flags[i]);
		check_text(opts.root, sizeof(opts.root), "root");
		check_text(opts.console, sizeof(opts.console), "console");
		check_text(opts.name, sizeof(opts.name), "name");
		check_text(opts.kernel_path, sizeof(opts.kernel_path), "kernel path");
		FZ_CHECK(opts.userconf_count <= OPT_MAX_USERCONF);
		for (uint32_t i = 0; i < opts.userconf_count; i++)
			check_text(opts.userconf[i], OPT_TEXT_MAX, "userconf");
		FZ_CHECK(opts.var_count <= OPT_MAX_VARS);
		for (uint32_t i = 0; i < opts.var_count; i++) {
			check_text(opts.vars[i].key, OPT_KEY_MAX, "key");
			check_text(opts.vars[i].value, OPT_VALUE_MAX, "value");
			for (uint32_t j = 0; j < i; j++)
				FZ_CHECKF(strcmp(opts.vars[i].key, opts.vars[j].key) != 0, "key %s kept twice", opts.vars[i].key);
			FZ_CHECK(options_var(&opts, opts.vars[i].key) == opts.vars[i].value);
			FZ_CHECK(!opts.vars[i].bare || opts.vars[i].value[0] == 0);
		}
		FZ_CHECK(opts.kernel_module < BOOT_MAX_MODULES);
		FZ_CHECK(opts.policy.reboot_seconds <= 3600 && opts.policy.exit_port <= 0xffff);
		FZ_CHECK(!opts.has_console_addr || opts.console_addr <= 0xffff);
		FZ_CHECK(!opts.has_root || strlen(opts.root) <= 15);
		/* root= is both a NetBSD field and a kept var: both hold the last value given (a later
		 * bare "root" word makes the var "1"-ish for FreeBSD but leaves the field: not checked) */
		for (uint32_t i = 0; i < opts.var_count; i++)
			if (opts.has_root && strcmp(opts.vars[i].key, "root") == 0 && !opts.vars[i].bare)
				FZ_CHECK(strcmp(opts.vars[i].value, opts.root) == 0);
		/* Without the kernel module's string, the early pass saw the same failure policy. */
		if (early_r == HOST_RETURNED && opts.kernel_module >= req.module_count)
			FZ_CHECKF(early.reboot == opts.policy.reboot && early.reboot_seconds == opts.policy.reboot_seconds &&
					  early.exit_port == opts.policy.exit_port,
				  "options_early and options_parse disagree on the failure policy (%d/%u/%u vs %d/%u/%u)",
				  early.reboot, early.reboot_seconds, early.exit_port, opts.policy.reboot,
				  opts.policy.reboot_seconds, opts.policy.exit_port);
		netbsd_howto(opts.flags);
		freebsd_howto(opts.flags);
	}
	for (mod_index = 0; mod_index < mods; mod_index++) {
		if (fz_run(run_module, NULL) != HOST_RETURNED)
			continue;
		const char *s = req.modules[mod_index].string;
		FZ_CHECK(mo.args >= s && mo.args <= s + strlen(s));
		check_text(mo.path, sizeof(mo.path), "module path");
		check_text(mo.type, sizeof(mo.type), "module type");
		check_text(mo.name, sizeof(mo.name), "module name");
	}
	return 0;
}
