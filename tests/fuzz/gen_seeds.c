/*
 * gen_seeds.c - writes the ELF seeds of tests/fuzz/corpus/{elf,netbsd,freebsd}/ with the unit
 * tests' ELF builder (tests/unit/elfgen.c): NetBSD i386/amd64 kernels (one whose text runs over
 * its own file, one without symbols), FreeBSD i386/amd64 kernels, and a FreeBSD/amd64 .ko.
 * gen_seeds.py writes the other corpora.  Run by `make -C tests/fuzz seeds`; the output is
 * committed.  Formats: see the comment at the top of each fuzz_*.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "elfgen.h"

static const char *root;
static uint8_t buf[1 << 20];

static void save(const char *harness, const char *name, uint8_t prefix, int with_prefix, const void *data, size_t len)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", root, harness);
	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s/%s", root, harness, name);
	FILE *f = fopen(path, "wb");
	if (!f || (with_prefix && fwrite(&prefix, 1, 1, f) != 1) || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static void wr(uint8_t *p, uint64_t v, unsigned len)
{
	for (unsigned i = 0; i < len; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

static size_t kernel(unsigned cls, uint8_t osabi, int no_symbols, int big)
{
	struct eg_kernel k;
	eg_netbsd_kernel(&k, cls);
	k.g.osabi = osabi;
	if (big) { /* linked at 1 MiB + 128 KiB: text lands over its own file when QEMU puts it right after mbchain */
		const uint64_t shift = 0x20000;
		k.g.entry += shift;
		for (unsigned i = 0; i < k.g.nseg; i++)
			k.g.seg[i].vaddr += shift;
		for (unsigned i = 0; i < 3; i++)
			k.g.sec[i].addr += shift;
	}
	if (no_symbols) /* drop .symtab and .strtab: the last two sections before .shstrtab */
		k.g.nsec -= 2;
	return eg_build(&k.g, buf, sizeof(buf));
}

/* A FreeBSD/amd64 .ko: .text, .data, .bss, .symtab, .strtab, .rela.text, .shstrtab. */
static size_t ko(void)
{
	static uint8_t text[64], data[32], sym[3 * 24], rela[2 * 24];
	static const char strs[] = "\0fuzz_modevent\0fuzz_data";
	struct elfgen g;
	memset(&g, 0, sizeof(g));
	for (unsigned i = 0; i < sizeof(text); i++)
		text[i] = (uint8_t)(0x90 + i % 3);
	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)i;
	memset(sym, 0, sizeof(sym));
	wr(sym + 24, 1, 4), sym[24 + 4] = 0x12, wr(sym + 24 + 6, 1, 2), wr(sym + 24 + 16, 16, 8);
	wr(sym + 48, 15, 4), sym[48 + 4] = 0x11, wr(sym + 48 + 6, 2, 2), wr(sym + 48 + 16, 8, 8);
	wr(rela, 4, 8), wr(rela + 8, (2ull << 32) | 1, 8), wr(rela + 16, 0, 8);
	wr(rela + 24, 12, 8), wr(rela + 32, (1ull << 32) | 2, 8), wr(rela + 40, 0, 8);
	g.cls = 64;
	g.type = 1; /* ET_REL */
	g.machine = 62;
	g.osabi = 9;
	g.nsec = 6;
	g.sec[0] = (struct eg_sec){ ".text", 1, 6, 0, text, sizeof(text), 0, 0, 16, 0, -1, 0, 0, 0 };
	g.sec[1] = (struct eg_sec){ ".data", 1, 3, 0, data, sizeof(data), 0, 0, 8, 0, -1, 0, 0, 0 };
	g.sec[2] = (struct eg_sec){ ".bss", 8, 3, 0, NULL, 128, 0, 0, 32, 0, -1, 0, 0, 0 };
	g.sec[3] = (struct eg_sec){ ".symtab", 2, 0, 0, sym, sizeof(sym), 5, 1, 8, 24, -1, 0, 0, 0 };
	g.sec[4] = (struct eg_sec){ ".strtab", 3, 0, 0, (const uint8_t *)strs, sizeof(strs), 0, 0, 1, 0, -1, 0, 0, 0 };
	g.sec[5] = (struct eg_sec){ ".rela.text", 4, 0x40, 0, rela, sizeof(rela), 4, 1, 8, 24, -1, 0, 0, 0 };
	return eg_build(&g, buf, sizeof(buf));
}

/* A FreeBSD/i386 .ko: a shared object with text and data+bss segments, PT_DYNAMIC, symbols. */
static size_t shared_ko(void)
{
	static uint8_t sym[3 * 16], dyn[16];
	static const char strs[] = "\0fuzz_modevent\0fuzz_data";
	struct elfgen g;
	memset(&g, 0, sizeof(g));
	memset(sym, 0, sizeof(sym));
	wr(sym + 16, 1, 4), wr(sym + 20, 0x10, 4), wr(sym + 24, 16, 4), sym[28] = 0x12, wr(sym + 30, 1, 2);
	wr(sym + 32, 15, 4), wr(sym + 36, 0x1000, 4), wr(sym + 40, 8, 4), sym[44] = 0x11, wr(sym + 46, 2, 2);
	wr(dyn, 0, 8); /* DT_NULL */
	g.cls = 32;
	g.type = 3; /* ET_DYN */
	g.machine = 3;
	g.osabi = 9;
	g.entry = 0;
	g.nseg = 3;
	g.seg[0] = (struct eg_seg){ 1, 5, 0, 0x200, 0x200, NULL, 0 };
	g.seg[1] = (struct eg_seg){ 1, 6, 0x1000, 0x40, 0x100, NULL, 0 };
	g.seg[2] = (struct eg_seg){ 2, 6, 0x1000, 0x10, 0x10, dyn, 0 };
	g.nsec = 4;
	g.sec[0] = (struct eg_sec){ ".text", 1, 6, 0, NULL, 0x200, 0, 0, 16, 0, 0, 0, 0, 0 };
	g.sec[1] = (struct eg_sec){ ".data", 1, 3, 0x1000, NULL, 0x40, 0, 0, 8, 0, 1, 0, 0, 0 };
	g.sec[2] = (struct eg_sec){ ".symtab", 2, 0, 0, sym, sizeof(sym), 4, 1, 4, 16, -1, 0, 0, 0 };
	g.sec[3] = (struct eg_sec){ ".strtab", 3, 0, 0, (const uint8_t *)strs, sizeof(strs), 0, 0, 1, 0, -1, 0, 0, 0 };
	return eg_build(&g, buf, sizeof(buf));
}

int main(int argc, char **argv)
{
	size_t n;
	if (argc != 2) {
		fprintf(stderr, "usage: gen_seeds CORPUS_DIR\n");
		return 2;
	}
	root = argv[1];
	mkdir(root, 0755);

	n = kernel(32, 0, 0, 0);
	save("elf", "netbsd-i386", 0, 0, buf, n);
	save("netbsd", "netbsd-i386", 0, 0, buf, n);
	n = kernel(64, 0, 0, 0);
	save("elf", "netbsd-amd64", 0, 0, buf, n);
	save("netbsd", "netbsd-amd64", 0, 0, buf, n);
	n = kernel(32, 0, 1, 0);
	save("netbsd", "netbsd-i386-nosyms", 0, 0, buf, n);
	n = kernel(32, 0, 0, 1);
	save("netbsd", "netbsd-i386-over-own-file", 0, 0, buf, n);

	n = kernel(64, 9, 0, 0);
	save("elf", "freebsd-amd64", 0, 0, buf, n);
	save("freebsd", "kernel-amd64", 0x00, 1, buf, n);
	n = kernel(32, 9, 0, 0);
	save("elf", "freebsd-i386", 0, 0, buf, n);
	save("freebsd", "kernel-i386", 0x10, 1, buf, n);
	n = kernel(64, 9, 1, 0);
	save("freebsd", "kernel-amd64-nosyms", 0x20, 1, buf, n);

	n = ko();
	save("elf", "freebsd-amd64.ko", 0, 0, buf, n);
	save("freebsd", "ko-by-magic", 0x01, 1, buf, n);
	save("freebsd", "ko-by-type", 0x05, 1, buf, n);
	n = shared_ko();
	save("elf", "freebsd-i386.ko", 0, 0, buf, n);
	save("freebsd", "ko-i386-shared", 0x07, 1, buf, n);
	return 0;
}
