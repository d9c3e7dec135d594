/*
 * test_elf.c - elf_parse, elf_keep_segments, elf_assign_pa, elf_section/elf_string on crafted
 * ELF32 and ELF64 kernels in simulated RAM; hostile files refused with the exact error line.
 */
#include <stdio.h>
#include "elf.h"
#include "elfgen.h"
#include "netbsd.h"
#include "test.h"

#define KPA 0x400000u

static struct eg_kernel k;
static struct kernel_image img;
static uint32_t kpa = KPA, klen;
static struct mem_range map[2] = { { 0, 0x9fc00, MEM_RAM }, { 0x100000, 0x7f00000, MEM_RAM } };
static uint32_t map_count = 2;

static void run_parse(void *arg)
{
	(void)arg;
	elf_parse(kpa, klen, &img);
}

static void run_parse_assign(void *arg)
{
	(void)arg;
	elf_parse(kpa, klen, &img);
	elf_keep_segments(&img, netbsd_segment_loadable);
	elf_assign_pa(&img, 0x07ffffff, 0, map, map_count);
}

static int parse(void)
{
	host_console_clear();
	return host_run(run_parse, NULL);
}

static int parse_assign(void)
{
	host_console_clear();
	return host_run(run_parse_assign, NULL);
}

static void load(unsigned cls)
{
	eg_netbsd_kernel(&k, cls);
	klen = eg_load(&k.g, KPA);
}

static void check_segment(const char *file, int line, unsigned i, uint64_t va, uint64_t off, uint64_t filesz,
			  uint64_t memsz, uint32_t flags)
{
	const struct kernel_segment *s = &img.segments[i];
	if (s->va != va || s->file_offset != off || s->file_len != filesz || s->mem_len != memsz || s->flags != flags)
		test_fail(file, line,
			  "segment %u: expected va 0x%llx off 0x%llx filesz 0x%llx memsz 0x%llx flags %u, got va 0x%llx "
			  "off 0x%llx filesz 0x%llx memsz 0x%llx flags %u",
			  i, (unsigned long long)va, (unsigned long long)off, (unsigned long long)filesz,
			  (unsigned long long)memsz, flags, (unsigned long long)s->va, (unsigned long long)s->file_offset,
			  (unsigned long long)s->file_len, (unsigned long long)s->mem_len, s->flags);
}
#define CHECK_SEGMENT(...) check_segment(__FILE__, __LINE__, __VA_ARGS__)

TEST(elf32_parse_fields)
{
	load(32);
	CHECK_OUTCOME(parse(), HOST_RETURNED);
	CHECK_EQ(img.file_pa, KPA);
	CHECK_EQ(img.file_len, klen);
	CHECK_EQ(img.elf_class, 32);
	CHECK_EQ(img.machine, EM_386);
	CHECK_EQ(img.osabi, 0);
	CHECK(img.netbsd_note);
	CHECK_EQ(img.netbsd_version, 1099000000);
	CHECK_EQ(img.entry_va, 0xc0100020);
	CHECK_EQ(img.segment_count, 3);
	CHECK_SEGMENT(0, 0xc0100000, k.g.seg[0].offset, 0x1800, 0x1800, 5);
	CHECK_SEGMENT(1, 0xc0102000, k.g.seg[1].offset, 0x300, 0x1203, 6);
	CHECK_SEGMENT(2, 0xc0104000, k.g.seg[2].offset, 0x100, 0x100, 4);
	CHECK_EQ(img.shoff, k.g.shoff);
	CHECK_EQ(img.shnum, 9);
	CHECK_EQ(img.shentsize, 40);
	CHECK_EQ(img.shstrndx, 8);
	CHECK_EQ(img.ehsize, 52);
}

TEST(elf64_parse_fields)
{
	load(64);
	CHECK_OUTCOME(parse(), HOST_RETURNED);
	CHECK_EQ(img.elf_class, 64);
	CHECK_EQ(img.machine, EM_X86_64);
	CHECK(img.netbsd_note);
	CHECK_EQ(img.netbsd_version, 1099000000);
	CHECK_EQ(img.entry_va, 0xffffffff80200020ull);
	CHECK_EQ(img.segment_count, 3);
	CHECK_SEGMENT(0, 0xffffffff80200000ull, k.g.seg[0].offset, 0x1800, 0x1800, 5);
	CHECK_SEGMENT(1, 0xffffffff80202000ull, k.g.seg[1].offset, 0x300, 0x1203, 6);
	CHECK_EQ(img.shoff, k.g.shoff);
	CHECK_EQ(img.shnum, 9);
	CHECK_EQ(img.shentsize, 64);
	CHECK_EQ(img.shstrndx, 8);
	CHECK_EQ(img.ehsize, 64);
}

TEST(elf_sections_and_strings)
{
	for (unsigned cls = 32; cls <= 64; cls += 32) {
		load(cls);
		CHECK_OUTCOME(parse(), HOST_RETURNED);
		struct elf_section s;
		elf_section(&img, k.symtab_index, &s);
		CHECK_EQ(s.type, SHT_SYMTAB);
		CHECK_EQ(s.offset, k.g.sec[k.symtab_index - 1].offset);
		CHECK_EQ(s.size, k.symtab_size);
		CHECK_EQ(s.link, k.strtab_index);
		CHECK_EQ(s.info, 1);
		CHECK_EQ(s.entsize, cls == 64 ? 24 : 16);
		CHECK_EQ(s.addralign, cls == 64 ? 8 : 4);
		CHECK_STR(elf_string(&img, img.shstrndx, s.name), ".symtab");
		elf_section(&img, 1, &s);
		CHECK_EQ(s.addr, cls == 64 ? 0xffffffff80200000ull : 0xc0100000ull);
		CHECK_EQ(s.flags, 6);
		CHECK_STR(elf_string(&img, img.shstrndx, s.name), ".text");
		CHECK_STR(elf_string(&img, k.strtab_index, 7), "probe_marker");
		CHECK_STR(elf_string(&img, k.strtab_index, 1000), "");
		CHECK_STR(elf_string(&img, 0, 1), "");
		CHECK_STR(elf_string(&img, 99, 1), "");
		CHECK_STR(elf_string(&img, k.symtab_index, 1), ""); /* not a STRTAB */
		CHECK_EQ(elf_shdr_size(&img), cls == 64 ? 64 : 40);
	}
}

static void run_section_9(void *arg)
{
	static struct elf_section s;
	(void)arg;
	elf_section(&img, 9, &s);
}

TEST(elf_section_beyond_table)
{
	load(32);
	CHECK_OUTCOME(parse(), HOST_RETURNED);
	CHECK_FAILS_WITH(host_run(run_section_9, NULL), "mbchain: error: elf: section index 9 out of range (9 sections)\n");
}

TEST(elf_assign_pa_netbsd)
{
	load(32);
	CHECK_OUTCOME(parse_assign(), HOST_RETURNED);
	CHECK_EQ(img.segment_count, 2); /* the read-only segment is not loaded */
	CHECK_EQ(img.segments[0].pa, 0x100000);
	CHECK_EQ(img.segments[1].pa, 0x102000);
	CHECK_EQ(img.entry_pa, 0x100020);
	CHECK_EQ(img.start_pa, 0x100000);
	CHECK_EQ(img.end_pa, 0x103203);
	load(64);
	CHECK_OUTCOME(parse_assign(), HOST_RETURNED);
	CHECK_EQ(img.segment_count, 2);
	CHECK_EQ(img.segments[0].pa, 0x200000);
	CHECK_EQ(img.segments[1].pa, 0x202000);
	CHECK_EQ(img.entry_pa, 0x200020);
	CHECK_EQ(img.start_pa, 0x200000);
	CHECK_EQ(img.end_pa, 0x203203);
}

TEST(elf_note_in_pt_note_segment)
{
	uint8_t note[24];
	struct elfgen g;
	memset(&g, 0, sizeof(g));
	eg_netbsd_note(note, 999000100);
	g.cls = 32;
	g.entry = 0xc0100000;
	g.nseg = 2;
	g.seg[0] = (struct eg_seg){ 1, 5, 0xc0100000, 0x100, 0x100, NULL, 0 };
	g.seg[1] = (struct eg_seg){ 4, 4, 0, 24, 24, note, 0 };
	g.no_shstrtab = 1;
	klen = eg_load(&g, KPA);
	CHECK_OUTCOME(parse(), HOST_RETURNED);
	CHECK(img.netbsd_note);
	CHECK_EQ(img.netbsd_version, 999000100);
	CHECK_EQ(img.segment_count, 1);
	CHECK_EQ(img.shnum, 1);
	CHECK_EQ(img.shstrndx, 0);
	/* the same without the note: no NetBSD identity */
	g.nseg = 1;
	klen = eg_load(&g, KPA);
	CHECK_OUTCOME(parse(), HOST_RETURNED);
	CHECK(!img.netbsd_note);
	/* a note with another name is not NetBSD's */
	memcpy(note + 12, "FreeBS", 7);
	g.nseg = 2;
	klen = eg_load(&g, KPA);
	CHECK_OUTCOME(parse(), HOST_RETURNED);
	CHECK(!img.netbsd_note);
}

/* ---- hostile files ---- */

static void patch(uint32_t off, const void *bytes, size_t len) { host_put(KPA + off, bytes, len); }
static void patch16(uint32_t off, uint16_t v) { host_w16(KPA + off, v); }
static void patch32(uint32_t off, uint32_t v) { host_w32(KPA + off, v); }

TEST(elf_not_elf)
{
	load(32);
	patch(0, "MZ\x90\x00", 4);
	CHECK_FAILS_WITH(parse(), "mbchain: error: elf: the kernel module is not an ELF file (starts 0x4d5a9000)\n");
}

TEST(elf_gzip)
{
	load(32);
	patch(0, "\x1f\x8b\x08\x00", 4);
	CHECK_FAILS_WITH(parse(), "mbchain: error: elf: the kernel module is compressed in a way mbchain does not know (");
	char want[80];
	snprintf(want, sizeof(want), "mbchain does not know (%u bytes)\n", klen);
	CHECK_CONTAINS(host_console_text(), want);
	CHECK_CONTAINS(host_console_text(), "mbchain: hint: gunzip the kernel");
}

TEST(elf_truncated_header)
{
	load(32);
	klen = 40;
	CHECK_FAILS_WITH(parse(), "mbchain: error: elf: ELF header at offset 0x0 (+0x34) is beyond the end of the file "
				  "(0x28 bytes)\n");
	load(64);
	klen = 60;
	CHECK_FAILS_WITH(parse(), "mbchain: error: elf: ELF header at offset 0x0 (+0x40) is beyond the end of the file "
				  "(0x3c bytes)\n");
	klen = 10;
	CHECK_FAILS_WITH(parse(), "mbchain: error: elf: the kernel module is 10 bytes, too short for an ELF file\n");
	klen = 0;
	CHECK_FAILS_WITH(parse(), "mbchain: error: elf: the kernel module is 0 bytes, too short for an ELF file\n");
}

TEST(elf_wrong_class_machine_type)
{
	load(32);
	host_w8(KPA + 4, 3);
	CHECK_FAILS_WITH(parse(), "mbchain: error: elf: unknown ELF class (3)\n");
	load(32);
	host_w8(KPA + 5, 2);
	CHECK_FAILS_WITH(parse(), "mbchain: error: elf: not little-endian (EI_DATA 2)\n");
	load(32);
	patch16(18, EM_X86_64);
	CHECK_FAILS_WITH(parse(), "mbchain: error: elf: ELF32 file for machine 62, not x86\n");
	load(64);
	patch16(18, EM_386);
	CHECK_FAILS_WITH(parse(), "mbchain: error: elf: ELF64 file for machine 3, not x86\n");
	load(64);
	patch16(18, 40); /* ARM */
	CHECK_FAILS_WITH(parse(), "mbchain: error: elf: ELF64 file for machine 40, not x86\n");
	load(32);
	patch16(16, 3); /* ET_DYN */
	CHECK_FAILS_WITH(parse(), "mbchain: error: elf: not an executable (e_type 3)\n");
	load(32);
	patch16(16, 1); /* ET_REL: a module, not a kernel */
	CHECK_FAILS_WITH(parse(), "mbchain: error: elf: not an executable (e_type 1)\n");
}

TEST(elf_phnum_limits)
{
	load(32);
	patch16(44, 0);
	CHECK_FAILS_WITH(parse(), "mbchain: error: elf: 0 program headers (expected 1 to 64)\n");
	patch16(44, 65);
	CHECK_FAILS_WITH(parse(), "mbchain: error: elf: 65 program headers (expected 1 to 64)\n");
	load(64);
	patch16(56, 65);
	CHECK_FAILS_WITH(parse(), "mbchain: error: elf: 65 program headers (expected 1 to 64)\n");
	load(32);
	patch16(42, 36);
	CHECK_FAILS_WITH(parse(), "mbchain: error: elf: program header size 36 (expected 32)\n");
	/* 64 headers run past the end of the file */
	load(32);
	patch16(44, 64);
	patch32(28, klen - 100);
	CHECK_FAILS_WITH(parse(), "mbchain: error: elf: program headers at offset ");
}

TEST(elf_filesz_above_memsz)
{
	load(32);
	patch32(52 + 32 + 20, 0x200); /* segment 1 p_memsz */
	CHECK_FAILS_WITH(parse(), "mbchain: error: elf: segment 1 has p_filesz 0x300 > p_memsz 0x200\n");
	load(64);
	host_w64(KPA + 64 + 56 + 40, 0x2ff);
	CHECK_FAILS_WITH(parse(), "mbchain: error: elf: segment 1 has p_filesz 0x300 > p_memsz 0x2ff\n");
}

TEST(elf_segment_beyond_file)
{
	char want[160];
	load(32);
	patch32(52 + 4, klen - 0x100); /* segment 0 p_offset: 0x1800 bytes from there pass the end */
	snprintf(want, sizeof(want),
		 "mbchain: error: elf: segment at offset 0x%x (+0x1800) is beyond the end of the file (0x%x bytes)\n",
		 klen - 0x100, klen);
	CHECK_FAILS_WITH(parse(), want);
	load(32);
	patch32(52 + 4, 0xfffffff0);
	snprintf(want, sizeof(want),
		 "mbchain: error: elf: segment at offset 0xfffffff0 (+0x1800) is beyond the end of the file (0x%x bytes)\n",
		 klen);
	CHECK_FAILS_WITH(parse(), want);
	load(64);
	host_w64(KPA + 64 + 8, 0xfffffffffffff000ull); /* p_offset + p_filesz wraps */
	snprintf(want, sizeof(want),
		 "mbchain: error: elf: segment at offset 0xfffffffffffff000 (+0x1800) is beyond the end of the file "
		 "(0x%x bytes)\n",
		 klen);
	CHECK_FAILS_WITH(parse(), want);
}

TEST(elf_section_headers_out_of_file)
{
	char want[160];
	load(32);
	patch32(32, klen - 40); /* e_shoff: only one header fits */
	snprintf(want, sizeof(want),
		 "mbchain: error: elf: section headers at offset 0x%x (+0x168) is beyond the end of the file (0x%x bytes)\n",
		 klen - 40, klen);
	CHECK_FAILS_WITH(parse(), want);
	load(64);
	host_w64(KPA + 40, UINT64_MAX - 8);
	CHECK_FAILS_WITH(parse(), "mbchain: error: elf: section headers at offset 0xfffffffffffffff7 (+0x240)");
	load(32);
	patch16(46, 32);
	CHECK_FAILS_WITH(parse(), "mbchain: error: elf: section header size 32 (expected 40)\n");
	load(32);
	patch16(48, 1025);
	CHECK_FAILS_WITH(parse(), "mbchain: error: elf: 1025 section headers (at most 1024)\n");
}

TEST(elf_shstrndx_out_of_range_ignored)
{
	load(32);
	patch16(50, 200);
	CHECK_OUTCOME(parse(), HOST_RETURNED);
	CHECK_EQ(img.shstrndx, 0);
}

TEST(elf_note_section_out_of_file)
{
	char want[160];
	load(32);
	/* section 4 (the note) sh_offset beyond the file */
	patch32((uint32_t)k.g.shoff + 4 * 40 + 16, klen + 4);
	snprintf(want, sizeof(want),
		 "mbchain: error: elf: note at offset 0x%x (+0x18) is beyond the end of the file (0x%x bytes)\n", klen + 4,
		 klen);
	CHECK_FAILS_WITH(parse(), want);
}

TEST(elf_entry_not_executable)
{
	load(32);
	patch32(24, 0xc0102010); /* in the data segment */
	CHECK_FAILS_WITH(parse_assign(), "mbchain: error: elf: entry point 0xc0102010 is in no executable segment\n");
	load(32);
	patch32(24, 0xc0101800); /* one past the end of text */
	CHECK_FAILS_WITH(parse_assign(), "mbchain: error: elf: entry point 0xc0101800 is in no executable segment\n");
	load(32);
	patch32(24, 0xc01017ff); /* last byte of text */
	CHECK_OUTCOME(parse_assign(), HOST_RETURNED);
	CHECK_EQ(img.entry_pa, 0x1017ff);
}

TEST(elf_overlapping_segments)
{
	load(32);
	patch32(52 + 32 + 8, 0xc0101000); /* data p_vaddr inside text */
	CHECK_FAILS_WITH(parse_assign(), "mbchain: error: elf: segments 0 and 1 overlap at 0x101000\n");
	/* aliases through the 0x07ffffff mask overlap as well */
	load(32);
	patch32(52 + 32 + 8, 0xc8100800);
	CHECK_FAILS_WITH(parse_assign(), "mbchain: error: elf: segments 0 and 1 overlap at 0x100800\n");
}

TEST(elf_segment_not_in_ram)
{
	load(32);
	map[1].len = 0x2000; /* RAM [1 MiB, 1 MiB + 8 KiB): the data segment's bss passes it */
	int r = parse_assign();
	map[1].len = 0x7f00000;
	CHECK_FAILS_WITH(r, "mbchain: error: elf: segment 1 at [0x102000, 0x103203) is not in RAM\n");
	load(64);
	patch32(64 + 16, 0x87fff000); /* vaddr 0xffffffff87fff000 -> pa 0x7fff000: runs past RAM */
	patch32(64 + 16 + 4, 0xffffffff);
	CHECK_FAILS_WITH(parse_assign(), "mbchain: error: elf: segment 0 at [0x7fff000, 0x8000800) is not in RAM\n");
}

TEST(elf_no_loadable_segment)
{
	load(32);
	for (unsigned i = 0; i < 3; i++)
		patch32(52 + 32 * i + 24, 4); /* every segment read-only */
	CHECK_FAILS_WITH(parse_assign(),
			 "mbchain: error: elf: none of the 3 PT_LOAD segments is writable or executable\n");
	load(32);
	for (unsigned i = 0; i < 3; i++)
		patch32(52 + 32 * i, 6); /* PT_PHDR: no PT_LOAD */
	CHECK_FAILS_WITH(parse(), "mbchain: error: elf: no loadable segment (3 program headers)\n");
}
