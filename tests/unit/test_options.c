/*
 * test_options.c - options_parse, options_early_policy, options_parse_module.
 */
#include <stdlib.h>
#include "options.h"
#include "test.h"
#include "util.h"

static struct boot_request req;
static struct options opts;

static void run_parse(void *arg)
{
	(void)arg;
	options_parse(&req, &opts);
}

/* Parse `cmdline` (and, when kernel_string is not NULL, one kernel module with that string). */
static int parse_with(const char *loader, const char *cmdline, const char *kernel_string)
{
	memset(&req, 0, sizeof(req));
	memset(&opts, 0xA5, sizeof(opts));
	strcpy(req.loader_name, loader);
	strcpy(req.cmdline, cmdline);
	if (kernel_string) {
		req.module_count = 1;
		req.modules[0].start_pa = 0x200000;
		req.modules[0].len = 0x1000;
		strcpy(req.modules[0].string, kernel_string);
	}
	host_console_clear();
	return host_run(run_parse, NULL);
}

static void parse_ok(const char *loader, const char *cmdline, const char *kernel_string)
{
	int r = parse_with(loader, cmdline, kernel_string);
	CHECK_OUTCOME(r, HOST_RETURNED);
}

TEST(options_defaults)
{
	parse_ok("GRUB 2.06", "", NULL);
	CHECK_STR(opts.flags, "");
	CHECK(!opts.has_root);
	CHECK(!opts.has_console);
	CHECK_STR(opts.console, "");
	CHECK(!opts.has_console_addr);
	CHECK(!opts.has_console_speed);
	CHECK(!opts.has_name);
	CHECK_EQ(opts.userconf_count, 0);
	CHECK(!opts.verbose);
	CHECK_EQ(opts.os, OS_AUTO);
	CHECK_EQ(opts.kernel_module, 0);
	CHECK(!opts.policy.reboot);
	CHECK_EQ(opts.policy.reboot_seconds, 0);
	CHECK_EQ(opts.policy.exit_port, 0);
	CHECK_STR(opts.kernel_path, "");
	CHECK_EQ(opts.var_count, 0);
}

TEST(options_flags)
{
	parse_ok("GRUB 2.06", "-s", NULL);
	CHECK_STR(opts.flags, "s");
	parse_ok("GRUB 2.06", "-sv -1 -2 -3 -4", NULL);
	CHECK_STR(opts.flags, "sv1234");
	parse_ok("GRUB 2.06", "-s -s -vs", NULL);
	CHECK_STR(opts.flags, "sv");
	/* "-" alone and "-a-b" are not flag words: kept as bare vars */
	parse_ok("GRUB 2.06", "- -a-b", NULL);
	CHECK_STR(opts.flags, "");
	CHECK_EQ(opts.var_count, 2);
	CHECK_STR(opts.vars[0].key, "-");
	CHECK(opts.vars[0].bare);
	CHECK_STR(opts.vars[1].key, "-a-b");
}

TEST(options_flags_add_up_across_strings)
{
	parse_ok("GRUB 2.06", "-s -a", "-vs -d");
	CHECK_STR(opts.flags, "savd");
}

TEST(options_root_console_name_userconf)
{
	parse_ok("GRUB 2.06", "root=wd0a console=com console_addr=0x2f8 console_speed=9600 name=/netbsd.gen "
			      "userconf=disable_ahcisata* userconf=\"enable foo\"",
		 NULL);
	CHECK(opts.has_root);
	CHECK_STR(opts.root, "wd0a");
	CHECK(opts.has_console);
	CHECK_STR(opts.console, "com");
	CHECK(opts.has_console_addr);
	CHECK_EQ(opts.console_addr, 0x2f8);
	CHECK(opts.has_console_speed);
	CHECK_EQ(opts.console_speed, 9600);
	CHECK(opts.has_name);
	CHECK_STR(opts.name, "/netbsd.gen");
	CHECK_EQ(opts.userconf_count, 2);
	CHECK_STR(opts.userconf[0], "disable_ahcisata*");
	CHECK_STR(opts.userconf[1], "enable foo");
	/* every word but ours is also kept in order, for targets that pass them all (kenv) */
	CHECK_EQ(opts.var_count, 6);
	CHECK_STR(opts.vars[0].key, "root");
	CHECK_STR(opts.vars[0].value, "wd0a");
	CHECK_STR(opts.vars[4].key, "name");
	CHECK_STR(opts.vars[5].key, "userconf");
	CHECK_STR(opts.vars[5].value, "enable foo"); /* the later userconf= */
}

TEST(options_console_text)
{
	/* options keep console= as given; the target checks it (netbsd_console_* tests) */
	parse_ok("GRUB 2.06", "console=pc", NULL);
	CHECK(opts.has_console);
	CHECK_STR(opts.console, "pc");
	parse_ok("GRUB 2.06", "console=com0", NULL);
	CHECK_STR(opts.console, "com0");
	parse_ok("GRUB 2.06", "console=nullcons", NULL);
	CHECK_STR(opts.console, "nullcons");
	parse_ok("GRUB 2.06", "console=bad", NULL);
	CHECK_STR(opts.console, "bad");
	CHECK_FAILS_WITH(parse_with("GRUB 2.06", "console=0123456789abcdef0123456789abcdef", NULL),
			 "mbchain: error: options: console= is longer than 31 characters (0123456789abcdef0123456789abcdef)\n");
	CHECK_CONTAINS(host_console_text(), "mbchain: hint: see the option reference in mbchain's README\n");
	CHECK_CONTAINS(host_console_text(), "mbchain: halted\n");
}

TEST(options_console_numbers)
{
	parse_ok("GRUB 2.06", "console_addr=1016 console_speed=115200", NULL);
	CHECK_EQ(opts.console_addr, 1016);
	CHECK_EQ(opts.console_speed, 115200);
	parse_ok("GRUB 2.06", "console_addr=0xffff console_speed=4000000", NULL);
	CHECK_EQ(opts.console_addr, 0xffff);
	CHECK_EQ(opts.console_speed, 4000000);
	CHECK_FAILS_WITH(parse_with("GRUB 2.06", "console_addr=0x10000", NULL),
			 "mbchain: error: options: console_addr=0x10000 is not a number up to 65535\n");
	CHECK_FAILS_WITH(parse_with("GRUB 2.06", "console_speed=fast", NULL),
			 "mbchain: error: options: console_speed=fast is not a number up to 4000000\n");
	CHECK_FAILS_WITH(parse_with("GRUB 2.06", "console_addr=", NULL),
			 "mbchain: error: options: console_addr= is not a number up to 65535\n");
}

TEST(options_mbchain_keys)
{
	parse_ok("GRUB 2.06", "mbchain.verbose mbchain.os=netbsd mbchain.kernel=1 mbchain.exitport=0xf4", NULL);
	CHECK(opts.verbose);
	CHECK_EQ(opts.os, OS_NETBSD);
	CHECK_EQ(opts.kernel_module, 1);
	CHECK_EQ(opts.policy.exit_port, 0xf4);
	CHECK_EQ(opts.var_count, 0);
	parse_ok("GRUB 2.06", "mbchain.verbose mbchain.verbose=0", NULL);
	CHECK(!opts.verbose);
	parse_ok("GRUB 2.06", "mbchain.verbose=1 mbchain.os=freebsd", NULL);
	CHECK(opts.verbose);
	CHECK_EQ(opts.os, OS_FREEBSD);
	parse_ok("GRUB 2.06", "mbchain.os=multiboot", NULL);
	CHECK_EQ(opts.os, OS_MULTIBOOT);
	CHECK_FAILS_WITH(parse_with("GRUB 2.06", "mbchain.os=linux", NULL),
			 "mbchain: error: options: mbchain.os=linux (expected netbsd, freebsd or multiboot)\n");
	CHECK_FAILS_WITH(parse_with("GRUB 2.06", "mbchain.x=1", NULL),
			 "mbchain: error: options: unknown mbchain key (mbchain.x)\n");
	CHECK_FAILS_WITH(parse_with("GRUB 2.06", "mbchain.verbos", NULL),
			 "mbchain: error: options: unknown mbchain key (mbchain.verbos)\n");
	CHECK_FAILS_WITH(parse_with("GRUB 2.06", "mbchain.kernel=64", NULL),
			 "mbchain: error: options: mbchain.kernel=64 is not a number up to 63\n");
	CHECK_FAILS_WITH(parse_with("GRUB 2.06", "mbchain.exitport=0x10000", NULL),
			 "mbchain: error: options: mbchain.exitport=0x10000 is not a number up to 65535\n");
}

TEST(options_onerror)
{
	parse_ok("GRUB 2.06", "mbchain.onerror=reboot", NULL);
	CHECK(opts.policy.reboot);
	CHECK_EQ(opts.policy.reboot_seconds, 0);
	parse_ok("GRUB 2.06", "mbchain.onerror=reboot:5", NULL);
	CHECK(opts.policy.reboot);
	CHECK_EQ(opts.policy.reboot_seconds, 5);
	parse_ok("GRUB 2.06", "mbchain.onerror=reboot:5 mbchain.onerror=halt", NULL);
	CHECK(!opts.policy.reboot);
	CHECK_FAILS_WITH(parse_with("GRUB 2.06", "mbchain.onerror=bad", NULL),
			 "mbchain: error: options: mbchain.onerror=bad (expected halt or reboot[:seconds])\n");
	CHECK_FAILS_WITH(parse_with("GRUB 2.06", "mbchain.onerror=rebooty", NULL),
			 "mbchain: error: options: mbchain.onerror=rebooty (expected halt or reboot[:seconds])\n");
	CHECK_FAILS_WITH(parse_with("GRUB 2.06", "mbchain.onerror=reboot:3601", NULL),
			 "mbchain: error: options: mbchain.onerror=reboot:");
	CHECK_CONTAINS(host_console_text(), "3601 is not a number up to 3600\n");
}

TEST(options_vars_kept_later_wins)
{
	parse_ok("GRUB 2.06", "foo=1 bar boot_verbose=yes foo=2", "foo=3 baz=\"a b\"");
	CHECK_EQ(opts.var_count, 4);
	CHECK_STR(opts.vars[0].key, "foo");
	CHECK_STR(opts.vars[0].value, "3");
	CHECK(!opts.vars[0].bare);
	CHECK_STR(opts.vars[1].key, "bar");
	CHECK_STR(opts.vars[1].value, "");
	CHECK(opts.vars[1].bare);
	CHECK_STR(options_var(&opts, "boot_verbose"), "yes");
	CHECK_STR(options_var(&opts, "baz"), "a b");
	CHECK(options_var(&opts, "nope") == NULL);
}

TEST(options_quoted_values)
{
	parse_ok("GRUB 2.06", "key=\"a b\"  \"x y\"=z name=\"/my kernel\"", NULL);
	CHECK_STR(options_var(&opts, "key"), "a b");
	CHECK_STR(options_var(&opts, "x y"), "z");
	CHECK_STR(opts.name, "/my kernel");
}

/* GRUB 2 (grub_create_loader_cmdline) writes a backslash before ", ' and \ in the words it
 * passes: the backslash keeps the next character, quotes included. */
TEST(options_backslash_escapes)
{
	parse_ok("GRUB 2.06", "userconf=it\\'s a=\\\"q\\\" b=c\\\\d \"e=f g\"", NULL);
	CHECK_STR(opts.userconf[0], "it's");
	CHECK_STR(options_var(&opts, "a"), "\"q\"");
	CHECK_STR(options_var(&opts, "b"), "c\\d");
	CHECK_STR(options_var(&opts, "e"), "f g");
}

/* Which module is the kernel is mbchain's choice: the kernel's own string cannot move it
 * (found by the options fuzzer: the full pass then disagreed with the early one). */
TEST(options_kernel_index_only_on_own_line)
{
	CHECK_FAILS_WITH(parse_with("GRUB 2.06", "mbchain.onerror=halt", "-s mbchain.kernel=5"),
			 "mbchain: error: options: mbchain.kernel=5 in the kernel module's string\n");
	parse_ok("GRUB 2.06", "mbchain.kernel=0", "-s mbchain.kernel=0");
	CHECK_EQ(opts.kernel_module, 0);
}

TEST(options_path_stripping)
{
	/* Loaders that put the file first: the first word is a path (kept for the kernel). */
	parse_ok("qemu", "/mbchain.elf -s", "/boot/netbsd root=wd0a");
	CHECK_STR(opts.flags, "s");
	CHECK_STR(opts.kernel_path, "/boot/netbsd");
	CHECK_STR(opts.root, "wd0a");
	CHECK_EQ(opts.var_count, 1);
	CHECK_STR(opts.vars[0].key, "root");
	parse_ok("kexec-tools", "mbchain.elf console=com", "netbsd -v");
	CHECK_STR(opts.console, "com");
	CHECK_STR(opts.kernel_path, "netbsd");
	CHECK_STR(opts.flags, "v");
	CHECK_EQ(opts.var_count, 1);
	CHECK_STR(opts.vars[0].key, "console");
	parse_ok("", "path args", "kpath kargs");
	CHECK_STR(opts.kernel_path, "kpath");
	CHECK_EQ(opts.var_count, 2);
	CHECK_STR(opts.vars[0].key, "args");
	CHECK_STR(opts.vars[1].key, "kargs");
	/* GRUB 2 never gives the path: every word is an argument. */
	parse_ok("GRUB 2.06", "path args", "kpath kargs");
	CHECK_STR(opts.kernel_path, "");
	CHECK_EQ(opts.var_count, 4);
	CHECK_STR(opts.vars[0].key, "path");
	CHECK_STR(opts.vars[2].key, "kpath");
	/* A first word that is a flag, a key=value or one of our keywords is not a path. */
	parse_ok("qemu", "-s foo", "a=b -v");
	CHECK_STR(opts.flags, "sv");
	CHECK_STR(opts.kernel_path, "");
	CHECK_STR(options_var(&opts, "a"), "b");
	CHECK_STR(options_var(&opts, "foo"), "");
	parse_ok("", "mbchain.verbose", NULL);
	CHECK(opts.verbose);
}

TEST(options_kernel_string_wins)
{
	parse_ok("GRUB 2.06", "root=wd0a console=pc name=/a", "root=sd0e console=com name=/b");
	CHECK_STR(opts.root, "sd0e");
	CHECK_STR(opts.console, "com");
	CHECK_STR(opts.name, "/b");
	CHECK_STR(options_var(&opts, "root"), "sd0e");
	CHECK_EQ(opts.var_count, 3);
	/* mbchain.kernel chooses which module string counts */
	memset(&req, 0, sizeof(req));
	strcpy(req.loader_name, "GRUB 2.06");
	strcpy(req.cmdline, "mbchain.kernel=1 root=wd0a");
	req.module_count = 2;
	strcpy(req.modules[0].string, "root=xx0a");
	strcpy(req.modules[1].string, "root=ld0a");
	CHECK_OUTCOME(host_run(run_parse, NULL), HOST_RETURNED);
	CHECK_STR(opts.root, "ld0a");
}

TEST(options_too_long)
{
	CHECK_FAILS_WITH(parse_with("GRUB 2.06", "root=0123456789abcdef", NULL),
			 "mbchain: error: options: root= is longer than 15 characters (0123456789abcdef)\n");
	parse_ok("GRUB 2.06", "root=0123456789abcde", NULL);
	CHECK_STR(opts.root, "0123456789abcde");
	char longword[300];
	memset(longword, 'x', 299);
	longword[299] = 0;
	CHECK_FAILS_WITH(parse_with("GRUB 2.06", longword, NULL),
			 "mbchain: error: options: a word is longer than 255 bytes\n");
}

static struct failure_policy early;
static bool early_verbose;
static const char *early_cmdline;
static void run_early(void *arg)
{
	(void)arg;
	options_early(early_cmdline, &early, &early_verbose);
}

TEST(options_early_only_failure_and_verbose_keys)
{
	early_cmdline = "/mbchain.elf console=bad mbchain.x mbchain.onerror=reboot:7 mbchain.exitport=0xf4";
	CHECK_OUTCOME(host_run(run_early, NULL), HOST_RETURNED);
	CHECK(early.reboot);
	CHECK_EQ(early.reboot_seconds, 7);
	CHECK_EQ(early.exit_port, 0xf4);
	CHECK(!early_verbose);
	early_cmdline = "mbchain.onerror=halt mbchain.verbose";
	CHECK_OUTCOME(host_run(run_early, NULL), HOST_RETURNED);
	CHECK(!early.reboot);
	CHECK_EQ(early.exit_port, 0);
	CHECK(early_verbose);
	early_cmdline = "mbchain.verbose=0";
	CHECK_OUTCOME(host_run(run_early, NULL), HOST_RETURNED);
	CHECK(!early_verbose);
	early_cmdline = "mbchain.onerror=never";
	CHECK_FAILS_WITH(host_run(run_early, NULL),
			 "mbchain: error: options: mbchain.onerror=never (expected halt or reboot[:seconds])\n");
}

static struct module_options mo;
static const char *mod_string, *mod_loader;
static void run_module(void *arg)
{
	(void)arg;
	options_parse_module(mod_string, mod_loader, &mo);
}

TEST(options_parse_module_fields)
{
	mod_string = "/boot/modules/tmpfs.kmod type=elf name=tmpfs foo=bar";
	mod_loader = "qemu";
	CHECK_OUTCOME(host_run(run_module, NULL), HOST_RETURNED);
	CHECK_STR(mo.path, "/boot/modules/tmpfs.kmod");
	CHECK(mo.has_type);
	CHECK_STR(mo.type, "elf");
	CHECK(mo.has_name);
	CHECK_STR(mo.name, "tmpfs");
	CHECK(mo.args == mod_string + strlen("/boot/modules/tmpfs.kmod"));

	mod_loader = "GRUB 2.06";
	mod_string = "type=image";
	CHECK_OUTCOME(host_run(run_module, NULL), HOST_RETURNED);
	CHECK_STR(mo.path, "");
	CHECK(mo.has_type);
	CHECK_STR(mo.type, "image");
	CHECK(!mo.has_name);
	CHECK(mo.args == mod_string);

	mod_string = "/miniroot.fs";
	CHECK_OUTCOME(host_run(run_module, NULL), HOST_RETURNED);
	CHECK_STR(mo.path, ""); /* GRUB 2: no path, ever */
	CHECK(!mo.has_type);

	mod_loader = "";
	mod_string = "";
	CHECK_OUTCOME(host_run(run_module, NULL), HOST_RETURNED);
	CHECK_STR(mo.path, "");
	CHECK(!mo.has_type);
	CHECK(!mo.has_name);

	mod_string = "type=0123456789012345678901234567890123456789";
	CHECK_FAILS_WITH(host_run(run_module, NULL), "mbchain: error: options: type= is longer than 31 characters");
}
