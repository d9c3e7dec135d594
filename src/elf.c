/*
 * elf.c - see elf.h.  ELF32 and ELF64 share one reader: a table gives each field's offset and
 * width per class (System V ABI, "ELF Header", "Program Header", "Sections").
 */
#include "elf.h"
#include "log.h"
#include "memmap.h"
#include "platform.h"
#include "util.h"

#define PT_LOAD 1
#define PT_DYNAMIC 2
#define PT_NOTE 4
#define NT_NETBSD_IDENT 1 /* NetBSD sys/exec_elf.h: ELF_NOTE_TYPE_NETBSD_TAG */

struct field {
	uint8_t off, len;
};

/* Field offsets and widths for one ELF class. */
struct elf_layout {
	uint32_t ehsize, phentsize, shentsize;
	struct field e_entry, e_phoff, e_shoff, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx;
	struct field p_type, p_flags, p_offset, p_vaddr, p_filesz, p_memsz, p_paddr;
	struct field sh_name, sh_type, sh_flags, sh_addr, sh_offset, sh_size, sh_link, sh_info, sh_addralign,
		sh_entsize;
};

static const struct elf_layout layout32 = {
	52, 32, 40,
	{ 24, 4 }, { 28, 4 }, { 32, 4 }, { 42, 2 }, { 44, 2 }, { 46, 2 }, { 48, 2 }, { 50, 2 },
	{ 0, 4 }, { 24, 4 }, { 4, 4 }, { 8, 4 }, { 16, 4 }, { 20, 4 }, { 12, 4 },
	{ 0, 4 }, { 4, 4 }, { 8, 4 }, { 12, 4 }, { 16, 4 }, { 20, 4 }, { 24, 4 }, { 28, 4 }, { 32, 4 }, { 36, 4 },
};

static const struct elf_layout layout64 = {
	64, 56, 64,
	{ 24, 8 }, { 32, 8 }, { 40, 8 }, { 54, 2 }, { 56, 2 }, { 58, 2 }, { 60, 2 }, { 62, 2 },
	{ 0, 4 }, { 4, 4 }, { 8, 8 }, { 16, 8 }, { 32, 8 }, { 40, 8 }, { 24, 8 },
	{ 0, 4 }, { 4, 4 }, { 8, 8 }, { 16, 8 }, { 24, 8 }, { 32, 8 }, { 40, 4 }, { 44, 4 }, { 48, 8 }, { 56, 8 },
};

static const char hint_kernel[] = "the kernel module must be an uncompressed NetBSD or FreeBSD x86 kernel";

static const struct elf_layout *layout_of(const struct kernel_image *img)
{
	return img->elf_class == 64 ? &layout64 : &layout32;
}

static uint64_t get(const uint8_t *base, struct field f)
{
	uint64_t v = 0;
	for (unsigned i = f.len; i-- > 0;)
		v = (v << 8) | base[f.off + i];
	return v;
}

static void put(uint8_t *base, struct field f, uint64_t v)
{
	for (unsigned i = 0; i < f.len; i++, v >>= 8)
		base[f.off + i] = (uint8_t)v;
}

static void check_range(const struct kernel_image *img, uint64_t off, uint64_t len, const char *what)
{
	if (off > img->file_len || len > img->file_len - off)
		fail(hint_kernel, "elf: %s at offset 0x%llx (+0x%llx) is beyond the end of the file (0x%x bytes)", what,
		     (unsigned long long)off, (unsigned long long)len, img->file_len);
}

/* Bytes of the file that were inflated in place live at their destination, and the buffer
 * holds nothing there: a read that touches them gets them copied back into the buffer first
 * (rare and small: a note inside a segment; both copies stay valid until the handoff). */
static void read_back_placed(const struct kernel_image *img, uint64_t off, uint64_t len)
{
	for (unsigned i = 0; i < img->placed_count; i++) {
		const struct module_placed *p = &img->placed[i];
		uint64_t start = max_u64(off, p->offset), end = min_u64(off + len, (uint64_t)p->offset + p->len);
		if (start >= end)
			continue;
		memcpy(phys_ptr(img->file_pa + start, end - start), phys_ptr(p->pa + (start - p->offset), end - start),
		       (size_t)(end - start));
		log_info("elf: 0x%llx bytes at offset 0x%llx read back from where they were inflated",
			 (unsigned long long)(end - start), (unsigned long long)start);
	}
}

uint32_t elf_file_pa(const struct kernel_image *img, uint64_t off, uint64_t len, const char *what)
{
	check_range(img, off, len, what);
	read_back_placed(img, off, len);
	return img->file_pa + (uint32_t)off;
}

uint32_t elf_segment_src(const struct kernel_image *img, const struct kernel_segment *s)
{
	check_range(img, s->file_offset, s->file_len, "segment");
	for (unsigned i = 0; i < img->placed_count; i++) {
		const struct module_placed *p = &img->placed[i];
		if (s->file_offset >= p->offset && s->file_offset - p->offset <= p->len &&
		    s->file_len <= p->len - (s->file_offset - p->offset))
			return p->pa + (uint32_t)(s->file_offset - p->offset);
	}
	return elf_file_pa(img, s->file_offset, s->file_len, "segment");
}

static const uint8_t *file_bytes(const struct kernel_image *img, uint64_t off, uint64_t len, const char *what)
{
	/* len 0 (an empty note at the end of the file) yields a pointer no one reads through */
	return phys_ptr(elf_file_pa(img, off, len, what), len);
}

static void peek_note(struct kernel_image *img, const uint8_t *p, uint64_t len)
{
	uint64_t pos = 0;
	while (len - pos >= 12) {
		uint32_t namesz, descsz, type;
		memcpy(&namesz, p + pos, 4);
		memcpy(&descsz, p + pos + 4, 4);
		memcpy(&type, p + pos + 8, 4);
		uint64_t name_pad = ((uint64_t)namesz + 3) & ~3ull, desc_pad = ((uint64_t)descsz + 3) & ~3ull;
		if (name_pad + desc_pad > len - pos - 12)
			return; /* a damaged note identifies nothing */
		if (namesz == 7 && descsz == 4 && type == NT_NETBSD_IDENT && memcmp(p + pos + 12, "NetBSD", 7) == 0) {
			img->netbsd_note = true;
			memcpy(&img->netbsd_version, p + pos + 12 + name_pad, 4);
		}
		pos += 12 + name_pad + desc_pad;
	}
}

static void read_note(struct kernel_image *img, uint64_t off, uint64_t len)
{
	peek_note(img, file_bytes(img, off, len, "note"), len);
}

static void read_header(struct kernel_image *img)
{
	static const uint8_t magic[4] = { 0x7f, 'E', 'L', 'F' };
	if (img->file_len < 16)
		fail(hint_kernel, "elf: the kernel module is %u bytes, too short for an ELF file", img->file_len);
	const uint8_t *ident = file_bytes(img, 0, 16, "ELF identification");
	if (ident[0] == 0x1f && ident[1] == 0x8b) /* boot.c inflates gzip with DEFLATE: anything else */
		fail("gunzip the kernel (mbchain inflates gzip files compressed with DEFLATE only)",
		     "elf: the kernel module is compressed in a way mbchain does not know (%u bytes)", img->file_len);
	if (memcmp(ident, magic, 4) != 0)
		fail(hint_kernel, "elf: the kernel module is not an ELF file (starts 0x%02x%02x%02x%02x)", ident[0],
		     ident[1], ident[2], ident[3]);
	if (ident[4] != 1 && ident[4] != 2)
		fail(hint_kernel, "elf: unknown ELF class (%u)", ident[4]);
	if (ident[5] != 1)
		fail(hint_kernel, "elf: not little-endian (EI_DATA %u)", ident[5]);
	img->elf_class = ident[4] == 2 ? 64 : 32;
	img->osabi = ident[7];

	const struct elf_layout *l = layout_of(img);
	const uint8_t *eh = file_bytes(img, 0, l->ehsize, "ELF header");
	uint16_t type = (uint16_t)(eh[16] | eh[17] << 8);
	img->machine = (uint16_t)(eh[18] | eh[19] << 8);
	img->elf_type = type;
	if ((img->elf_class == 32 && img->machine != EM_386) || (img->elf_class == 64 && img->machine != EM_X86_64))
		fail(hint_kernel, "elf: ELF%u file for machine %u, not x86", img->elf_class, img->machine);
	img->entry_va = get(eh, l->e_entry);
	img->ehsize = l->ehsize;
	img->shoff = get(eh, l->e_shoff);
	img->shnum = (uint32_t)get(eh, l->e_shnum);
	img->shentsize = (uint32_t)get(eh, l->e_shentsize);
	img->shstrndx = (uint32_t)get(eh, l->e_shstrndx);
}

/* Append the PT_LOAD described by program header ph (the caller has checked it). */
static void add_segment(struct kernel_image *img, const struct elf_layout *l, const uint8_t *ph)
{
	struct kernel_segment *s = &img->segments[img->segment_count++];
	s->va = get(ph, l->p_vaddr);
	s->paddr = get(ph, l->p_paddr);
	s->file_offset = get(ph, l->p_offset);
	s->file_len = get(ph, l->p_filesz);
	s->mem_len = get(ph, l->p_memsz);
	s->flags = (uint32_t)get(ph, l->p_flags);
}

static void read_segments(struct kernel_image *img)
{
	const struct elf_layout *l = layout_of(img);
	const uint8_t *eh = file_bytes(img, 0, l->ehsize, "ELF header");
	uint64_t phoff = get(eh, l->e_phoff);
	uint32_t phnum = (uint32_t)get(eh, l->e_phnum), phentsize = (uint32_t)get(eh, l->e_phentsize);
	if (phnum == 0 || phnum > ELF_MAX_PHNUM)
		fail(hint_kernel, "elf: %u program headers (expected 1 to %u)", phnum, ELF_MAX_PHNUM);
	if (phentsize != l->phentsize)
		fail(hint_kernel, "elf: program header size %u (expected %u)", phentsize, l->phentsize);
	const uint8_t *ph = file_bytes(img, phoff, (uint64_t)phnum * phentsize, "program headers");
	for (uint32_t i = 0; i < phnum; i++, ph += phentsize) {
		uint32_t type = (uint32_t)get(ph, l->p_type);
		uint64_t off = get(ph, l->p_offset), filesz = get(ph, l->p_filesz), memsz = get(ph, l->p_memsz);
		if (type == PT_NOTE)
			read_note(img, off, filesz);
		if (type == PT_DYNAMIC && !img->has_dynamic) {
			img->has_dynamic = true;
			img->dynamic_va = get(ph, l->p_vaddr);
		}
		if (type != PT_LOAD)
			continue;
		if (filesz > memsz)
			fail(hint_kernel, "elf: segment %u has p_filesz 0x%llx > p_memsz 0x%llx", i,
			     (unsigned long long)filesz, (unsigned long long)memsz);
		check_range(img, off, filesz, "segment");
		if (img->segment_count == ELF_MAX_SEGMENTS)
			fail(hint_kernel, "elf: more than %u loadable segments", ELF_MAX_SEGMENTS);
		add_segment(img, l, ph);
	}
	if (img->segment_count == 0)
		fail(hint_kernel, "elf: no loadable segment (%u program headers)", phnum);
}

static void check_sections(struct kernel_image *img)
{
	if (img->shnum == 0) {
		img->shoff = 0;
		return;
	}
	if (img->shnum > ELF_MAX_SHNUM)
		fail(hint_kernel, "elf: %u section headers (at most %u)", img->shnum, ELF_MAX_SHNUM);
	if (img->shentsize != layout_of(img)->shentsize)
		fail(hint_kernel, "elf: section header size %u (expected %u)", img->shentsize, layout_of(img)->shentsize);
	elf_file_pa(img, img->shoff, (uint64_t)img->shnum * img->shentsize, "section headers");
	if (img->shstrndx >= img->shnum)
		img->shstrndx = 0; /* SHN_UNDEF or out of range: no section names */
	/* NetBSD kernels carry their ident note in a section that no segment loads (vers.c). */
	for (uint32_t i = 1; i < img->shnum && !img->netbsd_note; i++) {
		struct elf_section s;
		elf_section(img, i, &s);
		if (s.type == SHT_NOTE)
			read_note(img, s.offset, s.size);
	}
}

/* Header, then (for files with segments) program headers, then sections: one path for every
 * kind of file, `type` saying which kind the caller accepts. */
static void parse_as(uint32_t file_pa, uint32_t file_len, uint16_t type, const char *hint, const char *what,
		     struct kernel_image *img, const struct boot_module *placed_in)
{
	memset(img, 0, sizeof(*img));
	img->file_pa = file_pa;
	img->file_len = file_len;
	if (placed_in) {
		img->placed_count = min_u64(placed_in->placed_count, BOOT_MAX_PLACED);
		memcpy(img->placed, placed_in->placed, img->placed_count * sizeof(img->placed[0]));
	}
	read_header(img);
	if (img->elf_type != type)
		fail(hint, "elf: %s (e_type %u)", what, img->elf_type);
	if (type != ET_REL)
		read_segments(img);
	check_sections(img);
	if (type == ET_REL && img->shnum == 0)
		fail(hint, "elf: relocatable object without section headers");
}

void elf_parse(uint32_t file_pa, uint32_t file_len, struct kernel_image *img)
{
	parse_as(file_pa, file_len, ET_EXEC, hint_kernel, "not an executable", img, NULL);
}

void elf_parse_module(const struct boot_module *m, struct kernel_image *img)
{
	parse_as(m->start_pa, m->len, ET_EXEC, hint_kernel, "not an executable", img, m);
}

void elf_parse_object(uint32_t file_pa, uint32_t file_len, struct kernel_image *img)
{
	parse_as(file_pa, file_len, ET_REL, "FreeBSD/amd64 kernel modules are relocatable objects (ET_REL)",
		 "module is not a relocatable object", img, NULL);
}

void elf_parse_shared(uint32_t file_pa, uint32_t file_len, struct kernel_image *img)
{
	parse_as(file_pa, file_len, ET_DYN, "FreeBSD/i386 kernel modules are shared objects (ET_DYN)",
		 "module is not a shared object", img, NULL);
}

void elf_keep_segments(struct kernel_image *img, bool (*keep)(uint32_t p_flags))
{
	unsigned kept = 0;
	for (unsigned i = 0; i < img->segment_count; i++)
		if (keep(img->segments[i].flags))
			img->segments[kept++] = img->segments[i];
	if (kept == 0)
		fail(hint_kernel, "elf: none of the %u PT_LOAD segments is writable or executable", img->segment_count);
	img->segment_count = kept;
}

void elf_section(const struct kernel_image *img, uint32_t index, struct elf_section *out)
{
	const struct elf_layout *l = layout_of(img);
	const uint8_t *sh;
	if (index >= img->shnum)
		fail(hint_kernel, "elf: section index %u out of range (%u sections)", index, img->shnum);
	sh = file_bytes(img, img->shoff + (uint64_t)index * l->shentsize, l->shentsize, "section header");
	out->name = (uint32_t)get(sh, l->sh_name);
	out->type = (uint32_t)get(sh, l->sh_type);
	out->flags = get(sh, l->sh_flags);
	out->addr = get(sh, l->sh_addr);
	out->offset = get(sh, l->sh_offset);
	out->size = get(sh, l->sh_size);
	out->link = (uint32_t)get(sh, l->sh_link);
	out->info = (uint32_t)get(sh, l->sh_info);
	out->addralign = get(sh, l->sh_addralign);
	out->entsize = get(sh, l->sh_entsize);
}

const char *elf_string(const struct kernel_image *img, uint32_t strtab_index, uint32_t name)
{
	struct elf_section s;
	if (strtab_index == 0 || strtab_index >= img->shnum)
		return "";
	elf_section(img, strtab_index, &s);
	if (s.type != SHT_STRTAB || name >= s.size || s.offset > img->file_len || s.size > img->file_len - s.offset)
		return "";
	const char *str = (const char *)file_bytes(img, s.offset, s.size, "string table");
	/* The name must end inside its table. */
	for (uint64_t i = name; i < s.size; i++)
		if (!str[i])
			return str + name;
	return "";
}

void elf_assign_pa(struct kernel_image *img, uint64_t va_mask, uint64_t va_offset, const struct mem_range *map,
		   uint32_t map_count)
{
	bool entry_ok = false;
	img->start_pa = UINT64_MAX;
	img->end_pa = 0;
	img->entry_pa = (img->entry_va & va_mask) - va_offset;
	for (unsigned i = 0; i < img->segment_count && img->load_by_paddr; i++) {
		/* Multiboot (GRUB's multiboot_elfxx.c): a virtual entry moves with its segment. */
		const struct kernel_segment *s = &img->segments[i];
		if (img->entry_va >= s->va && img->entry_va - s->va < s->mem_len)
			img->entry_pa = s->paddr + (img->entry_va - s->va);
	}
	for (unsigned i = 0; i < img->segment_count; i++) {
		struct kernel_segment *s = &img->segments[i];
		s->pa = img->load_by_paddr ? s->paddr : (s->va & va_mask) - va_offset;
		if (s->pa >= PA_LIMIT_32 || s->mem_len > PA_LIMIT_32 - s->pa)
			fail(hint_kernel, "elf: segment %u at 0x%llx (+0x%llx) passes 4 GiB", i, (unsigned long long)s->pa,
			     (unsigned long long)s->mem_len);
		if (!memmap_is_ram(map, map_count, s->pa, s->mem_len))
			fail("give the machine more memory, or check the kernel's link address",
			     "elf: segment %u at [0x%llx, 0x%llx) is not in RAM", i, (unsigned long long)s->pa,
			     (unsigned long long)(s->pa + s->mem_len));
		for (unsigned j = 0; j < i; j++)
			if (ranges_overlap(s->pa, s->mem_len, img->segments[j].pa, img->segments[j].mem_len))
				fail(hint_kernel, "elf: segments %u and %u overlap at 0x%llx", j, i, (unsigned long long)s->pa);
		if ((s->flags & PF_X) && img->entry_pa >= s->pa && img->entry_pa < s->pa + s->mem_len)
			entry_ok = true;
		img->start_pa = min_u64(img->start_pa, s->pa);
		img->end_pa = max_u64(img->end_pa, s->pa + s->mem_len);
	}
	if (!entry_ok && img->elf_type == ET_EXEC) /* a shared object's entry means nothing */
		fail(hint_kernel, "elf: entry point 0x%llx is in no executable segment", (unsigned long long)img->entry_va);
}

uint32_t elf_shdr_size(const struct kernel_image *img)
{
	return layout_of(img)->shentsize;
}

void elf_write_ehdr(const struct kernel_image *img, uint8_t *dst, uint64_t shoff)
{
	const struct elf_layout *l = layout_of(img);
	memcpy(dst, file_bytes(img, 0, l->ehsize, "ELF header"), l->ehsize);
	put(dst, l->e_phoff, 0);
	put(dst, l->e_shoff, shoff);
	put(dst, l->e_phentsize, 0);
	put(dst, l->e_phnum, 0);
}

void elf_write_section(const struct kernel_image *img, uint8_t *dst, const struct elf_section *s)
{
	const struct elf_layout *l = layout_of(img);
	memset(dst, 0, l->shentsize);
	put(dst, l->sh_name, s->name);
	put(dst, l->sh_type, s->type);
	put(dst, l->sh_flags, s->flags);
	put(dst, l->sh_addr, s->addr);
	put(dst, l->sh_offset, s->offset);
	put(dst, l->sh_size, s->size);
	put(dst, l->sh_link, s->link);
	put(dst, l->sh_info, s->info);
	put(dst, l->sh_addralign, s->addralign);
	put(dst, l->sh_entsize, s->entsize);
}

bool elf_peek(const uint8_t *head, uint64_t head_len, uint64_t file_len, struct kernel_image *img)
{
	const struct elf_layout *l;
	uint64_t phoff;
	uint32_t phnum;
	memset(img, 0, sizeof(*img));
	if (head_len < 64 || memcmp(head, "\x7f" "ELF", 4) != 0 || (head[4] != 1 && head[4] != 2) || head[5] != 1)
		return false;
	img->elf_class = head[4] == 2 ? 64 : 32;
	img->osabi = head[7];
	img->file_len = (uint32_t)min_u64(file_len, UINT32_MAX);
	l = layout_of(img);
	img->elf_type = (uint16_t)(head[16] | head[17] << 8);
	img->machine = (uint16_t)(head[18] | head[19] << 8);
	if (img->elf_type != ET_EXEC ||
	    img->machine != (img->elf_class == 32 ? EM_386 : EM_X86_64))
		return false;
	img->entry_va = get(head, l->e_entry);
	phoff = get(head, l->e_phoff);
	phnum = (uint32_t)get(head, l->e_phnum);
	if (phnum == 0 || phnum > ELF_MAX_PHNUM || get(head, l->e_phentsize) != l->phentsize || phoff > head_len ||
	    (uint64_t)phnum * l->phentsize > head_len - phoff)
		return false;
	for (uint32_t i = 0; i < phnum; i++) {
		const uint8_t *ph = head + phoff + (uint64_t)i * l->phentsize;
		uint64_t off = get(ph, l->p_offset), filesz = get(ph, l->p_filesz), memsz = get(ph, l->p_memsz);
		uint32_t type = (uint32_t)get(ph, l->p_type);
		if (off > file_len || filesz > file_len - off)
			return false;
		if (type == PT_NOTE && off <= head_len && filesz <= head_len - off) {
			peek_note(img, head + off, filesz);
		}
		if (type != PT_LOAD)
			continue;
		if (filesz > memsz || img->segment_count == ELF_MAX_SEGMENTS)
			return false;
		add_segment(img, l, ph);
	}
	return img->segment_count != 0;
}
