/*
 * netbsd.h - the NetBSD target (i386 and amd64): what NetBSD's own /boot hands a kernel.
 * Called by boot.c when the kernel is NetBSD (ident note) or mbchain.os=netbsd.
 *
 * netbsd_plan takes the request, the options and the parsed kernel, and fills the handoff:
 * segments at (VA & 0x07ffffff), the symbol table after the kernel in libsa's layout, the other
 * modules page-aligned after the symbols, and blocks for bootinfo, stack and scratch.
 * After layout.c has placed the blocks, netbsd_build writes them: bootinfo records and their
 * pointer array, the ELF headers of the symbol image, and the six stack words.
 * Sources: ../shared/SPEC.md A.1-A.10; NetBSD sys/lib/libsa/loadfile_elf32.c,
 * sys/arch/i386/stand/lib/exec.c, sys/arch/x86/include/bootinfo.h.
 */
#ifndef MBCHAIN_NETBSD_H
#define MBCHAIN_NETBSD_H
#include "boot_request.h"
#include "elf.h"
#include "handoff.h"
#include "options.h"

#define NETBSD_LOAD_MASK 0x07ffffffull /* LOADADDR(), x86 loadfile_machdep.h: pa = va & mask */
#define NETBSD_MAX_SECTIONS 64 /* sections whose offsets we rewrite: symtabs, strtabs, CTF */

struct netbsd_module {
	uint32_t request_index;
	uint32_t base_pa, len;
	uint32_t type; /* BI_MODULE_* */
	char path[OPT_TEXT_MAX];
};

struct netbsd_plan {
	bool has_symbols;
	uint64_t ssym_pa, esym_pa; /* [Ehdr | Shdrs | shstrtab | symtab, strtab, ...] */
	uint64_t section_offset[ELF_MAX_SHNUM]; /* new sh_offset per section, relative to ssym */
	unsigned headers_piece; /* the BUILT piece holding Ehdr + Shdrs */
	uint64_t endpa; /* end of the last module (or of the symbols) */
	uint32_t module_count;
	struct netbsd_module modules[BOOT_MAX_MODULES];
	uint32_t howto;
	unsigned bootinfo_block, scratch_block;
	uint32_t bootinfo_len;
};

void netbsd_plan(const struct boot_request *req, const struct options *opts, struct kernel_image *img,
		 struct netbsd_plan *plan, struct handoff *h);
void netbsd_build(const struct boot_request *req, const struct options *opts, const struct kernel_image *img,
		  struct netbsd_plan *plan, struct handoff *h);
/* NetBSD boot flags (sys/boot_flag.h) for the flag letters given. */
uint32_t netbsd_howto(const char *flags);
/* NetBSD's loader loads only writable or executable PT_LOAD segments (libsa loadfile_elf32.c). */
bool netbsd_segment_loadable(uint32_t p_flags);
#endif
