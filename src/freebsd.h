/*
 * freebsd.h - the FreeBSD target (amd64 and i386): what FreeBSD's loader(8) hands a kernel.
 * Called by boot.c when the kernel's EI_OSABI is FreeBSD or mbchain.os=freebsd.
 *
 * freebsd_plan takes the request, the options and the parsed kernel, and fills the handoff:
 * segments at their load addresses, then contiguous after the kernel (all below 1 GiB, the
 * only memory the kernel maps and protects at entry): the symbols in FreeBSD's layout
 * ([size][symtab][size][strtab], words of the ELF class), every module page-aligned, then the
 * preload metadata and the static environment (amd64: metadata first; i386: environment
 * first), and kernend after all of it.  Blocks: scratch (what we build), the stack, and page
 * tables (amd64) or struct bootinfo (i386).  freebsd_build writes them after layout.
 * Sources: ../shared/SPEC.md B.1-B.11; FreeBSD stand/common/load_elf.c, modinfo.c,
 * stand/i386/libi386/bootinfo32.c, bootinfo64.c, elf64_freebsd.c, amd64_tramp.S.
 */
#ifndef MBCHAIN_FREEBSD_H
#define MBCHAIN_FREEBSD_H
#include "boot_request.h"
#include "elf.h"
#include "handoff.h"
#include "options.h"

#define FREEBSD_MAX_KENV 256

/* [Elf_Size symsize][symtab][pad][Elf_Size strsize][strtab][pad] after an image (load_elf.c). */
struct freebsd_symbols {
	bool present;
	uint64_t ssym_pa, esym_pa, symsize, strsize;
	unsigned symsize_piece, strsize_piece; /* the two size words, built in scratch */
};

struct freebsd_module {
	uint32_t request_index;
	uint64_t base_pa;
	uint32_t len;
	bool is_ko; /* an amd64 .ko, laid out section by section */
	bool is_shared; /* an i386 .ko, loaded by its segments like the kernel */
	struct freebsd_symbols syms; /* is_shared */
	char name[OPT_TEXT_MAX];
	char type[32];
	char args[BOOT_STRING_MAX];
};

struct kenv_entry {
	const char *key, *value;
	uint32_t key_len, value_len;
};

struct freebsd_plan {
	bool amd64;
	unsigned word; /* 8 (amd64) or 4 (i386): Elf_Size, addresses, record alignment */
	char kernel_name[OPT_TEXT_MAX];
	uint32_t howto;
	struct freebsd_symbols syms; /* the kernel's */
	uint64_t kernel_size; /* MODINFO_SIZE: the image and its symbols */
	uint32_t module_count;
	struct freebsd_module modules[BOOT_MAX_MODULES];
	uint64_t modulep_pa, md_len, envp_pa, env_len, kernend_pa;
	unsigned md_piece, env_piece;
	unsigned scratch_block, tables_block, bootinfo_block;
	uint32_t kenv_count;
	struct kenv_entry kenv[FREEBSD_MAX_KENV];
};

void freebsd_plan(const struct boot_request *req, const struct options *opts, struct kernel_image *img,
		  struct freebsd_plan *plan, struct handoff *h);
void freebsd_build(const struct boot_request *req, const struct options *opts, const struct kernel_image *img,
		   struct freebsd_plan *plan, struct handoff *h);
/* FreeBSD boot flags (sys/reboot.h, boot_parse_arg) for the flag letters given. */
uint32_t freebsd_howto(const char *flags);
/* What the kernel's segments are loaded at: pa = va - freebsd_load_offset(img). */
uint64_t freebsd_load_offset(const struct kernel_image *img);
#endif
