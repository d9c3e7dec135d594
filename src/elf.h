/*
 * elf.h - reads a kernel ELF file (ELF32 or ELF64, from one source) out of a module.  Called by
 * boot.c for the kernel module; the targets then assign physical addresses and read sections.
 *
 * Takes: the kernel module's bytes (untrusted).  Gives: struct kernel_image with its class,
 * machine, OS identity (NetBSD ident note, FreeBSD OSABI), entry, loadable segments and section
 * table.  Every offset and size is checked against the file before it is read.
 */
#ifndef MBCHAIN_ELF_H
#define MBCHAIN_ELF_H
#include <stdbool.h>
#include <stdint.h>
#include "boot_request.h"

#define ELF_MAX_SEGMENTS 16
#define ELF_MAX_PHNUM 64
#define ELF_MAX_SHNUM 1024

#define ET_REL 1
#define ET_EXEC 2
#define ET_DYN 3
#define EM_386 3
#define EM_X86_64 62
#define ELFOSABI_FREEBSD 9
#define SHT_PROGBITS 1
#define SHT_SYMTAB 2
#define SHT_STRTAB 3
#define SHT_NOBITS 8
#define SHT_NOTE 7
#define SHT_RELA 4
#define SHT_REL 9
#define SHT_X86_64_UNWIND 0x70000001
#define SHF_ALLOC 2
#define PF_X 1
#define PF_W 2

struct kernel_segment {
	uint64_t va, pa; /* pa is set by elf_assign_pa */
	uint64_t paddr; /* p_paddr as in the file */
	uint64_t file_offset, file_len, mem_len;
	uint32_t flags;
};

/* One section header, widened to 64 bits whatever the class. */
struct elf_section {
	uint32_t name, type;
	uint64_t flags, addr, offset, size;
	uint32_t link, info;
	uint64_t addralign, entsize;
};

struct kernel_image {
	uint32_t file_pa, file_len; /* the module holding the ELF file */
	unsigned elf_class; /* 32 or 64 */
	uint16_t machine; /* EM_386 or EM_X86_64 */
	uint8_t osabi;
	uint16_t elf_type; /* ET_EXEC or ET_REL */
	bool netbsd_note; /* has a NetBSD ident note (PT_NOTE or SHT_NOTE) */
	uint32_t netbsd_version;
	uint64_t entry_va, entry_pa;
	bool load_by_paddr; /* elf_assign_pa takes p_paddr as the address (Multiboot kernels) */
	bool has_dynamic;
	uint64_t dynamic_va; /* p_vaddr of PT_DYNAMIC, unrelocated (FreeBSD's MODINFOMD_DYNAMIC) */
	unsigned segment_count;
	struct kernel_segment segments[ELF_MAX_SEGMENTS];
	uint64_t start_pa, end_pa; /* lowest segment start, highest segment end (after assign) */
	uint64_t shoff;
	uint32_t shnum, shentsize, shstrndx;
	uint32_t ehsize; /* 52 or 64 */
	unsigned placed_count; /* file bytes inflated in place (boot_module.placed) */
	struct module_placed placed[BOOT_MAX_PLACED];
};

/* Parse the ELF file at [file_pa, file_pa+file_len); fail with an error line when it is not a
 * loadable x86 executable.  Every PT_LOAD segment is kept. */
void elf_parse(uint32_t file_pa, uint32_t file_len, struct kernel_image *img);
/* The same for a module whose bytes may partly live elsewhere (boot_module.placed). */
void elf_parse_module(const struct boot_module *m, struct kernel_image *img);
/* Without failing: the header and program headers of an executable from the file's first
 * head_len bytes (file_len in all), segment file ranges checked against file_len, the NetBSD
 * note only from PT_NOTEs within the head.  False when they are not there or not x86 ET_EXEC. */
bool elf_peek(const uint8_t *head, uint64_t head_len, uint64_t file_len, struct kernel_image *img);
/* The same for a relocatable object (a FreeBSD/amd64 .ko): sections only, no segments. */
void elf_parse_object(uint32_t file_pa, uint32_t file_len, struct kernel_image *img);
/* The same for a shared object (a FreeBSD/i386 .ko): segments and sections. */
void elf_parse_shared(uint32_t file_pa, uint32_t file_len, struct kernel_image *img);
/* Keep only the segments whose p_flags `keep` accepts (NetBSD's loader skips segments that are
 * neither writable nor executable); fails when none is left. */
void elf_keep_segments(struct kernel_image *img, bool (*keep)(uint32_t p_flags));

/* Give every segment pa = (va & va_mask) - va_offset and the entry likewise (or, with
 * load_by_paddr, pa = p_paddr and the entry moved with its segment); then check that
 * segments do not overlap, stay below 4 GiB, lie in RAM of the sanitised map, and that the
 * entry lies in an executable segment. */
void elf_assign_pa(struct kernel_image *img, uint64_t va_mask, uint64_t va_offset, const struct mem_range *map,
		   uint32_t map_count);

/* The physical address of a segment's file bytes: its place of inflation when it was inflated
 * in place (then often its destination), else as elf_file_pa. */
uint32_t elf_segment_src(const struct kernel_image *img, const struct kernel_segment *s);
/* Section header `index`, checked; fails on a damaged table. */
void elf_section(const struct kernel_image *img, uint32_t index, struct elf_section *out);
/* The file offset `off`+`len` checked against the file: the physical address of those bytes. */
uint32_t elf_file_pa(const struct kernel_image *img, uint64_t off, uint64_t len, const char *what);
/* The NUL-terminated name at `name` in section `strtab_index`, or "" when out of range. */
const char *elf_string(const struct kernel_image *img, uint32_t strtab_index, uint32_t name);

/* Write an ELF header / section header of img's class at dst (52/64 and 40/64 bytes). */
void elf_write_ehdr(const struct kernel_image *img, uint8_t *dst, uint64_t shoff);
void elf_write_section(const struct kernel_image *img, uint8_t *dst, const struct elf_section *s);
uint32_t elf_shdr_size(const struct kernel_image *img);
#endif
