/*
 * mbpass.h - Multiboot passthrough: start a Multiboot (v1) kernel that is neither NetBSD nor
 * FreeBSD (Xen, a hobby kernel, another chainloader) as the Multiboot spec says, with a fresh
 * information structure.  Called by boot.c when the kernel module carries a Multiboot header
 * and no BSD identity, or with mbchain.os=multiboot.
 *
 * mbpass_find_header reads the header (first 8 KiB, 4-byte aligned, checksum).  mbpass_plan
 * takes the request, the header and the ELF image (or none: the a.out kludge) and fills the
 * handoff: segments at p_paddr (or the kludge's load address), the other modules page-aligned
 * after the kernel, and a block for the new MIS with its map, module list and strings.
 * mbpass_build writes that MIS once layout has placed it.
 * Source: Multiboot Specification 0.6.96 sections 3.1-3.3; GRUB 2.06 multiboot_elfxx.c.
 */
#ifndef MBCHAIN_MBPASS_H
#define MBCHAIN_MBPASS_H
#include "boot_request.h"
#include "elf.h"
#include "handoff.h"
#include "options.h"

struct mb_kernel_header {
	uint32_t offset; /* of the header in the file */
	uint32_t flags;
	uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr; /* a.out kludge */
};

struct mbpass_plan {
	struct mb_kernel_header header;
	uint32_t module_count; /* modules passed on: every one but the kernel */
	uint32_t module_pa[BOOT_MAX_MODULES];
	uint32_t module_index[BOOT_MAX_MODULES]; /* in the request */
	uint32_t mis_len;
	unsigned mis_block;
};

/* Find a valid Multiboot v1 header in the module's first 8 KiB. */
bool mbpass_find_header(const struct boot_module *m, struct mb_kernel_header *out);
/* The same on a file's first bytes, never failing: true and its flags when there is one. */
bool mbpass_peek_header(const uint8_t *head, uint64_t head_len, uint32_t *flags);
/* img: the parsed ELF kernel; with the header's a.out kludge it is filled here instead. */
void mbpass_plan(const struct boot_request *req, const struct options *opts, const struct boot_module *kernel_module,
		 const struct mb_kernel_header *header, struct kernel_image *img, struct mbpass_plan *plan,
		 struct handoff *h);
void mbpass_build(const struct boot_request *req, const struct options *opts, struct mbpass_plan *plan,
		  struct handoff *h);
#endif
