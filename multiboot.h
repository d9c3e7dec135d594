/*
 * multiboot.h - Multiboot v1 facts: the header we carry and the information structure (MIS)
 * a loader hands us.  Included by asm/entry.asm's C partner and by src/mis.c, the only C file
 * that may look at MIS types (the rest of mbchain sees struct boot_request).
 *
 * Source: the Multiboot Specification 0.6.96, sections 3.1 (header), 3.2 (machine state) and
 * 3.3 (boot information format); ../shared/SPEC.md section E.
 */
#ifndef MBCHAIN_MULTIBOOT_H
#define MBCHAIN_MULTIBOOT_H

#define MB_HEADER_MAGIC 0x1BADB002u /* in our image, within its first 8 KiB */
#define MB_LOADER_MAGIC 0x2BADB002u /* in EAX at our entry */
#define MB2_LOADER_MAGIC 0x36D76289u /* Multiboot2's EAX value: never hand it to a kernel */

/* Header flags (spec 3.1.2).  Bits 0-15 are "required": a loader must refuse an image with a
 * bit it does not know, so kexec-tools and GRUB reject anything in 0x0000FFF8. */
#define MB_HEADER_PAGE_ALIGN 0x00000001u /* modules on 4 KiB boundaries */
#define MB_HEADER_MEMORY_INFO 0x00000002u /* mem_* and mmap; kexec sends a map only then */
#define MB_HEADER_VIDEO_MODE 0x00000004u /* mode_type/width/height/depth are valid */
#define MB_HEADER_AOUT_KLUDGE 0x00010000u

/* MIS flags (spec 3.3): which fields of struct mb_info are valid. */
#define MB_INFO_MEMORY 0x00000001u
#define MB_INFO_BOOTDEV 0x00000002u
#define MB_INFO_CMDLINE 0x00000004u
#define MB_INFO_MODS 0x00000008u
#define MB_INFO_AOUT_SYMS 0x00000010u
#define MB_INFO_ELF_SHDR 0x00000020u
#define MB_INFO_MEM_MAP 0x00000040u
#define MB_INFO_DRIVE_INFO 0x00000080u
#define MB_INFO_CONFIG_TABLE 0x00000100u
#define MB_INFO_BOOT_LOADER_NAME 0x00000200u
#define MB_INFO_APM_TABLE 0x00000400u
#define MB_INFO_VBE_INFO 0x00000800u
#define MB_INFO_FRAMEBUFFER_INFO 0x00001000u

#define MB_FRAMEBUFFER_TYPE_INDEXED 0
#define MB_FRAMEBUFFER_TYPE_RGB 1
#define MB_FRAMEBUFFER_TYPE_EGA_TEXT 2

#ifndef __ASSEMBLER__
#include <stdint.h>

/* The MIS, as laid out in memory (all fields little-endian, packed by construction). */
struct mb_info {
	uint32_t flags;
	uint32_t mem_lower_kib; /* 0: memory below 1 MiB */
	uint32_t mem_upper_kib; /* 0: memory from 1 MiB to the first hole */
	uint32_t boot_device; /* 1: drive<<24 | part1<<16 | part2<<8 | part3 */
	uint32_t cmdline_pa; /* 2 */
	uint32_t mods_count; /* 3 */
	uint32_t mods_pa;
	uint32_t syms[4]; /* 4 or 5: a.out or ELF section headers (ours; unused) */
	uint32_t mmap_len;
	uint32_t mmap_pa; /* 6: may be 0 (kexec-tools puts the map at physical 0) */
	uint32_t drives_len;
	uint32_t drives_pa; /* 7 */
	uint32_t config_table_pa; /* 8 */
	uint32_t boot_loader_name_pa; /* 9 */
	uint32_t apm_table_pa; /* 10 */
	uint32_t vbe_control_info_pa; /* 11 */
	uint32_t vbe_mode_info_pa;
	uint16_t vbe_mode;
	uint16_t vbe_interface_seg;
	uint16_t vbe_interface_off;
	uint16_t vbe_interface_len;
	uint64_t framebuffer_pa; /* 12 */
	uint32_t framebuffer_pitch;
	uint32_t framebuffer_width;
	uint32_t framebuffer_height;
	uint8_t framebuffer_bpp;
	uint8_t framebuffer_type;
	/* The spec's table puts the colour info at 110, but its own multiboot.h (and GRUB, which
	 * fills it) has an unpacked union starting with a u32 palette address: offset 112. */
	uint16_t color_info_pad;
	uint8_t color_info[6]; /* type 1: red pos, red size, green pos, green size, blue pos, size */
	uint16_t tail_pad;
} __attribute__((packed));

struct mb_module {
	uint32_t start_pa;
	uint32_t end_pa; /* exclusive */
	uint32_t string_pa;
	uint32_t reserved;
} __attribute__((packed));

/* One memory map entry.  `size` does not count itself: the next entry is at +size+4, and size
 * may exceed 20 (spec 3.3, "mmap_*"). */
struct mb_mmap_entry {
	uint32_t size;
	uint64_t base_pa;
	uint64_t len;
	uint32_t type;
} __attribute__((packed));

/* One BIOS drive (flag bit 7); `size` counts the whole entry, ports included. */
struct mb_drive {
	uint32_t size;
	uint8_t number;
	uint8_t mode;
	uint16_t cylinders;
	uint8_t heads;
	uint8_t sectors;
} __attribute__((packed));

_Static_assert(sizeof(struct mb_info) == 120, "MIS layout");
_Static_assert(sizeof(struct mb_mmap_entry) == 24, "mmap entry layout");
#endif
#endif
