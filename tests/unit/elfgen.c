/*
 * elfgen.c - see elfgen.h.
 */
#include "elfgen.h"
#include "host.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void wr(uint8_t *p, uint64_t v, unsigned len)
{
	for (unsigned i = 0; i < len; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t up(uint64_t x, uint64_t a) { return (x + a - 1) & ~(a - 1); }

uint8_t eg_pattern(unsigned seg, uint64_t off) { return (uint8_t)(off * 7 + seg * 31 + (off >> 8) + 1); }

void eg_netbsd_note(uint8_t note[24], uint32_t version)
{
	memset(note, 0, 24);
	wr(note, 7, 4);
	wr(note + 4, 4, 4);
	wr(note + 8, 1, 4);
	memcpy(note + 12, "NetBSD", 7);
	wr(note + 20, version, 4);
}

size_t eg_build(struct elfgen *g, uint8_t *out, size_t cap)
{
	const int is64 = g->cls == 64;
	const unsigned ehsize = is64 ? 64 : 52, phentsize = is64 ? 56 : 32, shentsize = is64 ? 64 : 40;
	char shstr[512];
	size_t shstr_len = 1;
	uint64_t pos;

	shstr[0] = 0;
	g->shnum = g->nsec + 1 + (g->no_shstrtab ? 0 : 1);
	g->shstrndx = g->no_shstrtab ? 0 : g->nsec + 1;
	for (unsigned i = 0; i < g->nsec; i++) {
		size_t n = strlen(g->sec[i].name) + 1;
		g->sec[i].name_off = (uint32_t)shstr_len;
		memcpy(shstr + shstr_len, g->sec[i].name, n);
		shstr_len += n;
	}
	uint32_t shstr_name = (uint32_t)shstr_len;
	memcpy(shstr + shstr_len, ".shstrtab", 10);
	shstr_len += 10;

	g->phoff = ehsize;
	pos = ehsize + (uint64_t)g->nseg * phentsize;
	for (unsigned i = 0; i < g->nseg; i++) {
		pos = up(pos, 16);
		g->seg[i].offset = pos;
		pos += g->seg[i].filesz;
	}
	for (unsigned i = 0; i < g->nsec; i++) {
		struct eg_sec *s = &g->sec[i];
		if (s->in_seg >= 0) {
			s->offset = g->seg[s->in_seg].offset + s->seg_off;
		} else if (s->type == 8 /* NOBITS */) {
			s->offset = pos;
		} else {
			pos = up(pos, 8);
			s->offset = pos;
			pos += s->size;
		}
	}
	g->shstrtab_offset = pos;
	g->shstrtab_size = shstr_len;
	if (!g->no_shstrtab)
		pos += shstr_len;
	pos = up(pos, 8);
	g->shoff = pos;
	pos += (uint64_t)g->shnum * shentsize;
	g->len = (size_t)pos;
	if (g->len > cap) {
		fprintf(stderr, "elfgen: %zu bytes do not fit %zu\n", g->len, cap);
		abort();
	}
	memset(out, 0, g->len);

	/* Ehdr */
	out[0] = 0x7f, out[1] = 'E', out[2] = 'L', out[3] = 'F';
	out[4] = is64 ? 2 : 1;
	out[5] = 1;
	out[6] = 1;
	out[7] = g->osabi;
	wr(out + 16, g->type ? g->type : 2, 2);
	wr(out + 18, g->machine ? g->machine : (is64 ? 62 : 3), 2);
	wr(out + 20, 1, 4);
	unsigned w = is64 ? 8 : 4, o = 24;
	wr(out + o, g->entry, w), o += w;
	wr(out + o, g->phoff, w), o += w;
	wr(out + o, g->shoff, w), o += w;
	wr(out + o, 0, 4), o += 4; /* e_flags */
	wr(out + o, ehsize, 2), o += 2;
	wr(out + o, phentsize, 2), o += 2;
	wr(out + o, g->nseg, 2), o += 2;
	wr(out + o, shentsize, 2), o += 2;
	wr(out + o, g->shnum, 2), o += 2;
	wr(out + o, g->shstrndx, 2);

	/* Phdrs and segment bytes */
	for (unsigned i = 0; i < g->nseg; i++) {
		const struct eg_seg *s = &g->seg[i];
		uint8_t *ph = out + g->phoff + (uint64_t)i * phentsize;
		if (is64) {
			wr(ph, s->type, 4), wr(ph + 4, s->flags, 4), wr(ph + 8, s->offset, 8);
			wr(ph + 16, s->vaddr, 8), wr(ph + 24, s->vaddr & 0x0fffffff, 8), wr(ph + 32, s->filesz, 8);
			wr(ph + 40, s->memsz, 8), wr(ph + 48, 0x1000, 8);
		} else {
			wr(ph, s->type, 4), wr(ph + 4, s->offset, 4), wr(ph + 8, s->vaddr, 4);
			wr(ph + 12, s->vaddr & 0x0fffffff, 4), wr(ph + 16, s->filesz, 4), wr(ph + 20, s->memsz, 4);
			wr(ph + 24, s->flags, 4), wr(ph + 28, 0x1000, 4);
		}
		for (uint64_t b = 0; b < s->filesz; b++)
			out[s->offset + b] = s->data ? s->data[b] : eg_pattern(i, b);
	}
	/* Section bytes, shstrtab, section headers */
	for (unsigned i = 0; i < g->nsec; i++)
		if (g->sec[i].in_seg < 0 && g->sec[i].type != 8 && g->sec[i].data)
			memcpy(out + g->sec[i].offset, g->sec[i].data, g->sec[i].size);
	if (!g->no_shstrtab)
		memcpy(out + g->shstrtab_offset, shstr, shstr_len);
	for (unsigned i = 0; i + 1 < g->shnum; i++) {
		uint8_t *sh = out + g->shoff + (uint64_t)(i + 1) * shentsize;
		const struct eg_sec *s = &g->sec[i];
		uint32_t name = s->name_off, type = s->type, link = s->link, info = s->info;
		uint64_t flags = s->flags, addr = s->addr, off = s->offset, size = s->size, align = s->addralign,
			 entsize = s->entsize;
		if (i == g->nsec) { /* .shstrtab */
			name = shstr_name, type = 3, link = info = 0;
			flags = addr = entsize = 0, align = 1, off = g->shstrtab_offset, size = shstr_len;
		}
		if (is64) {
			wr(sh, name, 4), wr(sh + 4, type, 4), wr(sh + 8, flags, 8), wr(sh + 16, addr, 8);
			wr(sh + 24, off, 8), wr(sh + 32, size, 8), wr(sh + 40, link, 4), wr(sh + 44, info, 4);
			wr(sh + 48, align, 8), wr(sh + 56, entsize, 8);
		} else {
			wr(sh, name, 4), wr(sh + 4, type, 4), wr(sh + 8, flags, 4), wr(sh + 12, addr, 4);
			wr(sh + 16, off, 4), wr(sh + 20, size, 4), wr(sh + 24, link, 4), wr(sh + 28, info, 4);
			wr(sh + 32, align, 4), wr(sh + 36, entsize, 4);
		}
	}
	return g->len;
}

static struct eg_sec *add_sec(struct elfgen *g, const char *name, uint32_t type)
{
	struct eg_sec *s = &g->sec[g->nsec++];
	memset(s, 0, sizeof(*s));
	s->name = name;
	s->type = type;
	s->in_seg = -1;
	s->addralign = 1;
	return s;
}

void eg_init(struct elfgen *g, unsigned cls, uint16_t type, uint8_t osabi)
{
	g->cls = cls;
	g->type = type;
	g->osabi = osabi;
}

void eg_fill(uint8_t *p, size_t len, unsigned first, unsigned step)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(first + step * i);
}

struct eg_sec *eg_add_sec(struct elfgen *g, const char *name, uint32_t type)
{
	if (g->nsec == EG_MAX_SECS) {
		fprintf(stderr, "elfgen: more than %u sections\n", EG_MAX_SECS);
		abort();
	}
	return add_sec(g, name, type);
}

/*
 * amd64: linked at 0xffffffff80200000 (p_paddr 0x200000), i386: VA == PA 0x400000.
 * text [base, +0x1800) R+X; data [base+0x2000, +0x300) + bss to base+0x3203 R+W; entry base+0x20.
 * Sections: 1 .text, 2 .data (data_filesz bytes), 3 .bss, 4 .symtab, 5 .strtab, 6 .shstrtab.
 * .symtab holds bytes 0x41 + 3i, .strtab "\0start\0probe_marker\0ab" (23 bytes).
 */
void eg_freebsd_kernel(struct eg_fb_kernel *k, unsigned cls, uint64_t data_filesz)
{
	static const char strs[] = "\0start\0probe_marker\0ab";
	struct elfgen *g = &k->g;
	const int is64 = cls == 64;
	const uint64_t base = is64 ? 0xffffffff80200000ull : 0x400000u;
	struct eg_sec *s;
	memset(k, 0, sizeof(*k));
	g->cls = cls;
	g->osabi = 9; /* ELFOSABI_FREEBSD */
	g->entry = base + 0x20;
	g->nseg = 2;
	g->seg[0] = (struct eg_seg){ 1, 5, base, 0x1800, 0x1800, NULL, 0 };
	g->seg[1] = (struct eg_seg){ 1, 6, base + 0x2000, 0x300, 0x1203, NULL, 0 };
	s = eg_add_sec(g, ".text", 1);
	s->in_seg = 0, s->size = 0x1800, s->addr = base, s->flags = 6;
	s = eg_add_sec(g, ".data", 1);
	s->in_seg = 1, s->size = data_filesz, s->addr = base + 0x2000, s->flags = 3;
	s = eg_add_sec(g, ".bss", 8);
	s->size = 0xf03, s->addr = base + 0x2300, s->flags = 3;
	k->symtab_size = 3 * (is64 ? 24 : 16);
	for (unsigned i = 0; i < k->symtab_size; i++)
		k->symtab[i] = (uint8_t)(0x41 + 3 * i);
	k->strtab_size = sizeof(strs);
	memcpy(k->strtab, strs, sizeof(strs));
	s = eg_add_sec(g, ".symtab", 2);
	s->data = k->symtab, s->size = k->symtab_size, s->link = 5, s->info = 1, s->addralign = is64 ? 8 : 4;
	s->entsize = is64 ? 24 : 16;
	s = eg_add_sec(g, ".strtab", 3);
	s->data = k->strtab, s->size = k->strtab_size;
}

/*
 * i386: text [0xc0100000, +0x1800) R+X, data [0xc0102000, +0x300) + bss to 0xc0103203 R+W,
 *       a read-only segment at 0xc0104000 (+0x100) that NetBSD does not load; entry 0xc0100020.
 * amd64: the same shape at 0xffffffff80200000.
 * Sections: 1 .text, 2 .data, 3 .bss, 4 .note.netbsd.ident, 5 .comment, 6 .symtab, 7 .strtab,
 *           8 .shstrtab.
 */
void eg_netbsd_kernel(struct eg_kernel *k, unsigned cls)
{
	struct elfgen *g = &k->g;
	const int is64 = cls == 64;
	const uint64_t base = is64 ? 0xffffffff80200000ull : 0xc0100000ull;
	const unsigned symsize = is64 ? 24 : 16;
	memset(k, 0, sizeof(*k));
	g->cls = cls;
	g->entry = base + 0x20;
	g->nseg = 3;
	g->seg[0] = (struct eg_seg){ 1, 5, base, 0x1800, 0x1800, NULL, 0 };
	g->seg[1] = (struct eg_seg){ 1, 6, base + 0x2000, 0x300, 0x1203, NULL, 0 };
	g->seg[2] = (struct eg_seg){ 1, 4, base + 0x4000, 0x100, 0x100, NULL, 0 };

	struct eg_sec *s = add_sec(g, ".text", 1);
	s->in_seg = 0, s->size = 0x1800, s->addr = base, s->flags = 6;
	s = add_sec(g, ".data", 1);
	s->in_seg = 1, s->size = 0x300, s->addr = base + 0x2000, s->flags = 3;
	s = add_sec(g, ".bss", 8);
	s->size = 0xf03, s->addr = base + 0x2300, s->flags = 3;

	eg_netbsd_note(k->note, 1099000000);
	s = add_sec(g, ".note.netbsd.ident", 7);
	s->data = k->note, s->size = 24, s->addralign = 4;
	k->note_index = g->nsec;

	memcpy(k->comment, "GCC: test", 10);
	s = add_sec(g, ".comment", 1);
	s->data = k->comment, s->size = 10;
	k->comment_index = g->nsec;

	/* strtab: "\0start\0probe_marker\0" */
	static const char strs[] = "\0start\0probe_marker";
	k->strtab_size = sizeof(strs);
	memcpy(k->strtab, strs, sizeof(strs));
	/* three symbols: null, start (func), probe_marker (object) */
	k->symtab_size = 3 * symsize;
	uint8_t *sym = k->symtab + symsize;
	if (is64) {
		wr(sym, 1, 4), sym[4] = 0x12, wr(sym + 6, 1, 2), wr(sym + 8, g->entry, 8), wr(sym + 16, 0x10, 8);
		sym += symsize;
		wr(sym, 7, 4), sym[4] = 0x11, wr(sym + 6, 2, 2), wr(sym + 8, base + 0x2010, 8), wr(sym + 16, 4, 8);
	} else {
		wr(sym, 1, 4), wr(sym + 4, g->entry, 4), wr(sym + 8, 0x10, 4), sym[12] = 0x12, wr(sym + 14, 1, 2);
		sym += symsize;
		wr(sym, 7, 4), wr(sym + 4, base + 0x2010, 4), wr(sym + 8, 4, 4), sym[12] = 0x11, wr(sym + 14, 2, 2);
	}
	s = add_sec(g, ".symtab", 2);
	s->data = k->symtab, s->size = k->symtab_size, s->link = 7, s->info = 1, s->addralign = is64 ? 8 : 4;
	s->entsize = symsize;
	k->symtab_index = g->nsec;
	s = add_sec(g, ".strtab", 3);
	s->data = k->strtab, s->size = k->strtab_size;
	k->strtab_index = g->nsec;
}

uint32_t eg_load(struct elfgen *g, uint64_t pa)
{
	static uint8_t buf[1 << 20];
	size_t n = eg_build(g, buf, sizeof(buf));
	host_put(pa, buf, n);
	return (uint32_t)n;
}
