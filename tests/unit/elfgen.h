/*
 * elfgen.h - builds small ELF32/ELF64 kernels in host memory for the tests: an Ehdr, program
 * headers, segment contents, sections (inside a segment or with their own bytes), a NetBSD
 * ident note, and a .shstrtab the builder adds last.
 */
#ifndef MBCHAIN_TEST_ELFGEN_H
#define MBCHAIN_TEST_ELFGEN_H
#include <stddef.h>
#include <stdint.h>

#define EG_MAX_SEGS 8
#define EG_MAX_SECS 16

struct eg_seg {
	uint32_t type, flags;
	uint64_t vaddr, filesz, memsz;
	const uint8_t *data; /* filesz bytes, or NULL for a pattern */
	uint64_t offset; /* out: file offset */
};

struct eg_sec {
	const char *name;
	uint32_t type;
	uint64_t flags, addr;
	const uint8_t *data; /* size bytes of its own, or NULL when in_seg >= 0 (or for NOBITS) */
	uint64_t size;
	uint32_t link, info;
	uint64_t addralign, entsize;
	int in_seg; /* -1: own bytes; otherwise the segment holding it, at seg_off */
	uint64_t seg_off;
	uint64_t offset; /* out: file offset */
	uint32_t name_off; /* out: offset of its name in .shstrtab */
};

struct elfgen {
	unsigned cls; /* 32 or 64 */
	uint16_t machine, type;
	uint8_t osabi;
	uint64_t entry;
	unsigned nseg, nsec; /* sec[0] is section 1 */
	struct eg_seg seg[EG_MAX_SEGS];
	struct eg_sec sec[EG_MAX_SECS];
	int no_shstrtab;
	/* out */
	uint32_t shnum, shstrndx;
	uint64_t phoff, shoff, shstrtab_offset, shstrtab_size;
	size_t len;
};

/* Start g (already zeroed): ELF class 32 or 64, e_type, EI_OSABI. */
void eg_init(struct elfgen *g, unsigned cls, uint16_t type, uint8_t osabi);

/* Fill p[0..len) with the pattern (uint8_t)(first + step * i), for section contents. */
void eg_fill(uint8_t *p, size_t len, unsigned first, unsigned step);

/* Lay the file out and write it to out (cap bytes); returns its length. */
size_t eg_build(struct elfgen *g, uint8_t *out, size_t cap);

/* The 24 bytes of a NetBSD ident note for `version`. */
void eg_netbsd_note(uint8_t note[24], uint32_t version);

/* The byte a segment's pattern has at file offset `off` of segment `seg` (data == NULL). */
uint8_t eg_pattern(unsigned seg, uint64_t off);

/* A NetBSD-like kernel (see elfgen.c): text and data+bss segments, a read-only segment NetBSD
 * skips, a note, .comment, .symtab, .strtab and .shstrtab. */
struct eg_kernel {
	struct elfgen g;
	uint8_t symtab[64 * 4], strtab[64];
	uint8_t note[24];
	uint8_t comment[16];
	uint64_t symtab_size, strtab_size;
	unsigned symtab_index, strtab_index, note_index, comment_index; /* section numbers */
};
void eg_netbsd_kernel(struct eg_kernel *k, unsigned cls);

/* A FreeBSD-like kernel (see elfgen.c): text and data+bss segments, .text .data .bss .symtab
 * (3 symbols, link 5) .strtab; data_filesz is the size of .data.  The caller may add segments
 * and sections before building it. */
struct eg_fb_kernel {
	struct elfgen g;
	uint8_t symtab[128], strtab[32];
	uint64_t symtab_size, strtab_size;
};
void eg_freebsd_kernel(struct eg_fb_kernel *k, unsigned cls, uint64_t data_filesz);

/* Append a section (own bytes, sh_addralign 1) to g and return it for the caller to fill. */
struct eg_sec *eg_add_sec(struct elfgen *g, const char *name, uint32_t type);

/* Build g and copy the file into simulated RAM at pa; returns its length. */
uint32_t eg_load(struct elfgen *g, uint64_t pa);
#endif
