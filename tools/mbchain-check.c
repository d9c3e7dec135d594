/*
 * mbchain-check.c - mbchain's planning pipeline on the host, for `kload --check`.
 *
 *   mbchain-check [--memmap FILE|DIR] [--cmdline "mbchain options"] [--mbchain PATH] [-v]
 *                 KERNEL [args...] [--module "FILE args"]...
 *   mbchain-check ... --kernel "KERNEL args" [--module "FILE args"]...
 *
 * It does what `kexec -l mbchain.elf --type multiboot-x86 --command-line=... --module=...`
 * followed by `kexec -e` would do, without loading anything, on a simulated physical memory:
 *
 *  1. The memory map: Linux's /sys/firmware/memmap (N/start, N/end inclusive, N/type), or a
 *     text file with one "START END TYPE-NAME" line per range (end inclusive, as sysfs), turned
 *     into kexec-tools' list (tests/kexec/kexec.py kexec_ranges(): sorted, same-type overlaps
 *     merged, the first RAM range starting below 0x400 starts at 0x400) and its Multiboot map
 *     (RAM -> 1, ACPI -> 3, NVS -> 4, anything else -> 2) and mem_lower/mem_upper
 *     (kexec_mem_sizes(): inclusive ends, so both round down).
 *  2. The 4 GiB physical space: one mmap(PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|
 *     MAP_NORESERVE), so only the pages written cost memory (zero chunks of a file are skipped).
 *  3. kexec-tools' placement (../shared/SPEC.md E.4, tests/kexec/kexec.py fact 6): mbchain.elf's
 *     PT_LOAD segments at p_paddr; purgatory (modelled as PURGATORY_LEN bytes) in the lowest
 *     page-aligned hole; the memory map at physical 0; each module (the kernel first,
 *     gzip/xz inflated as kexec does) in the lowest page-aligned hole of RAM below 4 GiB that fits
 *     ("bottom-up"); then the MBI (flags 0x24d: MEMORY, CMDLINE "path args", MODS, MEM_MAP,
 *     BOOT_LOADER_NAME "kexec") with its strings, the module list and the module strings.
 *     Segments are counted against kexec_load's 16 (KEXEC_SEGMENT_MAX).
 *  4. mbchain_main(0x2BADB002, MBI) exactly as the boot binary runs it, with mbchain.verbose
 *     added to its command line and the console captured; platform_enter_stub runs the copy
 *     list in the simulated memory and returns here by longjmp, as platform_stop does.
 *
 * Output: "mbchain-check: ok: ..." (the plan's figures), or mbchain's own error and hint lines
 * and/or "mbchain-check: error: ..." lines; -v prints mbchain's whole verbose log first.
 * Exit 0: ok; 1: a problem mbchain or kexec would hit; 2: usage, or a file cannot be read.
 *
 * Built from the Makefile's CORE_SRC with -DMBCHAIN_HOST (no console.c: this file is the
 * platform, see src/platform.h).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include "../multiboot.h"
#include "boot.h"
#include "log.h"
#include "platform.h"
#include "reloc.h"
#include "stub_abi.h"

#define PHYS_SPACE (1ull << 32)
#define KEXEC_SEGMENT_MAX 16 /* include/linux/kexec.h KEXEC_SEGMENT_MAX */
#define REALMODE_IVT_END 0x400u /* kexec-tools: "don't report the interrupt table as ram" */
#define PURGATORY_LEN 0xa000u /* kexec-tools' purgatory, page-rounded (modules seen from 0xa000/0xb000) */
#define PURGATORY_ALIGN 0x1000u
#define KEXEC_MBI_LEN 88u /* kexec-tools' struct multiboot_info: up to the VBE fields */
#define KEXEC_LOADER_NAME "kexec"
#define STUB_LEN 1600u /* asm/handoff.asm (size of asm_handoff.o's text) */
#define PAGE 0x1000u
#define MAX_RANGES 256
#define MAX_MODULES 64

static const char *prog = "mbchain-check";

/* ---- the platform (src/platform.h) on a sparse simulated physical memory ------------------ */

static uint8_t *ram;
static uint64_t image_start, image_end;
static char *console_buf;
static size_t console_len, console_cap;
static jmp_buf run_jmp;
static int cpu_has_lm = 1, cpu_has_efer = 1;
static uint8_t stub_blob[STUB_LEN];
enum outcome { OUT_FAILED = 1, OUT_ENTERED = 2 };
static struct {
	uint32_t stub_pa, copy_list_pa, copy_count, entry, esp;
	int list_overwrites_stub, stub_code_ok;
} entered;

bool phys_valid(uint64_t pa, uint64_t len) { return ram && pa + len >= pa && pa <= PHYS_SPACE && len <= PHYS_SPACE - pa; }

void *phys_ptr(uint64_t pa, uint64_t len)
{
	if (!phys_valid(pa, len)) {
		fprintf(stderr, "%s: internal error: phys_ptr(0x%llx, 0x%llx) outside 4 GiB\n", prog,
			(unsigned long long)pa, (unsigned long long)len);
		abort(); /* the core checks phys_valid first: a bug */
	}
	return ram + pa;
}

void console_write(const char *text, size_t len)
{
	if (console_len + len + 1 > console_cap) {
		size_t cap = (console_len + len + 1) * 2 + 4096;
		char *b = realloc(console_buf, cap);
		if (!b) {
			fprintf(stderr, "%s: out of memory\n", prog);
			exit(2);
		}
		console_buf = b;
		console_cap = cap;
	}
	memcpy(console_buf + console_len, text, len);
	console_len += len;
	console_buf[console_len] = 0;
}

void platform_image_range(uint64_t *start_pa, uint64_t *end_pa)
{
	*start_pa = image_start;
	*end_pa = image_end;
}

_Noreturn void platform_stop(int reboot, unsigned seconds, unsigned exit_port)
{
	(void)reboot, (void)seconds, (void)exit_port;
	longjmp(run_jmp, OUT_FAILED);
}

const void *platform_stub_code(size_t *len)
{
	memset(stub_blob, 0xCC, sizeof(stub_blob));
	*len = sizeof(stub_blob);
	return stub_blob;
}

int platform_cpu_has_efer(void) { return cpu_has_efer; }
int platform_cpu_has_long_mode(void) { return cpu_has_lm; }

static uint32_t rd32(uint64_t pa)
{
	const uint8_t *p = phys_ptr(pa, 4);
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* reloc_execute's memmove/memset, 64 KiB at a time in the safe direction, leaving chunks that
 * are and stay zero untouched: reading an untouched page costs no memory, writing one does,
 * so a big sparse module is moved without filling the host's RAM. */
#define CHUNK 65536u
static const uint8_t zero_chunk[CHUNK];
static int zero_at(uint64_t pa, uint64_t n) { return !memcmp(phys_ptr(pa, n), zero_chunk, n); }

static void move_chunk(uint64_t dst, uint64_t src, uint64_t n, int zero)
{
	if (zero || zero_at(src, n)) {
		if (!zero_at(dst, n))
			memset(phys_ptr(dst, n), 0, n);
	} else {
		memmove(phys_ptr(dst, n), phys_ptr(src, n), n);
	}
}

static void execute_sparse(const struct copy_entry *list, uint32_t count)
{
	for (uint32_t i = 0; i < count; i++) {
		uint64_t dst = list[i].dst_pa, src = list[i].src_pa, len = list[i].len;
		int zero = list[i].kind == STUB_KIND_ZERO;
		if (!zero && dst > src && dst < src + len) { /* overlapping, upwards: from the end */
			for (uint64_t left = len; left;) {
				uint64_t n = left < CHUNK ? left : CHUNK;
				left -= n;
				move_chunk(dst + left, src + left, n, 0);
			}
		} else {
			for (uint64_t off = 0; off < len; off += CHUNK)
				move_chunk(dst + off, src + off, len - off < CHUNK ? len - off : CHUNK, zero);
		}
	}
}

/* What asm/handoff.asm does: run the copy list (checking it never writes over the stub, its
 * parameters or the list itself), then "jump to the kernel": back to run_pipeline. */
_Noreturn void platform_enter_stub(uint32_t stub_pa, uint32_t params_pa)
{
	entered.stub_pa = stub_pa;
	entered.copy_list_pa = rd32(params_pa + STUB_PARAM_COPY_LIST);
	entered.copy_count = rd32(params_pa + STUB_PARAM_COPY_COUNT);
	entered.entry = rd32(params_pa + STUB_PARAM_ENTRY);
	entered.esp = rd32(params_pa + STUB_PARAM_ESP);
	entered.stub_code_ok = 1;
	for (uint32_t i = 0; i < STUB_LEN; i++)
		if (((const uint8_t *)phys_ptr(stub_pa + i, 1))[0] != 0xCC)
			entered.stub_code_ok = 0;
	uint64_t guard_end = (uint64_t)entered.copy_list_pa + (uint64_t)entered.copy_count * STUB_ENTRY_SIZE;
	struct copy_entry *list = calloc(entered.copy_count + 1, sizeof(*list));
	if (!list) {
		fprintf(stderr, "%s: out of memory\n", prog);
		exit(2);
	}
	for (uint32_t i = 0; i < entered.copy_count; i++) {
		uint64_t pa = entered.copy_list_pa + (uint64_t)i * STUB_ENTRY_SIZE;
		list[i].dst_pa = rd32(pa + STUB_ENTRY_DST);
		list[i].src_pa = rd32(pa + STUB_ENTRY_SRC);
		list[i].len = rd32(pa + STUB_ENTRY_LEN);
		list[i].kind = rd32(pa + STUB_ENTRY_KIND);
		if (list[i].len && list[i].dst_pa < guard_end && stub_pa < (uint64_t)list[i].dst_pa + list[i].len)
			entered.list_overwrites_stub = 1;
		if (!phys_valid(list[i].dst_pa, list[i].len) ||
		    (list[i].kind != STUB_KIND_ZERO && !phys_valid(list[i].src_pa, list[i].len))) {
			fprintf(stderr, "%s: internal error: copy entry %u outside 4 GiB\n", prog, i);
			abort();
		}
	}
	execute_sparse(list, entered.copy_count);
	free(list);
	longjmp(run_jmp, OUT_ENTERED);
}

static void cpu_facts(void)
{
#if defined(__x86_64__) || defined(__i386__)
	unsigned a, b, c, d;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000000u), "c"(0));
	if (a >= 0x80000001u) {
		__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000001u), "c"(0));
		cpu_has_lm = (d >> 29) & 1;
		cpu_has_efer = (d & ((1u << 11) | (1u << 20) | (1u << 29))) != 0;
	} else {
		cpu_has_lm = cpu_has_efer = 0;
	}
#endif
}

/* ---- messages ----------------------------------------------------------------------------- */

static int problems;

static __attribute__((format(printf, 1, 2))) void problem(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("%s: error: ", prog);
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	problems++;
}

static _Noreturn __attribute__((format(printf, 1, 2))) void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fflush(stdout);
	fprintf(stderr, "%s: error: ", prog);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

static _Noreturn void usage(void)
{
	fprintf(stderr, "usage: %s [--memmap FILE|DIR] [--cmdline \"mbchain options\"] [--mbchain PATH] [-v]\n"
			"       KERNEL [args...] [--module \"FILE args\"]...\n"
			"   or: %s [options] --kernel \"KERNEL args\" [--module \"FILE args\"]...\n",
		prog, prog);
	exit(2);
}

/* ---- the memory map, as kexec-tools reads it ------------------------------------------------ */

enum range_kind { R_RAM, R_ACPI, R_NVS, R_RESERVED };
struct range {
	uint64_t start, end; /* end inclusive, as sysfs and kexec-tools */
	enum range_kind kind;
};
static struct range ranges[MAX_RANGES];
static unsigned range_count;

static enum range_kind kind_of(const char *name)
{
	if (!strcmp(name, "System RAM"))
		return R_RAM;
	if (!strcmp(name, "ACPI Tables"))
		return R_ACPI;
	if (!strcmp(name, "ACPI Non-volatile Storage"))
		return R_NVS;
	return R_RESERVED;
}

static void trim(char *s)
{
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = 0;
}

static int parse_num(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (end == s || errno)
		return 0;
	while (isspace((unsigned char)*end))
		end++;
	if (*end)
		return 0;
	*out = v;
	return 1;
}

static void add_range(const char *src, uint64_t start, uint64_t end, const char *type)
{
	if (end < start)
		die("%s: range [0x%llx, 0x%llx] ends before it starts", src, (unsigned long long)start, (unsigned long long)end);
	if (range_count == MAX_RANGES)
		die("%s: more than %u memory ranges", src, MAX_RANGES);
	ranges[range_count].start = start;
	ranges[range_count].end = end;
	ranges[range_count].kind = kind_of(type);
	range_count++;
}

static int read_small_file(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, cap - 1, f);
	fclose(f);
	buf[n] = 0;
	trim(buf);
	return 1;
}

static int num_name_cmp(const void *a, const void *b)
{
	long x = atol(*(char *const *)a), y = atol(*(char *const *)b);
	return (x > y) - (x < y);
}

static void read_memmap_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char *names[MAX_RANGES];
	unsigned n = 0;
	if (!d)
		die("%s: cannot read the memory map: %s", dir, strerror(errno));
	while ((e = readdir(d))) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		if (n == MAX_RANGES)
			die("%s: more than %u memory ranges", dir, MAX_RANGES);
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), num_name_cmp);
	for (unsigned i = 0; i < n; i++) {
		char path[PATH_MAX], s[64], en[64], type[128];
		uint64_t start, end;
		snprintf(path, sizeof(path), "%s/%s/start", dir, names[i]);
		if (!read_small_file(path, s, sizeof(s)) || !parse_num(s, &start))
			die("%s: cannot read a start address", path);
		snprintf(path, sizeof(path), "%s/%s/end", dir, names[i]);
		if (!read_small_file(path, en, sizeof(en)) || !parse_num(en, &end))
			die("%s: cannot read an end address", path);
		snprintf(path, sizeof(path), "%s/%s/type", dir, names[i]);
		if (!read_small_file(path, type, sizeof(type)))
			die("%s: cannot read a type", path);
		add_range(dir, start, end, type);
		free(names[i]);
	}
	if (!range_count)
		die("%s: no memory ranges", dir);
}

/* One "START END TYPE NAME" per line (END inclusive); '#' starts a comment. */
static void read_memmap_file(const char *file)
{
	FILE *f = fopen(file, "r");
	char line[512];
	unsigned lineno = 0;
	if (!f)
		die("%s: cannot read the memory map: %s", file, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		char *p = line, *a, *b;
		uint64_t start, end;
		lineno++;
		if (strchr(p, '#'))
			*strchr(p, '#') = 0;
		trim(p);
		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			continue;
		a = strtok(p, " \t");
		b = strtok(NULL, " \t");
		char *type = strtok(NULL, "");
		if (!a || !b || !type || !parse_num(a, &start) || !parse_num(b, &end))
			die("%s:%u: expected \"START END TYPE\" (END inclusive, as /sys/firmware/memmap)", file, lineno);
		while (isspace((unsigned char)*type))
			type++;
		add_range(file, start, end, type);
	}
	fclose(f);
	if (!range_count)
		die("%s: no memory ranges", file);
}

static int range_cmp(const void *a, const void *b)
{
	const struct range *x = a, *y = b;
	return (x->start > y->start) - (x->start < y->start);
}

/* kexec-tools' get_memory_ranges() for x86 (tests/kexec/kexec.py kexec_ranges()). */
static void kexec_fixup(void)
{
	unsigned out = 0;
	qsort(ranges, range_count, sizeof(ranges[0]), range_cmp);
	for (unsigned i = 0; i < range_count; i++) {
		if (out && ranges[out - 1].kind == ranges[i].kind && ranges[out - 1].end > ranges[i].start) {
			if (ranges[i].end > ranges[out - 1].end)
				ranges[out - 1].end = ranges[i].end;
		} else {
			ranges[out++] = ranges[i];
		}
	}
	range_count = out;
	for (unsigned i = 0; i < range_count; i++)
		if (ranges[i].kind == R_RAM && ranges[i].start < REALMODE_IVT_END) {
			ranges[i].start = REALMODE_IVT_END;
			break;
		}
}

static void kexec_mem_sizes(uint32_t *lower_kib, uint32_t *upper_kib)
{
	uint64_t lower = 0, upper = 0;
	for (unsigned i = 0; i < range_count; i++) {
		uint64_t s = ranges[i].start, e = ranges[i].end;
		if (ranges[i].kind != R_RAM)
			continue;
		if (s <= 64 * 1024 && e > lower) {
			lower = e;
			s = 0;
		}
		if (s <= 0x100000 && e > upper + 0x100000)
			upper = e - 0x100000;
	}
	*lower_kib = (uint32_t)(lower >> 10);
	*upper_kib = (uint32_t)(upper >> 10);
}

/* ---- kexec-tools' placement ---------------------------------------------------------------- */

struct segment {
	uint64_t start, end; /* [start, end), page-rounded */
	const char *what;
};
static struct segment segs[KEXEC_SEGMENT_MAX * 8];
static unsigned seg_count;

static void add_segment(uint64_t start, uint64_t len, const char *what)
{
	if (seg_count == sizeof(segs) / sizeof(segs[0]))
		die("too many segments");
	segs[seg_count].start = start & ~(uint64_t)(PAGE - 1);
	segs[seg_count].end = (start + len + PAGE - 1) & ~(uint64_t)(PAGE - 1);
	segs[seg_count].what = what;
	seg_count++;
}

/* locate_hole(), bottom-up: the lowest `align`-aligned address in RAM below 4 GiB where len
 * bytes (page-rounded) touch no segment placed so far. */
static int locate_hole(uint64_t len, uint64_t align, uint64_t *out)
{
	uint64_t size = (len + PAGE - 1) & ~(uint64_t)(PAGE - 1);
	if (!size)
		size = PAGE;
	for (unsigned i = 0; i < range_count; i++) {
		if (ranges[i].kind != R_RAM || ranges[i].start >= PHYS_SPACE)
			continue;
		uint64_t end = ranges[i].end + 1 < PHYS_SPACE ? ranges[i].end + 1 : PHYS_SPACE;
		uint64_t at = (ranges[i].start + align - 1) & ~(align - 1);
		while (at + size <= end) {
			unsigned j;
			for (j = 0; j < seg_count; j++)
				if (at < segs[j].end && segs[j].start < at + size)
					break;
			if (j == seg_count) {
				*out = at;
				return 1;
			}
			at = (segs[j].end + align - 1) & ~(align - 1);
		}
	}
	return 0;
}

/* ---- files ------------------------------------------------------------------------------- */

struct blob {
	uint8_t *data; /* inflated contents, or NULL: read `path` straight into RAM */
	uint64_t len;
};

static int is_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

/* Run `tool -dc path` and collect its output (kexec inflates gzip and xz modules itself). */
static void inflate(const char *tool, const char *path, struct blob *b)
{
	int fds[2];
	if (pipe(fds))
		die("pipe: %s", strerror(errno));
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]), close(fds[1]);
		execlp(tool, tool, "-dc", "--", path, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	size_t cap = 1 << 20, len = 0;
	uint8_t *buf = malloc(cap);
	for (;;) {
		if (!buf)
			die("out of memory inflating %s", path);
		if (len == cap) {
			if (cap > (size_t)3 << 30)
				die("%s inflates to more than 3 GiB", path);
			cap *= 2;
			buf = realloc(buf, cap);
			continue;
		}
		ssize_t n = read(fds[0], buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fds[0]);
	int st;
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("%s: %s -dc failed (damaged compressed data, or %s missing)", path, tool, tool);
	b->data = buf;
	b->len = len;
}

static void open_blob(const char *path, struct blob *b)
{
	struct stat st;
	uint8_t magic[6] = { 0 };
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		die("%s: %s", path, strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode))
		die("%s: not a regular file", path);
	ssize_t n = read(fd, magic, sizeof(magic));
	close(fd);
	b->data = NULL;
	b->len = (uint64_t)st.st_size;
	if (n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b)
		inflate("gzip", path, b);
	else if (n >= 6 && !memcmp(magic, "\xfd" "7zXZ", 6))
		inflate("xz", path, b);
}

/* Copy the file (or its inflated contents) to [pa, pa+len): chunks of zeros are skipped, the
 * simulated memory being zero already, so a sparse file costs nothing. */
static void load_blob(const char *path, const struct blob *b, uint64_t pa)
{
	if (b->data) {
		for (uint64_t off = 0; off < b->len; off += 65536) {
			size_t n = (size_t)(b->len - off < 65536 ? b->len - off : 65536);
			if (!is_zero(b->data + off, n))
				memcpy(phys_ptr(pa + off, n), b->data + off, n);
		}
		return;
	}
	static uint8_t chunk[1 << 20];
	int fd = open(path, O_RDONLY);
	uint64_t off = 0;
	if (fd < 0)
		die("%s: %s", path, strerror(errno));
	while (off < b->len) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if ((uint64_t)n > b->len - off)
			n = (ssize_t)(b->len - off);
		if (!is_zero(chunk, (size_t)n))
			memcpy(phys_ptr(pa + off, (uint64_t)n), chunk, (size_t)n);
		off += (uint64_t)n;
	}
	close(fd);
	if (off != b->len)
		die("%s: short read", path);
}

/* mbchain.elf's PT_LOAD segments: [paddr, paddr + memsz) each; the image range spans them,
 * its end page-aligned as linker/mbchain.ld's __image_end. */
struct mb_seg {
	uint64_t paddr, filesz, memsz, offset;
};

static unsigned read_mbchain(const char *path, struct mb_seg *out, unsigned cap)
{
	uint8_t eh[52];
	FILE *f = fopen(path, "rb");
	unsigned n = 0;
	if (!f)
		die("%s: %s", path, strerror(errno));
	if (fread(eh, 1, sizeof(eh), f) != sizeof(eh) || memcmp(eh, "\177ELF", 4) || eh[4] != 1 || eh[5] != 1)
		die("%s: not an ELF32 file: not mbchain.elf", path);
	uint32_t phoff = (uint32_t)eh[28] | (uint32_t)eh[29] << 8 | (uint32_t)eh[30] << 16 | (uint32_t)eh[31] << 24;
	unsigned phentsize = eh[42] | eh[43] << 8, phnum = eh[44] | eh[45] << 8;
	if (phentsize < 32)
		die("%s: bad program header size %u", path, phentsize);
	for (unsigned i = 0; i < phnum; i++) {
		uint8_t ph[32];
		if (fseek(f, (long)(phoff + (uint64_t)i * phentsize), SEEK_SET) || fread(ph, 1, 32, f) != 32)
			die("%s: truncated program headers", path);
#define W(o) ((uint32_t)ph[o] | (uint32_t)ph[o + 1] << 8 | (uint32_t)ph[o + 2] << 16 | (uint32_t)ph[o + 3] << 24)
		if (W(0) != 1 || !W(20))
			continue;
		if (n == cap)
			die("%s: too many PT_LOAD segments", path);
		out[n].offset = W(4);
		out[n].paddr = W(12);
		out[n].filesz = W(16);
		out[n].memsz = W(20);
#undef W
		n++;
	}
	fclose(f);
	if (!n)
		die("%s: no PT_LOAD segment", path);
	return n;
}

static const char *find_mbchain(const char *given)
{
	static char buf[PATH_MAX];
	char exe[PATH_MAX];
	const char *env = getenv("MBCHAIN_ELF");
	if (given)
		return given;
	if (env && *env)
		return env;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = 0;
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = 0;
			const char *rel[] = { "/mbchain.elf", "/../mbchain.elf", "/../../boot/mbchain.elf" };
			for (unsigned i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
				snprintf(buf, sizeof(buf), "%s%s", exe, rel[i]);
				if (access(buf, R_OK) == 0)
					return buf;
			}
		}
	}
	const char *fixed[] = { "/usr/lib/mbchain/mbchain.elf", "/usr/local/lib/mbchain/mbchain.elf", "/boot/mbchain.elf" };
	for (unsigned i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (access(fixed[i], R_OK) == 0)
			return fixed[i];
	die("mbchain.elf not found (next to %s, /usr/lib/mbchain, /boot); give --mbchain PATH", prog);
}

/* ---- strings ------------------------------------------------------------------------------ */

/* kload's rule for the kernel string: "path arg arg", an argument with a blank in "...". */
static char *join_words(char **words, int n)
{
	size_t len = 1;
	for (int i = 0; i < n; i++)
		len += strlen(words[i]) + 3;
	char *s = malloc(len), *p = s;
	if (!s)
		die("out of memory");
	for (int i = 0; i < n; i++) {
		int q = i > 0 && strpbrk(words[i], " \t") != NULL;
		p += sprintf(p, "%s%s%s%s", i ? " " : "", q ? "\"" : "", words[i], q ? "\"" : "");
	}
	*p = 0;
	return s;
}

/* The file name: the string's first word. */
static char *first_word(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strcspn(s, " \t");
	char *w = strndup(s, n);
	if (!w || !*w)
		die("an empty kernel or module string");
	return w;
}

/* ---- the summary, from mbchain's verbose log ----------------------------------------------- */

static const char *find_line(const char *log, const char *prefix)
{
	for (const char *p = log; p && *p;) {
		if (!strncmp(p, prefix, strlen(prefix)))
			return p;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}

static void print_lines_with(const char *log, const char *const *prefixes, unsigned n)
{
	for (const char *p = log; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		for (unsigned i = 0; i < n; i++)
			if (!strncmp(p, prefixes[i], strlen(prefixes[i]))) {
				printf("%.*s\n", (int)len, p);
				break;
			}
		p = nl ? nl + 1 : NULL;
	}
}

/* The plan table ("mbchain: plan: NAME dst 0x.. len 0x.. from|zero 0x.."), in the order the
 * target added its pieces: the kernel, its symbols, then each module. */
struct piece_line {
	char name[24];
	unsigned long long dst, len;
};
static struct piece_line plan_lines[1024];
static unsigned plan_count;

static void read_plan(const char *log)
{
	for (const char *p = log; p && *p;) {
		const char *nl = strchr(p, '\n'), *d = strstr(p, " dst ");
		const char *name = p + strlen("mbchain: plan: ");
		struct piece_line *pl = &plan_lines[plan_count];
		if (!strncmp(p, "mbchain: plan: ", strlen("mbchain: plan: ")) && d && (!nl || d < nl) &&
		    plan_count < sizeof(plan_lines) / sizeof(plan_lines[0]) &&
		    sscanf(d, " dst %llx len %llx", &pl->dst, &pl->len) == 2) {
			size_t n = (size_t)(d - name);
			while (n && name[n - 1] == ' ')
				n--;
			snprintf(pl->name, sizeof(pl->name), "%.*s", (int)n, name);
			plan_count++;
		}
		p = nl ? nl + 1 : NULL;
	}
}

/* Where the first module goes: the lowest destination at or above the kernel's symbols that is
 * not the target's own metadata. */
static int modules_start(unsigned long long symend, unsigned long long *out)
{
	int found = 0;
	for (unsigned i = 0; i < plan_count; i++) {
		const char *n = plan_lines[i].name;
		if (plan_lines[i].dst < symend || !strcmp(n, "metadata") || !strcmp(n, "environment") ||
		    !strncmp(n, "ksyms", 5))
			continue;
		if (!found || plan_lines[i].dst < *out)
			*out = plan_lines[i].dst;
		found = 1;
	}
	return found;
}

/* "ok: netbsd-amd64 kernel [a, b) entry e, symbols to s, N modules to m, endpa z, X bytes
 * moved, Y delivered, ..." from the target's summary line, the plan table and the copy stats. */
static int summarise(const char *log)
{
	const char *l;
	unsigned cls = 0, nmods = 0;
	unsigned long long kstart = 0, kend = 0, entry = 0, syms = 0, modto = 0, end = 0, modulep = 0, envp = 0;
	char mods[64], tail[160];
	const struct copy_stats *st = &boot_last_result.stats;

	read_plan(log);
	snprintf(tail, sizeof(tail), "%llu bytes moved, %llu delivered, %u copies, %u bounces",
		 (unsigned long long)st->moved, (unsigned long long)st->delivered, boot_last_result.copy_count, st->bounces);
	if ((l = find_line(log, "mbchain: netbsd: ELF")) &&
	    sscanf(l, "mbchain: netbsd: ELF%u kernel [%llx, %llx) entry %llx, symbols to %llx, %u modules to %llx", &cls,
		   &kstart, &kend, &entry, &syms, &nmods, &end) == 7) {
		if (nmods && modules_start(syms, &modto))
			snprintf(mods, sizeof(mods), "%u modules to 0x%llx", nmods, modto);
		else
			snprintf(mods, sizeof(mods), "%u modules", nmods);
		printf("%s: ok: netbsd-%s kernel [0x%llx, 0x%llx) entry 0x%llx, symbols to 0x%llx, %s, endpa 0x%llx, %s\n",
		       prog, cls == 64 ? "amd64" : "i386", kstart, kend, entry, syms, mods, end, tail);
		return 1;
	}
	if ((l = find_line(log, "mbchain: freebsd: ELF")) &&
	    sscanf(l,
		   "mbchain: freebsd: ELF%u kernel [%llx, %llx) entry %llx, symbols to %llx, %u modules, modulep %llx, "
		   "envp %llx, kernend %llx",
		   &cls, &kstart, &kend, &entry, &syms, &nmods, &modulep, &envp, &end) == 9) {
		/* the log's "symbols to" is where modules end: the kernel's symbols end with the
		 * first strtab piece (later ones are the modules') */
		unsigned long long symend = kend;
		for (unsigned i = 0; i < plan_count; i++)
			if (!strcmp(plan_lines[i].name, "strtab")) {
				symend = plan_lines[i].dst + plan_lines[i].len;
				break;
			}
		if (nmods && modules_start(symend, &modto))
			snprintf(mods, sizeof(mods), "%u modules to 0x%llx", nmods, modto);
		else
			snprintf(mods, sizeof(mods), "%u modules", nmods);
		printf("%s: ok: freebsd-%s kernel [0x%llx, 0x%llx) entry 0x%llx, symbols to 0x%llx, %s, modulep 0x%llx, "
		       "kernend 0x%llx, %s\n",
		       prog, cls == 64 ? "amd64" : "i386", kstart, kend, entry, symend, mods, modulep, end, tail);
		return 1;
	}
	if ((l = find_line(log, "mbchain: mbpass: Multiboot kernel")) &&
	    sscanf(l, "mbchain: mbpass: Multiboot kernel [%llx, %llx) entry %llx, %u modules to %llx", &kstart, &kend,
		   &entry, &nmods, &end) == 5) {
		if (nmods && modules_start(kend, &modto))
			snprintf(mods, sizeof(mods), "%u modules to 0x%llx", nmods, modto);
		else
			snprintf(mods, sizeof(mods), "%u modules", nmods);
		printf("%s: ok: multiboot kernel [0x%llx, 0x%llx) entry 0x%llx, %s, end 0x%llx, %s\n", prog, kstart, kend,
		       entry, mods, end, tail);
		return 1;
	}
	return 0;
}

/* mbchain_main until it fails (platform_stop) or enters the stub: both longjmp here. */
static __attribute__((noinline)) int run_pipeline(uint32_t mbi_pa)
{
	int outcome = setjmp(run_jmp);
	if (outcome == 0)
		mbchain_main(MB_LOADER_MAGIC, mbi_pa);
	return outcome;
}

/* ---- main --------------------------------------------------------------------------------- */

struct module_arg {
	char *string; /* "FILE args", as kexec's --module= */
	char *path;
	struct blob blob;
	uint64_t pa;
};

int main(int argc, char **argv)
{
	const char *memmap = "/sys/firmware/memmap", *cmdline = "", *mbchain_opt = NULL;
	char *kernel_string = NULL, *kernel_opt = NULL;
	static struct module_arg mods[MAX_MODULES];
	unsigned nmods = 0; /* the kernel is mods[0] */
	int verbose = 0, i;
	char **kwords = NULL;
	int nkwords = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	kwords = calloc((size_t)argc + 1, sizeof(*kwords));
	if (!kwords)
		die("out of memory");
#define OPTARG(name)                                                                                                \
	(!strcmp(argv[i], name) ? (i + 1 < argc ? argv[++i] : (usage(), (char *)0))                                 \
				: (!strncmp(argv[i], name "=", strlen(name) + 1) ? argv[i] + strlen(name) + 1 : NULL))
	for (i = 1; i < argc; i++) {
		char *v;
		if (nkwords == 0 && !kernel_string && argv[i][0] == '-') {
			if (!strcmp(argv[i], "--")) {
				if (i + 1 < argc)
					kwords[nkwords++] = argv[++i];
				continue;
			}
			if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
				verbose = 1;
				continue;
			}
			if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
				usage();
			if ((v = OPTARG("--memmap"))) {
				memmap = v;
				continue;
			}
			if ((v = OPTARG("--cmdline"))) {
				cmdline = v;
				continue;
			}
			if ((v = OPTARG("--mbchain"))) {
				mbchain_opt = v;
				continue;
			}
			if ((v = OPTARG("--kernel"))) {
				kernel_string = kernel_opt = v;
				continue;
			}
		}
		if ((v = OPTARG("--module"))) {
			if (nmods + 1 >= MAX_MODULES)
				die("more than %u modules", MAX_MODULES - 1);
			mods[++nmods].string = v;
			continue;
		}
		if (argv[i][0] == '-' && nkwords == 0 && !kernel_string) {
			fprintf(stderr, "%s: unknown option %s\n", prog, argv[i]);
			usage();
		}
		if (kernel_string)
			die("%s: give the kernel's arguments inside --kernel \"...\"", argv[i]);
		kwords[nkwords++] = argv[i];
	}
#undef OPTARG
	if (!kernel_string) {
		if (!nkwords)
			usage();
		kernel_string = join_words(kwords, nkwords);
	}
	mods[0].string = kernel_string;
	nmods++;
	for (unsigned m = 0; m < nmods; m++)
		mods[m].path = first_word(mods[m].string);

	/* The memory map. */
	struct stat st;
	if (stat(memmap, &st))
		die("%s: cannot read the memory map: %s", memmap, strerror(errno));
	if (S_ISDIR(st.st_mode))
		read_memmap_dir(memmap);
	else
		read_memmap_file(memmap);
	kexec_fixup();
	uint32_t mem_lower, mem_upper;
	kexec_mem_sizes(&mem_lower, &mem_upper);

	ram = mmap(NULL, PHYS_SPACE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (ram == MAP_FAILED)
		die("cannot reserve 4 GiB of address space for the simulated memory: %s", strerror(errno));
	cpu_facts();

	/* mbchain.elf's segments, where kexec loads them. */
	const char *mbpath = find_mbchain(mbchain_opt);
	struct mb_seg mbsegs[8];
	unsigned mbseg_count = read_mbchain(mbpath, mbsegs, 8);
	image_start = UINT64_MAX, image_end = 0;
	FILE *mf = fopen(mbpath, "rb");
	if (!mf)
		die("%s: %s", mbpath, strerror(errno));
	for (unsigned s = 0; s < mbseg_count; s++) {
		struct mb_seg *g = &mbsegs[s];
		if (g->paddr + g->memsz > PHYS_SPACE || g->filesz > g->memsz)
			die("%s: a PT_LOAD segment leaves the 32-bit space", mbpath);
		if (fseek(mf, (long)g->offset, SEEK_SET) || fread(phys_ptr(g->paddr, g->filesz), 1, g->filesz, mf) != g->filesz)
			die("%s: truncated segment", mbpath);
		add_segment(g->paddr, g->memsz, "mbchain.elf");
		if (g->paddr < image_start)
			image_start = g->paddr;
		if (g->paddr + g->memsz > image_end)
			image_end = g->paddr + g->memsz;
	}
	fclose(mf);
	image_end = (image_end + PAGE - 1) & ~(uint64_t)(PAGE - 1);

	/* kexec_load's segment budget. */
	unsigned kexec_segments = mbseg_count + 3 + nmods;
	unsigned max_modules = KEXEC_SEGMENT_MAX - mbseg_count - 3 - 1;

	/* The map's page at physical 0 (seen; below the first RAM range, which starts at 0x400),
	 * purgatory in the lowest hole, then the modules, then the MBI. */
	uint64_t pa;
	add_segment(0, PAGE, "memory map");
	if (!locate_hole(PURGATORY_LEN, PURGATORY_ALIGN, &pa))
		die("no free RAM for kexec's purgatory (%u bytes)", PURGATORY_LEN);
	add_segment(pa, PURGATORY_LEN, "purgatory");

	uint32_t map_len = 24 * range_count;
	if (map_len > PAGE)
		die("%u memory ranges do not fit kexec's map page", range_count);
	uint8_t *map = phys_ptr(0, map_len);
	static const uint32_t mb_types[] = { [R_RAM] = 1, [R_ACPI] = 3, [R_NVS] = 4, [R_RESERVED] = 2 };
	for (unsigned r = 0; r < range_count; r++) {
		struct mb_mmap_entry e = { 20, ranges[r].start, ranges[r].end - ranges[r].start + 1, mb_types[ranges[r].kind] };
		memcpy(map + 24 * r, &e, 24);
	}

	int placed_all = 1;
	for (unsigned m = 0; m < nmods; m++) {
		open_blob(mods[m].path, &mods[m].blob);
		if (mods[m].blob.len > 0xffffffffu || !locate_hole(mods[m].blob.len, PAGE, &mods[m].pa)) {
			problem("kexec-tools finds no free RAM below 4 GiB for %s %s (%llu bytes): \"Could not find a free area of memory\"",
				m ? "module" : "kernel", mods[m].path, (unsigned long long)mods[m].blob.len);
			placed_all = 0;
			break;
		}
		add_segment(mods[m].pa, mods[m].blob.len ? mods[m].blob.len : 1, m ? "module" : "kernel");
		load_blob(mods[m].path, &mods[m].blob, mods[m].pa);
		free(mods[m].blob.data);
	}

	/* The MBI: struct, "path args", loader name, module list, module strings. */
	uint32_t mbi_pa = 0;
	char *mbi_cmdline = NULL;
	if (placed_all) {
		size_t cl_len = strlen(mbpath) + 1 + strlen(cmdline) + strlen(" mbchain.verbose") + 1;
		mbi_cmdline = malloc(cl_len);
		if (!mbi_cmdline)
			die("out of memory");
		snprintf(mbi_cmdline, cl_len, "%s %s%smbchain.verbose", mbpath, cmdline, *cmdline ? " " : "");
		uint64_t len = KEXEC_MBI_LEN + strlen(mbi_cmdline) + 1 + sizeof(KEXEC_LOADER_NAME);
		len = (len + 3) & ~3ull;
		uint64_t mods_off = len;
		len += 16ull * nmods;
		for (unsigned m = 0; m < nmods; m++)
			len += strlen(mods[m].string) + 1;
		if (!locate_hole(len, PAGE, &pa)) {
			problem("kexec-tools finds no free RAM for the Multiboot information (%llu bytes)", (unsigned long long)len);
			placed_all = 0;
		} else {
			add_segment(pa, len, "MBI");
			mbi_pa = (uint32_t)pa;
			struct mb_info mi;
			memset(&mi, 0, sizeof(mi));
			mi.flags = MB_INFO_MEMORY | MB_INFO_CMDLINE | MB_INFO_MODS | MB_INFO_MEM_MAP | MB_INFO_BOOT_LOADER_NAME;
			mi.mem_lower_kib = mem_lower;
			mi.mem_upper_kib = mem_upper;
			uint32_t at = mbi_pa + KEXEC_MBI_LEN;
			mi.cmdline_pa = at;
			memcpy(phys_ptr(at, strlen(mbi_cmdline) + 1), mbi_cmdline, strlen(mbi_cmdline) + 1);
			at += (uint32_t)strlen(mbi_cmdline) + 1;
			mi.boot_loader_name_pa = at;
			memcpy(phys_ptr(at, sizeof(KEXEC_LOADER_NAME)), KEXEC_LOADER_NAME, sizeof(KEXEC_LOADER_NAME));
			mi.mods_count = nmods;
			mi.mods_pa = mbi_pa + (uint32_t)mods_off;
			mi.mmap_len = map_len;
			mi.mmap_pa = 0;
			at = mi.mods_pa + 16 * nmods;
			for (unsigned m = 0; m < nmods; m++) {
				struct mb_module mm = { (uint32_t)mods[m].pa, (uint32_t)(mods[m].pa + mods[m].blob.len), at, 0 };
				memcpy(phys_ptr(mi.mods_pa + 16 * m, 16), &mm, 16);
				memcpy(phys_ptr(at, strlen(mods[m].string) + 1), mods[m].string, strlen(mods[m].string) + 1);
				at += (uint32_t)strlen(mods[m].string) + 1;
			}
			memcpy(phys_ptr(mbi_pa, KEXEC_MBI_LEN), &mi, KEXEC_MBI_LEN);
		}
	}

	/* mbchain, as the boot binary runs it. */
	int outcome = 0;
	if (placed_all) {
		outcome = run_pipeline(mbi_pa);
	}
	const char *log = console_buf ? console_buf : "";
	if (verbose) {
		for (unsigned s = 0; s < seg_count; s++)
			printf("%s: kexec segment %2u: [0x%08llx, 0x%08llx) %s\n", prog, s, (unsigned long long)segs[s].start,
			       (unsigned long long)segs[s].end, segs[s].what);
		printf("%s: mem_lower %u KiB, mem_upper %u KiB, MBI at 0x%x, map at 0 (%u entries)\n", prog, mem_lower,
		       mem_upper, mbi_pa, range_count);
		fputs(log, stdout);
	}
	if (outcome == OUT_ENTERED) {
		if (!entered.stub_code_ok || entered.list_overwrites_stub)
			problem("internal: the copy plan wrote over the handoff stub at 0x%x", entered.stub_pa);
		else if (!summarise(log))
			problem("internal: no plan summary in mbchain's log (run with -v)");
		else if (!verbose) {
			static const char *const warn[] = { "mbchain: warning:" };
			print_lines_with(log, warn, 1);
		}
	} else if (outcome == OUT_FAILED) {
		if (!verbose) {
			static const char *const errs[] = { "mbchain: warning:", "mbchain: error:", "mbchain: hint:" };
			print_lines_with(log, errs, 3);
		}
		problems++;
	}
	if (kexec_segments > KEXEC_SEGMENT_MAX)
		problem("kexec segments: %u modules make %u kexec segments (%u mbchain, purgatory, map, MBI, kernel, %u "
			"modules), more than kexec_load's %u: at most %u modules besides the kernel",
			nmods - 1, kexec_segments, mbseg_count, nmods - 1, KEXEC_SEGMENT_MAX, max_modules);
	free(mbi_cmdline);
	for (unsigned m = 0; m < nmods; m++)
		free(mods[m].path);
	if (kernel_string != kernel_opt)
		free(kernel_string);
	free(kwords);
	munmap(ram, PHYS_SPACE);
	free(console_buf);
	return problems ? 1 : 0;
}
