/*
 * options.h - the command line, in mbchain's terms.  Called by boot.c after the frontend.
 *
 * Takes: mbchain's own command line and the kernel module's string (both from the
 * boot_request), and the loader's name (to know whether strings start with a file path).
 * Gives: struct options: boot flags, root device, console, our own mbchain.* keys, and every
 * other key=value word kept for targets that can carry it (FreeBSD's kenv).
 *
 * Words are separated by blanks; a double-quoted stretch may hold blanks (key="a b"); a
 * backslash takes the next character literally (GRUB 2 escapes quotes and backslashes).  Both
 * strings are parsed, mbchain's first, then the kernel module's: flags add up, and for every
 * other key the kernel module's string wins.  README.md lists every key.
 */
#ifndef MBCHAIN_OPTIONS_H
#define MBCHAIN_OPTIONS_H
#include "boot_request.h"
#include "log.h"

enum target_os { OS_AUTO, OS_NETBSD, OS_FREEBSD, OS_MULTIBOOT };

#define OPT_MAX_VARS 64
#define OPT_MAX_USERCONF 16
#define OPT_KEY_MAX 64
#define OPT_VALUE_MAX 192
#define OPT_TEXT_MAX 80 /* NetBSD's path and userconf text fields (bootinfo.h) */

struct option_var {
	char key[OPT_KEY_MAX];
	char value[OPT_VALUE_MAX];
	bool bare; /* a word with no '=' */
};

struct options {
	char flags[40]; /* flag letters from -xyz words, each once, in order seen */
	bool has_root;
	char root[16]; /* NetBSD's ROOTDEVICE devname holds 15 characters */
	bool has_console;
	char console[32]; /* console=, as given: each target checks it */
	bool has_console_addr, has_console_speed;
	uint32_t console_addr, console_speed;
	bool has_name;
	char name[OPT_TEXT_MAX]; /* kernel path to report (name=) */
	uint32_t userconf_count;
	char userconf[OPT_MAX_USERCONF][OPT_TEXT_MAX];

	bool verbose; /* mbchain.verbose */
	enum target_os os; /* mbchain.os= */
	uint32_t kernel_module; /* mbchain.kernel=N, default 0 */
	struct failure_policy policy; /* mbchain.onerror=, mbchain.exitport= */

	char kernel_path[BOOT_STRING_MAX]; /* leading path of the kernel module's string, or "" */
	uint32_t var_count;
	struct option_var vars[OPT_MAX_VARS];
};

/* What one module's string says: its path (when the loader prepends one) and our keys. */
struct module_options {
	char path[BOOT_STRING_MAX];
	bool has_type, has_name;
	char type[32];
	char name[OPT_TEXT_MAX];
	const char *args; /* the words after the path, as given (inside the boot_request) */
};

/* One boot-flag letter and the bit it sets in a target's howto word (and, for FreeBSD, the
 * boot_* environment variable loader(8) mirrors it into). */
struct flag_bit {
	char letter;
	uint32_t bit;
	const char *env;
};

/* The howto bits the flag letters `flags` set by `table`; letters the table lacks are ignored
 * (both BSDs ignore them) and named in verbose mode, prefixed by `target`. */
uint32_t options_howto(const char *flags, const struct flag_bit *table, unsigned table_len, const char *target);

/* Read only the failure policy and mbchain.verbose from mbchain's raw command line, before
 * anything else can fail or speak. */
void options_early(const char *cmdline, struct failure_policy *policy, bool *verbose);
/* Parse mbchain's command line and the kernel module's string (see the file comment). */
void options_parse(const struct boot_request *req, struct options *opts);
/* Split a module string into its path and our keys. */
void options_parse_module(const char *string, const char *loader_name, struct module_options *mod);
/* Whether this loader starts command lines and module strings with the file's path (GRUB
 * Legacy, QEMU, kexec-tools, isolinux and unknown loaders) or not (GRUB 2). */
bool options_loader_gives_paths(const char *loader_name);
/* The value of `key` among the kept vars, or NULL. */
const char *options_var(const struct options *opts, const char *key);
#endif
