/*
 * options.c - see options.h.  Called by boot.c (options_parse, options_early) and by the
 * targets (options_parse_module).
 */
#include "options.h"
#include "util.h"

#define WORD_MAX 256
static const char hint_options[] = "see the option reference in mbchain's README";

/* Copy the next blank-separated word at *cursor into out (quotes removed) and advance.
 * Returns false at the end of the string. */
static bool next_word(const char **cursor, char *out, size_t cap)
{
	const char *s = *cursor;
	size_t n = 0;
	bool quoted = false;
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	if (!*s)
		return false;
	for (; *s && (quoted || (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')); s++) {
		if (*s == '"') {
			quoted = !quoted;
			continue;
		}
		/* A backslash keeps the next character as it is: GRUB 2 writes \" \' and \\ into the
		 * strings it hands over (grub_create_loader_cmdline). */
		if (*s == '\\' && s[1])
			s++;
		if (n + 1 == cap)
			fail(hint_options, "options: a word is longer than %u bytes", (unsigned)cap - 1);
		out[n++] = *s;
	}
	out[n] = 0;
	*cursor = s;
	return true;
}

static bool is_flag_word(const char *w)
{
	if (w[0] != '-' || !w[1])
		return false;
	for (w++; *w; w++)
		if (!((*w >= 'a' && *w <= 'z') || (*w >= 'A' && *w <= 'Z') || (*w >= '0' && *w <= '9')))
			return false;
	return true;
}

bool options_loader_gives_paths(const char *loader_name)
{
	return !str_starts_with(loader_name, "GRUB 2");
}

/* GRUB 2 gives arguments only; GRUB Legacy, QEMU, kexec-tools and isolinux put the file first.
 * For loaders we do not know, the word's form decides: a path is neither a flag word, nor a
 * key=value, nor one of our bare keywords. */
static const char *skip_leading_path(const char *s, const char *loader_name, char *path, size_t path_cap)
{
	char word[WORD_MAX];
	const char *rest = s;
	path[0] = 0;
	if (!options_loader_gives_paths(loader_name))
		return s;
	if (!next_word(&rest, word, sizeof(word)))
		return s;
	if (is_flag_word(word) || strchr_index(word, '=') >= 0 || strcmp(word, "mbchain.verbose") == 0)
		return s;
	str_copy(path, path_cap, word, sizeof(word));
	return rest;
}

static uint32_t parse_number(const char *key, const char *value, uint64_t max)
{
	uint64_t v;
	if (!parse_u64(value, strlen(value), &v) || v > max)
		fail(hint_options, "options: %s=%s is not a number up to %llu", key, value, (unsigned long long)max);
	return (uint32_t)v;
}

static void set_text(char *dst, size_t cap, const char *key, const char *value)
{
	if (!str_copy(dst, cap, value, WORD_MAX))
		fail(hint_options, "options: %s= is longer than %u characters (%s)", key, (unsigned)cap - 1, value);
}

static void parse_onerror(const char *value, struct failure_policy *policy)
{
	if (strcmp(value, "halt") == 0) {
		policy->reboot = false;
		return;
	}
	if (str_starts_with(value, "reboot")) {
		policy->reboot = true;
		policy->reboot_seconds = 0;
		if (value[6] == ':')
			policy->reboot_seconds = parse_number("mbchain.onerror=reboot: seconds", value + 7, 3600);
		else if (value[6])
			fail(hint_options, "options: mbchain.onerror=%s (expected halt or reboot[:seconds])", value);
		return;
	}
	fail(hint_options, "options: mbchain.onerror=%s (expected halt or reboot[:seconds])", value);
}

/* Our own keys are checked strictly: a typo in mbchain.* would otherwise pass unnoticed. */
static void parse_mbchain_key(const char *key, const char *value, struct options *opts)
{
	if (strcmp(key, "mbchain.verbose") == 0)
		opts->verbose = !value || strcmp(value, "0") != 0;
	else if (strcmp(key, "mbchain.onerror") == 0 && value)
		parse_onerror(value, &opts->policy);
	else if (strcmp(key, "mbchain.exitport") == 0 && value)
		opts->policy.exit_port = parse_number(key, value, 0xffff);
	else if (strcmp(key, "mbchain.kernel") == 0 && value)
		opts->kernel_module = parse_number(key, value, BOOT_MAX_MODULES - 1);
	else if (strcmp(key, "mbchain.os") == 0 && value) {
		if (strcmp(value, "netbsd") == 0)
			opts->os = OS_NETBSD;
		else if (strcmp(value, "freebsd") == 0)
			opts->os = OS_FREEBSD;
		else if (strcmp(value, "multiboot") == 0)
			opts->os = OS_MULTIBOOT;
		else
			fail(hint_options, "options: mbchain.os=%s (expected netbsd, freebsd or multiboot)", value);
	} else
		fail(hint_options, "options: unknown mbchain key (%s)", key);
}

static void keep_var(const char *key, const char *value, struct options *opts)
{
	struct option_var *v = NULL;
	for (uint32_t i = 0; i < opts->var_count; i++)
		if (strcmp(opts->vars[i].key, key) == 0)
			v = &opts->vars[i];
	if (!v) {
		if (opts->var_count == OPT_MAX_VARS)
			fail(hint_options, "options: more than %u key=value words (%s)", OPT_MAX_VARS, key);
		v = &opts->vars[opts->var_count++];
	}
	set_text(v->key, sizeof(v->key), "a key", key);
	set_text(v->value, sizeof(v->value), key, value ? value : "");
	v->bare = !value;
}

static void add_flags(const char *letters, struct options *opts)
{
	for (; *letters; letters++) {
		size_t n = strlen(opts->flags);
		if (strchr_index(opts->flags, *letters) >= 0)
			continue;
		if (n + 1 >= sizeof(opts->flags))
			fail(hint_options, "options: too many flag letters (%s)", letters);
		opts->flags[n] = *letters;
		opts->flags[n + 1] = 0;
	}
}

static void parse_word(char *word, struct options *opts)
{
	int eq = strchr_index(word, '=');
	const char *value = NULL;
	if (is_flag_word(word)) {
		add_flags(word + 1, opts);
		return;
	}
	if (eq >= 0) {
		word[eq] = 0;
		value = word + eq + 1;
	}
	if (str_starts_with(word, "mbchain.")) {
		parse_mbchain_key(word, value, opts);
		return;
	}
	/* Every other word is kept in order (FreeBSD's kenv takes them all); NetBSD's keys are
	 * also read into their fields here, and checked against NetBSD's rules by netbsd.c. */
	keep_var(word, value, opts);
	if (!value)
		return;
	if (strcmp(word, "root") == 0) {
		set_text(opts->root, sizeof(opts->root), "root", value);
		opts->has_root = true;
	} else if (strcmp(word, "console") == 0) {
		set_text(opts->console, sizeof(opts->console), "console", value);
		opts->has_console = true;
	} else if (strcmp(word, "console_addr") == 0) {
		opts->console_addr = parse_number(word, value, 0xffff);
		opts->has_console_addr = true;
	} else if (strcmp(word, "console_speed") == 0) {
		opts->console_speed = parse_number(word, value, 4000000);
		opts->has_console_speed = true;
	} else if (strcmp(word, "name") == 0) {
		set_text(opts->name, sizeof(opts->name), "name", value);
		opts->has_name = true;
	} else if (strcmp(word, "userconf") == 0) {
		if (opts->userconf_count == OPT_MAX_USERCONF)
			fail(hint_options, "options: more than %u userconf= words", OPT_MAX_USERCONF);
		set_text(opts->userconf[opts->userconf_count++], OPT_TEXT_MAX, "userconf", value);
	}
}

static void parse_string(const char *s, struct options *opts)
{
	char word[WORD_MAX];
	while (next_word(&s, word, sizeof(word)))
		parse_word(word, opts);
}

void options_early(const char *cmdline, struct failure_policy *policy, bool *verbose)
{
	char word[WORD_MAX];
	struct options opts;
	memset(&opts, 0, sizeof(opts));
	/* Only the failure and verbosity keys; any other mistake is reported by options_parse,
	 * under this policy. */
	while (next_word(&cmdline, word, sizeof(word)))
		if (str_starts_with(word, "mbchain.onerror=") || str_starts_with(word, "mbchain.exitport=") ||
		    str_starts_with(word, "mbchain.verbose"))
			parse_word(word, &opts);
	*policy = opts.policy;
	*verbose = opts.verbose;
}

void options_parse(const struct boot_request *req, struct options *opts)
{
	char own_path[BOOT_STRING_MAX];
	memset(opts, 0, sizeof(*opts));
	parse_string(skip_leading_path(req->cmdline, req->loader_name, own_path, sizeof(own_path)), opts);
	if (opts->kernel_module < req->module_count) {
		uint32_t chosen = opts->kernel_module;
		const char *s = req->modules[chosen].string;
		parse_string(skip_leading_path(s, req->loader_name, opts->kernel_path, sizeof(opts->kernel_path)), opts);
		/* The kernel's own string cannot choose which module is the kernel. */
		if (opts->kernel_module != chosen)
			fail("give mbchain.kernel= on mbchain's own command line",
			     "options: mbchain.kernel=%u in the kernel module's string", opts->kernel_module);
	}
}

void options_parse_module(const char *string, const char *loader_name, struct module_options *mod)
{
	char word[WORD_MAX];
	const char *s;
	memset(mod, 0, sizeof(*mod));
	s = mod->args = skip_leading_path(string, loader_name, mod->path, sizeof(mod->path));
	while (next_word(&s, word, sizeof(word))) {
		if (str_starts_with(word, "type=")) {
			if (mod->has_type && strcmp(mod->type, word + 5) != 0)
				fail(hint_options, "options: module \"%s\" has two types (%s and %s)", mod->path, mod->type,
				     word + 5);
			set_text(mod->type, sizeof(mod->type), "type", word + 5);
			mod->has_type = true;
		} else if (str_starts_with(word, "name=")) {
			set_text(mod->name, sizeof(mod->name), "name", word + 5);
			mod->has_name = true;
		}
	}
}

const char *options_var(const struct options *opts, const char *key)
{
	for (uint32_t i = 0; i < opts->var_count; i++)
		if (strcmp(opts->vars[i].key, key) == 0)
			return opts->vars[i].value;
	return NULL;
}

uint32_t options_howto(const char *flags, const struct flag_bit *table, unsigned table_len, const char *target)
{
	uint32_t howto = 0;
	for (; *flags; flags++) {
		bool known = false;
		for (unsigned i = 0; i < table_len; i++)
			if (table[i].letter == *flags) {
				howto |= table[i].bit;
				known = true;
			}
		if (!known)
			log_info("%s: flag -%c has no meaning there; ignored", target, *flags);
	}
	return howto;
}
